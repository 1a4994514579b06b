"""`frontwatch bench`: the Analyzer against what a user would write with plain transformers.

Both paths run in one process on the same articles, and the same models (the same weights):

- baseline: float32; the two heads as two separate passes (one per head, each the whole encoder);
  one article at a time, in input order; `generate` called once per article with the baseline's
  labels in the prompt, no checks.
- frontwatch: `Analyzer.from_pretrained()` as shipped (one encoder pass for both heads, segments of
  all articles sorted into length buckets, bfloat16 where the CPU has it, batched generation, the
  summary checks and their retry).

The frontwatch path runs first, so that its peak resident memory is that of a process that has
only ever held its models; the counter is then reset (Linux) for the baseline.
"""

import gc
import json
import resource
import sys
import time
from pathlib import Path

DEFAULT_DATA = "data/test.jsonl"
TOLERANCE = 0.005  # 0.5 points of macro-F1 or ROUGE-L


def peak_rss_mb() -> float:
    """This process's peak resident memory since start or the last `reset_peak_rss`, in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def reset_peak_rss() -> bool:
    """Resets the peak counter to the current size (Linux only); False where that is impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def load_articles(path, limit: int | None = None) -> list[dict]:
    """Rows with a text (and, when present, gold labels and summary_en), at most `limit`."""
    from frontwatch.inference.io import read_rows

    if not Path(path).is_file():
        raise FileNotFoundError(
            f"{path}: no such file. Run from the repository root (the default is the corpus test split, "
            f"{DEFAULT_DATA}) or give a JSONL/CSV of articles"
        )
    rows = [r.record for r in read_rows(path) if r.error is None and isinstance(r.record.get("text"), str)]
    rows = rows[:limit] if limit else rows
    if not rows:
        raise ValueError(f"{path}: no row with a text to benchmark on")
    return rows


def _progress(items, desc: str, show: bool):
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="article", file=sys.stderr, disable=not show)


def baseline_labels(classifier, texts: list[str], show: bool) -> dict[str, list[str]]:
    """Each head as its own pass over each article, one article at a time."""
    import torch

    labels = {}
    with torch.inference_mode():
        for head, names in classifier.label_maps.items():
            labels[head] = []
            for text in _progress(texts, f"baseline {head}", show):
                segments, _ = classifier.encode([text])[0]
                logits = classifier(**classifier.collate([segments]))[f"{head}_logits"]
                labels[head].append(names[int(logits.argmax())])
    return labels


def baseline_summaries(summarizer, texts: list[str], labels: dict, show: bool) -> list[str]:
    """`generate` once per article, float32, no checks."""
    out = []
    for k in _progress(range(len(texts)), "baseline summaries", show):
        out += summarizer.generate([texts[k]], [{h: labels[h][k] for h in labels}], batch_size=1)
    return out


def _timed(fn):
    began = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - began


def run_frontwatch(texts, model, summarizer_path, summaries: bool, batch_size: int, device, show: bool) -> dict:
    from frontwatch.inference.analyzer import Analyzer

    analyzer = Analyzer.from_pretrained(model, device=device, batch_size=batch_size, summaries=summaries,
                                        summarizer_path=summarizer_path)
    decoder = analyzer.summarizer
    analyzer.summarizer = None
    analyzer(texts[:2])  # warm-up: the first calls build the CPU kernels
    results, classify_s = _timed(lambda: analyzer(texts))
    out = {"labels": {h: [getattr(r, h) for r in results] for h in analyzer.label_maps}, "classify_s": classify_s}
    if decoder is not None:
        analyzer.summarizer = decoder
        analyzer(texts[:1])
        stats_before = dict(analyzer.summary_stats)
        results, total_s = _timed(lambda: analyzer.predict(texts))
        out["summaries"] = [r.summary for r in results]
        out["summarize_s"] = max(total_s - classify_s, 1e-9)  # the run minus its classification, timed above
        out["retried"] = analyzer.summary_stats["retried"] - stats_before["retried"]
        out["flagged"] = sum(bool(r.summary_flags) for r in results)
    out["dtype"] = str(analyzer.encoder_dtype).removeprefix("torch.")  # the encoder's compute dtype
    out["device"] = str(analyzer.device)
    return out


def run_baseline(texts, model, summarizer_path, summaries: bool, show: bool) -> dict:
    from frontwatch.models.classifier import FrontClassifier
    from frontwatch.models.summarizer import Summarizer

    classifier = FrontClassifier.from_pretrained(model).eval()
    baseline_labels(classifier, texts[:1], False)  # warm-up, as for the other path
    labels, classify_s = _timed(lambda: baseline_labels(classifier, texts, show))
    out = {"labels": labels, "classify_s": classify_s}
    if summaries:
        summarizer = Summarizer.from_pretrained(summarizer_path)
        summarizer.own_processors = False  # transformers' own logits processors, as a user's plain code would run
        summarizer.generate(texts[:1], [{h: labels[h][0] for h in labels}], batch_size=1)
        out["summaries"], out["summarize_s"] = _timed(lambda: baseline_summaries(summarizer, texts, labels, show))
    return out


