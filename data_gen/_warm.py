"""Imported by the worker pool's fork server only: compile (or load) the puzzle kernels once
there, so that every worker forked from it starts warm instead of each loading them."""

from __future__ import annotations


def warm() -> None:
    import numpy as np

    from puzzles.countdown import generate_countdown
    from puzzles.sudoku import SudokuShape, canonical_batch, generate_sudoku, verify_batch

    rng = np.random.default_rng(0)
    made = generate_sudoku(SudokuShape(2, 2), rng)
    canonical_batch(made.puzzle.grid[None])
    verify_batch(made.puzzle.grid[None], made.solution.grid[None])
    generate_countdown(rng, n_numbers=3)


try:
    warm()
except Exception:  # noqa: BLE001 - a warm-up failure must not break the pool; workers compile lazily
    pass
