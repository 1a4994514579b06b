"""Does the summarizer's Gemma read direction better than the classifier? A frozen linear probe, measured.

Usage: python scripts/probe_decoder_direction.py [--classifier shipped] [--summarizer DIR] [--data-dir data]
                                                 [--real ../shared/examples/real_articles.jsonl]

An experiment, not part of the product. It reads every train, dev and test article through the shipped
summarizer's decoder (Gemma 3 270M with its adapter merged, bfloat16, the article's prompt with unknown
labels) and keeps, per layer, the last position's hidden state and the mean over all positions. A
multinomial logistic regression (L-BFGS, L2) on the train features predicts `direction`. Then the probe's
probabilities are averaged with the classifier's, with weight w on the probe.

Everything that is chosen (pooling, layer, L2 strength, w) is chosen on dev alone; test is printed only
for the choices dev made, and so are the labels of the real articles given with --real. About 4 minutes
on 2 CPU cores.
"""

import argparse
import itertools
import json
from pathlib import Path

import torch

from frontwatch.inference.analyzer import Analyzer
from frontwatch.models.summarizer import Summarizer, left_pad, left_padded_positions, shipped_summarizer_path
from frontwatch.training.metrics import classification_metrics
from frontwatch.training.train_classifier import resolve_model_path

SPLITS = ("train", "dev", "test")
READ = ("dev", "test", "real")  # what the classifier and the probe are scored on
LAYERS = (8, 10, 12, 14, 16, 18)
POOLINGS = ("last", "mean", "both")
L2 = (1e-3, 1e-2, 1e-1)
WEIGHTS = (0.0, 0.3, 0.5, 0.7, 1.0)  # weight of the probe in the average; 0 is the classifier alone


def decoder_features(summarizer: Summarizer, texts: list[str], batch_size: int = 8) -> dict:
    """{(pooling, layer): [n, hidden] float32} for the prompt of each text, labels left unknown."""
    prompts = [summarizer.prompt_ids(t, {}) for t in texts]
    order = sorted(range(len(texts)), key=lambda k: len(prompts[k]))  # less padding
    feats = {(p, l): [None] * len(texts) for p in ("last", "mean") for l in LAYERS}
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        ids, mask = left_pad([prompts[k] for k in idx], summarizer.tokenizer.pad_token_id)
        with torch.inference_mode():
            out = summarizer.model(input_ids=ids, attention_mask=mask, position_ids=left_padded_positions(mask),
                                   output_hidden_states=True, logits_to_keep=1)
        weights = (mask / mask.sum(1, keepdim=True)).unsqueeze(-1)
        for l in LAYERS:
            h = out.hidden_states[l].float()
            for row, k in enumerate(idx):
                feats["last", l][k] = h[row, -1]
                feats["mean", l][k] = (h[row] * weights[row]).sum(0)
    feats = {key: torch.stack(v) for key, v in feats.items()}
    for l in LAYERS:
        feats["both", l] = torch.cat([feats["last", l], feats["mean", l]], 1)
    return feats


def fit_probe(x: torch.Tensor, y: torch.Tensor, n_labels: int, l2: float):
    """Logistic regression on standardised features; returns a function giving probabilities."""
    mu, sd = x.mean(0), x.std(0) + 1e-5
    w = torch.zeros(x.shape[1], n_labels, requires_grad=True)
    b = torch.zeros(n_labels, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=300, line_search_fn="strong_wolfe")
    xs = (x - mu) / sd

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xs @ w + b, y) + l2 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return lambda z: torch.softmax((z - mu) / sd @ w + b, 1).detach()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--classifier", default="shipped")
    p.add_argument("--summarizer", default=None, help="a summarizer folder (default: the shipped one)")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--real", default="../shared/examples/real_articles.jsonl", help="labelled articles to show one by one")
    a = p.parse_args()
    files = {s: Path(a.data_dir) / f"{s}.jsonl" for s in SPLITS} | {"real": Path(a.real)}
    rows = {s: [json.loads(l) for l in open(f, encoding="utf-8")] if f.is_file() else [] for s, f in files.items()}

    analyzer = Analyzer.from_pretrained(resolve_model_path(a.classifier), device="cpu", summaries=False)
    labels = analyzer.label_maps["direction"]
    gold = {s: torch.tensor([labels.index(r["direction"]) for r in rows[s]]) for s in rows}
    classifier_probs = {s: analyzer.label_probabilities([r["text"] for r in rows[s]])[0]["direction"] for s in READ}
    del analyzer

    summarizer = Summarizer.from_pretrained(a.summarizer or shipped_summarizer_path(), dtype=torch.bfloat16)
    feats = {s: decoder_features(summarizer, [r["text"] for r in rows[s]]) for s in rows if rows[s]}

    def f1(probs, split):
        return classification_metrics(probs.argmax(1).tolist(), gold[split].tolist(), labels)["f1_macro"]

    def named(probs):
        return " ".join(labels[k] for k in probs.argmax(1))

    best_probe, best_mix = None, None  # (dev F1, choice, test F1, real labels); ties keep the first in grid order
    for pooling, layer, l2 in itertools.product(POOLINGS, LAYERS, L2):
        probe = fit_probe(feats["train"][pooling, layer], gold["train"], len(labels), l2)
        probe_probs = {s: probe(feats[s][pooling, layer]) for s in READ if rows[s]}
        for w in WEIGHTS:
            mixed = {s: w * probe_probs[s] + (1 - w) * classifier_probs[s] for s in probe_probs}
            found = (f1(mixed["dev"], "dev"), (pooling, layer, l2, w), f1(mixed["test"], "test"), named(mixed.get("real", torch.zeros(0, 1))))
            if w == 1.0 and (best_probe is None or found[0] > best_probe[0]):
                best_probe = found
            if best_mix is None or found[0] > best_mix[0]:
                best_mix = found

    print(f"direction macro-F1 (dev / test), {len(rows['train'])} train articles")
    print(f"  classifier alone                              {f1(classifier_probs['dev'], 'dev'):.3f} / "
          f"{f1(classifier_probs['test'], 'test'):.3f}   real: {named(classifier_probs['real'])}")
    for name, (dev, (pooling, layer, l2, w), test, real) in (("decoder probe alone", best_probe), ("average", best_mix)):
        print(f"  {name:<20} {pooling:>4} layer {layer:>2} L2 {l2:<5g} w {w:<3g}  {dev:.3f} / {test:.3f}   real: {real}")
    if rows["real"]:
        print(f"  real articles' gold: {' '.join(r['direction'] for r in rows['real'])}")


if __name__ == "__main__":
    main()