def compare(rows: list[dict], fast: dict, base: dict, label_maps: dict) -> dict:
    """Agreement of the two paths, and each one's quality against the gold fields the rows have."""
    from frontwatch.training.metrics import classification_metrics, rouge_l

    quality = {}
    for head, names in label_maps.items():
        q = {"identical": sum(a == b for a, b in zip(fast["labels"][head], base["labels"][head])) / len(rows)}
        if all(r.get(head) in names for r in rows):
            ids = {name: i for i, name in enumerate(names)}
            gold = [ids[r[head]] for r in rows]
            for name, path in (("frontwatch", fast), ("baseline", base)):
                pred = [ids.get(label, -1) for label in path["labels"][head]]
                q[f"{name}_macro_f1"] = classification_metrics(pred, gold, names)["f1_macro"]
            q["within_tolerance"] = q["identical"] == 1.0 or abs(q["frontwatch_macro_f1"] - q["baseline_macro_f1"]) <= TOLERANCE
        else:
            q["within_tolerance"] = q["identical"] == 1.0
        quality[head] = q
    if "summaries" in fast:
        q = {"identical": sum(a == b for a, b in zip(fast["summaries"], base["summaries"])) / len(rows)}
        if all(isinstance(r.get("summary_en"), str) for r in rows):
            refs = [r["summary_en"] for r in rows]
            q["frontwatch_rouge_l"] = rouge_l([s or "" for s in fast["summaries"]], refs)
            q["baseline_rouge_l"] = rouge_l(base["summaries"], refs)
            q["within_tolerance"] = q["frontwatch_rouge_l"] >= q["baseline_rouge_l"] - TOLERANCE
        quality["summary"] = q
    return quality


def run_bench(data=DEFAULT_DATA, limit: int | None = None, summaries: bool = True, batch_size: int | None = None,
              model="shipped", summarizer="shipped", device=None, progress: bool = True) -> dict:
    """Runs both paths on the same articles and returns the report (see `format_report`)."""
    import torch

    from frontwatch.models.classifier import FrontClassifier
    from frontwatch.training.train_classifier import resolve_model_path
    from frontwatch.training.train_summarizer import resolve_summarizer_path

    rows = load_articles(data, limit)
    texts = [r["text"] for r in rows]
    model = resolve_model_path(model)
    summarizer = resolve_summarizer_path(summarizer) if summaries else None

    if progress:
        print(f"frontwatch bench: {len(texts)} articles; the frontwatch path first, then the baseline", file=sys.stderr)
    fast = run_frontwatch(texts, model, summarizer, summaries, batch_size, device, progress)
    fast_rss = peak_rss_mb()
    gc.collect()
    isolated = reset_peak_rss()
    base = run_baseline(texts, model, summarizer, summaries, progress)
    n = len(texts)
    report = {
        "articles": n,
        "data": str(data),
        "torch_threads": torch.get_num_threads(),
        "device": fast["device"],
        "frontwatch_dtype": fast["dtype"],
        "classify_articles_per_s": n / fast["classify_s"],
        "baseline_classify_articles_per_s": n / base["classify_s"],
        "classify_speedup": base["classify_s"] / fast["classify_s"],
        "peak_rss_mb": fast_rss,
        "baseline_peak_rss_mb": peak_rss_mb() if isolated else None,
    }
    if summaries:
        report |= {
            "summarize_articles_per_s": n / fast["summarize_s"],
            "baseline_summarize_articles_per_s": n / base["summarize_s"],
            "summarize_speedup": base["summarize_s"] / fast["summarize_s"],
            "summaries_retried": fast["retried"],
            "summaries_flagged": fast["flagged"],
        }
    report["quality"] = compare(rows, fast, base, FrontClassifier.read_label_maps(model))
    report["quality_ok"] = all(q.get("within_tolerance", True) for q in report["quality"].values())
    return report


def format_report(r: dict) -> str:
    lines = [
        f"{r['articles']} articles from {r['data']}; frontwatch on {r['device']} in {r['frontwatch_dtype']}, "
        f"{r['torch_threads']} torch threads",
        "",
        f"{'':<22}{'baseline':>12}{'frontwatch':>12}{'speedup':>10}",
        f"{'classify, articles/s':<22}{r['baseline_classify_articles_per_s']:>12.2f}"
        f"{r['classify_articles_per_s']:>12.2f}{r['classify_speedup']:>9.2f}x",
    ]
    if "summarize_speedup" in r:
        lines.append(
            f"{'summarize, articles/s':<22}{r['baseline_summarize_articles_per_s']:>12.3f}"
            f"{r['summarize_articles_per_s']:>12.3f}{r['summarize_speedup']:>9.2f}x"
        )
        lines.append(f"frontwatch retried {r['summaries_retried']} summaries after a failed check; "
                     f"{r['summaries_flagged']} kept flags")
    base_rss = "n/a" if r["baseline_peak_rss_mb"] is None else f"{r['baseline_peak_rss_mb']:.0f} MB"
    lines += [f"peak resident memory: frontwatch {r['peak_rss_mb']:.0f} MB, baseline {base_rss}", "", "quality:"]
    for what, q in r["quality"].items():
        parts = [f"identical {q['identical']:.3f}"]
        for key in ("macro_f1", "rouge_l"):
            if f"frontwatch_{key}" in q:
                parts.append(f"{key} frontwatch {q[f'frontwatch_{key}']:.4f} vs baseline {q[f'baseline_{key}']:.4f}")
        if "within_tolerance" in q:
            parts.append("within 0.5 points" if q["within_tolerance"] else "NOT within 0.5 points")
        lines.append(f"  {what:<10}" + "; ".join(parts))
    return "\n".join(lines)


def main(args) -> int:
    report = run_bench(args.data, args.limit, not args.no_summary, args.batch_size, args.model, args.summarizer,
                       args.device)  # progress goes to stderr, so --json output on stdout stays one object
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0 if report["quality_ok"] else 1
