"""`train_classifier(cfg) -> Path`: fine-tunes the multi-task classifier with the HF Trainer."""

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from frontwatch import __version__
from frontwatch.training.augment import actor_swapped, check_actor_swap
from frontwatch.training.config import ClassifierConfig, config_to_yaml, training_arguments
from frontwatch.training.data import LABEL_FIELDS, file_sha256, load_labelled, load_training_files, training_files
from frontwatch.training.metrics import classification_metrics


def resolve_model_path(name: str) -> Path:
    """'shipped' names the classifier inside the package; anything else is a folder."""
    if name == "shipped":
        from frontwatch.inference.analyzer import shipped_classifier_path

        return shipped_classifier_path()
    return Path(name)


def _label_maps(cfg: ClassifierConfig, known: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """The label set of each head: the config's, or a model's plus the explicitly added ones."""
    if known is None:
        missing = [h for h in LABEL_FIELDS if not cfg.labels.get(h)]
        if missing:
            raise ValueError(f"labels: give the label set of {', '.join(missing)} (training starts from the bare encoder)")
        if cfg.new_labels:
            raise ValueError("new_labels only applies when model_name_or_path names a model to extend; put them in labels")
        return {h: list(cfg.labels[h]) for h in LABEL_FIELDS}
    maps = {h: list(v) for h, v in known.items()}
    for head, new in cfg.new_labels.items():
        if head not in maps:
            raise ValueError(f"new_labels: unknown head '{head}'; heads are {', '.join(maps)}")
        again = [label for label in new if label in maps[head]]
        if again:
            raise ValueError(f"new_labels: {head} already has {', '.join(again)}")
        maps[head].extend(new)
    return maps


def _features(model, records: list[dict]) -> list[dict]:
    encoded = model.encode([r["text"] for r in records])
    ids = [{l: i for i, l in enumerate(labels)} for labels in model.label_maps.values()]
    return [
        {"windows": windows, "labels": [m[r[h]] for m, h in zip(ids, model.label_maps)]}
        for (windows, _), r in zip(encoded, records)
    ]


def _collator(model):
    import torch

    def collate(features):
        batch = model.collate([f["windows"] for f in features])
        batch["labels"] = torch.tensor([f["labels"] for f in features])
        return batch

    return collate


def _compute_metrics(label_maps):
    def compute(pred):
        logits = pred.predictions if isinstance(pred.predictions, tuple) else (pred.predictions,)
        out = {}
        for k, (head, labels) in enumerate(label_maps.items()):
            m = classification_metrics(np.argmax(logits[k], axis=-1), pred.label_ids[:, k], labels)
            out[f"{head}_f1_macro"] = m["f1_macro"]
            out[f"{head}_accuracy"] = m["accuracy"]
        out["f1_macro"] = float(np.mean([out[f"{h}_f1_macro"] for h in label_maps]))
        return out

    return compute


def train_classifier(cfg: ClassifierConfig, progress: bool = True) -> Path:
    """Trains the sector/direction classifier and saves it to `cfg.output_dir`.

    Starts from the bare base encoder, or, when `cfg.model_name_or_path` names a saved classifier,
    from its adapter and heads, keeping its label ids and adding `cfg.new_labels`.

    Returns:
        The output folder, which `FrontClassifier.from_pretrained` and `Analyzer.from_pretrained` read.

    Example:
        >>> from frontwatch.training import ClassifierConfig, load_config, train_classifier
        >>> train_classifier(load_config(ClassifierConfig, "configs/classifier.yaml"))  # doctest: +SKIP
    """
    import torch
    from datasets import Dataset
    from transformers import Trainer, set_seed

    from frontwatch.models.classifier import FrontClassifier

    set_seed(cfg.seed)  # before the heads and adapters are built
    settings = dict(
        max_seq_length=cfg.max_seq_length, long_text_strategy=cfg.long_text_strategy, window_overlap=cfg.window_overlap,
        max_segments=cfg.max_segments, classifier_dropout=cfg.classifier_dropout,
    )
    start = None
    if cfg.model_name_or_path:
        start = resolve_model_path(cfg.model_name_or_path)
        known = FrontClassifier.read_label_maps(start)
    else:
        known = None
    label_maps = _label_maps(cfg, known)
    check_actor_swap(cfg.actor_swap, label_maps["direction"])

    # Hashed as read: a file changed during a long run must not be credited with the model.
    files = training_files(cfg.train_file)
    data_sha256 = {Path(p).name: file_sha256(p) for p in (*files, cfg.validation_file) if p}
    train_records = load_training_files(files, label_maps, require_summary=cfg.train_on_summaries)
    if cfg.actor_swap:
        train_records += actor_swapped(train_records, cfg.actor_swap)
    if cfg.train_on_summaries:
        train_records += [{**r, "text": r["summary_en"]} for r in train_records]
    dev_records = load_labelled(cfg.validation_file, label_maps) if cfg.validation_file else None
    for head in label_maps:
        seen = {r[head] for r in train_records}
        unseen = [l for l in (cfg.new_labels.get(head, []) if start else []) if l not in seen]
        if unseen:
            raise ValueError(f"{', '.join(files)}: new {head} label(s) {', '.join(unseen)} have no training rows")

    if start is not None:
        model = FrontClassifier.from_pretrained(start, trainable=True)
        for head, new in cfg.new_labels.items():
            model.add_labels(head, new)
        model.settings.update(settings)
    else:
        lora = dict(
            r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
            target_modules=cfg.lora_target_modules, layers_to_transform=cfg.lora_layers,
        )
        model = FrontClassifier.from_base(label_maps, settings, lora, cfg.base_model_path)

    train_features = _features(model, train_records)
    if start is None:  # a model being extended keeps the statistics its heads were trained with
        # One frozen pass over the training articles: it sets the standardisation and, with
        # probe_epochs, trains the heads on fixed vectors before the adapters start to move.
        vectors, owners = model.embed_segments([f["windows"] for f in train_features], cfg.per_device_eval_batch_size, progress)
        model.set_feature_stats(vectors)
        if cfg.probe_epochs:
            labels = torch.tensor([f["labels"] for f in train_features])
            model.probe_heads(vectors, owners, labels, cfg.probe_epochs, cfg.head_learning_rate or cfg.learning_rate,
                              cfg.per_device_train_batch_size, cfg.seed, progress)
    train_ds = Dataset.from_list(train_features)
    dev_ds = Dataset.from_list(_features(model, dev_records)) if dev_records else None
    output_dir = Path(cfg.output_dir)
    scratch = tempfile.TemporaryDirectory(prefix="frontwatch-trainer-")  # nothing is saved there
    args = training_arguments(cfg, scratch.name, "epoch" if dev_ds is not None else "no", progress)
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": cfg.learning_rate, "weight_decay": cfg.weight_decay},
            {"params": [*model.heads.parameters(), *model.attention.parameters()],
             "lr": cfg.head_learning_rate or cfg.learning_rate, "weight_decay": 0.0},
        ]
    )
    trainer = Trainer(
        model=model, args=args, train_dataset=train_ds, eval_dataset=dev_ds,
        data_collator=_collator(model), compute_metrics=_compute_metrics(model.label_maps),
        optimizers=(optimizer, None),  # the Trainer adds its warmup and decay schedule to both groups
    )
    began = time.time()
    result = trainer.train()
    train_seconds = time.time() - began
    if not trainer.is_world_process_zero():
        return output_dir

    model.save_pretrained(output_dir)
    info = {
        "frontwatch_version": __version__,
        "train_seconds": round(train_seconds, 1),
        "train_rows": len(train_records),  # actor-swapped copies and summaries included
        "train_loss": result.training_loss,
        "data_sha256": data_sha256,
        "started_from": str(start) if start else None,
        "dev_metrics": trainer.evaluate() if dev_ds is not None else None,
    }
    (output_dir / "training_info.json").write_text(json.dumps(info, indent=2) + "\n")
    (output_dir / "training_config.yaml").write_text(config_to_yaml(cfg))
    scratch.cleanup()

    from frontwatch.training.evaluation import evaluate_classifier
    from frontwatch.training.model_card import write_model_card

    # Through the Analyzer, as users run it, so the card's figures are the ones `evaluate` gives.
    splits = (("dev", cfg.validation_file), ("test", cfg.test_file))
    reports = {name: evaluate_classifier(output_dir, path, device=args.device) for name, path in splits if path}
    write_model_card(output_dir, reports)
    return output_dir
