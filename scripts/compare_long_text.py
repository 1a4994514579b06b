"""Compare ways of reading articles longer than the encoder's window, on a labelled file.

Usage: python scripts/compare_long_text.py MODEL DATA [--max-seq-length 512]

Runs the same trained classifier with each way of cutting an article into encoder segments and prints
macro-F1 per head, on all articles and on the long ones alone (over one 512-token window). Schemes:
  paragraphs  each paragraph a segment (long ones windowed): what the shipped model is trained with
  windows     overlapping 512-token windows of the whole text
  head        the first window only (what a plain tokenizer with truncation does)
  head_tail   a quarter of the window from the start, the rest from the end
"""

import argparse
import json

from frontwatch.inference.analyzer import Analyzer
from frontwatch.training.metrics import classification_metrics


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("data")
    a = p.parse_args()
    rows = [json.loads(l) for l in open(a.data, encoding="utf-8")]
    analyzer = Analyzer.from_pretrained(a.model, device="cpu", summaries=False)
    settings = analyzer.classifier.settings
    analyzer.classifier.settings = dict(settings, long_text_strategy="windows")
    long = [len(w) > 1 for w, _ in analyzer.classifier.encode([r["text"] for r in rows])]
    print(f"{len(rows)} articles, {sum(long)} longer than one window of {settings['max_seq_length']} tokens")
    print(f"{'scheme':<10} {'subset':<6} {'n':>4} {'sector F1':>10} {'direction F1':>13}")
    for scheme in ("paragraphs", "windows", "head", "head_tail"):
        analyzer.classifier.settings = dict(settings, long_text_strategy=scheme)
        results = analyzer([r["text"] for r in rows])
        for subset, keep in (("all", [True] * len(rows)), ("long", long)):
            sel = [(r, res) for r, res, k in zip(rows, results, keep) if k]
            f1 = {}
            for head in ("sector", "direction"):
                labels = analyzer.label_maps[head]
                f1[head] = classification_metrics(
                    [labels.index(getattr(res, head)) for _, res in sel], [labels.index(r[head]) for r, _ in sel], labels
                )["f1_macro"]
            print(f"{scheme:<10} {subset:<6} {len(sel):>4} {f1['sector']:>10.4f} {f1['direction']:>13.4f}")


if __name__ == "__main__":
    main()
