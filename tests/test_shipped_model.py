"""The shipped classifier on real inputs: what users see. Needs the e5 conversion (~15 s, cached)."""

import json
from pathlib import Path

import pytest

from frontwatch.cli import main
from frontwatch.inference.analyzer import Analyzer, shipped_classifier_path
from frontwatch.training.metrics import classification_metrics

ROOT = Path(__file__).parents[1]
REAL = ROOT.parent / "shared" / "examples" / "real_articles.jsonl"


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer.from_pretrained(device="cpu", summaries=False)


def test_shipped_folder_is_complete_and_small():
    path = shipped_classifier_path()
    names = {p.name for p in path.iterdir()}
    assert {"config.json", "adapter_config.json", "adapter_model.safetensors", "heads.safetensors",
            "training_config.yaml", "training_info.json", "README.md"} <= names
    assert sum(p.stat().st_size for p in path.iterdir()) < 20e6  # adapters and heads, not base weights


def test_labels_come_from_the_checkpoint(analyzer):
    config = json.loads((shipped_classifier_path() / "config.json").read_text())
    assert analyzer.label_maps["sector"] == [config["heads"]["sector"]["id2label"][str(i)] for i in range(9)]


def test_test_split_quality(analyzer):
    # Regression floors under what the shipped model measures on the test split (sector 0.872, direction
    # 0.802 macro-F1; chance is about 0.11 and 0.33). The targets of issue 3, 0.95 and 0.90, are not
    # reached yet: raise these floors with the model, never lower them to pass.
    rows = [json.loads(l) for l in open(ROOT / "data" / "test.jsonl", encoding="utf-8")]
    results = analyzer([r["text"] for r in rows], batch_size=16)
    for head, floor in (("sector", 0.85), ("direction", 0.78)):
        labels = analyzer.label_maps[head]
        m = classification_metrics([labels.index(getattr(a, head)) for a in results], [labels.index(r[head]) for r in rows], labels)
        assert m["f1_macro"] >= floor, (head, m["f1_macro"])


def test_direction_head_reads_english_summaries(analyzer):
    # The summarizer's direction check relies on it. Measured on the test split's reference summaries:
    # 0.84 accuracy (0.92 on dev).
    rows = [json.loads(l) for l in open(ROOT / "data" / "test.jsonl", encoding="utf-8")]
    results = analyzer([r["summary_en"] for r in rows])
    assert sum(a.direction == r["direction"] for a, r in zip(results, rows)) >= 0.78 * len(rows)


@pytest.mark.skipif(not REAL.is_file(), reason="the real scraped articles live in ../shared, beside the checkout")
def test_real_scraped_articles(analyzer):
    # All three are right since the classifier trains on actor-swapped copies; before, real-002 (Russian
    # troops fleeing Izium) was called retreat.
    rows = [json.loads(l) for l in open(REAL, encoding="utf-8")]
    results = analyzer([r["text"] for r in rows])
    assert [a.sector for a in results] == [r["sector"] for r in rows]
    assert [a.direction for a in results] == [r["direction"] for r in rows]
    assert all(a.error is None and a.flags == [] for a in results)


def test_demo_command_on_bundled_examples(tmp_path):
    out = tmp_path / "examples.jsonl"
    assert main(["analyze", str(ROOT / "examples" / "articles.jsonl"), "-o", str(out)]) == 0
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    gold = {json.loads(l)["id"]: json.loads(l) for l in open(ROOT / "data" / "test.jsonl", encoding="utf-8")}
    assert len(rows) == 6 and all(r["error"] is None for r in rows)
    assert sum(r["sector"] == gold[r["id"]]["sector"] for r in rows) >= 4  # measured: 4 of 6
    from frontwatch.inference.analyzer import Analysis
    from test_shipped_summarizer import check_summaries

    texts = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(ROOT / "examples" / "articles.jsonl", encoding="utf-8")}
    analyses = [Analysis(summary=r["summary"], summary_flags=r["summary_flags"]) for r in rows]
    check_summaries(analyses, [texts[r["id"]] for r in rows])
