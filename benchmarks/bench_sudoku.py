"""Speed of the Sudoku core on one CPU core: solver, generator, batched verifier, canonical form.

    python -m benchmarks.bench_sudoku                 # full run, writes benchmarks/results/sudoku.json
    python -m benchmarks.bench_sudoku --quick         # smaller counts, a few seconds

Each figure is the best of --repeat timed runs after one untimed warm-up (which also
compiles or loads the numba kernels). The magictour_top1465 rows are skipped when
../shared/benchmarks is not beside the checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numba
import numpy as np

from puzzles.sudoku import (
    SudokuShape,
    canonical_batch,
    generate_sudoku,
    parse_sudoku,
    rate_batch,
    solve_batch,
    verify_batch,
)

REPO = Path(__file__).resolve().parents[1]
NINE = SudokuShape(3, 3)


def best_time(fn, repeat: int) -> float:
    fn()  # warm-up: compile / load kernels, fill caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def shared_dir(arg: str | None) -> Path | None:
    path = Path(arg) if arg else Path(os.environ.get("RMDM_SHARED_BENCHMARKS", REPO.parent / "shared" / "benchmarks"))
    return path if path.is_dir() else None


def solver_rows(name: str, puzzles: np.ndarray, repeat: int) -> list[dict]:
    rows = []
    for limit, what in ((1, "solve"), (2, "solve + prove unique")):
        result = solve_batch(puzzles, limit=limit)
        assert verify_batch(puzzles, result.solutions).all(), f"wrong solution on {name}"
        seconds = best_time(lambda limit=limit: solve_batch(puzzles, limit=limit), repeat)
        rows.append(
            {
                "benchmark": f"exact solver, {what}",
                "data": name,
                "items": len(puzzles),
                "seconds": seconds,
                "per_second": len(puzzles) / seconds,
                "unit": "puzzles/s",
                "mean_guesses": float(result.guesses.mean()),
            }
        )
    return rows


def generate(count: int, seed: int, **kwargs) -> list:
    rng = np.random.default_rng(seed)
    return [generate_sudoku(NINE, rng, **kwargs) for _ in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", help="folder holding sudoku/magictour_top1465.txt (default ../shared/benchmarks)")
    parser.add_argument("--generated", type=int, default=500, help="generated hard and extreme puzzles to solve")
    parser.add_argument("--generator", type=int, default=2000, help="puzzles to generate for the generator rate")
    parser.add_argument("--verify-batch", type=int, default=100_000, help="grids per verify_batch call")
    parser.add_argument("--canonical", type=int, default=1000, help="grids for the canonical-form rate")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure (best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a fifth of every count, one timed run")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "sudoku.json")
    args = parser.parse_args(argv)
    if args.quick:
        for name in ("generated", "generator", "verify_batch", "canonical"):
            setattr(args, name, max(10, getattr(args, name) // 5))
        args.repeat = 1

    rows: list[dict] = []
    shared = shared_dir(args.shared)
    top = None
    if shared is not None and (shared / "sudoku" / "magictour_top1465.txt").is_file():
        lines = (shared / "sudoku" / "magictour_top1465.txt").read_text().split()
        top = np.stack([parse_sudoku(line).grid for line in lines])
        rows += solver_rows("magictour_top1465", top, args.repeat)
    else:
        print("magictour_top1465 not found: skipping those rows (pass --shared)")

    for level in ("hard", "extreme"):
        puzzles = np.stack([g.puzzle.grid for g in generate(args.generated, args.seed, level=level)])
        rows += solver_rows(f"generated 9x9 {level} ({args.generated})", puzzles, args.repeat)

    generate(5, args.seed)  # warm-up
    start = time.perf_counter()
    made = generate(args.generator, args.seed + 1)
    seconds = time.perf_counter() - start
    levels = [r.level for r in rate_batch(np.stack([g.puzzle.grid for g in made]))]
    counts = solve_batch(np.stack([g.puzzle.grid for g in made]), limit=2).counts
    assert (counts == 1).all(), "generator made a puzzle without a unique solution"
    rows.append(
        {
            "benchmark": "generator, unique 9x9 (any level)",
            "data": f"{args.generator} puzzles",
            "items": args.generator,
            "seconds": seconds,
            "per_second": args.generator / seconds,
            "unit": "puzzles/s",
            "mean_clues": float(np.mean([g.puzzle.clues for g in made])),
            "levels": {level: levels.count(level) for level in sorted(set(levels))},
        }
    )

    solutions = np.stack([g.solution.grid for g in made])
    reps = -(-args.verify_batch // len(solutions))
    sols = np.tile(solutions, (reps, 1, 1))[: args.verify_batch]
    puzzles = np.tile(np.stack([g.puzzle.grid for g in made]), (reps, 1, 1))[: args.verify_batch]
    sols[::2, 0, 0] = sols[::2, 0, 1]  # half of them wrong
    seconds = best_time(lambda: verify_batch(puzzles, sols), args.repeat)
    rows.append(
        {
            "benchmark": "batched verifier (verify_batch)",
            "data": f"batch of {args.verify_batch} 9x9 grids",
            "items": args.verify_batch,
            "seconds": seconds,
            "per_second": args.verify_batch / seconds,
            "unit": "grids/s",
        }
    )

    canon_sets = [("generated puzzles", np.stack([g.puzzle.grid for g in made[: args.canonical]]))]
    if top is not None:
        canon_sets.insert(0, ("magictour_top1465 puzzles", top[: args.canonical]))
    canon_sets.append(("complete grids", solutions[: max(10, args.canonical // 5)]))
    for name, grids in canon_sets:
        seconds = best_time(lambda grids=grids: canonical_batch(grids), args.repeat)
        rows.append(
            {
                "benchmark": "canonical form",
                "data": f"{name} ({len(grids)})",
                "items": len(grids),
                "seconds": seconds,
                "per_second": len(grids) / seconds,
                "unit": "grids/s",
            }
        )

    print(f"{'benchmark':38} {'data':40} {'rate':>14}")
    for row in rows:
        extra = f"  (mean guesses {row['mean_guesses']:.1f})" if "mean_guesses" in row else ""
        print(f"{row['benchmark']:38} {row['data']:40} {row['per_second']:>10,.0f} {row['unit']}{extra}")

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    report = {
        "command": "python -m benchmarks.bench_sudoku" + (" --quick" if args.quick else ""),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "load_average": os.getloadavg(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": numba.__version__,
        },
        "commit": commit,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
