"""The shared inference wrapper: `Analyzer.from_pretrained()` loads each model once, `analyzer(texts)` analyses."""

from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

from frontwatch.inference.checks import NameGuard, static_checks
from frontwatch.text import detect_language, looks_like_html, strip_html, war_relevance

CHUNK_BATCHES = 32  # batches tokenized, sorted and run together: bounds memory on huge inputs
# With summaries a batch takes seconds to minutes on a CPU: smaller chunks keep results (and the progress bar) coming.
SUMMARY_CHUNK_BATCHES = 2
DEFAULT_BATCH = 16
DEFAULT_GPU_BATCH = 64  # GPUs idle at 16; the KV cache of 64 prompts is ~0.8 GB (x3 for the beam-search retry)
N_ALTERNATIVES = 2
OFF_TOPIC_BELOW = 0.5  # war relevance under which an article is flagged off_topic
CLOSE_CALL = 0.05  # top-2 probability margin under which a reduced-precision label is re-read in float32
# The retry of a summary that failed a check: beam search, a shorter cap, no repeated trigram. The user's
# decoding overrides apply to it too.
STRICT_GENERATION = {"num_beams": 3, "no_repeat_ngram_size": 3, "max_new_tokens": 80}


@dataclass
class Analysis:
    """What frontwatch says of one article.

    Attributes:
        sector, direction: the predicted labels (None when the row failed, see `error`).
        sector_score, direction_score: the model's probability for the label times the article's war
            relevance (1.0 for any text with ordinary war vocabulary), 0 to 1: a text about something
            else scores near 0 instead of getting a confident label.
        sector_alternatives, direction_alternatives: the next most likely labels as [label, score].
        flags: notes on the input, e.g. "text_cut" (longer than the windows cover), "html_stripped",
            "language:en" (not French; analysed anyway), "off_topic" (little or no war vocabulary).
        error: why the article could not be analysed, else None.
        summary: a short English summary, written knowing the predicted labels (None when summaries are
            off or the row failed).
        summary_flags: the checks the summary still fails after one stricter retry: "not_english",
            "too_long" (over 60 words), "direction_mismatch" (the summary reads as another direction
            than the article's), "name_not_in_article" (it names a place or person the article does not),
            "number_not_in_article" (it states a number the article does not); [] when it passed them all,
            None when summaries are off.
    """

    sector: str | None = None
    sector_score: float | None = None
    direction: str | None = None
    direction_score: float | None = None
    sector_alternatives: list = field(default_factory=list)
    direction_alternatives: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    error: str | None = None
    summary: str | None = None
    summary_flags: list | None = None

    def to_dict(self) -> dict:
        """All fields; the summary ones only when summaries were asked for."""
        out = asdict(self)
        if self.summary_flags is None:
            del out["summary"], out["summary_flags"]
        return out


def shipped_classifier_path() -> Path:
    """The classifier folder installed with the package."""
    path = Path(str(resources.files("frontwatch") / "shipped" / "classifier"))
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: the shipped classifier is missing from this install; reinstall frontwatch")
    return path


def pick_device(device=None):
    """The device to run on: the one asked for, else cuda, then mps, then cpu."""
    import torch

    if device is not None:
        device = torch.device(device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device '{device}' asked for, but torch sees no CUDA GPU; use --device cpu")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


DTYPES = ("auto", "float32", "bfloat16", "float16")


def pick_dtypes(device, dtype: str = "auto"):
    """(encoder dtype, decoder dtype) for `device`.

    "auto": on CUDA float16 for the encoder and bfloat16 for Gemma (whose activations overflow
    float16); on a CPU with bfloat16 instructions (AVX-512 BF16, AMX) bfloat16 for both, which
    measured 2.0x faster for the encoder (same labels on the 128 test articles) and 2.2x for the decoder at batch 16
    (see `frontwatch bench`); float32 elsewhere.
    """
    import torch

    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}: pick one of {', '.join(DTYPES)}")
    if dtype != "auto":
        return (getattr(torch, dtype),) * 2
    if device.type == "cuda":
        return torch.float16, torch.bfloat16
    from frontwatch.models.cpu_matmul import cpu_has_bf16_kernels

    if device.type == "cpu" and cpu_has_bf16_kernels():
        return torch.bfloat16, torch.bfloat16
    return torch.float32, torch.float32


def _margin(p) -> float:
    """How far the top probability is ahead of the next one."""
    top = p.topk(min(2, len(p))).values
    return float(top[0] - top[1]) if len(top) > 1 else 1.0


def _return_free_memory() -> None:
    """Hands the memory freed by a chunk back to the system (glibc keeps it for reuse otherwise).

    The chunks' tensors come in many sizes, and glibc's heap fragments over a long run: on the 128
    test articles, the peak resident memory of `frontwatch analyze` went from 3,072 to 2,947 MiB with
    this after each chunk, and the memory held at the end of the run from 2.7 to 1.9 GiB. Does nothing
    where the C library is not glibc.
    """
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass


