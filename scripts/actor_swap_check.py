"""Does a classifier read who moves? Its direction on articles and on their actor-swapped copies.

Usage: python scripts/actor_swap_check.py MODEL DATA

Each article whose direction is advance or retreat is copied with its Ukrainian and Russian references
exchanged (frontwatch.training.augment) and the label swapped. A model that reads the actor changes its
answer with the swap; one that learnt the events keeps it. Prints direction accuracy on the originals and
on the copies, and how many of the moving articles' predictions flipped, stayed, or moved to `none`.
Last, the direction macro-F1 on every article as read, and with each article's probabilities averaged
with its swapped copy's (advance and retreat exchanged back): a test-time use of the swap.
MODEL is a classifier folder or "shipped".
"""

import argparse

from frontwatch.inference.analyzer import Analyzer
from frontwatch.training.augment import swap_actors
from frontwatch.training.data import load_labelled
from frontwatch.training.metrics import classification_metrics

SWAP = {"advance": "retreat", "retreat": "advance"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("data")
    a = p.parse_args()
    rows = load_labelled(a.data)  # JSONL or CSV; every problem reported
    analyzer = Analyzer.from_pretrained(None if a.model == "shipped" else a.model, summaries=False)
    labels = analyzer.label_maps["direction"]
    # Each article and its swapped copy are read once; the moving ones' figures are taken from them.
    as_read = analyzer.label_probabilities([r["text"] for r in rows])[0]["direction"]
    swapped = analyzer.label_probabilities([swap_actors(r["text"]) for r in rows])[0]["direction"]
    moving = [k for k, r in enumerate(rows) if r["direction"] in SWAP]
    before = [labels[as_read[k].argmax()] for k in moving]
    after = [labels[swapped[k].argmax()] for k in moving]
    gold = [rows[k]["direction"] for k in moving]

    flipped = sum(SWAP.get(b) == c for b, c in zip(before, after))
    stayed = sum(b == c for b, c in zip(before, after))
    print(f"{len(moving)} moving articles of {len(rows)} in {a.data}")
    print(f"direction right: originals {sum(p == g for p, g in zip(before, gold))}/{len(moving)}, "
          f"actor-swapped copies {sum(p == SWAP[g] for p, g in zip(after, gold))}/{len(moving)}")
    print(f"prediction after the swap: flipped {flipped}, unchanged {stayed}, other {len(moving) - flipped - stayed}")

    back = [labels.index(SWAP.get(l, l)) for l in labels]  # the copy's advance is the article's retreat
    gold_ids = [labels.index(r["direction"]) for r in rows]
    f1 = lambda probs: classification_metrics(probs.argmax(-1).tolist(), gold_ids, labels)["f1_macro"]
    print(f"direction macro-F1 on all {len(rows)}: as read {f1(as_read):.3f}, averaged with the swapped copy {f1(as_read + swapped[:, back]):.3f}")

if __name__ == "__main__":
    main()
