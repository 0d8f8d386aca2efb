"""Batched inference speed on CPU: 9x9 Sudoku puzzles/s at default sampler settings, batch 1..256.

    python -m benchmarks.bench_inference                   # writes benchmarks/results/inference.json
    python -m benchmarks.bench_inference --quick           # batch sizes 1, 16, 64 only
    python -m benchmarks.bench_inference --checkpoint DIR  # another model

The model is the bundled `sudoku9` checkpoint, else the bundled Sudoku checkpoint with the
largest grid, else (said in the table and the JSON) an untrained Denoiser with the default
9x9 configuration: speed depends on the network's shape, not its weights, but its solve
rate is then meaningless. Puzzles: magictour_top1465 from ../shared/benchmarks when
present (hard, ~60 blanks), otherwise generated hard puzzles. Default settings: one
position committed per step, the trained loop count, top-probability unmasking, no
retries. Each batch size solves at least --min-puzzles puzzles after one untimed warm-up batch.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import REPO, git_commit, machine_info, shared_dir, write_json

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def pick_model(name: str | None, device: str) -> tuple[Any, str]:
    """(LoadedModel-like object, a sentence saying which model this is)."""
    try:
        from solver.checkpoint import list_checkpoints, load
    except ImportError:
        list_checkpoints = load = None
    if name:
        if load is None:
            raise SystemExit("solver.checkpoint is not available in this checkout")
        return load(name, device=device), f"checkpoint {name}"
    if load is not None:
        bundled = list(list_checkpoints())
        if "sudoku9" in bundled:
            return load("sudoku9", device=device), "bundled checkpoint sudoku9"
        sudoku = sorted((int(n[6:]), n) for n in bundled if n.startswith("sudoku") and n[6:].isdigit())
        if sudoku:
            size, best = sudoku[-1]
            return load(best, device=device), f"bundled checkpoint {best} (no sudoku9 is bundled; {size}x{size} puzzles)"
    return untrained_9x9(device), "UNTRAINED Denoiser, default 9x9 config (no bundled Sudoku checkpoint): speed only"


def untrained_9x9(device: str) -> Any:
    from types import SimpleNamespace

    from puzzles.sudoku import SudokuShape
    from solver.codecs import SudokuCodec
    from solver.model import Denoiser, DenoiserConfig

    codec = SudokuCodec(SudokuShape(3, 3))
    config = DenoiserConfig(vocab_size=codec.vocab_size, seq_len=codec.seq_len, mask_id=codec.mask_id, box_rows=3, box_cols=3)
    torch.manual_seed(0)
    return SimpleNamespace(model=Denoiser(config).to(device).eval(), codec=codec, name="untrained-9x9")


def load_puzzles(codec: Any, count: int, shared: Path | None, seed: int) -> tuple[list[Any], str]:
    from puzzles.sudoku import generate_sudoku, parse_sudoku

    n = codec.shape.n
    top = shared / "sudoku" / "magictour_top1465.txt" if shared is not None else None
    if n == 9 and top is not None and top.is_file():
        lines = top.read_text().split()
        return [parse_sudoku(line) for line in (lines * (1 + count // len(lines)))[:count]], "magictour_top1465"
    rng = np.random.default_rng(seed)
    return [generate_sudoku(codec.shape, rng, level="hard").puzzle for _ in range(count)], f"generated {n}x{n} hard"


def time_batch_size(loaded: Any, puzzles: list[Any], batch: int, options: Any) -> dict[str, Any]:
    from solver.inference import solve_batches

    solve_batches(loaded, puzzles[:batch], options, batch_size=batch)  # warm-up
    started = time.perf_counter()
    outcomes = solve_batches(loaded, puzzles, options, batch_size=batch)
    seconds = time.perf_counter() - started
    return {
        "batch_size": batch,
        "puzzles": len(puzzles),
        "seconds": seconds,
        "puzzles_per_s": len(puzzles) / seconds,
        "ms_per_puzzle": 1000 * seconds / len(puzzles),
        "mean_nfe": float(np.mean([o.nfe for o in outcomes])),
        "mean_steps": float(np.mean([o.attempts[-1].steps for o in outcomes])),
        "solve_rate": float(np.mean([o.valid for o in outcomes])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="checkpoint name or directory (default: see the module docstring)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)))
    parser.add_argument("--min-puzzles", type=int, default=16, help="puzzles solved per batch size, at least")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice; 1 is far faster on a busy machine)")
    parser.add_argument("--shared", type=Path, default=None, help="folder with sudoku/magictour_top1465.txt")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="batch sizes 1, 16, 64 and 8 puzzles at least")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "inference.json")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = [1, 16, 64] if args.quick else [int(b) for b in args.batch_sizes.split(",")]
    min_puzzles = 8 if args.quick else args.min_puzzles

    from solver.sampler import SampleOptions

    loaded, which = pick_model(args.checkpoint, args.device)
    most = max(max(b, -(-min_puzzles // b) * b) for b in sizes)
    pool, source = load_puzzles(loaded.codec, most, shared_dir(args.shared), args.seed)
    options = SampleOptions()
    config = loaded.model.config
    print(f"model: {which}; {sum(p.numel() for p in loaded.model.parameters()):,} parameters, "
          f"d_model {config.d_model}, {config.prelude_layers}+{config.core_layers}x{config.loops}+{config.coda_layers} layers")
    print(f"puzzles: {source}; device {args.device}, {torch.get_num_threads()} torch threads; "
          f"settings: one position per step, {config.loops} loops, top_prob")

    rows = []
    print(f"{'batch':>6} {'puzzles':>8} {'seconds':>8} {'puzzles/s':>10} {'ms/puzzle':>10} {'NFE':>7} {'solved':>7}")
    for batch in sizes:
        count = max(batch, -(-min_puzzles // batch) * batch)
        row = time_batch_size(loaded, pool[:count], batch, options)
        rows.append(row)
        print(f"{batch:>6} {row['puzzles']:>8} {row['seconds']:>8.2f} {row['puzzles_per_s']:>10.2f} "
              f"{row['ms_per_puzzle']:>10.1f} {row['mean_nfe']:>7.1f} {100 * row['solve_rate']:>6.1f}%")

    conditions = {"torch_threads": torch.get_num_threads(), "load_average": os.getloadavg(), "device": args.device}
    report = {
        "command": "python -m benchmarks.bench_inference" + (" --quick" if args.quick else ""),
        "model": which,
        "model_config": config.model_dump() if hasattr(config, "model_dump") else dict(vars(config)),
        "puzzles": source,
        "settings": options.model_dump(),
        "machine": machine_info(conditions, torch=torch.__version__),
        "commit": git_commit(),
        "rows": rows,
    }
    write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
