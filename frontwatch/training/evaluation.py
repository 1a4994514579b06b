"""`evaluate_classifier` and `evaluate_summarizer`: metrics on a labelled file, saved as JSON (and PNG pictures)."""

import json
import sys
import time
from pathlib import Path

from frontwatch.training.data import load_labelled
from frontwatch.training.metrics import classification_metrics, confusion_matrix


def evaluate_classifier(model_path, data_file, output_dir=None, batch_size: int = 16, device=None) -> dict:
    """Runs the classifier at `model_path` on `data_file` through the `Analyzer`, as users run it.

    Returns:
        {"<head>": {flat metrics...}, "confusion_matrices": {"<head>": {"labels": [...], "matrix": [[...]]}}}.
        With `output_dir`, also writes metrics.json, confusion_<head>.png and f1_<head>.png there.
    """
    from frontwatch.inference.analyzer import Analyzer

    analyzer = Analyzer.from_pretrained(model_path, device=device, batch_size=batch_size, summaries=False)
    records = load_labelled(data_file, analyzer.label_maps)
    results = analyzer([r["text"] for r in records])
    report = {"data_file": str(data_file), "n_articles": len(records), "confusion_matrices": {}}
    for head, labels in analyzer.label_maps.items():
        index = {l: i for i, l in enumerate(labels)}
        pred = [index[getattr(res, head)] for res in results]
        ref = [index[r[head]] for r in records]
        report[head] = classification_metrics(pred, ref, labels)
        report["confusion_matrices"][head] = {"labels": labels, "matrix": confusion_matrix(pred, ref, len(labels)).tolist()}
    report["errors"] = [
        {"id": r.get("id"), "head": head, "gold": r[head], "predicted": getattr(res, head)}
        for r, res in zip(records, results)
        for head in analyzer.label_maps
        if getattr(res, head) != r[head]
    ]
    if output_dir is not None:
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        for head in analyzer.label_maps:
            plot_confusion(report["confusion_matrices"][head], f"{head} (n={len(records)})", out / f"confusion_{head}.png")
            plot_f1(report[head], analyzer.label_maps[head], head, out / f"f1_{head}.png")
    return report


BASELINE = "base-few-shot"  # evaluate_summarizer's name for the un-tuned Gemma shown two examples


def few_shot_examples(train_file, n: int = 2) -> list[dict]:
    """The shortest training articles, one per direction in turn: the baseline's worked examples."""
    records = sorted(load_labelled(train_file, None, require_summary=True), key=lambda r: len(r["text"]))
    picked = []
    for direction in ("advance", "retreat", "none"):
        picked += [r for r in records if r["direction"] == direction][:1]
    return picked[:n]


