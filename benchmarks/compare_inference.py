"""CPU time per puzzle of two Sudoku checkpoints at default sampler settings, paired round by round.

    python -m benchmarks.compare_inference OLD NEW [--threads 2] [--rounds 4] [--puzzles 8] [--batch 1]

Issue 13 bounds a replacement model's CPU time per puzzle at 1.5x its predecessor's. The two
models solve the same puzzles (magictour_top1465 from ../shared/benchmarks when present, else
generated hard ones) in alternating rounds, one warm-up batch each, so drift of a shared machine
falls on both alike; the medians and the median of the rounds' NEW/OLD ratios are printed, then one JSON line.
OLD and NEW are bundled names or checkpoint directories (e.g. a previous model from git:
`mkdir /tmp/old && git show REV:solver/checkpoints/sudoku9/model.safetensors > /tmp/old/model.safetensors`,
and the same for config.json and card.md).
"""

from __future__ import annotations

import argparse
import json
import statistics

import torch

from benchmarks.bench_inference import load_puzzles, time_batch_size
from benchmarks.common import shared_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the reference checkpoint (name or directory)")
    parser.add_argument("new", help="the checkpoint compared with it")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--puzzles", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1, help="puzzles per batch (1: as the app solves one)")
    args = parser.parse_args(argv)
    if min(args.threads, args.rounds, args.puzzles, args.batch) <= 0:
        parser.error("--threads, --rounds, --puzzles and --batch must be positive")

    from solver.checkpoint import load
    from solver.sampler import SampleOptions

    torch.set_num_threads(args.threads)
    models = {"old": load(args.old), "new": load(args.new)}
    if models["old"].codec.to_config() != models["new"].codec.to_config():
        parser.error("the two checkpoints read different puzzles (codecs differ)")
    puzzles, source = load_puzzles(models["new"].codec, args.puzzles, shared_dir(None), 0)
    ms: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(args.rounds):
        for name, model in models.items():
            ms[name].append(time_batch_size(model, puzzles, args.batch, SampleOptions())["ms_per_puzzle"])
    medians = {name: statistics.median(values) for name, values in ms.items()}
    ratio = statistics.median(new / old for old, new in zip(ms["old"], ms["new"]))  # paired by round
    for name, values in ms.items():
        print(f"{name}: {getattr(args, name)}  ms/puzzle by round {[round(v) for v in values]}  median {medians[name]:.0f}")
    print(f"new/old, median of the rounds' ratios: {ratio:.2f}  ({args.puzzles} {source} puzzles, batch {args.batch}, {args.threads} threads)")
    print(json.dumps({"old": args.old, "new": args.new, "source": source, "batch": args.batch, "threads": args.threads,
                      "ms_per_puzzle": ms, "median_ms": medians, "ratio": ratio}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
