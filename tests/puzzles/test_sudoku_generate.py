"""Rating and generating: unique solutions, requested levels and clue counts, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from puzzles.errors import PuzzleError
from puzzles.sudoku import (
    HARD_MAX_GUESSES,
    LEVELS,
    SudokuShape,
    count_solutions,
    generate_sudoku,
    min_clues,
    rate_batch,
    rate_sudoku,
    solve_batch,
    verify_sudoku,
)

from .sudoku_helpers import known_puzzles

NINE = SudokuShape(3, 3)


def assert_good(generated, shape):
    puzzle, solution = generated.puzzle, generated.solution
    assert puzzle.shape == shape and solution.shape == shape
    assert count_solutions(puzzle) == 1
    assert verify_sudoku(puzzle, solution).valid
    assert generated.rating == rate_sudoku(puzzle)
    assert generated.rating.clues == puzzle.clues


def test_rating_rules():
    wiki = known_puzzles()[0][0]
    rating = rate_sudoku(wiki)
    assert rating.singles_only and rating.guesses == 0 and rating.level in ("easy", "medium")
    assert rate_sudoku(known_puzzles()[0][1]).level == "easy"  # a full grid
    hard = rate_sudoku("4...3.......6..8..........1....5..9..8....6...7.2........1.27..5.3....4.9........")
    assert not hard.singles_only and hard.guesses > HARD_MAX_GUESSES and hard.level == "extreme"
    assert hard.clues == 18 and hard.solutions == 1
    assert rate_sudoku("." * 81).solutions == 2


def test_rating_is_deterministic_and_label_free():
    puzzle = known_puzzles()[2][0]  # a 17-clue puzzle
    relabelled = np.where(puzzle.grid > 0, 10 - puzzle.grid, 0)
    assert rate_sudoku(puzzle) == rate_sudoku(puzzle) == rate_sudoku(relabelled)


@pytest.mark.parametrize("size", [4, 6, 9, 16])
def test_generated_puzzles_are_unique(size):
    shape = SudokuShape.for_size(size)
    rng = np.random.default_rng(size)
    for _ in range(3 if size == 16 else 10):
        assert_good(generate_sudoku(shape, rng, clues=150 if size == 16 else None), shape)


def test_many_nine_by_nine_all_unique():
    rng = np.random.default_rng(0)
    puzzles = np.stack([generate_sudoku(NINE, rng).puzzle.grid for _ in range(200)])
    assert (solve_batch(puzzles, limit=2).counts == 1).all()
    assert len({p.tobytes() for p in puzzles}) == 200
    clues = np.count_nonzero(puzzles.reshape(200, -1), axis=1)
    assert 20 <= clues.mean() <= 28


@pytest.mark.parametrize("level", LEVELS)
def test_requested_level(level):
    rng = np.random.default_rng(7)
    for _ in range(3):
        generated = generate_sudoku(NINE, rng, level=level)
        assert_good(generated, NINE)
        assert generated.rating.level == level


@pytest.mark.parametrize(
    ("clues", "symmetric"), [(30, False), (24, False), (21, False), (36, True), (27, True), (45, False)]
)
def test_requested_clues(clues, symmetric):
    rng = np.random.default_rng(clues)
    generated = generate_sudoku(NINE, rng, clues=clues, symmetric=symmetric)
    assert_good(generated, NINE)
    assert generated.puzzle.clues == clues
    if symmetric:
        filled = generated.puzzle.grid != 0
        assert np.array_equal(filled, filled[::-1, ::-1])


def test_symmetric_pattern_without_target():
    rng = np.random.default_rng(3)
    for shape in (NINE, SudokuShape(2, 3)):
        filled = generate_sudoku(shape, rng, symmetric=True).puzzle.grid != 0
        assert np.array_equal(filled, filled[::-1, ::-1])


def test_level_and_clues_together():
    generated = generate_sudoku(NINE, np.random.default_rng(5), level="medium", clues=30)
    assert generated.rating.level == "medium" and generated.puzzle.clues == 30


def test_deterministic_for_a_generator_state():
    first = [generate_sudoku(NINE, np.random.default_rng(11), level="hard") for _ in range(2)]
    assert first[0].puzzle == first[1].puzzle and first[0].solution == first[1].solution
    rng = np.random.default_rng(11)
    a, b = generate_sudoku(NINE, rng), generate_sudoku(NINE, rng)
    assert a.puzzle != b.puzzle


def test_solution_grids_vary():
    rng = np.random.default_rng(1)
    first_rows = {generate_sudoku(NINE, rng, clues=60).solution.to_line()[:9] for _ in range(30)}
    assert len(first_rows) > 25  # a randomised fill, not relabellings of a few grids


def test_impossible_requests_fail_fast():
    rng = np.random.default_rng(0)
    with pytest.raises(PuzzleError, match="17"):
        generate_sudoku(NINE, rng, clues=16)
    assert min_clues(SudokuShape(4, 4)) == 15
    with pytest.raises(PuzzleError, match="81 cells"):
        generate_sudoku(NINE, rng, clues=82)
    with pytest.raises(PuzzleError, match="even"):
        generate_sudoku(SudokuShape(2, 2), rng, clues=7, symmetric=True)
    with pytest.raises(PuzzleError, match="Generator"):
        generate_sudoku(NINE, 7)
    with pytest.raises(PuzzleError, match="unknown level"):
        generate_sudoku(NINE, rng, level="fiendish")
    with pytest.raises(PuzzleError, match="in 5 attempts"):
        generate_sudoku(NINE, rng, level="easy", clues=18, max_attempts=5)


def test_rate_batch_matches_single():
    pairs = known_puzzles()
    puzzles = np.stack([p.grid for p, _ in pairs if p.shape.n == 9])
    assert rate_batch(puzzles) == [rate_sudoku(p) for p in puzzles]
