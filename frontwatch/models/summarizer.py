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
# On a CPU a batch's prompts are encoded a few rows at a time, about this many tokens per call: 16 prompts
# of 559 tokens took 4.9 s in one call and 3.5 s in calls of 4 rows (the whole batch's attention and MLP
# activations no longer fit the caches). GPUs take the whole batch at once.
CPU_PREFILL_TOKENS = 3072


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
        self._pieces: list[str] | None = None  # see pieces()
        self.share_prefill = True  # beam search: encode each prompt once, not once per beam (see _prefill)
        self.own_processors = True  # repetition penalty and no repeated n-gram by RepetitionPenalty, NoRepeatNGram
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

    def to(self, device) -> "Summarizer":
        """Moves the model to `device`; for inference on a CPU in bfloat16, its matrix products are
        rearranged for oneDNN (`frontwatch.models.cpu_matmul`: faster, bitwise the same summaries)."""
        from frontwatch.models import cpu_matmul

        cpu_matmul.unpack(self.model)
        self.model.to(device)
        if not hasattr(self.model, "peft_config") and cpu_matmul.can_pack(self.model):  # not while training adapters
            cpu_matmul.pack(self.model)
        return self

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
        self, articles: list[str], labels: list[dict], batch_size: int = 8, guards: list | None = None, **overrides,
    ) -> list[str]:
        """One summary per article, in input order.

        Batches are sorted by prompt length and left-padded; the KV cache is on and only the last
        position's logits are computed at each step. `guards`, one per article, are objects whose
        `allows(written, piece)` says whether the summary written so far may go on with a piece of
        text (see `frontwatch.inference.checks.NameGuard`); tokens they refuse are not written (see
        `GuardedTokens`).
        `overrides` replace generation-config fields (e.g. num_beams=2, max_new_tokens=80).
        """
        config = self.generation_config.to_dict() | overrides
        out: list[str | None] = [None] * len(articles)
        for batch, ids, mask in self._batches(articles, labels, batch_size):
            cache = self._prefill(ids, mask, config.get("max_new_tokens") or 0) if (config.get("num_beams") or 1) > 1 and self.share_prefill else None
            texts = self._decode(ids, mask, config, [guards[i] for i in batch] if guards else None, cache)
            for i, text in zip(batch, texts):
                out[i] = text
        return out

    def generate_checked(
        self, articles: list[str], labels: list[dict], check, retry: dict, batch_size: int = 8,
        guards: list | None = None, **overrides,
    ) -> tuple[list[str], list[list[str]], list[int]]:
        """Summaries written, checked, and where a check fails written once more, batch by batch.

        `check(indices, summaries)` returns, for the summaries of those articles, the names of the
        checks each fails. A failing summary is written again with `retry` (generation-config fields
        on top of `overrides`, e.g. beam search) from the same encoded prompt, which is not encoded
        twice; the version that fails fewer checks is kept. Returns (summaries, their failed checks,
        the indices of the articles whose summary was written again).
        """
        import torch

        config = self.generation_config.to_dict() | overrides
        strict = config | retry
        out: list[str | None] = [None] * len(articles)
        failed: list[list[str] | None] = [None] * len(articles)
        retried = []
        for batch, ids, mask in self._batches(articles, labels, batch_size):
            # The draft is written after the prompts in the cache, which the retry starts from again.
            kept = self._prefill(ids, mask, max(config.get("max_new_tokens") or 0, strict.get("max_new_tokens") or 0))
            rows_guards = [guards[i] for i in batch] if guards else None
            texts = [None] * len(batch)
            for part, written in self._decode_rows(list(range(len(batch))), ids, mask, config, rows_guards, kept, batch_size):
                for row, text in zip(part, written):
                    texts[row] = text
            fails = check(batch, texts)
            redo = [row for row, f in enumerate(fails) if f]
            kept.batch_select_indices(torch.tensor(redo, dtype=torch.long, device=ids.device))  # frees the rest
            for part, again in self._decode_rows(redo, ids, mask, strict, rows_guards, kept, batch_size):
                fails_again = check([batch[r] for r in part], again)
                for row, text, f in zip(part, again, fails_again):
                    if len(f) <= len(fails[row]):
                        texts[row], fails[row] = text, f
            retried += [batch[row] for row in redo]
            for row, i in enumerate(batch):
                out[i], failed[i] = texts[row], fails[row]
        return out, failed, retried

    def _decode_rows(self, rows: list[int], ids, mask, config: dict, guards: list | None, kept, batch_size: int):
        """Yields (rows, their summaries) for those rows of a batch, whose prompts `kept` caches in `rows`' order.

        Beams multiply the rows: at most `batch_size` rows per call (memory), in calls of even size.
        """
        import torch

        from frontwatch.models.kv_cache import fork

        beams = config.get("num_beams") or 1
        calls = -(-len(rows) // max(1, batch_size // beams))
        for c in range(calls):
            picked = list(range(c, len(rows), calls))  # positions in `rows`, and so in `kept`
            part = [rows[p] for p in picked]
            sub = fork(kept)
            if calls > 1:
                sub.batch_select_indices(torch.tensor(picked, dtype=torch.long, device=ids.device))
            yield part, self._decode(ids[part], mask[part], config, [guards[r] for r in part] if guards else None, sub)

    def _batches(self, articles: list[str], labels: list[dict], batch_size: int):
        """(article indices, input ids, attention mask) of left-padded batches, longest prompts first."""
        prompts = [self.prompt_ids(a, l) for a, l in zip(articles, labels)]
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        device = next(self.model.parameters()).device
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            ids, mask = left_pad([prompts[i] for i in batch], self.tokenizer.pad_token_id)
            yield batch, ids.to(device), mask.to(device)

    def _decode(self, ids, mask, config: dict, guards: list | None, cache=None) -> list[str]:
        """The summaries of one batch; `cache`, if given, holds its prompts but their last token (see `_prefill`)."""
        import torch
        from transformers import LogitsProcessorList

        beams = config.get("num_beams") or 1
        processors = LogitsProcessorList()
        if self.own_processors:  # the same scores as transformers' processors, in place (see RepetitionPenalty)
            config = dict(config)
            penalty = config.pop("repetition_penalty", None)
            if penalty is not None and penalty != 1.0:
                processors.append(RepetitionPenalty(penalty, (mask == 0).sum(1).repeat_interleave(beams)))
            if (config.get("no_repeat_ngram_size") or 0) >= 2:
                processors.append(NoRepeatNGram(config.pop("no_repeat_ngram_size")))
        if guards:
            processors.append(GuardedTokens(guards, self.pieces(), ids.shape[1], beams))
        if cache is not None and beams > 1:
            cache.batch_repeat_interleave(beams)
        shared = {"cache": cache} if cache is not None else {}
        with torch.inference_mode():
            generated = self.model.generate(
                input_ids=ids, attention_mask=mask, logits_processor=processors, **shared, **_generate_kwargs(config)
            )
        texts = self.tokenizer.batch_decode(generated[:, ids.shape[1] :], skip_special_tokens=True)
        return [t.strip().split("\n")[0].strip() for t in texts]  # one paragraph; a base model goes on past it

    def _prefill(self, ids, mask, room: int):
        """The KV cache of each prompt but its last token, from which `generate` goes on, with room for `room` tokens.

        Encoding the prompt is most of the work of a summary on a CPU. Done here, it is done once: not
        once per beam (`generate` would copy the prompts for the beams first), nor again for a retry.
        """
        import torch

        from frontwatch.models.kv_cache import roomy

        positions = left_padded_positions(mask)  # as generate numbers a left-padded batch
        n = len(ids)
        calls = min(n, -(-ids.numel() // CPU_PREFILL_TOKENS)) if ids.device.type == "cpu" else 1
        bounds = [round(c * n / calls) for c in range(calls + 1)]
        stacked = None
        with torch.inference_mode():
            for start, stop in zip(bounds, bounds[1:]):
                out = self.model(input_ids=ids[start:stop, :-1], attention_mask=mask[start:stop, :-1],
                                 position_ids=positions[start:stop, :-1], use_cache=True, logits_to_keep=1)
                cache = out["cache"] if "cache" in out else out["past_key_values"]  # renamed in transformers 5.x
                if stacked is None:
                    stacked = roomy(cache, n, room)
                for layer, part in zip(stacked.layers, cache.layers):
                    layer.fill(start, stop, part)
        return stacked

    def pieces(self) -> list[str]:
        """Each token id's text as it reads after the text before it; special and byte tokens read as a space."""
        if self._pieces is None:
            tok = self.tokenizer
            special = set(tok.all_special_ids)
            self._pieces = [
                " " if i in special or re.fullmatch(r"<0x[0-9A-F]{2}>|<unused\d+>", p or "") else (p or " ").replace("\u2581", " ")
                for i, p in enumerate(tok.convert_ids_to_tokens(list(range(len(tok)))))
            ]
        return self._pieces


class RepetitionPenalty:
    """transformers' `RepetitionPenaltyLogitsProcessor` as `generate` sets it up, with the same scores, in place.

    Every token of a row but its left padding (`padding[row]` positions) is penalised. transformers pads the
    scores of the whole vocabulary by one column, scatters into a copy and slices the copy (a 262k-wide row
    copied twice per token, then read as a strided view): 4.9 ms of a 16-row decoding step on this
    project's CPU, against about 1 ms here.
    """

    def __init__(self, penalty: float, padding):
        self.penalty, self.padding = penalty, padding

    def __call__(self, input_ids, scores):
        import torch

        # A position not counted (padding, or an id past the output vocabulary) writes to the last token what
        # that token gets anyway: penalised if the row counts it, as it was if not.
        last = scores.shape[-1] - 1
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        counted = (input_ids <= last) & (positions >= self.padding.to(input_ids.device)[:, None])
        ids = input_ids.masked_fill(~counted, last)
        seen = scores.gather(1, ids)
        penalised = torch.where(seen < 0, seen * self.penalty, seen / self.penalty)
        counts_last = (counted & (input_ids == last)).any(1, keepdim=True)
        return scores.scatter_(1, ids, torch.where(counted | counts_last, penalised, seen))


class NoRepeatNGram:
    """transformers' `NoRepeatNGramLogitsProcessor` (no n-gram of the whole sequence twice), the same tokens
    banned, found by comparing every window with the last n-1 tokens at once rather than by a dictionary
    of every n-gram built again in Python at every step (2.3 ms of a 16-row step)."""

    def __init__(self, size: int):
        self.size = size

    def __call__(self, input_ids, scores):
        n, length = self.size, input_ids.shape[1]  # n >= 2
        if length < n:  # no whole n-gram yet
            return scores
        windows = input_ids[:, : length - 1].unfold(1, n - 1, 1)  # [rows, starts, n-1]: each followed by a token
        again = (windows == input_ids[:, length - n + 1 :].unsqueeze(1)).all(-1)  # where the last n-1 tokens were
        rows, starts = again.nonzero(as_tuple=True)
        banned = input_ids[rows, starts + n - 1]
        keep = banned < scores.shape[-1]
        scores[rows[keep], banned[keep]] = float("-inf")
        return scores


class GuardedTokens:
    """A logits processor that lets each row write only the tokens its article's guard allows.

    A row's best `MAX_ASKED` candidates are asked, best first, until it has as many allowed ones as
    decoding can pick (1 greedy, 2 x num_beams with beams); the refused ones before them get -inf. A
    row whose candidates are all refused is left as it was: its summary is then flagged by the checks,
    not bent into nonsense. With beam search, rows are beams: row r is article r // num_beams.

    Greedy decoding writes the first of equally scored best tokens (`argmax`), which need not be the
    one `topk` lists first: so greedy rows are asked in argmax order, the token that will be written
    first (on the test split's drafts, 11 tokens a guard refused had been written through such ties).
    """

    MAX_ASKED = 64
    TAIL_TOKENS = 12  # enough to hold the word being written

    def __init__(self, guards: list, pieces: list[str], width: int, num_beams: int = 1):
        self.guards, self.pieces, self.width, self.num_beams = guards, pieces, width, num_beams
        self.need = 2 * num_beams  # with beams; a greedy row needs its one best token allowed (`_greedy`)

    def __call__(self, input_ids, scores):
        if self.num_beams == 1:
            return self._greedy(input_ids, scores)
        first = min(self.need + 2, scores.shape[1])  # enough for most rows
        top = scores.topk(first, dim=-1)
        values, candidates = top.values.tolist(), top.indices.tolist()
        for row, written in enumerate(self._written(input_ids)):
            guard = self.guards[row // self.num_beams]
            refused, allowed = self._ask(guard, written, values[row], candidates[row])
            if allowed < self.need:
                more = scores[row].topk(min(self.MAX_ASKED, scores.shape[1]))
                refused, allowed = self._ask(guard, written, more.values.tolist(), more.indices.tolist())
            if allowed and refused:
                scores[row, refused] = float("-inf")
        return scores

    def _greedy(self, input_ids, scores):
        best = scores.max(-1).indices.tolist()  # the first of equal best scores, as argmax (and faster here)
        for row, (t, written) in enumerate(zip(best, self._written(input_ids))):
            guard, line, refused = self.guards[row], scores[row], []
            while not guard.allows(written, self.pieces[t]):
                refused.append((t, line[t].item()))
                line[t] = float("-inf")
                t = int(line.argmax())
                if len(refused) == self.MAX_ASKED or line[t] == float("-inf"):  # all refused: left as it was
                    for t, value in refused:
                        line[t] = value
                    break
        return scores

    def _written(self, input_ids) -> list[str]:
        """Per row, the end of the summary written so far (enough to hold the word being written)."""
        tails = input_ids[:, max(self.width, input_ids.shape[1] - self.TAIL_TOKENS) :].tolist()
        return ["".join(self.pieces[t] for t in tail) for tail in tails]

    def _ask(self, guard, written: str, values: list[float], candidates: list[int]) -> tuple[list[int], int]:
        """(the candidates refused before `need` allowed ones, how many were allowed), best first."""
        refused, allowed = [], 0
        for value, t in zip(values, candidates):
            if value == float("-inf") or allowed == self.need:
                break
            if guard.allows(written, self.pieces[t]):
                allowed += 1
            else:
                refused.append(t)
        return refused, allowed


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
