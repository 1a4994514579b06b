"""Retraining the real shipped model with a new label (about 10 minutes on 2 cores: marked slow).

Run with: .venv/bin/python -m pytest -m slow tests/test_retrain_real.py
"""

import json
from pathlib import Path

import pytest

from frontwatch.training import ClassifierConfig, load_config, train_classifier

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_crimea_is_learned_and_old_labels_still_work(tmp_path):
    cfg = load_config(ClassifierConfig, ROOT / "configs" / "retrain_crimea.yaml", output_dir=str(tmp_path / "crimea"))
    cfg.train_file = str(ROOT / cfg.train_file)
    cfg.test_file = str(ROOT / cfg.test_file)
    out = train_classifier(cfg, progress=False)
    config = json.loads((out / "config.json").read_text())
    sectors = [config["heads"]["sector"]["id2label"][str(i)] for i in range(10)]
    assert sectors[-1] == "crimea" and sectors[:9] == [
        "kyiv_north", "kharkiv", "luhansk", "bakhmut", "donetsk", "zaporizhzhia", "kherson", "kursk", "other"]

    from frontwatch.training.evaluation import evaluate_classifier

    # Measured once (about 6 minutes): crimea recall 0.83 (10 of 12, precision 1.0); on the old test split
    # sector accuracy 0.828 (0.859 before retraining) and direction macro-F1 0.646 (0.663). Accuracy, not
    # macro-F1, for the old labels: Crimea-themed `other` articles now going to `crimea` is the point of
    # the new label, and it would add a zero-F1 `crimea` column to the macro average.
    new = evaluate_classifier(out, ROOT / "examples" / "retrain_crimea_test.jsonl")
    assert new["sector"]["recall/crimea"] >= 0.75
    old = evaluate_classifier(out, ROOT / "data" / "test.jsonl")
    assert old["sector"]["accuracy"] >= 0.80 and old["direction"]["f1_macro"] >= 0.60
