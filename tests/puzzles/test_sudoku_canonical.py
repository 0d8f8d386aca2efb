"""Symmetries and the canonical form."""

from __future__ import annotations

import numpy as np
import pytest

from puzzles.errors import PuzzleError
from puzzles.sudoku import (
    Sudoku,
    SudokuShape,
    Symmetry,
    apply_symmetry,
    canonical_batch,
    canonical_form,
    parse_sudoku,
    random_symmetry,
    solve_sudoku,
    verify_sudoku,
)

from .sudoku_helpers import known_puzzles, pattern_grid

KNOWN = known_puzzles()


def first_appearance(grid: np.ndarray) -> list[int]:
    labels = {0: 0}
    return [labels.setdefault(int(v), len(labels)) for v in grid.ravel()]


@pytest.mark.parametrize("index", range(len(KNOWN)))
def test_invariant_and_minimal_on_known(index):
    puzzle, solution = KNOWN[index]
    rng = np.random.default_rng(index)
    for sudoku in (puzzle, solution):
        form = canonical_form(sudoku)
        assert len(form) == sudoku.shape.cells
        for _ in range(4 if puzzle.n <= 9 else 1):
            image = apply_symmetry(sudoku, random_symmetry(sudoku.shape, rng))
            assert canonical_form(image) == form
            # never larger than any member (blank '.' sorts before digits)
            assert [0 if ch == "." else int(ch, 17) for ch in form] <= first_appearance(image.grid)
        assert canonical_form(parse_sudoku(form, sudoku.shape)) == form  # idempotent


def test_invariant_on_benchmark(shared_benchmarks):
    lines = (shared_benchmarks / "sudoku" / "magictour_top1465.txt").read_text().split()[:60]
    grids = np.stack([parse_sudoku(line).grid for line in lines])
    forms = canonical_batch(grids)
    rng = np.random.default_rng(0)
    images = np.stack([apply_symmetry(g, random_symmetry(SudokuShape(3, 3), rng)) for g in grids])
    assert np.array_equal(canonical_batch(images), forms)


def all_grids(shape: SudokuShape) -> list[np.ndarray]:
    """Every complete grid of a small shape, by plain backtracking."""
    n = shape.n
    grid = np.zeros((n, n), dtype=np.int8)
    found = []

    def fill(cell: int) -> None:
        if cell == n * n:
            found.append(grid.copy())
            return
        r, c = divmod(cell, n)
        box = shape.box_cells(shape.box_of(r, c))
        for digit in range(1, n + 1):
            if digit in grid[r] or digit in grid[:, c] or any(grid[i, j] == digit for i, j in box):
                continue
            grid[r, c] = digit
            fill(cell + 1)
            grid[r, c] = 0

    fill(0)
    return found


def brute_force_form(grid: np.ndarray, shape: SudokuShape) -> list[int]:
    """min over every row/column placement (and transpose) of the first-appearance relabelling."""
    from itertools import permutations, product

    def orders(blocks: int, size: int):
        for block_order in permutations(range(blocks)):
            for inner in product(permutations(range(size)), repeat=blocks):
                yield [b * size + i for b in block_order for i in inner[b]]

    n = shape.n
    best = None
    sources = [grid, grid.T] if shape.box_rows == shape.box_cols else [grid]
    for source in sources:
        for rows in orders(n // shape.box_rows, shape.box_rows):
            for cols in orders(n // shape.box_cols, shape.box_cols):
                image = first_appearance(source[np.ix_(rows, cols)])
                best = image if best is None or image < best else best
    return best


def test_exact_against_brute_force_on_small_shapes():
    rng = np.random.default_rng(4)
    for shape in (SudokuShape(2, 2), SudokuShape(2, 3)):
        for puzzle, solution in KNOWN:
            if puzzle.shape != shape:
                continue
            rows_only = np.stack([rng.permutation(shape.n) + 1 for _ in range(shape.n)])  # not a Sudoku
            blanked = np.where(rng.random(solution.grid.shape) < 0.5, solution.grid, 0)
            for grid in (puzzle.grid, solution.grid, blanked, rows_only):
                expected = brute_force_form(grid, shape)
                assert [0 if ch == "." else int(ch) for ch in canonical_form(Sudoku(shape, grid))] == expected


def test_four_by_four_has_two_classes():
    shape = SudokuShape(2, 2)
    grids = all_grids(shape)
    assert len(grids) == 288
    forms = {image.tobytes() for image in canonical_batch(np.stack(grids), shape)}
    assert len(forms) == 2  # the two essentially different 4x4 grids


def test_symmetry_maps_solutions_to_solutions():
    rng = np.random.default_rng(3)
    for puzzle, solution in KNOWN:
        sym = random_symmetry(puzzle.shape, rng)
        image, image_solution = apply_symmetry(puzzle, sym), apply_symmetry(solution, sym)
        assert verify_sudoku(image, image_solution).valid
        assert image.clues == puzzle.clues
        if puzzle.n <= 9:
            assert solve_sudoku(image).solution == image_solution


def test_batches_and_shapes():
    shape = SudokuShape(2, 3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert not random_symmetry(shape, rng).transpose  # boxes are not square
    grids = np.stack([pattern_grid(shape)] * 4)
    sym = random_symmetry(shape, rng)
    out = apply_symmetry(grids, sym)
    assert out.shape == grids.shape and out.dtype == grids.dtype
    assert np.array_equal(out[2], apply_symmetry(grids[2], sym))
    transposing = Symmetry(True, np.arange(6), np.arange(6), np.arange(7))
    with pytest.raises(PuzzleError, match="transposed"):
        apply_symmetry(Sudoku(shape, grids[0]), transposing)
    with pytest.raises(PuzzleError):
        apply_symmetry(np.zeros((9, 9)), sym)
    assert canonical_batch(np.zeros((0, 9, 9), dtype=np.int8)).shape == (0, 9, 9)


def test_known_forms():
    assert canonical_form("." * 81) == "." * 81
    shape = SudokuShape(2, 2)
    assert canonical_form(Sudoku(shape, pattern_grid(shape))) == "".join(
        map(str, brute_force_form(pattern_grid(shape), shape))
    )
