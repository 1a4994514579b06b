"""`frontwatch analyze`: one output row per input row, in order, errors per row, exit codes."""

import csv
import json

from frontwatch.cli import main

FIELDS = {"id", "sector", "sector_score", "direction", "direction_score", "flags", "error"}


def test_jsonl_rows_in_order_with_errors(tiny_model, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "a", "text": "Les forces ukrainiennes ont repris Koupiansk selon l'armée."}),
        json.dumps({"text": "Moscou affirme que Soledar est perdu pour Kiev."}),
        "{broken json",
        "",
        json.dumps({"id": "d", "text": ""}),
        json.dumps({"id": "e"}),
        json.dumps({"id": "f", "text": "Le front est stable à Kherson, attaque repoussée."}),
    ]
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    code = main(["analyze", str(src), "-o", str(out), "--model", str(tiny_model), "--device", "cpu", "--no-summary"])
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert code == 1  # some rows failed
    assert [r["id"] for r in rows] == ["a", "2", "3", "d", "e", "f"]  # the blank line is not a row
    assert all(set(r) == FIELDS for r in rows)
    assert [r["error"] is None for r in rows] == [True, True, False, False, False, True]
    assert rows[2]["error"].startswith("malformed JSON")
    assert rows[4]["error"] == "'text' is missing (the row's fields: 'id')"
    assert rows[0]["sector"] in {"kharkiv", "bakhmut", "kherson"}
    assert "6 rows, 3 analysed, 3 failed" in capsys.readouterr().err


def test_csv_input_and_clean_exit(tiny_model, tmp_path):
    src = tmp_path / "in.csv"
    with src.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerow(["x1", 'Premier paragraphe sur Izioum.\n\nSecond, avec "guillemets", et virgules.'])
        w.writerow(["x2", "Les forces ont repris Krynky."])
    out = tmp_path / "out.jsonl"
    assert main(["analyze", str(src), "-o", str(out), "--model", str(tiny_model), "--batch-size", "1", "--no-summary"]) == 0
    assert [json.loads(l)["id"] for l in out.read_text().splitlines()] == ["x1", "x2"]


def test_broken_model_fails_before_reading_articles(tiny_model, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / "heads.safetensors").unlink()
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": "Les forces ont repris Krynky."}) + "\n")
    assert main(["analyze", str(src), "-o", str(tmp_path / "o.jsonl"), "--model", str(broken), "--no-summary"]) == 2
    err = capsys.readouterr().err
    assert "heads.safetensors is missing" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.jsonl").exists()


def test_csv_without_text_column_fails_at_once(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("\ufeffid,content\n1,Les forces ont repris Krynky.\n")
    out = tmp_path / "o.jsonl"
    # The model folder does not exist: the header is read and refused before any model loads.
    assert main(["analyze", str(src), "-o", str(out), "--model", str(tmp_path / "none"), "--no-summary"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"frontwatch: error: {src}: the CSV header has no 'text' column (its columns: 'id', 'content'); "
                   "name the column that holds the articles 'text'"]
    assert not out.exists()
