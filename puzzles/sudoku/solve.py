"""Exact solving: one puzzle (`solve_sudoku`, `count_solutions`) or many in one compiled call."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from puzzles.errors import PuzzleError

from . import _search
from .shape import Sudoku, SudokuShape, batch_shape, solver_tables
from .verify import as_sudoku


@dataclass(frozen=True)
class SolveResult:
    """`solution` is None when the puzzle has none. `guesses` counts the values tried at
    branch points on the way to the first solution; `singles_only` means naked and hidden
    singles alone solved it (no guess)."""

    solution: Sudoku | None
    guesses: int
    singles_only: bool


@dataclass(frozen=True)
class BatchSolveResult:
    """Per puzzle: `solutions` (B, n, n) int8 (all zero where none), `counts` (B,) solutions
    found up to the limit (-1: gave up after `max_guesses`), `guesses` (B,) values tried at
    branch points."""

    solutions: np.ndarray
    counts: np.ndarray
    guesses: np.ndarray


def solve_batch(
    puzzles: np.ndarray,
    shape: SudokuShape | None = None,
    *,
    limit: int = 1,
    strength: int = _search.LOCKED,
    max_guesses: int = -1,
) -> BatchSolveResult:
    """Solve (B, n, n) puzzles (0 = blank) in one compiled loop.

    With `limit` 2 the counts tell unique (1) from ambiguous (2) puzzles; `max_guesses`
    >= 0 gives up (count -1) on a puzzle once that many guesses did not settle it.
    `strength` is what propagation may use: NAKED (0) singles, HIDDEN (1) singles too,
    LOCKED (2, the default and fastest) also locked candidates before the first guess.
    """
    puzzles = np.asarray(puzzles)
    shape = batch_shape(puzzles, shape, "puzzles")
    batch, n = len(puzzles), shape.n
    if puzzles.size and (puzzles.min() < 0 or puzzles.max() > n):
        raise PuzzleError(f"puzzle values must lie in 0..{n}")
    if limit < 1:
        raise PuzzleError(f"limit must be at least 1, got {limit}")
    # a fresh writable copy: a read-only array would make numba compile a second version
    flat = np.array(puzzles.reshape(batch, n * n), dtype=np.int8, order="C")
    solutions = np.zeros((batch, n * n), dtype=np.int8)
    counts = np.zeros(batch, dtype=np.int64)
    guesses = np.zeros(batch, dtype=np.int64)
    _search.solve_many(flat, solver_tables(shape), limit, strength, max_guesses, solutions, counts, guesses)
    return BatchSolveResult(solutions.reshape(batch, n, n), counts, guesses)


def _solve_one(puzzle: Sudoku | str | np.ndarray, limit: int) -> tuple[Sudoku, BatchSolveResult]:
    sudoku = as_sudoku(puzzle, strict=False)
    return sudoku, solve_batch(sudoku.grid[None], sudoku.shape, limit=limit)


def singles_solve(puzzles: np.ndarray, shape: SudokuShape | None = None, *, hidden: bool = True) -> np.ndarray:
    """(B,) bool: singles alone fill the puzzle (naked singles, plus hidden ones when `hidden`).

    Such a puzzle has exactly one solution.
    """
    strength = _search.HIDDEN if hidden else _search.NAKED
    return solve_batch(puzzles, shape, strength=strength, max_guesses=0).counts == 1


def solve_sudoku(puzzle: Sudoku | str | np.ndarray) -> SolveResult:
    """The first solution in search order (digits tried ascending), or None."""
    sudoku, result = _solve_one(puzzle, limit=1)
    found = result.counts[0] > 0
    solution = Sudoku(sudoku.shape, result.solutions[0]) if found else None
    singles = bool(found and singles_solve(sudoku.grid[None], sudoku.shape)[0])
    return SolveResult(solution, int(result.guesses[0]), singles)


def count_solutions(puzzle: Sudoku | str | np.ndarray, limit: int = 2) -> int:
    """Number of solutions, counting stops at `limit` (2 answers "is it unique?")."""
    _, result = _solve_one(puzzle, limit=limit)
    return int(result.counts[0])
