"""Shared helpers for the Sudoku tests: known puzzles and valid grids built from permutations."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from puzzles.sudoku import Sudoku, SudokuShape, parse_sudoku

DATA = Path(__file__).parent / "data"


def known_puzzles() -> list[tuple[Sudoku, Sudoku]]:
    """(puzzle, solution) pairs from data/sudoku_known.txt."""
    pairs = []
    for line in (DATA / "sudoku_known.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        boxes, puzzle, solution = line.split()
        shape = SudokuShape(*map(int, boxes.split("x")))
        pairs.append((parse_sudoku(puzzle, shape), parse_sudoku(solution, shape)))
    return pairs


def pattern_grid(shape: SudokuShape) -> np.ndarray:
    """A valid complete grid from the classic shifting pattern."""
    n, br, bc = shape.n, shape.box_rows, shape.box_cols
    return np.array([[(bc * (r % br) + r // br + c) % n + 1 for c in range(n)] for r in range(n)], dtype=np.int8)


def permuted_grid(shape: SudokuShape, band_order, row_orders, stack_order, col_orders, digits) -> np.ndarray:
    """A valid complete grid: the pattern grid moved by the given permutations (any valid
    choice of them gives a valid grid, so property tests need no filtering)."""
    br, bc = shape.box_rows, shape.box_cols
    rows = [band * br + r for band in band_order for r in row_orders[band]]
    cols = [stack * bc + c for stack in stack_order for c in col_orders[stack]]
    grid = pattern_grid(shape)[np.ix_(rows, cols)]
    return np.asarray(digits, dtype=np.int8)[grid - 1]