def evaluate_summarizer(
    model_path, data_file, output_dir=None, classifier="shipped", batch_size: int = 8, device=None,
    train_file="data/train.jsonl", progress: bool = True, **generation,
) -> dict:
    """Summarises every article of `data_file` through the `Analyzer` (labels, checks, retry) and scores it.

    Args:
        model_path: summarizer folder, or `BASELINE` for the base decoder shown two training examples
            (from `train_file`) with the same prompt, checks and retry.
        classifier: the classifier that labels the articles and reads the summaries' direction.

    Returns:
        Flat metrics: `rougeL` (primary; against summary_en), `english`, `within_60_words`,
        `direction_agrees_with_gold` (the classifier reading the summary), `names_main_place` (the first
        place after a locative word in summary_en, over the articles that have one), `names_only_article_places`
        (no name absent from the article), `numbers_only_from_article`, `flagged`, per-flag counts and `seconds_per_article`.
        With `output_dir`, writes metrics.json and summaries.jsonl there.
    """
    from tqdm import tqdm

    from frontwatch.inference.analyzer import Analyzer
    from frontwatch.inference.checks import (
        CHECKS, MAX_WORDS, main_place, names_match, summary_names, unsupported_names, unsupported_numbers,
    )
    from frontwatch.models.summarizer import PromptSettings, Summarizer
    from frontwatch.text import detect_language
    from frontwatch.training.metrics import rouge_l
    from frontwatch.training.train_classifier import resolve_model_path

    baseline = str(model_path) == BASELINE
    analyzer = Analyzer.from_pretrained(resolve_model_path(classifier), device=device, batch_size=batch_size,
                                        summaries=not baseline, summarizer_path=None if baseline else model_path, **generation)
    if baseline:
        settings = PromptSettings(**_shipped_prompt_settings())
        analyzer.summarizer = Summarizer.few_shot(few_shot_examples(train_file), settings)
        analyzer.summarizer.to(analyzer.device)
    records = load_labelled(data_file, None, require_summary=True)
    began = time.time()
    texts = (r["text"] for r in records)
    results = list(tqdm(analyzer.iter_predict(texts), total=len(records), unit="article", file=sys.stderr, disable=not progress))
    seconds = time.time() - began
    summaries = [res.summary or "" for res in results]
    probs, _ = analyzer.label_probabilities(summaries)
    directions = [analyzer.label_maps["direction"][int(p.argmax())] for p in probs["direction"]]
    invented = [unsupported_names(s, r["text"]) for s, r in zip(summaries, records)]
    mains = [main_place(r["summary_en"]) for r in records]
    named = [any(names_match(m, n) for n in summary_names(s)) for s, m in zip(summaries, mains) if m]
    n = len(records)
    report = {
        "model": str(model_path), "data_file": str(data_file), "n_articles": n,
        "rougeL": rouge_l(summaries, [r["summary_en"] for r in records]),
        "english": sum(detect_language(s)[0] == "en" for s in summaries) / n,
        "within_60_words": sum(0 < len(s.split()) <= MAX_WORDS for s in summaries) / n,
        "direction_agrees_with_gold": sum(d == r["direction"] for d, r in zip(directions, records)) / n,
        "names_main_place": sum(named) / max(1, len(named)),
        "articles_with_main_place": len(named),
        "names_only_article_places": sum(not bad for bad in invented) / n,
        "numbers_only_from_article": sum(not unsupported_numbers(s, r["text"]) for s, r in zip(summaries, records)) / n,
        "flagged": sum(bool(res.summary_flags) for res in results) / n,
        "failed_first_pass": analyzer.summary_stats["retried"] / n,
        "fixed_by_retry": analyzer.summary_stats["fixed_by_retry"] / n,
        "seconds_per_article": seconds / n,
    }
    for flag in CHECKS:
        report[f"flag/{flag}"] = sum(flag in (res.summary_flags or []) for res in results)
    if output_dir is not None:
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
        with open(out / "summaries.jsonl", "w", encoding="utf-8") as f:
            for r, res, d, bad in zip(records, results, directions, invented):
                row = {"id": r.get("id"), "direction": r["direction"], "predicted_direction": res.direction,
                       "summary_direction": d, "summary": res.summary, "summary_flags": res.summary_flags,
                       "names_not_in_article": bad, "reference": r["summary_en"]}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return report


def _shipped_prompt_settings() -> dict:
    """The prompt settings of configs/summarizer.yaml's defaults, as the shipped model saved them."""
    from frontwatch.models.summarizer import SETTINGS_FILE, shipped_summarizer_path

    saved = json.loads((shipped_summarizer_path() / SETTINGS_FILE).read_text())
    return {"max_source_length": saved["max_source_length"], "label_descriptions": saved["label_descriptions"]}


def plot_confusion(cm: dict, title: str, path) -> None:
    """A confusion matrix with counts in the cells, true labels down, predicted across."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    matrix, labels = np.array(cm["matrix"]), cm["labels"]
    fig, ax = plt.subplots(figsize=(1.2 + 0.6 * len(labels), 1 + 0.55 * len(labels)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(j, i, matrix[i, j], ha="center", va="center", color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_f1(metrics: dict, labels: list[str], head: str, path) -> None:
    """Per-class F1 as horizontal bars, with the macro-F1 as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f1 = [metrics[f"f1/{l}"] for l in labels]
    fig, ax = plt.subplots(figsize=(6, 0.9 + 0.35 * len(labels)))
    ax.barh(labels, f1, color="#4c72b0")
    ax.axvline(metrics["f1_macro"], color="#c44e52", linestyle="--", label=f"macro-F1 {metrics['f1_macro']:.3f}")
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("F1")
    ax.set_title(f"{head}: per-class F1")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
