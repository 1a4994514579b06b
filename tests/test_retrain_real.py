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

    new = evaluate_classifier(out, ROOT / "examples" / "retrain_crimea_test.jsonl")
    assert new["sector"]["recall/crimea"] >= 0.75
    old = evaluate_classifier(out, ROOT / "data" / "test.jsonl")
    assert old["sector"]["f1_macro"] >= 0.90 and old["direction"]["f1_macro"] >= 0.85
