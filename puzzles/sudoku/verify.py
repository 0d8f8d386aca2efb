"""Checking an answer against its puzzle: a structured verdict, and a vectorised batch check."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from puzzles.errors import PuzzleError

from .parse import parse_sudoku
from .shape import DIGIT_CHARS, Sudoku, SudokuShape, batch_shape

VIOLATION_KINDS = ("row", "column", "box", "given", "blank")


@dataclass(frozen=True)
class Violation:
    """One broken rule. Cells are 0-based (row, col).

    row/column/box: `index` is the unit (0-based), `digit` appears in every cell listed.
    given: the answer changed the puzzle's clue `digit` at the one cell listed
    (`index` = flat cell index). blank: the answer left the cell empty (`digit` 0).
    """

    kind: str
    index: int
    digit: int
    cells: tuple[tuple[int, int], ...]

    def describe(self) -> str:
        """In words, everything 1-based: "column 4: two 6s (r2c4, r4c4)", "given 5 at r1c2
        was changed", "r3c3 is blank" (the one phrasing of `rmdm verify` and the app)."""
        where = ", ".join(f"r{r + 1}c{c + 1}" for r, c in self.cells)
        digit = DIGIT_CHARS[self.digit - 1] if self.digit else "."
        if self.kind == "given":
            return f"given {digit} at {where} was changed"
        if self.kind == "blank":
            return f"{where} is blank"
        return f"{self.kind} {self.index + 1}: {count_word(len(self.cells))} {digit}s ({where})"


_NUMBER_WORDS = (
    "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
)


def count_word(count: int) -> str:
    """2 -> "two" (a unit holds at most 16 cells); larger counts as digits."""
    return _NUMBER_WORDS[count] if 0 <= count < len(_NUMBER_WORDS) else str(count)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """"1 violation", "3 violations", "1 guess", "2 guesses"."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


@dataclass(frozen=True)
class SudokuVerdict:
    valid: bool
    violations: list[Violation] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.valid:
            return "valid: every row, column and box holds each digit once, givens kept"
        shown = "; ".join(v.describe() for v in self.violations[:5])
        more = len(self.violations) - 5
        return f"{plural(len(self.violations), 'violation')}: {shown}" + (f"; and {more} more" if more > 0 else "")

    def cells(self) -> set[tuple[int, int]]:
        """Every cell named by some violation (for highlighting)."""
        return {cell for v in self.violations for cell in v.cells}


def as_sudoku(value: Sudoku | str | np.ndarray, shape: SudokuShape | None = None, *, strict: bool = True) -> Sudoku:
    """A Sudoku from a Sudoku, text or an (n, n) array; `strict` rejects conflicting clues in text."""
    if isinstance(value, Sudoku):
        if shape is not None and value.shape != shape:
            raise PuzzleError(f"expected a {shape} grid, got {value.shape}")
        return value
    if isinstance(value, str):
        return parse_sudoku(value, shape, check_conflicts=strict)
    return Sudoku.from_grid(np.asarray(value), shape)


def verify_sudoku(puzzle: Sudoku | str | np.ndarray, solution: Sudoku | str | np.ndarray) -> SudokuVerdict:
    """Every violated constraint of `solution` as an answer to `puzzle` (empty list = valid)."""
    puzzle = as_sudoku(puzzle, strict=False)
    solution = as_sudoku(solution, puzzle.shape, strict=False)
    shape, n = puzzle.shape, puzzle.n
    grid, given = solution.grid, puzzle.grid
    violations = []
    for r, c in np.argwhere((given != 0) & (grid != given)).tolist():
        violations.append(Violation("given", r * n + c, int(given[r, c]), ((r, c),)))
    for r, c in np.argwhere(grid == 0).tolist():
        violations.append(Violation("blank", r * n + c, 0, ((r, c),)))
    units = (
        ("row", [[(r, c) for c in range(n)] for r in range(n)]),
        ("column", [[(r, c) for r in range(n)] for c in range(n)]),
        ("box", [shape.box_cells(b) for b in range(n)]),
    )
    for kind, unit_cells in units:
        for index, cells in enumerate(unit_cells):
            by_digit: dict[int, list[tuple[int, int]]] = {}
            for r, c in cells:
                if grid[r, c]:
                    by_digit.setdefault(int(grid[r, c]), []).append((r, c))
            for digit, where in sorted(by_digit.items()):
                if len(where) > 1:
                    violations.append(Violation(kind, index, digit, tuple(where)))
    return SudokuVerdict(not violations, violations)


def verify_batch(puzzles: np.ndarray, solutions: np.ndarray, shape: SudokuShape | None = None) -> np.ndarray:
    """(B,) bool: solution b fills puzzle b correctly. Inputs are (B, n, n) integer arrays, 0 = blank."""
    puzzles = np.asarray(puzzles)
    solutions = np.asarray(solutions)
    shape = batch_shape(solutions, shape, "solutions")
    if puzzles.shape != solutions.shape:
        raise PuzzleError(f"puzzles have shape {puzzles.shape} but solutions {solutions.shape}")
    batch, n = len(solutions), shape.n
    # One bit per digit: a unit is right iff the OR of its n cells sets bits 1..n. Values
    # outside 1..n set bit 0, a bit past n, or nothing (numpy shifts past the width give 0),
    # so they fail. ORs are unrolled over the short axes: much faster than ufunc.reduce.
    cells = solutions.view(np.uint8) if solutions.dtype.itemsize == 1 else _clip_to_uint8(solutions, n)
    word = np.uint16 if n < 16 else np.uint32
    bits = np.left_shift(word(1), cells.astype(word))
    full = word((1 << (n + 1)) - 2)
    valid = (_or_along(bits, 2) == full).all(axis=1)
    valid &= (_or_along(bits, 1) == full).all(axis=1)
    boxes = bits.reshape(batch, n // shape.box_rows, shape.box_rows, n // shape.box_cols, shape.box_cols)
    valid &= (_or_along(_or_along(boxes, 4), 2) == full).all(axis=(1, 2))
    kept = (puzzles == 0) | (puzzles == solutions)
    valid &= kept.reshape(batch, -1).all(axis=1)
    return valid


def _clip_to_uint8(values: np.ndarray, n: int) -> np.ndarray:
    return np.where((values >= 0) & (values <= n), values, 255).astype(np.uint8)


def _or_along(bits: np.ndarray, axis: int) -> np.ndarray:
    """Bitwise OR over one (short) axis."""
    parts = np.moveaxis(bits, axis, 0)
    out = parts[0].copy()
    for part in parts[1:]:
        out |= part
    return out
