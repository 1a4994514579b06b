"""`analyze_file`: a whole input file to a JSONL of results, written row by row and resumable."""

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from frontwatch.inference.analyzer import Analysis
from frontwatch.inference.io import read_rows


@dataclass
class RunSummary:
    rows: int
    failed: int
    resumed_from: int  # rows already done in the output file before this run

    @property
    def analysed(self) -> int:
        return self.rows - self.failed


def completed_rows(output: Path, input_ids: list[str]) -> int:
    """How many rows of a previous run's output are complete, truncating a half-written last line.

    Raises ValueError if the output does not belong to this input (ids differ) rather than append to it.
    """
    data = output.read_bytes()
    end = data.rfind(b"\n") + 1  # a line without its newline was being written when the run died
    if end < len(data):
        with output.open("r+b") as f:
            f.truncate(end)
    lines = data[:end].splitlines()
    if len(lines) > len(input_ids):
        raise ValueError(f"{output} has {len(lines)} rows but the input has {len(input_ids)}: it is not this input's output")
    for n, line in enumerate(lines):
        try:
            row_id = json.loads(line)["id"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{output}: row {n + 1} is not a frontwatch result; remove the file to start again") from None
        if row_id != input_ids[n]:
            raise ValueError(
                f"{output}: row {n + 1} has id {row_id!r} but the input's row {n + 1} has {input_ids[n]!r}; "
                "it is another input's output (remove it or pick another -o)"
            )
    return len(lines)


def shard_bounds(n_rows: int, rank: int, world: int) -> tuple[int, int]:
    """The contiguous rows [start, end) that process `rank` of `world` analyses: in rank order they
    cover every row once, so the parts concatenated are in input order."""
    return n_rows * rank // world, n_rows * (rank + 1) // world


def part_path(output_path, rank: int, world: int) -> Path:
    output_path = Path(output_path)
    return output_path.with_name(f"{output_path.name}.part{rank}of{world}")


def merge_parts(output_path, world: int) -> None:
    """Concatenates the processes' part files into `output_path` (atomically), then removes them."""
    output_path = Path(output_path)
    tmp = output_path.with_name(output_path.name + ".tmp")
    with open(tmp, "wb") as out:
        for rank in range(world):
            with open(part_path(output_path, rank, world), "rb") as part:
                shutil.copyfileobj(part, out)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(output_path)
    for rank in range(world):
        part_path(output_path, rank, world).unlink()


def analyze_file(analyzer, input_path, output_path, batch_size: int | None = None, resume: bool = False, progress: bool = True,
                 shard: tuple[int, int] = (0, 1)) -> RunSummary:
    """Analyses every row of a JSONL/CSV file into a JSONL file, one output row per input row, in order.

    Each result line is written whole and flushed before the next one, so a killed run leaves only
    complete lines (and at most one partial line, which `resume=True` drops and redoes). A resumed run
    gives a file identical to an uninterrupted one: it restarts at the batch chunk the missing rows
    belong to, so every article is computed in the same batch as before.

    `shard=(rank, world)` analyses only that process's contiguous share of the rows (see
    `shard_bounds`); ids and row numbers stay those of the whole file.
    """
    from tqdm import tqdm

    batch_size = batch_size or analyzer.batch_size
    all_rows = list(read_rows(input_path))
    seen: dict[str, int] = {r.id: r.number for r in reversed(all_rows)}  # id -> first row using it
    rows = all_rows[slice(*shard_bounds(len(all_rows), *shard))]
    output_path = Path(output_path)
    done = completed_rows(output_path, [r.id for r in rows]) if resume and output_path.exists() else 0
    output_path.parent.mkdir(parents=True, exist_ok=True)

    # Rows that reach the model, and where the chunk holding the first missing one starts.
    errors = [_row_error(r) for r in rows]
    parsed = [k for k, e in enumerate(errors) if e is None]
    n_parsed_done = sum(1 for k in parsed if k < done)
    chunk = analyzer.chunk_size(batch_size)
    restart = n_parsed_done // chunk * chunk
    results = analyzer.iter_predict((rows[k].record.get("text") for k in parsed[restart:]), batch_size)
    for _ in range(n_parsed_done - restart):
        next(results)  # recomputed only so that batches match the first run; already written

    failed = _count_failed_in_output(output_path, done) if done else 0
    with open(output_path, "a" if done else "w", encoding="utf-8") as f, tqdm(
        total=len(rows), initial=done, unit="article", file=sys.stderr, disable=not progress
    ) as bar:
        for row, error in zip(rows[done:], errors[done:]):
            res = Analysis(error=error) if error else next(results)
            flags = row.flags + res.flags
            if seen[row.id] != row.number:
                flags.append(f"duplicate_id:first_row={seen[row.id]}")
            failed += res.error is not None
            out = {"id": row.id}
            if isinstance(row.record, dict) and row.record.get("date") is not None:
                out["date"] = row.record["date"]  # passed through, for the report's timeline
            out |= {
                "sector": res.sector, "sector_score": res.sector_score,
                "direction": res.direction, "direction_score": res.direction_score,
                "flags": flags, "error": res.error,
            }
            if analyzer.summarizer is not None:
                out["summary"], out["summary_flags"] = res.summary, res.summary_flags or []
            f.write(json.dumps(out, ensure_ascii=False) + "\n")
            f.flush()
            bar.update()
        os.fsync(f.fileno())
    return RunSummary(rows=len(rows), failed=failed, resumed_from=done)


def _row_error(row) -> str | None:
    """Why a row cannot reach the model, when that is known before reading its text: it could not be
    parsed, or it has no `text` field at all (its fields are named, since a file that calls its articles
    something else fails on every row)."""
    if row.error is None and "text" not in row.record:
        return f"'text' is missing (the row's fields: {', '.join(repr(k) for k in row.record) or 'none'})"
    return row.error


def _count_failed_in_output(path: Path, n: int) -> int:
    """Failed rows among the first n lines an earlier run wrote."""
    with path.open(encoding="utf-8") as f:
        return sum(1 for _, line in zip(range(n), f) if json.loads(line)["error"] is not None)
