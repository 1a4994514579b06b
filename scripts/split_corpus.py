"""Split labelled JSONL files into train/dev/test, stratified by (sector, direction) cell.

Usage: python scripts/split_corpus.py OUT_DIR FILE.jsonl [FILE.jsonl ...] [--dev 0.15 --test 0.15 --seed 13]

Near-duplicate texts (over a third of the smaller one's word 5-grams shared) are dropped before
the split, keeping the first, so no article or its copy can sit in two splits.
"""

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

from frontwatch.training.data import near_duplicates


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out_dir")
    p.add_argument("files", nargs="+")
    p.add_argument("--dev", type=float, default=0.15)
    p.add_argument("--test", type=float, default=0.15)
    p.add_argument("--seed", type=int, default=13)
    a = p.parse_args()
    rows = [json.loads(l) for f in a.files for l in open(f, encoding="utf-8") if l.strip()]
    drop = {j for _, j, _ in near_duplicates([r["text"] for r in rows])}
    for j in sorted(drop):
        print(f"dropped near-duplicate {rows[j]['id']}")
    rows = [r for k, r in enumerate(rows) if k not in drop]
    cells = defaultdict(list)
    for r in rows:
        cells[r["sector"], r["direction"]].append(r)
    rng = random.Random(a.seed)
    splits = {"train": [], "dev": [], "test": []}
    for key in sorted(cells):
        group = sorted(cells[key], key=lambda r: r["id"])
        rng.shuffle(group)
        n_dev, n_test = round(len(group) * a.dev), round(len(group) * a.test)
        splits["dev"] += group[:n_dev]
        splits["test"] += group[n_dev : n_dev + n_test]
        splits["train"] += group[n_dev + n_test :]
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, part in splits.items():
        part.sort(key=lambda r: r["id"])
        with open(out / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for r in part:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{name}: {len(part)}")


if __name__ == "__main__":
    main()