def prepare_text(text) -> tuple[str | None, list[str], str | None]:
    """Checks and cleans one input: (clean text or None, flags, error or None).

    Never raises, whatever `text` is.
    """
    if not isinstance(text, str):
        kind = "missing" if text is None else f"a {type(text).__name__}, not a string"
        return None, [], f"'text' is {kind}"
    flags = []
    if looks_like_html(text):
        text = strip_html(text)
        flags.append("html_stripped")
    if not text.strip():
        return None, flags, "'text' is empty"
    lang, _ = detect_language(text[:20000])  # enough to tell; a 2 MB article need not be scanned whole
    if lang != "fr":
        flags.append(f"language:{lang}")
    return text, flags, None


class Analyzer:
    """Labels French war-news articles with a front sector and a direction of movement.

    Example:
        >>> from frontwatch import Analyzer
        >>> analyzer = Analyzer.from_pretrained()  # doctest: +SKIP
        >>> analyzer("Les forces ukrainiennes ont libéré Koupiansk...").sector  # doctest: +SKIP
        'kharkiv'
    """

    def __init__(self, classifier, device, batch_size: int | None = None, summarizer=None, generation: dict | None = None,
                 encoder_dtype=None):
        import torch

        self.classifier = classifier
        self.device = device
        self.encoder_dtype = encoder_dtype or torch.float32  # the encoder's compute dtype (its weights stay float32)
        self.batch_size = batch_size or (DEFAULT_GPU_BATCH if device.type == "cuda" else DEFAULT_BATCH)
        self.summarizer = summarizer
        self.generation = dict(generation or {})  # overrides of the summarizer's generation config
        # Running counts since loading: summaries written, retried after a failed check, fixed by the retry.
        self.summary_stats = {"written": 0, "retried": 0, "fixed_by_retry": 0}

    @classmethod
    def from_pretrained(
        cls, path=None, device=None, batch_size: int | None = None, summaries: bool = True, summarizer_path=None,
        dtype: str = "auto", **generation,
    ) -> "Analyzer":
        """Loads the models once onto `device` (default: the best available).

        Args:
            path: classifier folder (default: the shipped one).
            batch_size: articles per generation batch (and on GPUs, 512-token segments per encoder
                call); default 16 on CPUs, 64 on GPUs.
            summaries: False skips the summarizer entirely (the decoder is not even loaded).
            summarizer_path: summarizer folder (default: the shipped one).
            dtype: "auto" (bfloat16 on CPUs with bfloat16 instructions and on GPUs, float16 for the
                encoder on GPUs, else float32), or "float32", "bfloat16", "float16" for both models.
            generation: decoding settings that replace the summarizer's saved ones, e.g. num_beams=2.
        """
        from frontwatch.models.classifier import FrontClassifier

        classifier = FrontClassifier.from_pretrained(shipped_classifier_path() if path is None else path)
        device = pick_device(device)
        encoder_dtype, decoder_dtype = pick_dtypes(device, dtype)
        classifier.to(device).eval()
        summarizer = None
        if summaries:
            from frontwatch.models.summarizer import Summarizer, shipped_summarizer_path

            summarizer = Summarizer.from_pretrained(summarizer_path or shipped_summarizer_path(), dtype=decoder_dtype)
            summarizer.to(device)
        return cls(classifier, device, batch_size, summarizer, generation, encoder_dtype)

    @property
    def label_maps(self) -> dict[str, list[str]]:
        return self.classifier.label_maps

    def __call__(self, texts, batch_size: int | None = None):
        """One `Analysis` for a string, a list of them in the same order for a list."""
        return self.predict(texts, batch_size=batch_size)

    def predict(self, texts, batch_size: int | None = None, device=None):
        """Same as calling the analyzer; `device` moves the model first if given."""
        if device is not None and pick_device(device) != self.device:
            self.device = pick_device(device)
            self.classifier.to(self.device)  # keeps each part's dtype
            if self.summarizer is not None:
                self.summarizer.to(self.device)
        if isinstance(texts, str):
            return next(self.iter_predict([texts], batch_size))
        if not isinstance(texts, Iterable) or isinstance(texts, (bytes, dict)):
            raise TypeError(f"an Analyzer takes a text or a list of texts, not {type(texts).__name__}")
        return list(self.iter_predict(texts, batch_size))

    def chunk_size(self, batch_size: int) -> int:
        """Texts labelled (and summarised) together before results are yielded."""
        return batch_size * (SUMMARY_CHUNK_BATCHES if self.summarizer is not None else CHUNK_BATCHES)

    def iter_predict(self, texts: Iterable, batch_size: int | None = None) -> Iterator[Analysis]:
        """Yields one `Analysis` per text, in input order, working through the input chunk by chunk."""
        batch_size = batch_size or self.batch_size
        chunk = []
        for text in texts:
            chunk.append(text)
            if len(chunk) == self.chunk_size(batch_size):
                yield from self._predict_chunk(chunk, batch_size)
                chunk = []
        if chunk:
            yield from self._predict_chunk(chunk, batch_size)

    def _predict_chunk(self, texts: list, batch_size: int) -> list[Analysis]:
        try:
            return self._analyse(texts, batch_size)
        finally:
            _return_free_memory()

    def _analyse(self, texts: list, batch_size: int) -> list[Analysis]:
        results = [Analysis() for _ in texts]
        todo, relevance = [], []
        for i, raw in enumerate(texts):
            text, flags, error = prepare_text(raw)
            results[i].flags, results[i].error = flags, error
            if self.summarizer is not None:
                results[i].summary_flags = []
            if error is None:
                todo.append((i, text))
                relevance.append(war_relevance(text))
                if relevance[-1] < OFF_TOPIC_BELOW:
                    flags.append("off_topic")
        if not todo:
            return results
        probs, cut = self.label_probabilities([t for _, t in todo], batch_size)
        for k, (i, _) in enumerate(todo):
            if cut[k]:
                results[i].flags.append("text_cut")
            for head in self.label_maps:
                self._fill(results[i], head, probs[head][k] * relevance[k])
        if self.summarizer is not None:
            self._summarize([results[i] for i, _ in todo], [t for _, t in todo], batch_size)
        return results

    def label_probabilities(self, texts: list[str], batch_size: int | None = None):
        """Per head, an [n_texts, n_labels] tensor of probabilities; and per text, whether it was cut."""
        import torch

        from frontwatch.models.classifier import CPU_BUCKET_TOKENS

        if not texts:
            return {h: torch.zeros(0, len(labels)) for h, labels in self.label_maps.items()}, []
        batch_size = batch_size or self.batch_size
        encoded, cut = zip(*self.classifier.encode(texts))
        # All the texts' segments are sorted together by length, then cut into buckets of about
        # `bucket` padded tokens: one encoder call each, with little padding.
        if self.device.type == "cpu":
            bucket = CPU_BUCKET_TOKENS
        else:
            bucket = batch_size * self.classifier.settings["max_seq_length"]
        probs = self._probabilities(encoded, bucket, self.encoder_dtype)
        if self.encoder_dtype != torch.float32:
            # A label decided by less than CLOSE_CALL in reduced precision may be one that float32
            # would not pick: those articles are read again in float32.
            close = [k for k in range(len(texts)) if any(_margin(p[k]) < CLOSE_CALL for p in probs.values())]
            if close:
                exact = self._probabilities([encoded[k] for k in close], bucket, torch.float32)
                for head in probs:
                    probs[head][close] = exact[head]
        return probs, list(cut)

    def _probabilities(self, docs: list, bucket: int, dtype) -> dict:
        import torch

        # The weights stay float32; autocast runs the encoder's matrix products in `dtype`.
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=dtype, enabled=dtype != torch.float32):
            out = self.classifier(**self.classifier.collate(docs, self.device, bucket))
        return {h: torch.softmax(out[f"{h}_logits"].float(), dim=-1).cpu() for h in self.label_maps}

    def _summarize(self, results: list[Analysis], articles: list[str], batch_size: int) -> None:
        """Writes, checks and if needed rewrites once the summaries of analysed articles."""
        labels = [{"sector": r.sector, "direction": r.direction} for r in results]

        def check(indices, summaries):
            return self._check(summaries, [articles[i] for i in indices], [labels[i] for i in indices])

        summaries, failed, retried = self.summarizer.generate_checked(
            articles, labels, check, STRICT_GENERATION | self.generation, batch_size,
            guards=[NameGuard(a) for a in articles], **self.generation,
        )
        self.summary_stats["retried"] += len(retried)
        self.summary_stats["fixed_by_retry"] += sum(not failed[i] for i in retried)
        self.summary_stats["written"] += len(summaries)
        for r, summary, flags in zip(results, summaries, failed):
            r.summary, r.summary_flags = summary, flags

    def _check(self, summaries, articles, labels) -> list[list[str]]:
        failed = [static_checks(s, a) for s, a in zip(summaries, articles)]
        if "direction" in self.label_maps:
            probs, _ = self.label_probabilities([s or "-" for s in summaries])
            names = self.label_maps["direction"]
            for k, row in enumerate(probs["direction"]):
                if names[int(row.argmax())] != labels[k]["direction"]:
                    failed[k].append("direction_mismatch")
        return failed

    def _fill(self, res: Analysis, head: str, probs) -> None:
        labels = self.label_maps[head]
        top = probs.topk(min(len(labels), N_ALTERNATIVES + 1))
        ranked = [[labels[i], round(float(p), 4)] for p, i in zip(top.values, top.indices)]
        if hasattr(res, head):
            setattr(res, head, ranked[0][0])
            setattr(res, f"{head}_score", ranked[0][1])
            setattr(res, f"{head}_alternatives", ranked[1:])
