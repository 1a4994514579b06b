"""The `frontwatch` command: a thin layer over the Python API.

Exit codes: 0 all went well; 1 some rows failed (`analyze`) or problems were found (`data check`);
2 the command could not run (bad arguments, missing file, broken model).
"""

import argparse
import json
import sys
from pathlib import Path

from frontwatch import __version__
from frontwatch.inference.analyzer import DTYPES


def _label_sets(config: str | None, model: str | None) -> dict[str, list[str]]:
    """Allowed labels for `data check`: a training config's, a model's, or the shipped model's."""
    from frontwatch.models.classifier import FrontClassifier
    from frontwatch.training.config import ClassifierConfig, load_config
    from frontwatch.training.train_classifier import _label_maps, resolve_model_path

    def model_labels(path) -> dict:
        return FrontClassifier.read_label_maps(resolve_model_path(path))

    if config:
        cfg = load_config(ClassifierConfig, config)
        return _label_maps(cfg, model_labels(cfg.model_name_or_path) if cfg.model_name_or_path else None)
    return model_labels(model or "shipped")


def cmd_data_check(args) -> int:
    from frontwatch.training.data import check_file

    labels = _label_sets(args.config, args.model)
    problems = check_file(args.file, labels, require_summary=not args.no_summary)
    for p in problems:
        print(p)
    n_rows = _count_rows(args.file)
    print(f"{args.file}: {n_rows} rows, {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


def _count_rows(path) -> int:
    from frontwatch.inference.io import read_rows

    return sum(1 for _ in read_rows(path))


def _new_labels(pairs: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pair in pairs:
        head, sep, label = pair.partition("=")
        if not sep or not head or not label:
            raise ValueError(f"--new-label {pair!r}: write HEAD=LABEL, e.g. --new-label sector=siversk")
        out.setdefault(head, []).append(label)
    return out


def cmd_train(args) -> int:
    from frontwatch.training.config import SummarizerConfig, config_class, load_config

    cls = config_class(args.config)
    cfg = load_config(
        cls, args.config, output_dir=args.output_dir, model_name_or_path=args.model_name_or_path,
        train_file=args.train_file[0] if args.train_file and len(args.train_file) == 1 else args.train_file,
        validation_file=args.validation_file,
    )
    if cls is SummarizerConfig:
        from frontwatch.training.train_summarizer import train_summarizer

        if args.new_label:
            raise ValueError("--new-label is for classifier configs; the summarizer writes any label the classifier gives")
        out = train_summarizer(cfg)
    else:
        from frontwatch.training.train_classifier import train_classifier

        for head, labels in _new_labels(args.new_label).items():
            cfg.new_labels.setdefault(head, []).extend(l for l in labels if l not in cfg.new_labels.get(head, []))
        out = train_classifier(cfg)
    info = json.loads((out / "training_info.json").read_text())
    shown = {k: info.get(k) for k in ("train_seconds", "dev_metrics", "dev_loss") if k in info}
    print(json.dumps({"output_dir": str(out), **shown}, indent=2))
    return 0


def cmd_evaluate(args) -> int:
    from frontwatch.models.summarizer import SETTINGS_FILE
    from frontwatch.training.evaluation import BASELINE, evaluate_classifier, evaluate_summarizer
    from frontwatch.training.train_classifier import resolve_model_path
    from frontwatch.training.train_summarizer import resolve_summarizer_path

    out_dir = args.output_dir or Path("eval") / Path(args.data).stem
    if args.model == BASELINE or args.model == "shipped-summarizer" or (Path(args.model) / SETTINGS_FILE).is_file():
        model = BASELINE if args.model == BASELINE else resolve_summarizer_path(args.model.replace("shipped-summarizer", "shipped"))
        report = evaluate_summarizer(model, args.data, out_dir, classifier=args.classifier, batch_size=args.batch_size,
                                     device=args.device, **_generation_overrides(args))
        from frontwatch.training.model_card import summary_metrics_table

        print(summary_metrics_table({Path(str(model)).name: report}))
        print(f"\nsaved metrics.json and summaries.jsonl in {out_dir}")
        return 0
    report = evaluate_classifier(resolve_model_path(args.model), args.data, out_dir, args.batch_size, args.device)
    for head, cm in report["confusion_matrices"].items():
        m = report[head]
        print(f"\n{head}: accuracy {m['accuracy']:.4f}  macro-F1 {m['f1_macro']:.4f}  (n={report['n_articles']})")
        print(f"  {'label':<14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
        for label in cm["labels"]:
            print(f"  {label:<14}{m['precision/' + label]:>10.3f}{m['recall/' + label]:>10.3f}{m['f1/' + label]:>10.3f}{m['support/' + label]:>9}")
    print(f"\nsaved metrics.json and PNG pictures in {out_dir}")
    return 0


def _launched_processes() -> tuple[int, int]:
    """(rank, world size) when started by `accelerate launch` or `torchrun` with several processes, else (0, 1)."""
    import os

    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def _join_process_group(device: str | None) -> str | None:
    """Joins the process group that `accelerate launch` or `torchrun` set up (NCCL across GPUs, gloo on
    CPUs) and returns the device this process should use: its own GPU, unless one was asked for.

    torch.distributed is used directly: accelerate's PartialState treats a CPU-only launch as a single
    process (accelerate 1.16), and then every process would believe it is the first and join the parts."""
    import os

    import torch

    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local_rank)
        torch.distributed.init_process_group("nccl", device_id=torch.device("cuda", local_rank))
        return device or f"cuda:{local_rank}"
    torch.distributed.init_process_group("gloo")
    return device


def cmd_analyze(args) -> int:
    from frontwatch.inference.analyzer import Analyzer
    from frontwatch.inference.batch import analyze_file, merge_parts, part_path
    from frontwatch.inference.io import check_input_file
    from frontwatch.training.train_classifier import resolve_model_path

    check_input_file(args.input)  # a wrong path or file type fails before the model loads
    rank, world = _launched_processes()
    device = args.device
    if world > 1:
        device = _join_process_group(device)
    summarizer = None
    if not args.no_summary and args.summarizer != "shipped":
        summarizer = args.summarizer
    analyzer = Analyzer.from_pretrained(
        resolve_model_path(args.model), device=device, batch_size=args.batch_size, summaries=not args.no_summary,
        summarizer_path=summarizer, dtype=args.dtype, **_generation_overrides(args),
    )
    if world == 1:
        run = analyze_file(analyzer, args.input, args.output, args.batch_size, resume=args.resume)
        resumed = f" (resumed after {run.resumed_from})" if run.resumed_from else ""
        print(f"frontwatch: {run.rows} rows, {run.analysed} analysed, {run.failed} failed{resumed} -> {args.output}", file=sys.stderr)
        return 1 if run.failed else 0

    # Several processes: each writes its contiguous share of the rows to a part file; the first
    # process then joins the parts, in rank order, into the output.
    run = analyze_file(analyzer, args.input, part_path(args.output, rank, world), args.batch_size,
                       resume=args.resume, progress=rank == 0, shard=(rank, world))
    print(f"frontwatch: process {rank} of {world}: {run.rows} rows, {run.failed} failed", file=sys.stderr)
    import torch.distributed as dist

    dist.barrier()  # every part file is complete before the first process joins them
    dist.destroy_process_group()
    if rank != 0:
        return 0  # the first process reports failures for all: another non-zero exit would stop the launcher
    merge_parts(args.output, world)
    with open(args.output, encoding="utf-8") as f:
        failed = rows = 0
        for line in f:
            rows += 1
            failed += json.loads(line)["error"] is not None
    print(f"frontwatch: {rows} rows from {world} processes, {rows - failed} analysed, {failed} failed -> {args.output}",
          file=sys.stderr)
    return 1 if failed else 0


def cmd_bench(args) -> int:
    from frontwatch.bench import main

    return main(args)


def cmd_report(args) -> int:
    from frontwatch.report import write_report

    n = write_report(args.results, args.output, args.title)
    print(f"frontwatch: report of {n} rows -> {args.output}", file=sys.stderr)
    return 0


def _generation_overrides(args) -> dict:
    return {k: v for k, v in (("num_beams", args.num_beams), ("max_new_tokens", args.max_new_tokens)) if v is not None}


def _add_generation_options(parser) -> None:
    parser.add_argument("--num-beams", type=_positive_int, default=None, help="summary beam size (default: the model's, 1)")
    parser.add_argument("--max-new-tokens", type=_positive_int, default=None, help="cap on summary tokens (default: the model's, 96)")


def _positive_int(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="frontwatch", description="Front sector, direction of movement for French war news.")
    p.add_argument("--version", action="version", version=f"frontwatch {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="label every article of a JSONL or CSV file")
    a.add_argument("input", help="JSONL or CSV with a 'text' field (and optionally 'id')")
    a.add_argument("-o", "--output", required=True, help="JSONL to write, one row per input row, in input order")
    a.add_argument("--batch-size", type=_positive_int, default=None,
                   help="articles per summary batch, and on GPUs 512-token segments per encoder call (default 16 on CPU, 64 on GPU)")
    a.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: the best available)")
    a.add_argument("--dtype", choices=DTYPES, default="auto",
                   help="auto: bfloat16 on CPUs that have it and on GPUs (float16 for the encoder), else float32")
    a.add_argument("--model", default="shipped", help="classifier folder (default: the shipped one)")
    a.add_argument("--summarizer", default="shipped", help="summarizer folder (default: the shipped one)")
    a.add_argument("--no-summary", action="store_true", help="skip the English summaries (the decoder is not loaded; much faster)")
    _add_generation_options(a)
    a.add_argument("--resume", action="store_true", help="finish an interrupted run: keep the output's complete rows, do the rest")
    a.set_defaults(func=cmd_analyze)

    t = sub.add_parser("train", help="train the classifier or the summarizer from a YAML config")
    t.add_argument("config", help="configs/classifier.yaml or configs/summarizer.yaml (its 'task' key says which)")
    t.add_argument("--output-dir", default=None)
    t.add_argument("--model-name-or-path", default=None, help="start from this model ('shipped' for the shipped one)")
    t.add_argument("--train-file", nargs="+", default=None, metavar="FILE",
                   help="labelled JSONL/CSV file(s) to train on, instead of the config's; several are read one after the other")
    t.add_argument("--validation-file", default=None)
    t.add_argument("--new-label", action="append", default=[], metavar="HEAD=LABEL", help="add a label, e.g. sector=siversk (repeatable)")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="metrics, confusion matrices and pictures on a labelled file")
    e.add_argument("model", help="classifier or summarizer folder, 'shipped' (classifier), 'shipped-summarizer', or "
                   "'base-few-shot' (the un-tuned decoder shown two examples: the summaries' baseline)")
    e.add_argument("data", help="labelled JSONL or CSV")
    e.add_argument("-o", "--output-dir", default=None, help="where metrics.json and the PNGs go (default eval/<data name>)")
    e.add_argument("--batch-size", type=_positive_int, default=16, help="articles per forward pass (and per generation batch)")
    e.add_argument("--device", default=None)
    e.add_argument("--classifier", default="shipped", help="for summarizers: the classifier that gives the labels and reads the summaries")
    _add_generation_options(e)
    e.set_defaults(func=cmd_evaluate)

    r = sub.add_parser("report", help="one self-contained HTML page (charts, rows to review, searchable table) from analyze's output")
    r.add_argument("results", help="the JSONL that frontwatch analyze wrote")
    r.add_argument("-o", "--output", required=True, help="HTML file to write")
    r.add_argument("--title", default=None)
    r.set_defaults(func=cmd_report)

    b = sub.add_parser("bench", help="articles per second of the Analyzer against a plain-transformers baseline, same run")
    b.add_argument("data", nargs="?", default="data/test.jsonl", help="JSONL/CSV of articles (default: the corpus test split)")
    b.add_argument("--limit", type=_positive_int, default=None, help="only the first N articles")
    b.add_argument("--no-summary", action="store_true", help="classification only")
    b.add_argument("--batch-size", type=_positive_int, default=None, help="the Analyzer's batch size (default 16 on CPU, 64 on GPU)")
    b.add_argument("--model", default="shipped", help="classifier folder (default: the shipped one)")
    b.add_argument("--summarizer", default="shipped", help="summarizer folder (default: the shipped one)")
    b.add_argument("--device", default=None, help="for the Analyzer (the baseline runs on the CPU)")
    b.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    b.set_defaults(func=cmd_bench)

    d = sub.add_parser("data", help="tools for labelled data")
    dsub = d.add_subparsers(dest="data_command", required=True)
    c = dsub.add_parser("check", help="list every problem of a labelled file, with row numbers")
    c.add_argument("file")
    c.add_argument("--config", default=None, help="take the allowed labels from this training config")
    c.add_argument("--model", default=None, help="take the allowed labels from this classifier (default: shipped)")
    c.add_argument("--no-summary", action="store_true", help="do not require summary_en (classifier-only data)")
    c.set_defaults(func=cmd_data_check)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from transformers.utils import logging as hf_logging

    # The CLI draws its own progress bar; transformers' per-load bars and notices would bury it.
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    from frontwatch.models.packages import BaseModelError
    from frontwatch.models.classifier import ModelLoadError

    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, ModelLoadError, BaseModelError) as e:
        print(f"frontwatch: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("frontwatch: interrupted", file=sys.stderr)
        return 130
