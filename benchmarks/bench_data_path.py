"""Speed of the training data path: ms per training batch of 512 (loader + augmentation) and
µs per row of Countdown encoding, for 9x9 Sudoku and 4-number Countdown (step codec).

    python -m benchmarks.bench_data_path                 # writes benchmarks/results/data_path.json
    python -m benchmarks.bench_data_path --quick         # smaller sets, fewer repeats
    python -m benchmarks.bench_data_path --data-root /tmp/rmdm-bench-data   # keep (and reuse) the generated sets

The data sets are built with data_gen (what `rmdm gen` runs) into a temporary directory. Loader
rows go through solver.data.PuzzleDataModule the way Lightning does on a CPU: the training
DataLoader's batches, then on_before_batch_transfer and on_after_batch_transfer (the transfer
itself is a no-op on the CPU); the training split is tiled to `--rows` rows so an epoch holds
many batches. "loader only" leaves augmentation out. Encoding rows time solver.data.encode_records
on the split's rows (what setup() runs on every DDP process), and, for reference, the
per-row path (`codec.encode` per row, stacked) whatever encode_records does.

The script only uses interfaces that exist before and after issue 17 item 4, so the same
file measures both commits (run it from a checkout of each, side by side under the same load).
One torch thread; each figure is the best of `--repeat` runs (wall and CPU time of this process).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from benchmarks.common import REPO, cli_args, git_commit, machine_info, print_rates, row, timed, write_json

BATCH = 512


def build(root: Path, sudoku: int, countdown: int, seed: int) -> dict[str, Path]:
    """The two data sets under `root`, made once (a directory with a manifest is reused)."""
    from data_gen.build import RunOptions, generate
    from data_gen.config import CountdownConfig, SudokuConfig

    configs = {"sudoku9": SudokuConfig(size=9, n=sudoku, seed=seed, split={"train": 0.9, "val": 0.1}),
               "countdown4": CountdownConfig(numbers=4, rules="ml", n=countdown, seed=seed, split={"train": 0.9, "val": 0.1})}
    out = {}
    for name, config in configs.items():
        path = root / f"{name}-{config.n}-{seed}"
        if not (path / "manifest.json").is_file():
            shutil.rmtree(path, ignore_errors=True)
            started = time.perf_counter()
            generate(config, path, RunOptions(quiet=True, workers=1))
            print(f"built {path} in {time.perf_counter() - started:.1f} s", flush=True)
        out[name] = path
    return out


def datamodule(path: Path, codec_format: str, rows: int, augment: bool):
    """A set-up PuzzleDataModule whose training split is tiled to at least `rows` rows, with a
    stand-in trainer that says it is training (what the augmentation hooks look at)."""
    from solver.data import PuzzleDataModule

    module = PuzzleDataModule(path, BATCH, augment=augment, seed=0, codec_format=codec_format)
    module.setup()
    tensors = module.train_set.tensors
    copies = -(-rows // len(tensors[0]))
    module.train_set = type(module.train_set)(*[t.repeat(copies, *[1] * (t.dim() - 1)) for t in tensors])
    module.trainer = SimpleNamespace(training=True, global_rank=0)
    return module


def epoch(module) -> int:
    """One pass over the training loader with the transfer hooks, as Lightning calls them on a CPU."""
    batches = 0
    for batch in module.train_dataloader():
        batch = module.on_before_batch_transfer(batch, 0)
        batch = module.on_after_batch_transfer(batch, 0)
        batches += 1
    return batches


def loader_rows(sets: dict[str, Path], rows: int, repeat: int) -> list[dict]:
    out = []
    for name, path, codec_format in (("9x9 Sudoku", sets["sudoku9"], "chars"),
                                      ("Countdown 4, steps", sets["countdown4"], "steps")):
        for augment in (True, False):
            module = datamodule(path, codec_format, rows, augment)
            batches = len(module.train_dataloader())
            timing = timed(lambda: epoch(module), repeat)
            what = "loader + augmentation" if augment else "loader only"
            item = row(what, name, batches, timing, "batches/s", batch=BATCH, rows=len(module.train_set),
                       ms_per_batch=1000 * timing[0] / batches, cpu_ms_per_batch=1000 * timing[1] / batches)
            out.append(item)
            print(f"{what:24} {name:20} {item['ms_per_batch']:7.3f} ms/batch (CPU {item['cpu_ms_per_batch']:.3f})",
                  flush=True)
    return out


def encoding_rows(sets: dict[str, Path], repeat: int) -> list[dict]:
    from solver.codecs import _stack
    from solver.data import codec_for_manifest, encode_records, read_manifest, read_records

    path = sets["countdown4"]
    manifest = read_manifest(path)
    records = read_records(path, manifest, "train")
    out = []
    for codec_format in ("steps", "chars"):
        codec = codec_for_manifest(manifest, codec_format)
        items = [({"numbers": r["numbers"], "target": r["target"]}, r["answer"]) for r in records]
        paths = {"encode_records": lambda: encode_records(codec, records),
                 "per-row encode (reference)": lambda: _stack([codec.encode(*item) for item in items])}
        for what, fn in paths.items():
            timing = timed(fn, repeat)
            item = row(what, f"Countdown 4, {codec_format}", len(records), timing, "rows/s",
                       us_per_row=1e6 * timing[0] / len(records), cpu_us_per_row=1e6 * timing[1] / len(records))
            out.append(item)
            print(f"{what:28} Countdown 4, {codec_format:6} {item['us_per_row']:8.2f} µs/row "
                  f"(CPU {item['cpu_us_per_row']:.2f})", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sudoku", type=int, default=2048, help="9x9 puzzles to generate")
    parser.add_argument("--countdown", type=int, default=8192, help="4-number instances to generate")
    parser.add_argument("--rows", type=int, default=32768, help="training rows the loader serves (the split tiled)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a quarter of the rows, two repeats")
    parser.add_argument("--data-root", type=Path, default=None, help="where the sets are built (kept); default a temp dir")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "data_path.json")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeat = args.rows // 4, 2
    torch.set_num_threads(1)
    load = {"load_average_start": os.getloadavg(), "torch_threads": torch.get_num_threads()}
    root = args.data_root or Path(tempfile.mkdtemp(prefix="rmdm-bench-data-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        sets = build(root, args.sudoku, args.countdown, args.seed)
        rows = loader_rows(sets, args.rows, args.repeat) + encoding_rows(sets, max(2, args.repeat // 2))
    finally:
        if args.data_root is None:
            shutil.rmtree(root, ignore_errors=True)
    load["load_average_end"] = os.getloadavg()
    print()
    print_rates(rows, 28, 20)
    write_json(args.out, {"rows": rows, "args": cli_args(args), "commit": git_commit(),
                          "machine": machine_info(load, torch=torch.__version__, numpy=np.__version__)})


if __name__ == "__main__":
    main()
