"""Interrupted runs lose nothing: kill -9 a real `frontwatch analyze`, resume, get the same bytes."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from conftest import make_article
from frontwatch.inference.batch import completed_rows


def _input(path, n):
    rng = random.Random(0)
    lines = []
    for i in range(n):
        if i % 97 == 5:
            lines.append("{broken")
        else:
            s, d = rng.choice(["kharkiv", "bakhmut", "kherson"]), rng.choice(["advance", "retreat", "none"])
            lines.append(json.dumps({"id": f"a{i}", "text": make_article(rng, s, d, n_words=rng.randrange(5, 80))}))
    path.write_text("\n".join(lines) + "\n")
    return path


def _analyze(src, out, model, *extra):
    cmd = [sys.executable, "-m", "frontwatch", "analyze", str(src), "-o", str(out), "--model", str(model),
           "--batch-size", "4", "--device", "cpu", "--no-summary", *extra]
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, env=dict(os.environ, OMP_NUM_THREADS="1"))


def _lines(path):
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_kill_9_then_resume_gives_the_uninterrupted_file(tiny_model, tmp_path):
    n = 4000
    src = _input(tmp_path / "in.jsonl", n)
    reference = tmp_path / "reference.jsonl"
    assert _analyze(src, reference, tiny_model).wait(timeout=300) == 1  # the broken rows fail

    out = tmp_path / "out.jsonl"
    proc = _analyze(src, out, tiny_model)
    deadline = time.time() + 240
    while _lines(out) < 300 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    written = _lines(out)
    assert proc.returncode == -signal.SIGKILL and 0 < written < n, written  # really cut part-way

    resumed = _analyze(src, out, tiny_model, "--resume")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 1
    assert f"{n} rows, {n - 42} analysed, 42 failed (resumed after" in err.decode()
    assert "Warning" not in err.decode()  # libraries' notices would bury the progress bar and the count
    assert out.read_bytes() == reference.read_bytes()


def test_same_input_gives_byte_identical_output(tiny_model, tmp_path):
    src = _input(tmp_path / "in.jsonl", 300)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for out in (a, b):
        assert _analyze(src, out, tiny_model).wait(timeout=300) == 1
    assert a.read_bytes() == b.read_bytes()


def test_partial_last_line_is_dropped_and_foreign_output_refused(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id": "a"}\n{"id": "b"}\n{"id": "c", "sec')
    assert completed_rows(out, ["a", "b", "c", "d"]) == 2
    assert out.read_bytes() == b'{"id": "a"}\n{"id": "b"}\n'
    with pytest.raises(ValueError, match="another input's output"):
        completed_rows(out, ["a", "x", "c"])
    with pytest.raises(ValueError, match="not this input's output"):
        completed_rows(out, ["a"])
