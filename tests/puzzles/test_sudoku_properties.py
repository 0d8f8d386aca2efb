"""Hypothesis properties: valid grids are built from permutations, never filtered."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from puzzles.errors import ParseError
from puzzles.sudoku import (
    Sudoku,
    SudokuShape,
    apply_symmetry,
    canonical_form,
    parse_sudoku,
    random_symmetry,
    verify_batch,
    verify_sudoku,
)

from .sudoku_helpers import permuted_grid

SHAPES = [SudokuShape(2, 2), SudokuShape(2, 3), SudokuShape(3, 3), SudokuShape(4, 4)]
FAST = settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def solved_grids(draw, shapes=SHAPES):
    """(shape, a valid complete grid)."""
    shape = draw(st.sampled_from(shapes))
    br, bc = shape.box_rows, shape.box_cols
    bands, stacks = shape.n // br, shape.n // bc
    grid = permuted_grid(
        shape,
        draw(st.permutations(range(bands))),
        [draw(st.permutations(range(br))) for _ in range(bands)],
        draw(st.permutations(range(stacks))),
        [draw(st.permutations(range(bc))) for _ in range(stacks)],
        draw(st.permutations(range(1, shape.n + 1))),
    )
    return shape, grid


@st.composite
def puzzles(draw, shapes=SHAPES):
    """(shape, puzzle with some cells blanked, its complete grid)."""
    shape, grid = draw(solved_grids(shapes))
    mask = np.array(draw(st.lists(st.booleans(), min_size=shape.cells, max_size=shape.cells)))
    return shape, np.where(mask.reshape(grid.shape), grid, 0).astype(np.int8), grid


@FAST
@given(puzzles(), st.sampled_from([".", "0"]))
def test_parse_format_round_trip(case, blank):
    shape, puzzle, _ = case
    sudoku = Sudoku(shape, puzzle)
    assert parse_sudoku(sudoku.to_line(blank), shape) == sudoku
    assert parse_sudoku(sudoku.to_line().lower(), shape) == sudoku
    assert parse_sudoku(sudoku.to_grid_text(), shape) == sudoku
    if shape == SudokuShape.for_size(shape.n):  # the size alone names the shape
        assert parse_sudoku(f"# comment\n  {sudoku.to_line()}  // note\n") == sudoku


@FAST
@given(solved_grids(), st.data())
def test_corrupted_solutions_are_rejected(case, data):
    shape, grid = case
    puzzle = np.zeros_like(grid)
    assert verify_sudoku(puzzle, grid).valid
    r, c = data.draw(st.integers(0, shape.n - 1)), data.draw(st.integers(0, shape.n - 1))
    corrupt = grid.copy()
    corrupt[r, c] = data.draw(st.sampled_from([d for d in range(0, shape.n + 1) if d != grid[r, c]]))
    verdict = verify_sudoku(puzzle, corrupt)
    assert not verdict.valid
    assert (r, c) in verdict.cells()
    kinds = {v.kind for v in verdict.violations}
    assert kinds == ({"blank"} if corrupt[r, c] == 0 else {"row", "column", "box"})
    assert not verify_batch(puzzle[None], corrupt[None], shape)[0]
    # keeping the solution but changing a given is caught too
    given_puzzle = grid.copy()
    given_puzzle[r, c] = corrupt[r, c] if corrupt[r, c] else grid[r, c] % shape.n + 1
    assert "given" in {v.kind for v in verify_sudoku(given_puzzle, grid).violations}


@settings(deadline=None, max_examples=150)
@given(st.one_of(st.text(), st.text(alphabet=".0123456789ABCDEFGabcdefgxz|-+ #/\n\t", max_size=300)))
def test_random_text_only_raises_parse_error(text):
    try:
        sudoku = parse_sudoku(text)
    except ParseError as err:
        assert str(err)
    else:
        assert sudoku.grid.shape == (sudoku.n, sudoku.n)


@FAST
@given(puzzles(shapes=SHAPES[:3]), st.integers(0, 2**32 - 1))
def test_canonical_form_invariant_under_symmetries(case, seed):
    shape, puzzle, _ = case
    sudoku = Sudoku(shape, puzzle)
    image = apply_symmetry(sudoku, random_symmetry(shape, np.random.default_rng(seed)))
    assert canonical_form(image) == canonical_form(sudoku)
