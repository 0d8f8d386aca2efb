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
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
                raise PuzzleError(f"{name} must be an integer of at least 2, got {value!r}")
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


def batch_shape(grids: np.ndarray, shape: SudokuShape | None, what: str = "grids") -> SudokuShape:
    """Check that `grids` is a (B, n, n) array and return its shape (from n when not given)."""
    if grids.ndim != 3 or grids.shape[1] != grids.shape[2]:
        raise PuzzleError(f"{what} have shape {grids.shape}, expected (B, n, n)")
    n = grids.shape[1]
    shape = shape or SudokuShape.for_size(n)
    if shape.n != n:
        raise PuzzleError(f"arrays are {n}x{n} but the shape is {shape}")
    return shape


def digit_char(value: int, blank: str = ".") -> str:
    return blank if value == 0 else DIGIT_CHARS[value - 1]


def to_lines(grids: np.ndarray, blank: str = ".") -> list[str]:
    """`Sudoku.to_line` of each (n, n) grid of a (B, n, n) array, converted all at once."""
    grids = np.asarray(grids)
    if grids.ndim != 3 or len(blank) != 1 or not blank.isascii():
        raise PuzzleError(f"to_lines takes (B, n, n) grids and a one-character blank, got {grids.shape} and {blank!r}")
    cells = grids.shape[1] * grids.shape[2]
    if grids.size and (grids.min() < 0 or grids.max() > MAX_SIZE):
        raise PuzzleError(f"grid values must lie in 0..{MAX_SIZE}")
    chars = np.frombuffer((blank + DIGIT_CHARS).encode("ascii"), dtype=np.uint8)
    text = chars[grids.reshape(len(grids), cells)].tobytes().decode("ascii")
    return [text[i : i + cells] for i in range(0, len(text), cells)]


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


def _padded(rows: list[list[int]]) -> np.ndarray:
    """Rows of unequal length as one int32 array, short rows padded by repeating their first
    entry (harmless for the ORs and eliminations the kernels do with them)."""
    width = max(len(row) for row in rows)
    out = np.array([row + [row[0]] * (width - len(row)) if row else [] for row in rows], dtype=np.int32)
    out = out.reshape(len(rows), width)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=None)
def solver_tables(shape: SudokuShape) -> tuple[np.ndarray, ...]:
    """(units, peers, cell_units, seg_cells, seg_units, rule_seg, rule_unit, rule_others,
    rule_targets) for the numba solver; *_units are bitmasks over the 3n units.

    A segment is the intersection of a box with a row or a column. Each segment has two
    locked-candidate rules: digits found in it and in no other segment of its box are
    removed from `rule_targets` = the rest of its line (pointing); digits found in it and
    in no other segment of its line are removed from the rest of its box (claiming).
    """
    units, peers = unit_tables(shape)
    n, br, bc = shape.n, shape.box_rows, shape.box_cols
    segments: list[tuple[list[int], tuple[str, int], tuple[str, int]]] = []  # cells, box key, line key
    for b in range(n):
        cells = shape.box_cells(b)
        for i in range(br):
            segs = [r * n + c for r, c in cells if r == cells[0][0] + i]
            segments.append((segs, ("hbox", b), ("row", cells[0][0] + i)))
        for j in range(bc):
            segs = [r * n + c for r, c in cells if c == cells[0][1] + j]
            segments.append((segs, ("vbox", b), ("col", cells[0][1] + j)))
    rule_seg, rule_others, rule_targets = [], [], []
    for s, (_, box_key, line_key) in enumerate(segments):
        box = set(units[2 * n + box_key[1]].tolist())
        line = set((units[line_key[1]] if line_key[0] == "row" else units[n + line_key[1]]).tolist())
        for key, targets in ((box_key, line - box), (line_key, box - line)):
            rule_seg.append(s)
            rule_others.append([t for t, other in enumerate(segments) if key in other[1:] and t != s])
            rule_targets.append(sorted(targets))

    def unit_bit(key: tuple[str, int]) -> int:
        return 1 << ({"row": 0, "col": n, "hbox": 2 * n, "vbox": 2 * n}[key[0]] + key[1])

    cell_units = np.array(
        [
            (1 << (cell // n)) | (1 << (n + cell % n)) | (1 << (2 * n + shape.box_of(*divmod(cell, n))))
            for cell in range(shape.cells)
        ],
        dtype=np.int64,
    )
    seg_units = np.array([unit_bit(box) | unit_bit(line) for _, box, line in segments], dtype=np.int64)
    rule_unit = np.array([unit_bit(segments[s][1 + i % 2]) for i, s in enumerate(rule_seg)], dtype=np.int64)
    arrays = [cell_units, seg_units, np.array(rule_seg, dtype=np.int32), rule_unit]
    for array in arrays:
        array.setflags(write=False)
    cell_units, seg_units, rule_seg_arr, rule_unit = arrays
    seg_cells = _padded([cells for cells, _, _ in segments])
    return (
        units,
        peers,
        cell_units,
        seg_cells,
        seg_units,
        rule_seg_arr,
        rule_unit,
        _padded(rule_others),
        _padded(rule_targets),
    )


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
