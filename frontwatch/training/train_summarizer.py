"""`train_summarizer(cfg) -> Path`: fine-tunes the Gemma summarizer's LoRA adapter with the HF Trainer.

The loss covers the summary tokens only, and the 262k-wide output layer is applied only to the last
positions of each sequence, where the summary is: prompts are left-padded so that every summary ends
at the sequence's end, and `logits_to_keep` asks the model for just those positions.
"""

import json
import tempfile
import time
from pathlib import Path

from frontwatch import __version__
from frontwatch.training.augment import actor_swapped, check_actor_swap
from frontwatch.training.config import SummarizerConfig, config_to_yaml, training_arguments
from frontwatch.training.data import file_sha256, load_labelled, load_training_files, training_files


def resolve_summarizer_path(name: str) -> Path:
    """'shipped' names the summarizer inside the package; anything else is a folder."""
    if name == "shipped":
        from frontwatch.models.summarizer import shipped_summarizer_path

        return shipped_summarizer_path()
    return Path(name)


def summary_features(summarizer, records: list[dict], max_target_length: int, source: str) -> list[dict]:
    """Prompt and target ids per record; the prompt carries the record's gold labels."""
    features = []
    for k, r in enumerate(records):
        target = summarizer.target_ids(r["summary_en"])
        if len(target) > max_target_length:
            raise ValueError(
                f"{source}: row {k + 1} ({r.get('id', '')}): summary_en is {len(target)} tokens, over "
                f"max_target_length {max_target_length}; shorten it (summaries are at most 60 words)"
            )
        features.append({"prompt": summarizer.prompt_ids(r["text"], r), "target": target})
    return features


def summary_collator(pad_token_id: int):
    """Left-pads prompt+summary; labels cover only the positions whose logits are kept.

    The batch asks for the last K logits, K = longest summary + 1: the logit at position p
    predicts token p+1, so the first summary token is predicted from the prompt's last position.
    """
    import torch

    from frontwatch.models.summarizer import left_pad, left_padded_positions

    def collate(features):
        ids, mask = left_pad([f["prompt"] + f["target"] for f in features], pad_token_id)
        keep = max(len(f["target"]) for f in features) + 1
        labels = torch.full((len(features), keep), -100, dtype=torch.long)
        for row, f in enumerate(features):
            n = len(f["target"])
            labels[row, keep - 1 - n : keep - 1] = torch.tensor(f["target"])
        positions = left_padded_positions(mask)
        return {"input_ids": ids, "attention_mask": mask, "position_ids": positions, "logits_to_keep": keep, "labels": labels}

    return collate


def summary_loss(outputs, labels, num_items_in_batch=None):
    """Cross-entropy over the kept logits, summed and divided by the number of summary tokens."""
    import torch

    logits = outputs.logits.float()
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), labels.to(logits.device).reshape(-1), ignore_index=-100, reduction="sum"
    )
    count = num_items_in_batch if num_items_in_batch is not None else (labels != -100).sum()
    return loss / count


def train_summarizer(cfg: SummarizerConfig, progress: bool = True) -> Path:
    """Trains the summarizer's adapter and saves it to `cfg.output_dir`, then evaluates it on dev and test.

    Returns:
        The output folder, which `Summarizer.from_pretrained` and `Analyzer.from_pretrained` read.

    Example:
        >>> from frontwatch.training import SummarizerConfig, load_config, train_summarizer
        >>> train_summarizer(load_config(SummarizerConfig, "configs/summarizer.yaml"))  # doctest: +SKIP
    """
    from datasets import Dataset
    from transformers import Trainer, set_seed

    from frontwatch.models.summarizer import PromptSettings, Summarizer

    set_seed(cfg.seed)  # before the adapter is built
    # Hashed as read: a file changed during a long run must not be credited with the model.
    files = training_files(cfg.train_file)
    data_sha256 = {Path(p).name: file_sha256(p) for p in (*files, cfg.validation_file) if p}
    train_records = load_training_files(files, None, require_summary=True)
    if cfg.actor_swap:
        # The summarizer has no label map: its directions are those of its data and of its prompt's words.
        directions = sorted({r["direction"] for r in train_records} | set(cfg.label_descriptions.get("direction", {})))
        check_actor_swap(cfg.actor_swap, directions)
        train_records += actor_swapped(train_records, cfg.actor_swap)
    dev_records = load_labelled(cfg.validation_file, None, require_summary=True) if cfg.validation_file else None
    if cfg.model_name_or_path:
        summarizer = Summarizer.from_pretrained(resolve_summarizer_path(cfg.model_name_or_path), trainable=True)
        summarizer.settings.label_descriptions.update(cfg.label_descriptions)
    else:
        lora = dict(
            r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
            target_modules=cfg.lora_target_modules, layers_to_transform=cfg.lora_layers,
        )
        settings = PromptSettings(cfg.max_source_length, cfg.label_descriptions)
        summarizer = Summarizer.from_base(settings, lora, cfg.base_model_path)
    generation = summarizer.generation_config
    generation.update(num_beams=cfg.num_beams, max_new_tokens=cfg.max_new_tokens,
                      no_repeat_ngram_size=cfg.no_repeat_ngram_size, repetition_penalty=cfg.repetition_penalty)

    train_ds = Dataset.from_list(summary_features(summarizer, train_records, cfg.max_target_length, ", ".join(files)))
    dev_ds = (
        Dataset.from_list(summary_features(summarizer, dev_records, cfg.max_target_length, cfg.validation_file))
        if dev_records else None
    )
    scratch = tempfile.TemporaryDirectory(prefix="frontwatch-trainer-")  # nothing is saved there
    # No evaluation during training: dev loss once at the end; the real measure is `evaluate` on generated text.
    args = training_arguments(cfg, scratch.name, "no", progress)
    trainer = Trainer(
        model=summarizer.model, args=args, train_dataset=train_ds, eval_dataset=dev_ds,
        data_collator=summary_collator(summarizer.tokenizer.pad_token_id), compute_loss_func=summary_loss,
    )
    began = time.time()
    result = trainer.train()
    train_seconds = time.time() - began
    output_dir = Path(cfg.output_dir)
    if not trainer.is_world_process_zero():
        return output_dir
    summarizer.save_pretrained(output_dir, cfg.base_model_path)
    info = {
        "frontwatch_version": __version__,
        "train_seconds": round(train_seconds, 1),
        "device": "GPU" if args.device.type == "cuda" else args.device.type.upper(),
        "bf16": args.bf16,
        "train_rows": len(train_records),  # actor-swapped copies included
        "train_loss": result.training_loss,
        "dev_loss": trainer.evaluate()["eval_loss"] if dev_ds is not None else None,
        "data_sha256": data_sha256,
        "started_from": cfg.model_name_or_path,
    }
    (output_dir / "training_info.json").write_text(json.dumps(info, indent=2) + "\n")
    (output_dir / "training_config.yaml").write_text(config_to_yaml(cfg))
    scratch.cleanup()

    from frontwatch.training.evaluation import evaluate_summarizer
    from frontwatch.training.model_card import write_summarizer_card

    splits = (("dev", cfg.validation_file), ("test", cfg.test_file))
    reports = {
        name: evaluate_summarizer(output_dir, path, classifier=cfg.classifier_path, device=args.device, progress=progress)
        for name, path in splits if path
    }
    write_summarizer_card(output_dir, reports)
    return output_dir
