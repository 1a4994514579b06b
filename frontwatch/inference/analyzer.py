"""The shared inference wrapper: `Analyzer.from_pretrained()` loads each model once, `analyzer(texts)` analyses."""

from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

from frontwatch.text import detect_language, looks_like_html, strip_html, war_relevance

CHUNK_BATCHES = 32  # batches tokenized, sorted and run together: bounds memory on huge inputs
N_ALTERNATIVES = 2
OFF_TOPIC_BELOW = 0.5  # war relevance under which an article is flagged off_topic


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
    """

    sector: str | None = None
    sector_score: float | None = None
    direction: str | None = None
    direction_score: float | None = None
    sector_alternatives: list = field(default_factory=list)
    direction_alternatives: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


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

    def __init__(self, classifier, device, batch_size: int = 16):
        self.classifier = classifier
        self.device = device
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(cls, path=None, device=None, batch_size: int = 16) -> "Analyzer":
        """Loads the classifier at `path` (default: the shipped one) onto `device` (default: best available)."""
        import torch

        from frontwatch.models.classifier import FrontClassifier

        classifier = FrontClassifier.from_pretrained(shipped_classifier_path() if path is None else path)
        device = pick_device(device)
        classifier.to(device)
        if device.type == "cuda":
            classifier.half()  # fp16 on GPUs: same labels, half the memory traffic
        classifier.eval()
        return cls(classifier, device, batch_size)

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
            self.classifier.to(self.device)
        if isinstance(texts, str):
            return next(self.iter_predict([texts], batch_size))
        return list(self.iter_predict(texts, batch_size))

    def iter_predict(self, texts: Iterable, batch_size: int | None = None) -> Iterator[Analysis]:
        """Yields one `Analysis` per text, in input order, working through the input chunk by chunk."""
        batch_size = batch_size or self.batch_size
        chunk = []
        for text in texts:
            chunk.append(text)
            if len(chunk) == batch_size * CHUNK_BATCHES:
                yield from self._predict_chunk(chunk, batch_size)
                chunk = []
        if chunk:
            yield from self._predict_chunk(chunk, batch_size)

    def _predict_chunk(self, texts: list, batch_size: int) -> list[Analysis]:
        import torch

        results = [Analysis() for _ in texts]
        todo, relevance = [], []
        for i, raw in enumerate(texts):
            text, flags, error = prepare_text(raw)
            results[i].flags, results[i].error = flags, error
            if error is None:
                todo.append((i, text))
                relevance.append(war_relevance(text))
                if relevance[-1] < OFF_TOPIC_BELOW:
                    flags.append("off_topic")
        if not todo:
            return results
        encoded = self.classifier.encode([t for _, t in todo])
        # Longest first, so padding is small and the largest batch shows memory trouble at once.
        order = sorted(range(len(todo)), key=lambda k: -sum(len(w) for w in encoded[k][0]))
        heads = list(self.label_maps)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                inputs = self.classifier.collate([encoded[k][0] for k in batch], self.device)
                out = self.classifier(**inputs)
                probs = {h: torch.softmax(out[f"{h}_logits"], dim=-1).cpu() for h in heads}
                for row, k in enumerate(batch):
                    res = results[todo[k][0]]
                    if encoded[k][1]:
                        res.flags.append("text_cut")
                    for h in heads:
                        self._fill(res, h, probs[h][row] * relevance[k])
        return results

    def _fill(self, res: Analysis, head: str, probs) -> None:
        labels = self.label_maps[head]
        top = probs.topk(min(len(labels), N_ALTERNATIVES + 1))
        ranked = [[labels[i], round(float(p), 4)] for p, i in zip(top.values, top.indices)]
        if hasattr(res, head):
            setattr(res, head, ranked[0][0])
            setattr(res, f"{head}_score", ranked[0][1])
            setattr(res, f"{head}_alternatives", ranked[1:])
