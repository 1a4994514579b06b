"""The English summarizer: Gemma 3 270M with a LoRA adapter, conditioned on the classifier's labels.

A saved summarizer is a folder: the peft adapter (`adapter_model.safetensors`, `adapter_config.json`),
`summarizer_config.json` (how prompts are built), `generation_config.json` (decoding settings), a model
card and the Gemma Terms of Use. The base weights come from the cache (see `base_decoder`).

The prompt puts the article first and the labels last, so that the summary is written right after
the facts it must agree with:

    <bos>Article (French):
    {article, cut to max_source_length tokens}

    Sector: {sector description}
    Movement: {direction description}
    English summary:{ summary}<eos>
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

SETTINGS_FILE = "summarizer_config.json"
FORMAT_VERSION = 1


@dataclass
class PromptSettings:
    """How an article and its labels become a prompt; saved with the model.

    Attributes:
        max_source_length: article tokens kept (the start of the article; news puts the main claim first).
        label_descriptions: per head, the words the prompt uses for each label; a label without one
            (say a sector added by retraining) is written as its name.
    """

    max_source_length: int = 512
    label_descriptions: dict = field(default_factory=dict)

    def describe(self, head: str, label: str | None) -> str:
        if label is None:
            return "unknown"
        return self.label_descriptions.get(head, {}).get(label, label.replace("_", " "))


def clean_article(text: str) -> str:
    """Whitespace tidied: runs of spaces to one, at most one blank line between paragraphs."""
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r"\s*\n\s*(\n\s*)+", "\n\n", text)
    return text.strip()


class Summarizer:
    """Writes short English summaries of French articles, given the labels the classifier found.

    Example:
        >>> s = Summarizer.from_pretrained(shipped_summarizer_path())  # doctest: +SKIP
        >>> s.generate([article], [{"sector": "kharkiv", "direction": "advance"}])  # doctest: +SKIP
        ['Ukraine says its forces retook Kupiansk ...']
    """

    def __init__(self, model, tokenizer, settings: PromptSettings, generation_config=None):
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings
        self.generation_config = generation_config or default_generation_config(tokenizer)
        self.prefix_ids: list[int] = []  # worked examples put before every prompt (the few-shot baseline)
        self.share_prefill = True  # beam search: encode each prompt once, not once per beam (see _prefill)
        # generate() keeps the last position of a left-padded batch, a strided [batch, 1, hidden] view;
        # torch multiplies such a view by broadcasting the 262k-row output matrix over the batch, a
        # copy of batch x 335 MB per call. A contiguous input keeps it one plain matrix product.
        model.get_output_embeddings().register_forward_pre_hook(_contiguous_input)

    # ---- building ----------------------------------------------------------------------------

    @classmethod
    def from_base(cls, settings: PromptSettings, lora: dict, base_model_path=None) -> "Summarizer":
        """A new trainable adapter on the base decoder (Gemma 3 270M unless `base_model_path`)."""
        from peft import LoraConfig, get_peft_model

        from frontwatch.models.base_decoder import load_base_decoder

        model, tokenizer = load_base_decoder(base_model_path)
        model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **lora))
        return cls(model, tokenizer, settings)

    @classmethod
    def few_shot(cls, examples: list[dict], settings: PromptSettings, base_model_path=None) -> "Summarizer":
        """The un-tuned base decoder shown worked examples (records with text, labels, summary_en): the baseline."""
        from frontwatch.models.base_decoder import load_base_decoder

        model, tokenizer = load_base_decoder(base_model_path)
        summarizer = cls(model, tokenizer, settings)
        for ex in examples:
            prompt = summarizer.prompt_ids(ex["text"], ex)[1:]  # without BOS
            summarizer.prefix_ids += prompt + summarizer.target_ids(ex["summary_en"])[:-1]
            summarizer.prefix_ids += tokenizer("\n\n", add_special_tokens=False).input_ids
        return summarizer

    @classmethod
    def from_pretrained(cls, path, trainable: bool = False, dtype=None) -> "Summarizer":
        """Loads a saved summarizer; for inference the adapter is merged into the weights (no LoRA cost)."""
        from peft import PeftModel
        from transformers import GenerationConfig

        from frontwatch.models.base_decoder import load_base_decoder

        path = Path(path)
        settings_file = path / SETTINGS_FILE
        if not settings_file.is_file():
            raise FileNotFoundError(f"{path}: not a frontwatch summarizer folder (no {SETTINGS_FILE})")
        saved = json.loads(settings_file.read_text())
        if saved.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: summarizer format {saved.get('format_version')}, this frontwatch reads {FORMAT_VERSION}")
        model, tokenizer = load_base_decoder(saved.get("base_model_path"), dtype=dtype)
        model = PeftModel.from_pretrained(model, path, is_trainable=trainable)
        if not trainable:
            model = model.merge_and_unload().eval()
        generation = GenerationConfig.from_pretrained(path)
        return cls(model, tokenizer, PromptSettings(saved["max_source_length"], saved["label_descriptions"]), generation)

    def save_pretrained(self, path, base_model_path=None) -> None:
        from frontwatch.models.base_decoder import TERMS_FILE, terms_of_use

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.generation_config.save_pretrained(path)
        saved = {
            "format_version": FORMAT_VERSION,
            "base_model_path": str(base_model_path) if base_model_path else None,
            "max_source_length": self.settings.max_source_length,
            "label_descriptions": self.settings.label_descriptions,
        }
        (path / SETTINGS_FILE).write_text(json.dumps(saved, indent=2, ensure_ascii=False) + "\n")
        if base_model_path is None:  # derived from Gemma: its terms go with it
            (path / TERMS_FILE).write_bytes(terms_of_use().read_bytes())

    # ---- prompts -----------------------------------------------------------------------------

    def prompt_ids(self, article: str, labels: dict) -> list[int]:
        """Token ids of the prompt for one article (BOS first, article cut to max_source_length)."""
        tok = self.tokenizer
        body = tok(clean_article(article), add_special_tokens=False).input_ids[: self.settings.max_source_length]
        tail = (
            f"\n\nSector: {self.settings.describe('sector', labels.get('sector'))}\n"
            f"Movement: {self.settings.describe('direction', labels.get('direction'))}\n"
            "English summary:"
        )
        head = tok("Article (French):\n", add_special_tokens=False).input_ids
        return [tok.bos_token_id, *self.prefix_ids, *head, *body, *tok(tail, add_special_tokens=False).input_ids]

    def target_ids(self, summary: str) -> list[int]:
        """Token ids of a reference summary, as the model should write it (EOS last)."""
        return [*self.tokenizer(" " + summary.strip(), add_special_tokens=False).input_ids, self.tokenizer.eos_token_id]

    # ---- generation --------------------------------------------------------------------------

    def generate(
        self, articles: list[str], labels: list[dict], batch_size: int = 8, banned: list[list[str]] | None = None,
        **overrides,
    ) -> list[str]:
        """One summary per article, in input order.

        Batches are sorted by prompt length and left-padded; the KV cache is on and only the last
        position's logits are computed at each step. `banned`, per article, lists words its summary
        must not spell (names the article lacks). `overrides` replace generation-config fields (e.g.
        num_beams=2, max_new_tokens=80).
        """
        import torch
        from transformers import LogitsProcessorList

        prompts = [self.prompt_ids(a, l) for a, l in zip(articles, labels)]
        banned_ids = [self.banned_words(words) for words in banned] if banned else [[] for _ in prompts]
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        config = self.generation_config.to_dict() | overrides
        device = next(self.model.parameters()).device
        out: list[str | None] = [None] * len(prompts)
        pad = self.tokenizer.pad_token_id
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                ids, mask = left_pad([prompts[i] for i in batch], pad)
                width = ids.shape[1]
                processors = LogitsProcessorList()
                if any(banned_ids[i] for i in batch):
                    processors.append(BannedPerRow([banned_ids[i] for i in batch], config.get("num_beams") or 1))
                ids, mask = ids.to(device), mask.to(device)
                beams = config.get("num_beams") or 1
                shared = {"past_key_values": self._prefill(ids, mask, beams)} if beams > 1 and self.share_prefill else {}
                generated = self.model.generate(
                    input_ids=ids, attention_mask=mask, logits_processor=processors, **shared, **_generate_kwargs(config)
                )
                for row, i in enumerate(batch):
                    text = self.tokenizer.decode(generated[row, width:], skip_special_tokens=True)
                    out[i] = text.strip().split("\n")[0].strip()  # one paragraph; a base model goes on past it
        return out

    def _prefill(self, ids, mask, beams: int):
        """The KV cache of each prompt but its last token, computed once and copied for each beam.

        `generate` would copy the prompts for the beams first and then encode every copy; encoding the
        prompt is most of the work of a summary on a CPU. It then reads only the last token.
        """
        positions = left_padded_positions(mask)  # as generate numbers a left-padded batch
        out = self.model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions[:, :-1],
                         use_cache=True, logits_to_keep=1)
        out.past_key_values.batch_repeat_interleave(beams)
        return out.past_key_values

    def banned_words(self, words: list[str]) -> list[list[int]]:
        """Token sequences that spell `words` (with and without a leading space)."""
        seqs = []
        for w in words:
            for form in (w, " " + w):
                ids = self.tokenizer(form, add_special_tokens=False).input_ids
                if ids and ids not in seqs:
                    seqs.append(ids)
        return seqs


class BannedPerRow:
    """A logits processor that keeps each batch row from completing its own banned token sequences.

    transformers' `bad_words_ids` bans the same sequences in every row; a batch of retries needs each
    article's own list (the names that article lacks). With beam search, rows are beams: row r belongs
    to article r // num_beams.
    """

    def __init__(self, sequences: list[list[list[int]]], num_beams: int = 1):
        self.sequences = sequences
        self.num_beams = num_beams

    def __call__(self, input_ids, scores):
        for row in range(input_ids.shape[0]):
            seqs = self.sequences[row // self.num_beams]
            if not seqs:
                continue
            tail = input_ids[row, -max(len(s) for s in seqs) :].tolist()
            for seq in seqs:
                if tail[len(tail) - len(seq) + 1 :] == seq[:-1]:  # the rest of seq is already written
                    scores[row, seq[-1]] = float("-inf")
        return scores


def left_pad(seqs: list[list[int]], pad: int):
    """(input_ids, attention_mask) of token sequences padded on the left to the longest one.

    Left padding puts every sequence's end at the batch's end: where generation continues, and where
    training keeps its logits.
    """
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        ids[row, width - len(seq) :] = torch.tensor(seq)
        mask[row, width - len(seq) :] = 1
    return ids, mask


def left_padded_positions(mask):
    """Position ids of a left-padded batch: 0 at each sequence's first real token (and on the padding)."""
    return (mask.cumsum(-1) - 1).clamp(min=0)


def _contiguous_input(module, args):
    return (args[0].contiguous(), *args[1:])


def default_generation_config(tokenizer):
    """Greedy, a hard cap on new tokens, and no repeated 4-grams (so no repetition loops)."""
    from transformers import GenerationConfig

    return GenerationConfig(
        max_new_tokens=96,  # tokens; the longest reference summary is ~70
        do_sample=False,
        num_beams=1,
        no_repeat_ngram_size=4,
        repetition_penalty=1.1,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def _generate_kwargs(config: dict) -> dict:
    from transformers import GenerationConfig

    keep = GenerationConfig().to_dict().keys()
    return {"generation_config": GenerationConfig(**{k: v for k, v in config.items() if k in keep})}


def shipped_summarizer_path() -> Path:
    """The summarizer folder installed with the package."""
    from importlib import resources

    path = Path(str(resources.files("frontwatch") / "shipped" / "summarizer"))
    if not (path / SETTINGS_FILE).is_file():
        raise FileNotFoundError(f"{path}: the shipped summarizer is missing from this install; reinstall frontwatch")
    return path
