"""Speed of the Sudoku core on one CPU core: solver, generator, batched verifier, canonical form.

    python -m benchmarks.bench_sudoku                 # full run, writes benchmarks/results/sudoku.json
    python -m benchmarks.bench_sudoku --quick         # smaller counts, a few seconds

Each figure is the best of --repeat timed runs after one untimed warm-up (which also
compiles or loads the numba kernels), as items per wall-clock second and per second of
this process's CPU time (the one-core rate, even when other work shares the machine).
The magictour_top1465 rows are skipped when ../shared/benchmarks is not beside the
checkout.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numba
import numpy as np

from benchmarks.common import REPO, cli_args, git_commit, machine_info, print_rates, row, shared_dir, timed, write_json
from puzzles.sudoku import (
    SudokuShape,
    canonical_batch,
    generate_sudoku,
    parse_sudoku,
    rate_batch,
    solve_batch,
    verify_batch,
)

NINE = SudokuShape(3, 3)


def solver_rows(name: str, puzzles: np.ndarray, repeat: int) -> list[dict]:
    rows = []
    for limit, what in ((1, "solve"), (2, "solve + prove unique")):
        result = solve_batch(puzzles, limit=limit)
        assert verify_batch(puzzles, result.solutions).all(), f"wrong solution on {name}"
        timing = timed(lambda limit=limit: solve_batch(puzzles, limit=limit), repeat)
        mean_guesses = float(result.guesses.mean())
        rows.append(row(f"exact solver, {what}", name, len(puzzles), timing, "puzzles/s", mean_guesses=mean_guesses))
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
    made: list = []
    timing = timed(lambda: made.extend(generate(args.generator, args.seed + 1)), 1, warm_up=False)
    levels = [r.level for r in rate_batch(np.stack([g.puzzle.grid for g in made]))]
    counts = solve_batch(np.stack([g.puzzle.grid for g in made]), limit=2).counts
    assert (counts == 1).all(), "generator made a puzzle without a unique solution"
    rows.append(
        row(
            "generator, unique 9x9 (any level)",
            f"{args.generator} puzzles",
            args.generator,
            timing,
            "puzzles/s",
            mean_clues=float(np.mean([g.puzzle.clues for g in made])),
            levels={level: levels.count(level) for level in sorted(set(levels))},
        )
    )

    solutions = np.stack([g.solution.grid for g in made])
    reps = -(-args.verify_batch // len(solutions))
    sols = np.tile(solutions, (reps, 1, 1))[: args.verify_batch]
    puzzles = np.tile(np.stack([g.puzzle.grid for g in made]), (reps, 1, 1))[: args.verify_batch]
    sols[::2, 0, 0] = sols[::2, 0, 1]  # half of them wrong
    timing = timed(lambda: verify_batch(puzzles, sols), args.repeat)
    data = f"batch of {args.verify_batch} 9x9 grids"
    rows.append(row("batched verifier (verify_batch)", data, args.verify_batch, timing, "grids/s"))

    canon_sets = [("generated puzzles", np.stack([g.puzzle.grid for g in made[: args.canonical]]))]
    if top is not None:
        canon_sets.insert(0, ("magictour_top1465 puzzles", top[: args.canonical]))
    canon_sets.append(("complete grids", solutions[: max(10, args.canonical // 5)]))
    for name, grids in canon_sets:
        timing = timed(lambda grids=grids: canonical_batch(grids), args.repeat)
        rows.append(row("canonical form", f"{name} ({len(grids)})", len(grids), timing, "grids/s"))

    print_rates(rows, 36, 38, lambda item: f"  mean guesses {item['mean_guesses']:.1f}" if "mean_guesses" in item else "")

    report = {
        "command": "python -m benchmarks.bench_sudoku" + (" --quick" if args.quick else ""),
        "args": cli_args(args),
        "machine": machine_info({"load_average": os.getloadavg()}, numpy=np.__version__, numba=numba.__version__),
        "commit": git_commit(),
        "rows": rows,
    }
    write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
