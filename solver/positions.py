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


def step_positions(n_numbers: int, number_digits: int, value_digits: int) -> dict[str, torch.Tensor]:
    """{"segment", "field", "place"} for the structured Countdown layout (solver.countdown_steps).

    segment: number i -> i, the target -> N, step k -> N + 1 + k; field: 0 number digit,
    1 target digit, 2 operand a, 3 operator, 4 operand b, 5 result digit; place: a digit's power
    of ten (0 for the units), 0 for a, op and b.
    """
    segment, field, place = [], [], []
    for i in range(n_numbers + 1):
        segment += [i] * number_digits
        field += [0 if i < n_numbers else 1] * number_digits
        place += list(range(number_digits - 1, -1, -1))
    for k in range(n_numbers - 1):
        segment += [n_numbers + 1 + k] * (3 + value_digits)
        field += [2, 3, 4] + [5] * value_digits
        place += [0, 0, 0] + list(range(value_digits - 1, -1, -1))
    return {name: torch.tensor(ids) for name, ids in (("segment", segment), ("field", field), ("place", place))}
