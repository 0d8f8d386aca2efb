"""The exact solver: known answers, the public benchmark sets, solution counts, batch API."""

from __future__ import annotations

import numpy as np
import pytest

from puzzles.errors import PuzzleError
from puzzles.sudoku import (
    SudokuShape,
    count_solutions,
    parse_sudoku,
    singles_solve,
    solve_batch,
    solve_sudoku,
    verify_batch,
    verify_sudoku,
)

from .sudoku_helpers import known_puzzles

KNOWN = known_puzzles()


@pytest.mark.parametrize(
    ("puzzle", "solution"), KNOWN, ids=[f"{p.shape.n}x{p.shape.n}-{i}" for i, (p, _) in enumerate(KNOWN)]
)
def test_known_puzzles(puzzle, solution):
    result = solve_sudoku(puzzle)
    assert result.solution == solution
    assert verify_sudoku(puzzle, result.solution).valid
    assert count_solutions(puzzle) == 1
    assert result.singles_only == (result.guesses == 0 and singles_solve(puzzle.grid[None])[0])


def test_known_sizes_cover_the_issue():
    assert {p.shape.n for p, _ in KNOWN} >= {4, 6, 9, 16}


@pytest.mark.parametrize("name", ["norvig_hardest", "norvig_top95", "magictour_top1465"])
def test_public_benchmark_sets(shared_benchmarks, name):
    lines = (shared_benchmarks / "sudoku" / f"{name}.txt").read_text().split()
    puzzles = np.stack([parse_sudoku(line).grid for line in lines])
    result = solve_batch(puzzles, limit=2)
    assert (result.counts == 1).all(), "every benchmark puzzle has exactly one solution"
    assert verify_batch(puzzles, result.solutions).all()
    first = solve_batch(puzzles)  # limit 1: same solutions (they are unique)
    assert np.array_equal(first.solutions, result.solutions)
    assert (first.guesses <= result.guesses).all()


def test_counts_known_values():
    assert count_solutions("." * 16, limit=1000) == 288  # all 4x4 Sudoku grids
    assert count_solutions("." * 81, limit=5) == 5
    solution = KNOWN[0][1].grid
    # a "deadly rectangle": cells of two rows and two columns in exactly two boxes holding
    # a b / b a; blank only those and the digits can be swapped: two solutions
    shape = SudokuShape(3, 3)
    r1, r2, c1, c2 = next(
        (r1, r2, c1, c2)
        for r1 in range(9)
        for r2 in range(r1 + 1, 9)
        for c1 in range(9)
        for c2 in range(c1 + 1, 9)
        if len({shape.box_of(r, c) for r in (r1, r2) for c in (c1, c2)}) == 2
        and solution[r1, c1] == solution[r2, c2]
        and solution[r1, c2] == solution[r2, c1]
    )
    two = solution.copy()
    two[[r1, r1, r2, r2], [c1, c2, c1, c2]] = 0
    assert count_solutions(two) == 2
    assert count_solutions(two, limit=1) == 1
    assert solve_sudoku(two).solution is not None


def test_no_solution():
    # r1c1 can hold nothing: the row has 1..8, the column 9
    puzzle = "12345678." + "." * 8 + "9" + "." * 63
    assert count_solutions(puzzle) == 0
    result = solve_sudoku(puzzle)
    assert result.solution is None and not result.singles_only
    clash = np.zeros((9, 9), dtype=np.int8)
    clash[0, 0] = clash[0, 5] = 4  # conflicting givens (arrays are not checked on the way in)
    assert count_solutions(clash) == 0


def test_singles_and_guesses_reported():
    easy = parse_sudoku(KNOWN[0][0].to_line())  # Wikipedia's example: singles suffice
    result = solve_sudoku(easy)
    assert result.singles_only and result.guesses == 0
    hard = parse_sudoku("4...3.......6..8..........1....5..9..8....6...7.2........1.27..5.3....4.9........")
    result = solve_sudoku(hard)
    assert not result.singles_only and result.guesses > 0


def test_batch_matches_single_and_validates_input():
    puzzles = np.stack([p.grid for p, _ in KNOWN if p.shape.n == 9])
    batch = solve_batch(puzzles)
    for b, grid in enumerate(puzzles):
        assert np.array_equal(batch.solutions[b], solve_sudoku(grid).solution.grid)
    # every propagation strength finds the same unique solutions
    for strength in (0, 1, 2):
        assert np.array_equal(solve_batch(puzzles, strength=strength).solutions, batch.solutions)
    gave_up = solve_batch(puzzles, max_guesses=0)
    assert set(gave_up.counts.tolist()) <= {-1, 1}
    with pytest.raises(PuzzleError):
        solve_batch(puzzles[:, :4, :4] + 5)
    with pytest.raises(PuzzleError):
        solve_batch(puzzles[0])
    assert solve_batch(np.zeros((0, 9, 9), dtype=np.int8)).counts.shape == (0,)


def test_accepts_text_and_arrays():
    puzzle, solution = KNOWN[0]
    assert solve_sudoku(puzzle.to_grid_text()).solution == solution
    assert solve_sudoku(puzzle.grid.astype(np.int64)).solution == solution
