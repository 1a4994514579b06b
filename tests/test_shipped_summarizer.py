"""The shipped summarizer as users meet it: the demo examples and the real scraped articles.

Loads Gemma 3 270M (converted once into the cache, ~60 s) and writes summaries on the CPU (~1 min).
The bundled examples are summarised by the demo command's test, in test_shipped_model.py.
"""

import json
from pathlib import Path

import pytest

from frontwatch.inference.analyzer import Analyzer
from frontwatch.inference.checks import MAX_WORDS, unsupported_names, unsupported_numbers
from frontwatch.models.summarizer import shipped_summarizer_path
from frontwatch.text import detect_language

ROOT = Path(__file__).parents[1]
REAL = ROOT.parent / "shared" / "examples" / "real_articles.jsonl"


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer.from_pretrained(device="cpu")


def test_shipped_folder_is_complete_small_and_carries_the_gemma_terms():
    path = shipped_summarizer_path()
    names = {p.name for p in path.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "summarizer_config.json", "generation_config.json",
            "GEMMA_TERMS.html", "README.md", "training_config.yaml", "training_info.json"} <= names
    assert sum(p.stat().st_size for p in path.iterdir()) < 20e6  # an adapter, not base weights
    assert "Gemma Terms of Use" in (path / "README.md").read_text()


def check_summaries(results, texts):
    for res, text in zip(results, texts):
        assert res.error is None and isinstance(res.summary, str)
        assert detect_language(res.summary)[0] == "en", res.summary
        assert 5 <= len(res.summary.split()) <= MAX_WORDS, res.summary
        # A name the article lacks may stay only when the summary says so in its flags.
        if unsupported_names(res.summary, text):
            assert "name_not_in_article" in res.summary_flags
        if unsupported_numbers(res.summary, text):  # and a number the article does not state
            assert "number_not_in_article" in res.summary_flags


@pytest.mark.skipif(not REAL.is_file(), reason="the real scraped articles live in ../shared, beside the checkout")
def test_real_scraped_articles(analyzer):
    rows = [json.loads(l) for l in open(REAL, encoding="utf-8")]
    results = analyzer([r["text"] for r in rows])
    check_summaries(results, [r["text"] for r in rows])
