"""Reading article rows from JSONL or CSV, one outcome per row, never stopping at a bad one."""

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
CSV_SUFFIXES = {".csv"}


@dataclass
class InputRow:
    """One data row of an input file.

    Attributes:
        number: 1-based position among the file's data rows (blank JSONL lines and the CSV header
            are not rows).
        record: the parsed fields, or None when the row could not be parsed.
        error: why the row could not be parsed, else None.
        flags: notes on how the row was read, e.g. "invalid_utf8" (bad bytes replaced by U+FFFD).
    """

    number: int
    record: dict | None
    error: str | None = None
    flags: list = field(default_factory=list)

    @property
    def id(self) -> str:
        """The row's `id` field as a string, or its row number when it has none."""
        if self.record is not None and self.record.get("id") not in (None, ""):
            return str(self.record["id"])
        return str(self.number)


def file_format(path: str | Path) -> str:
    """Returns 'jsonl' or 'csv' from the file name, or raises a ValueError saying what is accepted."""
    suffix = Path(path).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise ValueError(f"{path}: unknown file type '{suffix}'; use .jsonl (one JSON object a line) or .csv with a header")


def check_input_file(path: str | Path) -> str:
    """Returns the file's format, or raises a clear error for a missing file, an unknown type, or a CSV
    whose header has no `text` column (every row would fail)."""
    fmt = file_format(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if fmt == "csv":
        columns = _csv_header(Path(path))
        if "text" not in columns:
            found = ", ".join(repr(c) for c in columns) or "none"
            raise ValueError(f"{path}: the CSV header has no 'text' column (its columns: {found}); "
                             "name the column that holds the articles 'text'")
    return fmt


def read_rows(path: str | Path) -> Iterator[InputRow]:
    """Yields every data row of a JSONL or CSV file in order, bad rows included with their error."""
    path = Path(path)
    if check_input_file(path) == "csv":
        yield from _read_csv(path)
    else:
        yield from _read_jsonl(path)


def _read_jsonl(path: Path) -> Iterator[InputRow]:
    number = 0
    with path.open("rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            number += 1
            line, flags = _decode(raw)
            try:
                value = json.loads(line)
            except json.JSONDecodeError as e:
                yield InputRow(number, None, f"malformed JSON ({e.msg} at column {e.colno})", flags)
                continue
            if not isinstance(value, dict):
                yield InputRow(number, None, f"expected a JSON object, got {type(value).__name__}", flags)
                continue
            yield InputRow(number, value, None, flags)


def _decode(raw: bytes) -> tuple[str, list[str]]:
    """UTF-8, with undecodable bytes replaced (and flagged) rather than losing the row."""
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), ["invalid_utf8"]


def _csv_header(path: Path) -> list[str]:
    # utf-8-sig drops a byte-order mark, as _read_csv does.
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
        return next(csv.reader(f), [])


def _read_csv(path: Path) -> Iterator[InputRow]:
    text, _ = _decode(path.read_bytes())
    text = text.removeprefix("\ufeff")  # a byte-order mark, as spreadsheet exports write
    # newline="" keeps newlines inside quoted fields, which real CSV exports are full of.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for number, rec in enumerate(reader, start=1):
        flags = ["invalid_utf8"] if any("\ufffd" in (v or "") for v in rec.values() if isinstance(v, str)) else []
        if None in rec:  # more cells than header names
            rec.pop(None)
            yield InputRow(number, rec, "row has more cells than the header has columns", flags)
            continue
        yield InputRow(number, rec, None, flags)
