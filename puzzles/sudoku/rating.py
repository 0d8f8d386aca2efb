"""Difficulty rating: what a solver needs to crack a puzzle.

The rule (deterministic; the same for every grid size):

- easy: naked singles alone solve it (repeatedly fill a cell with one candidate left);
- medium: naked and hidden singles solve it (a digit with one place left in a row,
  column or box), naked singles alone do not;
- hard: singles do not solve it, and the exact solver's full search (locked candidates
  before the first guess, naked and hidden singles after each, branching on a cell with
  fewest candidates) tries at most `HARD_MAX_GUESSES` values; 0 guesses happens when
  locked candidates finish what singles started;
- extreme: that search tries more than `HARD_MAX_GUESSES` values.

`guesses` is counted over the whole search tree of a uniqueness check (count up to 2
solutions), so it does not depend on where in the tree the solution sits, nor on how the
digits are labelled. Puzzles with no solution or several are rated too (their guesses
are those of the search that found 0 or 2 solutions); `solutions` says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from puzzles.errors import PuzzleError

from .shape import Sudoku, SudokuShape
from .solve import singles_solve, solve_batch
from .verify import as_sudoku

LEVELS = ("easy", "medium", "hard", "extreme")
HARD_MAX_GUESSES = 10


@dataclass(frozen=True)
class Rating:
    clues: int
    singles_only: bool  # naked + hidden singles solve it, no guessing
    guesses: int  # values tried by the full search (0 when singles_only)
    level: str  # one of LEVELS
    naked_singles_only: bool = False
    solutions: int = 1  # solutions found, counting stops at 2


def level_for(naked_singles_only: bool, singles_only: bool, guesses: int) -> str:
    if naked_singles_only:
        return "easy"
    if singles_only:
        return "medium"
    return "hard" if guesses <= HARD_MAX_GUESSES else "extreme"


def rate_batch(puzzles: np.ndarray, shape: SudokuShape | None = None) -> list[Rating]:
    """Ratings of (B, n, n) puzzles, computed with three compiled batch calls."""
    puzzles = np.asarray(puzzles)
    naked = singles_solve(puzzles, shape, hidden=False)
    singles = singles_solve(puzzles, shape, hidden=True) | naked
    search = solve_batch(puzzles, shape, limit=2)
    clues = np.count_nonzero(puzzles.reshape(len(puzzles), -1), axis=1)
    ratings = []
    for b in range(len(puzzles)):
        guesses = 0 if singles[b] else int(search.guesses[b])
        ratings.append(
            Rating(
                clues=int(clues[b]),
                singles_only=bool(singles[b]),
                guesses=guesses,
                level=level_for(bool(naked[b]), bool(singles[b]), guesses),
                naked_singles_only=bool(naked[b]),
                solutions=int(search.counts[b]),
            )
        )
    return ratings


def rate_sudoku(puzzle: Sudoku | str | np.ndarray) -> Rating:
    """Clue count, singles-only, guesses and level (module docstring) of one puzzle."""
    sudoku = as_sudoku(puzzle, strict=False)
    return rate_batch(sudoku.grid[None], sudoku.shape)[0]


def check_level(level: str | None) -> None:
    if level is not None and level not in LEVELS:
        raise PuzzleError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
