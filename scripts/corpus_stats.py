"""Print the data card's tables (markdown) from the corpus files: `python scripts/corpus_stats.py data`.

tests/test_corpus.py checks that data/README.md contains exactly these tables.
"""

import json
import sys
from collections import Counter
from pathlib import Path

SPLITS = ("train", "dev", "test")


def load(data_dir):
    return {s: [json.loads(l) for l in open(Path(data_dir) / f"{s}.jsonl", encoding="utf-8")] for s in SPLITS}


def tables(data_dir) -> list[str]:
    data = load(data_dir)
    everything = [r for s in SPLITS for r in data[s]]
    sectors = list(dict.fromkeys(r["sector"] for r in sorted(everything, key=lambda r: r["sector"] == "other")))
    directions = ["advance", "retreat", "none"]
    out = []

    t = ["| split | articles | words (min / median / max) |", "|---|---|---|"]
    for s in SPLITS:
        n = sorted(len(r["text"].split()) for r in data[s])
        t.append(f"| {s} | {len(n)} | {n[0]} / {n[len(n) // 2]} / {n[-1]} |")
    t.append(f"| all | {len(everything)} | |")
    out.append("\n".join(t))

    t = ["| sector | " + " | ".join(f"{d} (train/dev/test)" for d in directions) + " | total |", "|---|---|---|---|---|"]
    for sec in sectors:
        cells = []
        for d in directions:
            c = [sum(1 for r in data[s] if r["sector"] == sec and r["direction"] == d) for s in SPLITS]
            cells.append("/".join(map(str, c)) if any(c) else "-")
        t.append(f"| {sec} | " + " | ".join(cells) + f" | {sum(1 for r in everything if r['sector'] == sec)} |")
    out.append("\n".join(t))

    n = len(everything)
    genres = Counter(r["genre"] for r in everything)
    t = ["| genre | articles |", "|---|---|"] + [f"| {g} | {c} |" for g, c in sorted(genres.items())]
    out.append("\n".join(t))

    years = Counter(r["date"][:4] for r in everything)
    shares = [
        ("scrape debris (photo credits, 'Lire aussi', breadcrumbs, cookie banners...)", sum(r["scrape_debris"] for r in everything)),
        ("a place from another sector mentioned in passing", sum(bool(r["distractor"]) for r in everything)),
        ("conflicting claims by the two sides", sum(r["conflicting_claims"] for r in everything)),
    ]
    t = ["| property | articles | share |", "|---|---|---|"] + [f"| {k} | {c} | {c / n:.0%} |" for k, c in shares]
    t += [f"| set in {y} | {c} | {c / n:.0%} |" for y, c in sorted(years.items())]
    out.append("\n".join(t))
    return out


if __name__ == "__main__":
    print("\n\n".join(tables(sys.argv[1] if len(sys.argv) > 1 else "data")))
