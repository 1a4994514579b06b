"""`evaluate_classifier`: metrics per head on a labelled file, saved as JSON and PNG pictures."""

import json
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

    analyzer = Analyzer.from_pretrained(model_path, device=device, batch_size=batch_size)
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
