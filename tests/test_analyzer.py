"""The Analyzer contract: str in -> one Analysis, list in -> list in order; windows; bad inputs."""

import random

import pytest

from conftest import make_article
from frontwatch.inference.analyzer import Analysis, Analyzer
from frontwatch.models.classifier import make_windows


@pytest.fixture(scope="module")
def analyzer(tiny_model):
    return Analyzer.from_pretrained(tiny_model, device="cpu", batch_size=3, summaries=False)


def test_string_gives_one_result_and_list_gives_list_in_order(analyzer):
    rng = random.Random(7)
    texts = [make_article(rng, s, d, n_words=n) for s, d, n in
             [("kharkiv", "advance", 5), ("bakhmut", "retreat", 60), ("kherson", "none", 20), ("kharkiv", "none", 90)] * 3]
    one = analyzer(texts[1])
    assert isinstance(one, Analysis)
    many = analyzer(texts)
    assert isinstance(many, list) and len(many) == len(texts)
    # sorting by length inside must not reorder results: each equals its own single-text run
    for text, res in zip(texts, many):
        single = analyzer(text)
        assert (single.sector, single.direction) == (res.sector, res.direction)
        assert single.sector_score == pytest.approx(res.sector_score, abs=1e-4)
    assert set(analyzer.label_maps["sector"]) >= {r.sector for r in many}
    r = many[0]
    assert 0 <= r.sector_score <= 1 and 0 <= r.direction_score <= 1
    assert len(r.sector_alternatives) == 2 and all(s <= r.sector_score for _, s in r.sector_alternatives)
    # summaries off: no summary, and no summary keys in the dict (never a placeholder)
    assert r.summary is None and r.summary_flags is None and "summary" not in r.to_dict()


def test_bad_inputs_get_an_error_not_an_exception(analyzer):
    res = analyzer(["", "   ", None, 42, ["liste"], "<html><body><p>Les forces ukrainiennes ont repris Koupiansk.</p><div>x</div></body></html>"])
    assert [r.error for r in res[:5]] == [
        "'text' is empty", "'text' is empty", "'text' is missing", "'text' is a int, not a string", "'text' is a list, not a string",
    ]
    assert all(r.sector is None for r in res[:5])
    assert res[5].error is None and "html_stripped" in res[5].flags
    for wrong in (None, 42, b"octets", {"text": "Kherson"}):  # not a text nor a list of texts: said so
        with pytest.raises(TypeError, match="takes a text or a list of texts, not "):
            analyzer(wrong)


def test_long_text_is_windowed_and_cut_flagged(analyzer):
    rng = random.Random(3)
    long = " ".join(make_article(rng, "kherson", "retreat", n_words=40) for _ in range(30))
    res = analyzer(long)
    assert "text_cut" in res.flags  # tiny model: 3 windows of 32 tokens
    assert "text_cut" not in analyzer("Les forces ont repris Kherson.").flags


def test_make_windows_strategies():
    ids = list(range(100))
    assert make_windows(ids[:10], 20, "windows", 5, 4) == ([ids[:10]], False)
    assert make_windows(ids, 20, "head", 5, 4) == ([ids[:20]], True)
    (piece,), cut = make_windows(ids, 20, "head_tail", 5, 4)
    assert piece == ids[:5] + ids[85:] and cut
    pieces, cut = make_windows(ids, 40, "windows", 10, 4)
    assert [p[0] for p in pieces] == [0, 30, 60] and pieces[-1][-1] == 99 and not cut
    pieces, cut = make_windows(ids, 20, "windows", 5, 4)
    assert len(pieces) == 4 and cut


def test_paragraph_segments_and_length_buckets(tiny_model):
    from frontwatch.models.classifier import FrontClassifier, split_paragraphs

    assert split_paragraphs("Un.\n\n  \n\nDeux\ntrois.\n\nQuatre.") == ["Un.", "Deux\ntrois.", "Quatre."]
    assert split_paragraphs("Un.\nDeux.\n\n") == ["Un.", "Deux."]  # no blank line: single newlines split
    model = FrontClassifier.from_pretrained(tiny_model)
    model.settings.update(long_text_strategy="paragraphs", max_segments=5)
    (segments, cut), = model.encode(["Les forces ont repris Kherson.\n\nLe front est stable.\n\nCrédit : AFP"])
    assert len(segments) == 3 and not cut
    (segments, cut), = model.encode(["\n\n".join(["Le front est stable."] * 9)])
    assert len(segments) == 5 and cut
    docs = [model.encode([t])[0][0] for t in ["Un.\n\nDeux mots ici.", "Les forces ukrainiennes ont repris Koupiansk " * 20]]
    batch = model.collate(docs)
    widths = [t.shape[1] for t in batch["input_ids"]]
    assert widths == sorted(widths)  # sorted into buckets, so short segments are not padded to the longest
    assert len(docs[0]) == 2 and len(docs[1]) == 5  # the long one: windows of 32 tokens, at most 5
    assert sum(t.shape[0] for t in batch["input_ids"]) == len(batch["doc_index"]) == 7


def test_windows_always_move_forward():
    pieces, cut = make_windows(list(range(10)), 3, "windows", 5, 100)  # overlap larger than the window
    assert pieces[0] == [0, 1, 2] and pieces[-1][-1] == 9 and not cut
