"""Seconds per summary on this machine's CPU, at batch 1 and at batch 16, same articles, same run.

Usage: python scripts/bench_summaries.py [--model DIR] [--data data/test.jsonl] [--n 16] [--dtype auto|float32|bfloat16]

Times `Summarizer.generate` alone (greedy, the model's generation config) on the first N articles,
with their gold labels in the prompt, set up for the CPU as the Analyzer sets it up (`Summarizer.to`);
prints both figures and their ratio.
"""

import argparse
import json
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="shipped")
    p.add_argument("--data", default="data/test.jsonl")
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--dtype", default="auto", help="as frontwatch analyze --dtype (auto: bfloat16 on CPUs that have it)")
    args = p.parse_args()

    import torch

    from frontwatch.inference.analyzer import pick_dtypes

    from frontwatch.models.summarizer import Summarizer
    from frontwatch.training.train_summarizer import resolve_summarizer_path

    _, dtype = pick_dtypes(torch.device("cpu"), args.dtype)
    summarizer = Summarizer.from_pretrained(resolve_summarizer_path(args.model), dtype=dtype).to(torch.device("cpu"))
    rows = [json.loads(l) for l in open(args.data, encoding="utf-8")][: args.n]
    articles, labels = [r["text"] for r in rows], [{"sector": r["sector"], "direction": r["direction"]} for r in rows]
    summarizer.generate(articles[:1], labels[:1], batch_size=1)  # warm-up
    timings = {}
    for batch_size in (1, 16):
        began = time.perf_counter()
        summarizer.generate(articles, labels, batch_size=batch_size)
        timings[batch_size] = (time.perf_counter() - began) / len(rows)
    print(f"{len(rows)} articles, torch threads {torch.get_num_threads()}, {str(dtype).removeprefix('torch.')}, CPU")
    for batch_size, seconds in timings.items():
        print(f"batch {batch_size:>2}: {seconds:.2f} s per summary")
    print(f"batch 16 is {timings[1] / timings[16]:.2f}x faster per summary than batch 1")


if __name__ == "__main__":
    main()
