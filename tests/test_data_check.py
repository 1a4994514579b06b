"""`check_file` / `frontwatch data check`: every problem reported with its row number."""

import json

from frontwatch.cli import main
from frontwatch.training.data import check_file, near_duplicates

LABELS = {"sector": ["kharkiv", "bakhmut", "other"], "direction": ["advance", "retreat", "none"]}
FR = (
    "Les forces ukrainiennes affirment avoir repris plusieurs villages au sud de la ville, selon l'état-major. "
    "Le ministère russe de la Défense dément et parle d'attaques repoussées dans la nuit. "
)
EN = "Ukraine's general staff says its forces retook several villages south of the city; Moscow denies it."


def french(i):
    """Distinct French text for row i: the same words, shuffled, share few 5-grams."""
    import random

    words = FR.split()
    random.Random(i).shuffle(words)
    return " ".join(words)


def row(i, **kw):
    base = {"id": f"r{i}", "text": french(i), "sector": "kharkiv",
            "direction": "advance", "summary_en": EN, "date": "2022-09"}
    base.update(kw)
    return base


def write(path, rows, raw_lines=()):
    lines = [json.dumps(r, ensure_ascii=False) for r in rows] + list(raw_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def messages(problems):
    return {(p.row, p.message.split(" (")[0]) for p in problems}


def test_clean_file_has_no_problem(tmp_path):
    assert check_file(write(tmp_path / "a.jsonl", [row(1), row(2)]), LABELS) == []


def test_every_kind_of_problem_is_found_with_its_row(tmp_path):
    far_apart = "Texte entièrement différent sur une autre affaire, avec des mots qui ne se répètent pas ailleurs. " * 3
    rows = [
        row(1),
        row(2, text="   "),
        row(3, sector="kharkov"),
        row(4, text="The Russian army says it captured the village after days of fighting, and the city was shelled."),
        row(5, summary_en="Les forces ukrainiennes ont repris la ville de Koupiansk selon l'état-major."),
        row(6, summary_en=" ".join(["word"] * 61)),
        row(1),  # duplicate id, and its text copies row 1's
        {k: v for k, v in row(8).items() if k != "direction"},
        row(9, date="Sept 2022"),
        row(10, text=far_apart, direction=3),
    ]
    found = messages(check_file(write(tmp_path / "b.jsonl", rows, ["{not json"]), LABELS))
    assert (2, "'text' is empty") in found
    assert (3, "sector 'kharkov' is not a known label") in found
    assert (4, "text does not read as French") in found
    assert (5, "summary does not read as English") in found
    assert (6, "summary has 61 words, at most 60") in found
    assert (7, "duplicate id, first used on row 1") in found
    assert (7, "text shares 100% of its word 5-grams with row 1") in found
    assert (8, "'direction' is missing") in found
    assert (9, "date 'Sept 2022' is not YYYY-MM or YYYY-MM-DD") in found
    assert (10, "'direction' must be a string, got int") in found
    assert (11, "malformed JSON") in found
    assert not any(r == 1 for r, _ in found)


def test_csv_with_embedded_newlines_is_read(tmp_path):
    import csv

    path = tmp_path / "c.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(row(1)))
        w.writeheader()
        w.writerow(row(1, text=french(1) + '\n\nDeuxième paragraphe, avec des "guillemets", et une virgule.'))
        w.writerow(row(2, sector="typo"))
    found = messages(check_file(path, LABELS))
    assert found == {(2, "sector 'typo' is not a known label")}


def test_near_duplicates_threshold():
    a = " ".join(f"mot{i}" for i in range(100))
    b = " ".join(f"mot{i}" for i in range(60)) + " " + " ".join(f"autre{i}" for i in range(40))
    c = " ".join(f"mot{i}" for i in range(30)) + " " + " ".join(f"neuf{i}" for i in range(70))
    pairs = {(i, j) for i, j, _ in near_duplicates([a, b, c])}
    assert (0, 1) in pairs  # 56 of 96 5-grams shared
    assert (0, 2) not in pairs  # 26 of 96: under a third


def test_cli_exit_codes(tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("labels:\n  sector: [kharkiv, bakhmut, other]\n  direction: [advance, retreat, none]\n")
    good = write(tmp_path / "good.jsonl", [row(1), row(2)])
    bad = write(tmp_path / "bad.jsonl", [row(1), row(2, sector="kharkov")])
    assert main(["data", "check", str(good), "--config", str(cfg)]) == 0
    assert main(["data", "check", str(bad), "--config", str(cfg)]) == 1
    assert "row 2 (id r2): sector 'kharkov' is not a known label" in capsys.readouterr().out
    assert main(["data", "check", str(tmp_path / "missing.jsonl"), "--config", str(cfg)]) == 2
    assert main(["data", "check", str(tmp_path / "file.txt"), "--config", str(cfg)]) == 2


def test_summarizer_training_data_needs_summaries(tmp_path):
    import pytest

    from frontwatch.training.data import DataError, load_labelled

    rows = [row(1), {k: v for k, v in row(2).items() if k != "summary_en"}, row(3, summary_en="")]
    path = write(tmp_path / "s.jsonl", rows)
    assert len(load_labelled(path, LABELS)) == 3  # the classifier does not need them
    with pytest.raises(DataError) as e:
        load_labelled(path, LABELS, require_summary=True)
    assert "row 2 (id r2): 'summary_en' is missing" in str(e.value)
    assert "row 3 (id r3): 'summary_en' is empty" in str(e.value)
