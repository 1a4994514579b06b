"""`frontwatch bench`: both paths on the same articles, the report's keys, and what the baseline does."""

import json

import pytest
import torch

from frontwatch.bench import baseline_labels
from frontwatch.cli import main
from frontwatch.models.classifier import FrontClassifier
from frontwatch.models.summarizer import PromptSettings, Summarizer

KEYS = {"classify_speedup", "summarize_speedup", "classify_articles_per_s", "summarize_articles_per_s", "peak_rss_mb"}


@pytest.fixture(scope="module")
def tiny_summarizer_dir(tiny_gemma, tmp_path_factory):
    torch.manual_seed(0)
    lora = dict(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"])
    path = tmp_path_factory.mktemp("tiny_summarizer")
    Summarizer.from_base(PromptSettings(max_source_length=40), lora, tiny_gemma).save_pretrained(path, tiny_gemma)
    return path


def test_baseline_runs_each_head_as_its_own_pass_per_article(tiny_model):
    import random

    from conftest import make_article

    model = FrontClassifier.from_pretrained(tiny_model)
    calls = []
    forward = model.forward
    model.forward = lambda **kw: calls.append(int(kw["doc_index"].max()) + 1) or forward(**kw)
    rng = random.Random(0)
    texts = [make_article(rng, "kharkiv", "advance") for _ in range(3)]
    labels = baseline_labels(model, texts, show=False)
    assert calls == [1] * 3 * len(model.label_maps)  # one article per call, one call per head
    assert set(labels) == set(model.label_maps) and all(len(v) == 3 for v in labels.values())


def test_bench_json_has_the_contract_keys(tiny_model, tiny_summarizer_dir, tmp_path, capsys):
    from conftest import write_labelled

    data = write_labelled(tmp_path / "data.jsonl", 1, seed=3)
    code = main(["bench", str(data), "--limit", "4", "--model", str(tiny_model), "--summarizer", str(tiny_summarizer_dir), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert KEYS <= set(report)
    assert report["articles"] == 4
    assert all(report[k] > 0 for k in KEYS)
    assert set(report["quality"]) == {"sector", "direction", "summary"}
    assert "frontwatch_rouge_l" in report["quality"]["summary"] and "baseline_macro_f1" in report["quality"]["direction"]
    assert code == (0 if report["quality_ok"] else 1)


def test_bench_without_summaries_and_missing_data(tiny_model, tmp_path, capsys):
    from conftest import write_labelled

    data = write_labelled(tmp_path / "data.jsonl", 1, seed=4)
    main(["bench", str(data), "--no-summary", "--model", str(tiny_model)])
    out = capsys.readouterr().out
    assert "classify, articles/s" in out and "summarize" not in out
    assert main(["bench", str(tmp_path / "nope.jsonl"), "--no-summary", "--model", str(tiny_model)]) == 2
    assert "no such file" in capsys.readouterr().err
