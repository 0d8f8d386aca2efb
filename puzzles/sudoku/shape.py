"""Grid shapes and the immutable `Sudoku` value: n x n cells in box_rows x box_cols boxes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from puzzles.errors import PuzzleError

# Digits as written in text: 1..9 then A..G for 10..16 (16x16 grids).
DIGIT_CHARS = "123456789ABCDEFG"
MAX_SIZE = len(DIGIT_CHARS)
_BOXES_FOR_SIZE = {4: (2, 2), 6: (2, 3), 8: (2, 4), 9: (3, 3), 12: (3, 4), 16: (4, 4)}


@dataclass(frozen=True)
class SudokuShape:
    """An n x n grid (n = box_rows * box_cols) split into boxes of box_rows x box_cols cells."""

    box_rows: int
    box_cols: int

    def __post_init__(self) -> None:
        for name in ("box_rows", "box_cols"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise PuzzleError(f"{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.n > MAX_SIZE:
            raise PuzzleError(f"grids larger than {MAX_SIZE}x{MAX_SIZE} are not supported (got {self.n})")

    @property
    def n(self) -> int:
        """Side length, also the number of digits."""
        return self.box_rows * self.box_cols

    @property
    def cells(self) -> int:
        return self.n * self.n

    @classmethod
    def for_size(cls, n: int) -> SudokuShape:
        """The usual box layout for an n x n grid (4, 6, 8, 9, 12, 16)."""
        if n not in _BOXES_FOR_SIZE:
            sizes = ", ".join(str(s) for s in _BOXES_FOR_SIZE)
            raise PuzzleError(f"no standard box layout for a {n}x{n} grid (sizes: {sizes})")
        return cls(*_BOXES_FOR_SIZE[n])

    @classmethod
    def for_cells(cls, cells: int) -> SudokuShape | None:
        """The standard shape with this many cells, or None."""
        for n in _BOXES_FOR_SIZE:
            if n * n == cells:
                return cls.for_size(n)
        return None

    def box_of(self, row: int, col: int) -> int:
        """Index of the box holding cell (row, col), boxes numbered row-major."""
        return (row // self.box_rows) * self.box_rows + col // self.box_cols

    def box_cells(self, box: int) -> list[tuple[int, int]]:
        r0 = (box // self.box_rows) * self.box_rows
        c0 = (box % self.box_rows) * self.box_cols
        return [(r0 + i, c0 + j) for i in range(self.box_rows) for j in range(self.box_cols)]

    def __str__(self) -> str:
        return f"{self.n}x{self.n} ({self.box_rows}x{self.box_cols} boxes)"


def digit_char(value: int, blank: str = ".") -> str:
    return blank if value == 0 else DIGIT_CHARS[value - 1]


@lru_cache(maxsize=None)
def unit_tables(shape: SudokuShape) -> tuple[np.ndarray, np.ndarray]:
    """(units (3n, n), peers (cells, P)) flat cell indices; units are rows, then columns, then boxes."""
    n = shape.n
    idx = np.arange(shape.cells, dtype=np.int32).reshape(n, n)
    boxes = (
        idx.reshape(n // shape.box_rows, shape.box_rows, n // shape.box_cols, shape.box_cols)
        .transpose(0, 2, 1, 3)
        .reshape(n, n)
    )
    units = np.concatenate([idx, idx.T, boxes]).astype(np.int32)
    peers = []
    for cell in range(shape.cells):
        r, c = divmod(cell, n)
        mates = set(units[r]) | set(units[n + c]) | set(units[2 * n + shape.box_of(r, c)])
        mates.discard(cell)
        peers.append(sorted(mates))
    peers_arr = np.array(peers, dtype=np.int32)
    units.setflags(write=False)
    peers_arr.setflags(write=False)
    return units, peers_arr


@dataclass(frozen=True, eq=False)
class Sudoku:
    """A puzzle or a (partial) answer: `grid` is (n, n) int8, 0 = blank, read-only.

    Only the shape and the digit range are checked here; a grid may break the rules
    (it can be a wrong answer), which `verify_sudoku` reports.
    """

    shape: SudokuShape
    grid: np.ndarray

    def __post_init__(self) -> None:
        n = self.shape.n
        try:
            grid = np.array(self.grid, dtype=np.int64)
        except (TypeError, ValueError) as err:
            raise PuzzleError(f"grid is not an array of integers: {err}") from None
        if grid.shape != (n, n):
            raise PuzzleError(f"grid has shape {grid.shape}, expected ({n}, {n}) for {self.shape}")
        bad = np.argwhere((grid < 0) | (grid > n))
        if len(bad):
            r, c = bad[0]
            raise PuzzleError(f"cell r{r + 1}c{c + 1} holds {grid[r, c]}, outside 0..{n}")
        grid = grid.astype(np.int8)
        grid.setflags(write=False)
        object.__setattr__(self, "grid", grid)

    @classmethod
    def from_grid(cls, grid: np.ndarray, shape: SudokuShape | None = None) -> Sudoku:
        grid = np.asarray(grid)
        if shape is None:
            if grid.ndim != 2 or grid.shape[0] != grid.shape[1]:
                raise PuzzleError(f"grid has shape {grid.shape}, expected a square (n, n) array")
            shape = SudokuShape.for_size(grid.shape[0])
        return cls(shape, grid)

    @property
    def n(self) -> int:
        return self.shape.n

    @cached_property
    def clues(self) -> int:
        """Number of filled cells."""
        return int(np.count_nonzero(self.grid))

    @property
    def is_complete(self) -> bool:
        """Every cell filled (not necessarily correctly)."""
        return self.clues == self.shape.cells

    def to_line(self, blank: str = ".") -> str:
        """One line of n*n characters, row by row; digits above 9 as A..G."""
        return "".join(digit_char(int(v), blank) for v in self.grid.ravel())

    def to_grid_text(self, blank: str = ".") -> str:
        """n lines with spaces between cells, `|` between boxes and a rule line between bands."""
        shape = self.shape
        lines = []
        for r in range(shape.n):
            if r and r % shape.box_rows == 0:
                lines.append("+".join("-" * (2 * shape.box_cols + 1) for _ in range(shape.box_rows))[1:-1])
            stacks = []
            for s in range(shape.box_rows):
                cols = range(s * shape.box_cols, (s + 1) * shape.box_cols)
                stacks.append(" ".join(digit_char(int(self.grid[r, c]), blank) for c in cols))
            lines.append(" | ".join(stacks))
        return "\n".join(lines)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sudoku):
            return NotImplemented
        return self.shape == other.shape and np.array_equal(self.grid, other.grid)

    def __hash__(self) -> int:
        return hash((self.shape, self.grid.tobytes()))

    def __str__(self) -> str:
        return self.to_line()

    def __repr__(self) -> str:
        return f"Sudoku({self.shape.box_rows}x{self.shape.box_cols}, {self.to_line()!r})"
