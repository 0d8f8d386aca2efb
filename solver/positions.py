"""Position ids as data for the Denoiser: plain arithmetic on torch, nothing task-specific imported.

`grid_positions(box_rows, box_cols)` factors the n*n cells of a row-major grid (n = box_rows *
box_cols) into row, column and box ids, the positions that let a small model learn Sudoku's
rules; `index_positions(length)` is the plain 1D alternative. The codecs hand these to the model
(`SudokuCodec.position_ids`), and the model rebuilds them from its config on load, so
`import solver.model` needs neither the puzzles package nor numba.
"""

from __future__ import annotations

import torch


def grid_positions(box_rows: int, box_cols: int) -> dict[str, torch.Tensor]:
    """{"row", "col", "box"}: (n*n,) long ids of each cell, boxes numbered row-major."""
    n = box_rows * box_cols
    cell = torch.arange(n * n)
    row, col = cell // n, cell % n
    box = (row // box_rows) * box_rows + col // box_cols  # boxes row-major, box_rows stacks per band
    return {"row": row, "col": col, "box": box}


def index_positions(length: int) -> dict[str, torch.Tensor]:
    """{"index"}: (length,) ids 0..length-1."""
    return {"index": torch.arange(length)}
