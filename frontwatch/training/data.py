"""Labelled-article files: validation with row numbers, near-duplicate detection, loading for training."""

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from frontwatch.inference.io import read_rows
from frontwatch.text import detect_language

LABEL_FIELDS = ("sector", "direction")
SUMMARY_FIELD = "summary_en"
MAX_SUMMARY_WORDS = 60
NEAR_DUPLICATE_SHARE = 1 / 3  # of the smaller text's word 5-grams
_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?")
_WORDS = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Problem:
    """One problem of one row. `blocking` ones stop training; the others only `data check` reports."""

    row: int
    id: str
    message: str
    blocking: bool = True

    def __str__(self) -> str:
        return f"row {self.row} (id {self.id}): {self.message}"


class DataError(ValueError):
    """A labelled file has problems; the message lists them with row numbers."""

    def __init__(self, path, problems: list[Problem]):
        self.problems = problems
        shown = "\n  ".join(str(p) for p in problems[:25])
        more = f"\n  ... and {len(problems) - 25} more" if len(problems) > 25 else ""
        super().__init__(f"{path}: {len(problems)} problem(s); run `frontwatch data check {path}` for the full list\n  {shown}{more}")


def word_5grams(text: str) -> set[int]:
    """Hashes of the text's lower-cased word 5-grams."""
    words = _WORDS.findall(text.lower())
    return {hash(tuple(words[i : i + 5])) for i in range(len(words) - 4)}


def near_duplicates(texts: list[str], threshold: float = NEAR_DUPLICATE_SHARE) -> list[tuple[int, int, float]]:
    """Pairs (i, j, share) with i < j whose shared 5-grams exceed `threshold` of the smaller text's.

    Uses an inverted index, so a corpus of thousands of articles takes seconds, not a quadratic scan.
    """
    grams = [word_5grams(t) for t in texts]
    index = defaultdict(list)
    for i, g in enumerate(grams):
        for h in g:
            index[h].append(i)
    shared = defaultdict(int)
    for docs in index.values():
        if 1 < len(docs) < 50:  # a 5-gram in 50+ texts is boilerplate, not a copy
            for a in range(len(docs)):
                for b in range(a + 1, len(docs)):
                    shared[docs[a], docs[b]] += 1
    out = []
    for (i, j), n in shared.items():
        share = n / max(1, min(len(grams[i]), len(grams[j])))
        if share > threshold:
            out.append((i, j, share))
    return sorted(out)


def check_records(
    rows: list,
    labels: dict[str, list[str]] | None,
    require_summary: bool = True,
) -> list[Problem]:
    """Lists every problem of labelled rows (`InputRow`s), each with its row number.

    Args:
        rows: parsed rows from `read_rows`.
        labels: allowed labels per field (`sector`, `direction`); None skips the label check.
        require_summary: whether `summary_en` must be present.
    """
    problems: list[Problem] = []
    required = ("id", "text", *LABEL_FIELDS) + ((SUMMARY_FIELD,) if require_summary else ())
    seen_ids: dict[str, int] = {}
    texts, text_rows = [], []
    for row in rows:
        if row.error:
            problems.append(Problem(row.number, row.id, row.error))
            continue
        rec = row.record
        for field in required:
            value = rec.get(field)
            if value is None:
                problems.append(Problem(row.number, row.id, f"'{field}' is missing"))
            elif not isinstance(value, str):
                problems.append(Problem(row.number, row.id, f"'{field}' must be a string, got {type(value).__name__}"))
            elif not value.strip():
                problems.append(Problem(row.number, row.id, f"'{field}' is empty"))
        rid = rec.get("id")
        if isinstance(rid, str) and rid.strip():
            if rid in seen_ids:
                problems.append(Problem(row.number, row.id, f"duplicate id, first used on row {seen_ids[rid]}"))
            else:
                seen_ids[rid] = row.number
        for field in LABEL_FIELDS:
            value = rec.get(field)
            if labels and isinstance(value, str) and value.strip() and value not in labels.get(field, [value]):
                known = ", ".join(labels[field])
                problems.append(Problem(row.number, row.id, f"{field} '{value}' is not a known label ({known})"))
        text = rec.get("text")
        if isinstance(text, str) and text.strip():
            lang, _ = detect_language(text)
            if lang != "fr":
                problems.append(Problem(row.number, row.id, f"text does not read as French (looks like '{lang}')", False))
            texts.append(text)
            text_rows.append(row)
        summary = rec.get(SUMMARY_FIELD)
        if isinstance(summary, str) and summary.strip():
            n_words = len(summary.split())
            if n_words > MAX_SUMMARY_WORDS:
                problems.append(Problem(row.number, row.id, f"summary has {n_words} words, at most {MAX_SUMMARY_WORDS}"))
            lang, _ = detect_language(summary)
            if lang != "en":
                problems.append(Problem(row.number, row.id, f"summary does not read as English (looks like '{lang}')", False))
        date = rec.get("date")
        if date not in (None, "") and not (isinstance(date, str) and _DATE.fullmatch(date)):
            problems.append(Problem(row.number, row.id, f"date '{date}' is not YYYY-MM or YYYY-MM-DD"))
    for i, j, share in near_duplicates(texts):
        a, b = text_rows[i], text_rows[j]
        problems.append(
            Problem(b.number, b.id, f"text shares {share:.0%} of its word 5-grams with row {a.number} (id {a.id})", False)
        )
    return sorted(problems, key=lambda p: p.row)


def check_file(path, labels=None, require_summary: bool = True) -> list[Problem]:
    """Reads and checks one labelled JSONL or CSV file; see `check_records`."""
    return check_records(list(read_rows(path)), labels, require_summary)


def load_labelled(path, labels=None, require_summary: bool = False) -> list[dict]:
    """Returns the records of a labelled file, or raises `DataError` listing every problem.

    Args:
        path: JSONL or CSV file with `id`, `text`, `sector`, `direction` (and `summary_en`).
        labels: allowed labels per field; None accepts any.
        require_summary: set for summarizer training.
    """
    rows = list(read_rows(path))
    if not rows:
        raise DataError(path, [Problem(0, "-", "the file has no rows")])
    problems = [p for p in check_records(rows, labels, require_summary) if p.blocking]
    if problems:
        raise DataError(path, problems)
    return [r.record for r in rows]


def load_training_files(paths, labels=None, require_summary: bool = False) -> list[dict]:
    """The records of one labelled file, or of several one after the other (a config's `train_file`).

    Each file is checked as `load_labelled` checks it. An id found in two files is an error too: it is most
    likely the same article given twice.
    """
    first: dict[str, str] = {}
    records = []
    for path in training_files(paths):
        rows = load_labelled(path, labels, require_summary)
        again = [(k, r["id"]) for k, r in enumerate(rows, 1) if r["id"] in first]
        if again:
            shown = ", ".join(f"row {k} (id {rid}, in {first[rid]})" for k, rid in again[:10])
            more = f" and {len(again) - 10} more" if len(again) > 10 else ""
            raise ValueError(f"{path}: {len(again)} id(s) already used in an earlier training file: {shown}{more}; "
                             "the same article twice is most likely a mistake")
        first |= {r["id"]: str(path) for r in rows}
        records += rows
    return records


def training_files(paths) -> list[str]:
    """`train_file` as a list: one path, or a list of them."""
    files = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not files or not all(isinstance(f, (str, Path)) for f in files):
        raise ValueError(f"train_file: expected a file or a list of files, got {paths!r}")
    return [str(f) for f in files]


def file_sha256(path) -> str:
    """The sha256 of a data file, saved in checkpoints so a model names the data it saw."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
