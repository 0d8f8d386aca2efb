"""Random puzzles with exactly one solution, at a chosen level or clue count.

One attempt (compiled): fill an empty grid by randomised backtracking (the solver, trying
branch values in random order), then visit the cells in random order and blank each one
(or each 180-degree pair) unless that breaks the rule being kept: a unique solution, or
for `easy`/`medium` targets, being solvable by naked singles / singles alone (which also
implies uniqueness). Removal stops at the target clue count; short of it, the attempt
refills a random blank and removes again, a few dozen times. The Python loop rates each
attempt and retries until the level and clue count match, up to `max_attempts`. Every
random choice comes from a seed drawn from the caller's `np.random.Generator`, so the
same generator state gives the same puzzle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from puzzles.errors import PuzzleError

from . import _search
from .rating import Rating, check_level, rate_batch
from .shape import Sudoku, SudokuShape, solver_tables

# Fewest clues any uniquely solvable puzzle has (proved for 4x4, 6x6 and 9x9); other
# sizes use the trivial bound n - 1 (with two digits absent, swapping them gives a
# second solution).
MIN_CLUES = {4: 4, 6: 8, 9: 17}
KEEP_UNIQUE, KEEP_NAKED, KEEP_SINGLES = 0, 1, 2
RESTARTS = 50  # refill-and-remove rounds per attempt when a clue count is asked for
_KEEP_FOR_LEVEL = {
    None: KEEP_UNIQUE,
    "easy": KEEP_NAKED,
    "medium": KEEP_SINGLES,
    "hard": KEEP_UNIQUE,
    "extreme": KEEP_UNIQUE,
}


@dataclass(frozen=True)
class Generated:
    puzzle: Sudoku
    solution: Sudoku
    rating: Rating
    attempts: int = 1


@njit(cache=True, no_cpython_wrapper=True)
def _still_fine(
    puzzle, solution, removed, nremoved, keep, tables, ws_stack, ws_queue, ws_cell, ws_rem, seg_or, rng_state, out
):
    """Does `puzzle` (with `removed[:nremoved]` just blanked) still satisfy the keep rule?

    KEEP_UNIQUE: another solution must differ in some removed cell, so look for one that
    differs first at removed[j] (the earlier removed cells keep their solution digit).
    Otherwise: singles alone must still solve it (no guess allowed).
    """
    n = tables[0].shape[1]
    full = (1 << n) - 1
    unique = keep == KEEP_UNIQUE
    strength = _search.LOCKED if unique else (_search.NAKED if keep == KEEP_NAKED else _search.HIDDEN)
    for j in range(nremoved if unique else 1):
        _search.load_givens(puzzle, ws_stack[0], n)
        if unique:
            for i in range(j):
                ws_stack[0, removed[i]] = 1 << (solution[removed[i]] - 1)
            ws_stack[0, removed[j]] = full & ~(1 << (solution[removed[j]] - 1))
        count, _ = _search.search(
            ws_stack, ws_queue, ws_cell, ws_rem, seg_or, tables, 1, strength, -1 if unique else 0, rng_state, False, out
        )
        if not unique:
            return count == 1
        if count != 0:
            return False
    return True


@njit(cache=True, no_cpython_wrapper=True)
def _shuffle(order, rng_state):
    for i in range(len(order) - 1, 0, -1):
        j = _search.random_below(rng_state, i + 1)
        order[i], order[j] = order[j], order[i]


@njit(cache=True)
def generate_attempt(tables, seed, symmetric, target_clues, keep, restarts, puzzle, solution):
    """One attempt: a random full grid into `solution`, the puzzle into `puzzle` (flat int8).

    When a removal pass ends above `target_clues`, up to `restarts` times one random blank
    (pair) is filled again and another pass tries to remove clues: a random walk among
    minimal puzzles that reaches low clue counts far more often than fresh attempts.
    Returns the clue count reached (above `target_clues` when removal got stuck).
    """
    n = tables[0].shape[1]
    ncells = tables[1].shape[0]
    stack, queue, branch_cell, branch_rem, seg_or = _search.workspace(tables)
    scratch = np.empty(ncells, dtype=np.int8)
    rng_state = np.empty(1, dtype=np.uint64)
    rng_state[0] = seed
    full = (1 << n) - 1
    for cell in range(ncells):
        stack[0, cell] = full
    _search.search(
        stack, queue, branch_cell, branch_rem, seg_or, tables, 1, _search.LOCKED, -1, rng_state, True, solution
    )
    order = np.arange(ncells)
    for cell in range(ncells):
        puzzle[cell] = solution[cell]
    clues = ncells
    removed = np.empty(2, dtype=np.int64)
    for restart in range(restarts + 1):
        if restart > 0:
            if clues <= target_clues or clues == ncells:
                break
            blank = order[_search.random_below(rng_state, ncells)]
            while puzzle[blank] != 0:
                blank = order[_search.random_below(rng_state, ncells)]
            mate = ncells - 1 - blank if symmetric else blank
            puzzle[blank] = solution[blank]
            puzzle[mate] = solution[mate]
            clues += 1 if mate == blank else 2
        _shuffle(order, rng_state)
        for i in range(ncells):
            if clues <= target_clues:
                break
            cell = order[i]
            mate = ncells - 1 - cell if symmetric else cell
            if mate < cell or puzzle[cell] == 0:
                continue  # a pair is visited at its lower cell; blanks stay blank
            size = 1 if mate == cell else 2
            if clues - size < target_clues:
                continue
            removed[0] = cell
            removed[1] = mate
            puzzle[cell] = 0
            puzzle[mate] = 0
            if _still_fine(
                puzzle,
                solution,
                removed,
                size,
                keep,
                tables,
                stack,
                queue,
                branch_cell,
                branch_rem,
                seg_or,
                rng_state,
                scratch,
            ):
                clues -= size
            else:
                puzzle[cell] = solution[cell]
                puzzle[mate] = solution[mate]
    return clues


def min_clues(shape: SudokuShape) -> int:
    """A lower bound on the clues of any uniquely solvable puzzle of this shape."""
    return MIN_CLUES.get(shape.n, shape.n - 1)


def _check_request(shape: SudokuShape, clues: int | None, symmetric: bool) -> None:
    if clues is None:
        return
    if isinstance(clues, bool) or not isinstance(clues, (int, np.integer)):
        raise PuzzleError(f"clues must be an integer, got {clues!r}")
    if clues > shape.cells:
        raise PuzzleError(f"a {shape} grid has only {shape.cells} cells, cannot keep {clues} clues")
    if clues < min_clues(shape):
        raise PuzzleError(
            f"no {shape} puzzle with {clues} clues has a unique solution (at least {min_clues(shape)} are needed)"
        )
    if symmetric and shape.n % 2 == 0 and clues % 2:
        raise PuzzleError(f"a symmetric {shape} puzzle has an even number of clues, not {clues}")


def generate_sudoku(
    shape: SudokuShape,
    rng: np.random.Generator,
    *,
    level: str | None = None,
    clues: int | None = None,
    symmetric: bool = False,
    max_attempts: int = 200,
) -> Generated:
    """A puzzle with exactly one solution; `level` (one of LEVELS) and/or exactly `clues`
    clues when given, else as few clues as random removal reaches.

    Raises PuzzleError for impossible requests at once, and when `max_attempts` attempts
    all missed the target.
    """
    if not isinstance(rng, np.random.Generator):
        raise PuzzleError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}"
        )
    check_level(level)
    _check_request(shape, clues, symmetric)
    tables = solver_tables(shape)
    keep = _KEEP_FOR_LEVEL[level]
    target = 0 if clues is None else int(clues)
    restarts = 0 if clues is None else RESTARTS
    puzzle = np.empty(shape.cells, dtype=np.int8)
    solution = np.empty(shape.cells, dtype=np.int8)
    for attempt in range(1, max_attempts + 1):
        seed = rng.integers(0, 2**63, dtype=np.int64)
        reached = generate_attempt(tables, np.uint64(seed), symmetric, target, keep, restarts, puzzle, solution)
        if clues is not None and reached != clues:
            continue
        grid = puzzle.reshape(shape.n, shape.n)
        rating = rate_batch(grid[None], shape)[0]
        if level is not None and rating.level != level:
            continue
        return Generated(Sudoku(shape, grid), Sudoku(shape, solution.reshape(shape.n, shape.n)), rating, attempt)
    want = ", ".join(
        part
        for part in (level and f"level {level}", clues is not None and f"{clues} clues", symmetric and "symmetric")
        if part
    )
    raise PuzzleError(
        f"no {shape} puzzle ({want}) found in {max_attempts} attempts; try more attempts or an easier target"
    )
