"""Sudoku sets made by removing cells at random from known solutions (solutions need not be unique).

    python -m benchmarks.random_removal data/eval/sudoku9-easy --clues 41-51 --out data/eval/sudoku9-random-41-51.txt
    python -m benchmarks.random_removal data/eval/sudoku9-easy --clues 23-29 --out data/eval/sudoku9-random-23-29.txt

The distribution issue 4's feasibility figure was quoted on (non-unique random removal): easier
than the unique, minimal puzzles `rmdm gen` makes at the same clue count, since any completion
that keeps the givens is accepted by the verifier. Solutions come from a data_gen dataset's
split (use a held-out one); one puzzle per line, with a comment line saying how it was made.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from benchmarks.common import write_text
from data_gen.config import parse_clues


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="a data_gen Sudoku dataset directory")
    parser.add_argument("--split", default="test")
    parser.add_argument("--clues", required=True, metavar="LO-HI", help="clues kept per puzzle, drawn uniformly")
    parser.add_argument("--n", type=int, default=200, help="puzzles (the split's first N solutions)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        clues = parse_clues(args.clues)
    except ValueError as err:
        parser.error(f"--clues: {err}")
    lo, hi = clues if isinstance(clues, tuple) else (clues, clues)
    files = sorted(args.dataset.glob(f"{args.split}-*.parquet"))
    if not files:
        parser.error(f"no {args.split}-*.parquet files in {args.dataset}")
    solutions = [row["solution"] for f in files for row in pq.read_table(f, columns=["solution"]).to_pylist()][: args.n]
    cells = len(solutions[0])
    if not 0 <= lo <= hi <= cells:
        parser.error(f"--clues {args.clues} is outside 0-{cells}")
    rng = np.random.default_rng(args.seed)
    lines = []
    for solution in solutions:
        grid = np.array(list(solution))
        grid[rng.choice(cells, size=cells - int(rng.integers(lo, hi + 1)), replace=False)] = "."
        lines.append("".join(grid))
    write_text(args.out, f"# {len(lines)} solutions of {args.dataset} ({args.split}) with cells removed at random down to "
                   f"{lo}-{hi} clues (numpy seed {args.seed}); solutions need not be unique\n" + "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} puzzles to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
