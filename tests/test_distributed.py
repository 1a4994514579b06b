"""`accelerate launch -m frontwatch analyze`: rows split across processes, one output in input order."""

import json
import os
import subprocess
import sys

from frontwatch.cli import main
from frontwatch.inference.batch import shard_bounds

TEXTS = [
    "Les forces ukrainiennes ont repris Koupiansk selon l'armée.",
    "Moscou affirme que Soledar est perdu pour Kiev.",
    "Le front est stable à Kherson, attaque repoussée.",
]


def test_shards_cover_every_row_once_in_order():
    for n in (0, 1, 2, 7, 10):
        for world in (1, 2, 3, 4):
            covered = [k for rank in range(world) for k in range(*shard_bounds(n, rank, world))]
            assert covered == list(range(n))


def test_two_cpu_processes_write_one_output_in_input_order(tiny_model, tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": f"r{k}", "text": TEXTS[k % 3] + f" Jour {k}."}) for k in range(9)]
    lines.insert(4, json.dumps({"id": "bad"}))  # a failed row in the first process's share
    src.write_text("\n".join(lines) + "\n")
    options = ["--model", str(tiny_model), "--no-summary", "--device", "cpu", "--dtype", "float32"]
    assert main(["analyze", str(src), "-o", str(tmp_path / "one.jsonl"), *options]) == 1

    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    launched = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29517",
         "-m", "frontwatch", "analyze", str(src), "-o", str(tmp_path / "two.jsonl"), *options],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert "10 rows from 2 processes, 9 analysed, 1 failed" in launched.stderr, launched.stderr[-3000:]
    one = [json.loads(l) for l in (tmp_path / "one.jsonl").read_text().splitlines()]
    two = [json.loads(l) for l in (tmp_path / "two.jsonl").read_text().splitlines()]
    assert [r["id"] for r in two] == [r["id"] for r in one] == ["r0", "r1", "r2", "r3", "bad", *[f"r{k}" for k in range(4, 9)]]
    for a, b in zip(one, two):
        assert (a["sector"], a["direction"], a["error"]) == (b["sector"], b["direction"], b["error"])
        if a["error"] is None:
            assert abs(a["sector_score"] - b["sector_score"]) < 1e-3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "one.jsonl", "two.jsonl"]  # parts removed
