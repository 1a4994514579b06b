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
from frontwatch.training.augment import actor_swapped, swap_actors
from frontwatch.training.data import load_labelled
from frontwatch.training.metrics import classification_metrics

SWAP = {"advance": "retreat", "retreat": "advance"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("data")
    a = p.parse_args()
    rows = load_labelled(a.data)  # JSONL or CSV; every problem reported
    moving = [r for r in rows if r["direction"] in SWAP]
    copies = actor_swapped(moving, SWAP)
    analyzer = Analyzer.from_pretrained(None if a.model == "shipped" else a.model, summaries=False)
    labels = analyzer.label_maps["direction"]

    def directions(records):
        probs, _ = analyzer.label_probabilities([r["text"] for r in records])
        return [labels[i] for i in probs["direction"].argmax(-1).tolist()]

    before, after = directions(moving), directions(copies)
    right = lambda preds, recs: sum(p == r["direction"] for p, r in zip(preds, recs))
    flipped = sum(SWAP.get(b) == c for b, c in zip(before, after))
    stayed = sum(b == c for b, c in zip(before, after))
    print(f"{len(moving)} moving articles of {len(rows)} in {a.data}")
    print(f"direction right: originals {right(before, moving)}/{len(moving)}, actor-swapped copies {right(after, copies)}/{len(copies)}")
    print(f"prediction after the swap: flipped {flipped}, unchanged {stayed}, other {len(moving) - flipped - stayed}")

    as_read = analyzer.label_probabilities([r["text"] for r in rows])[0]["direction"]
    swapped = analyzer.label_probabilities([swap_actors(r["text"]) for r in rows])[0]["direction"]
    back = [labels.index(SWAP.get(l, l)) for l in labels]  # the copy's advance is the article's retreat
    gold = [labels.index(r["direction"]) for r in rows]
    f1 = lambda probs: classification_metrics(probs.argmax(-1).tolist(), gold, labels)["f1_macro"]
    print(f"direction macro-F1 on all {len(rows)}: as read {f1(as_read):.3f}, averaged with the swapped copy {f1(as_read + swapped[:, back]):.3f}")


if __name__ == "__main__":
    main()
