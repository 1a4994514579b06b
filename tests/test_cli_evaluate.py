"""`frontwatch evaluate`: printed table, metrics.json and the PNG pictures."""

import json

from conftest import write_labelled
from frontwatch.cli import main


def test_evaluate_writes_json_and_pictures(tiny_model, tmp_path, capsys):
    data = write_labelled(tmp_path / "eval.jsonl", 2, seed=11)
    out = tmp_path / "report"
    assert main(["evaluate", str(tiny_model), str(data), "-o", str(out), "--device", "cpu"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["n_articles"] == 18
    for head, n in (("sector", 3), ("direction", 3)):
        assert 0 <= report[head]["f1_macro"] <= 1
        matrix = report["confusion_matrices"][head]["matrix"]
        assert len(matrix) == n and sum(map(sum, matrix)) == 18
        correct = sum(matrix[i][i] for i in range(n))
        assert report[head]["accuracy"] == correct / 18
        for picture in (out / f"confusion_{head}.png", out / f"f1_{head}.png"):
            assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(report["errors"]) == sum(18 - sum(report["confusion_matrices"][h]["matrix"][i][i] for i in range(3)) for h in ("sector", "direction"))
    printed = capsys.readouterr().out
    assert "sector: accuracy" in printed and "macro-F1" in printed
