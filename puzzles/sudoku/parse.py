"""Reading Sudoku text: the one-line form and the n-line grid form.

One line: n*n characters row by row, `.` or `0` for a blank, digits above 9 as A..G
(case-insensitive). Grid form: n lines of n cells each; spaces and the separators `|`,
`-`, `+` are ignored, and lines made only of separators are skipped. In both forms `#`
and `//` start a comment that runs to the end of the line, and blank lines are ignored.
Every error is a `ParseError` naming the line and column (1-based) of the problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from puzzles.errors import ParseError

from .shape import DIGIT_CHARS, Sudoku, SudokuShape, unit_tables

_SEPARATORS = frozenset(" \t\r\f\v|-+")
_BLANKS = frozenset(".0")
_VALUES = {ch: i + 1 for i, ch in enumerate(DIGIT_CHARS)} | {
    ch.lower(): i + 1 for i, ch in enumerate(DIGIT_CHARS) if ch.isalpha()
}

# A cell read from text: (value, line, column, the character as typed), 1-based positions.
_Cell = tuple[int, int, int, str]


def digit_range(n: int) -> str:
    """The digits of an n x n grid in words: "1-9", "1-9 and A-C" (12x12), "1-4"."""
    return f"1-{n}" if n <= 9 else f"1-9 and A-{DIGIT_CHARS[n - 1]}"


def _strip_comment(line: str) -> str:
    cut = len(line)
    for marker in ("#", "//"):
        at = line.find(marker)
        if at != -1:
            cut = min(cut, at)
    return line[:cut]


def _read_cells(line: str, line_no: int) -> list[_Cell]:
    cells = []
    for col, ch in enumerate(_strip_comment(line), start=1):
        if ch in _SEPARATORS:
            continue
        if ch in _BLANKS:
            cells.append((0, line_no, col, ch))
        elif ch in _VALUES:
            cells.append((_VALUES[ch], line_no, col, ch))
        else:
            raise ParseError(f"unexpected character {ch!r} in a Sudoku", line=line_no, column=col)
    return cells


def _shape_for(count: int, shape: SudokuShape | None, what: str, line: int) -> SudokuShape:
    if shape is not None:
        if count != shape.cells:
            raise ParseError(f"{what} has {count} cells, expected {shape.cells} for {shape}", line=line)
        return shape
    found = SudokuShape.for_cells(count)
    if found is None:
        raise ParseError(
            f"{what} has {count} cells, which is not a Sudoku size (16, 36, 64, 81, 144 or 256)",
            line=line,
        )
    return found


def _cells_to_sudoku(cells: list[_Cell], shape: SudokuShape, check_conflicts: bool) -> Sudoku:
    n = shape.n
    for value, line, col, typed in cells:
        if value > n:
            raise ParseError(
                f"{typed!r} is not a digit of a {shape} Sudoku, which uses {digit_range(n)}",
                line=line,
                column=col,
            )
    grid = np.array([value for value, _, _, _ in cells], dtype=np.int8).reshape(n, n)
    if check_conflicts:
        _check_conflicts(grid, shape, cells)
    return Sudoku(shape, grid)


def _check_conflicts(grid: np.ndarray, shape: SudokuShape, cells: list[_Cell]) -> None:
    n = shape.n
    seen: dict[tuple[str, int, int], int] = {}
    for cell, value in enumerate(grid.ravel().tolist()):
        if not value:
            continue
        r, c = divmod(cell, n)
        for kind, index in (("row", r), ("column", c), ("box", shape.box_of(r, c))):
            other = seen.setdefault((kind, index, value), cell)
            if other != cell:
                orow, ocol = divmod(other, n)
                _, line, col, typed = cells[cell]
                raise ParseError(
                    f"clue {typed} at r{r + 1}c{c + 1} conflicts with the same "
                    f"clue at r{orow + 1}c{ocol + 1} ({kind} {index + 1})",
                    line=line,
                    column=col,
                )


def parse_sudoku(
    text: str, shape: SudokuShape | None = None, *, check_conflicts: bool = True, first_line: int = 1
) -> Sudoku:
    """Read one Sudoku in the one-line or the grid form (module docstring).

    The size comes from the cell count unless `shape` is given. With `check_conflicts`
    (the default) two equal clues in a row, column or box are an error; pass False to
    read an answer that may be wrong. `first_line` numbers the first line of `text` in
    error messages.
    """
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}")
    rows: list[tuple[int, list[_Cell]]] = []
    for line_no, line in enumerate(text.splitlines(), start=first_line):
        cells = _read_cells(line, line_no)
        if cells:
            rows.append((line_no, cells))
    if not rows:
        raise ParseError("no Sudoku found (the text is empty or only comments)", line=first_line)
    if len(rows) == 1:
        line_no, cells = rows[0]
        return _one_line(cells, line_no, shape, check_conflicts)
    if shape is None:
        # n from the number of rows, else from the first row's width (to name a stray line).
        shape = SudokuShape.for_cells(len(rows) ** 2) or SudokuShape.for_cells(len(rows[0][1]) ** 2)
        if shape is None:
            raise ParseError(
                f"found {len(rows)} lines of cells; the grid form needs n lines of n cells "
                "(n = 4, 6, 8, 9, 12 or 16), the one-line form a single line",
                line=rows[0][0],
            )
    n = shape.n
    if len(rows) != n:
        raise ParseError(
            f"grid has {len(rows)} rows, expected {n} for {shape}",
            line=rows[n][0] if len(rows) > n else rows[-1][0],
        )
    for line_no, cells in rows:
        if len(cells) != n:
            raise ParseError(f"grid row has {len(cells)} cells, expected {n}", line=line_no)
    return _cells_to_sudoku([c for _, cells in rows for c in cells], shape, check_conflicts)


def _one_line(cells: list[_Cell], line_no: int, shape: SudokuShape | None, check_conflicts: bool) -> Sudoku:
    return _cells_to_sudoku(cells, _shape_for(len(cells), shape, "the line", line_no), check_conflicts)


def _parse_line(
    line: str, line_no: int, shape: SudokuShape | None, check_conflicts: bool
) -> Sudoku | ParseError | None:
    """One line of a one-puzzle-per-line file (without its line break): None when blank or a comment."""
    if not _strip_comment(line).strip():
        return None
    try:
        return _one_line(_read_cells(line, line_no), line_no, shape, check_conflicts)
    except ParseError as err:
        return err


def iter_sudoku_lines(
    lines: Iterable[str], shape: SudokuShape | None = None, *, check_conflicts: bool = True
) -> Iterator[tuple[int, Sudoku | ParseError]]:
    """One puzzle per line: yields (line number, Sudoku or the ParseError for that line).

    Blank and comment-only lines are skipped; errors name their own line number.
    """
    for line_no, line in enumerate(lines, start=1):
        item = _parse_line(line.rstrip("\r\n"), line_no, shape, check_conflicts)
        if item is not None:
            yield line_no, item


# ---------------------------------------------------------------- many lines at once


@dataclass(frozen=True)
class SudokuGroup:
    """The puzzles of one shape in a block: `grids` (k, n, n) int8, `index` (k,) their
    positions in the block's `line_nos` (any order)."""

    shape: SudokuShape
    index: np.ndarray
    grids: np.ndarray


@dataclass(frozen=True)
class SudokuBlock:
    """What `read_sudoku_block` read: per puzzle line (blank and comment lines skipped) its
    number in `line_nos`; position i is either `errors[i]` or in exactly one group."""

    line_nos: list[int]
    errors: dict[int, ParseError]
    groups: list[SudokuGroup]

    def items(self) -> list[tuple[int, Sudoku | ParseError]]:
        """(line number, Sudoku or ParseError) per puzzle line: what `iter_sudoku_lines` yields."""
        found: list[Sudoku | ParseError | None] = [None] * len(self.line_nos)
        for i, err in self.errors.items():
            found[i] = err
        for group in self.groups:
            for i, grid in zip(group.index.tolist(), group.grids):
                found[i] = Sudoku(group.shape, grid)
        return [(line_no, item) for line_no, item in zip(self.line_nos, found) if item is not None]


# byte -> cell value for the plain one-line form; 255: anything else (the line takes the slow path)
_BYTE_VALUES = np.full(256, 255, dtype=np.uint8)
for _ch, _value in [*_VALUES.items(), *((b, 0) for b in _BLANKS)]:
    _BYTE_VALUES[ord(_ch)] = _value
_BITS = np.array([0] + [1 << d for d in range(16)], dtype=np.int32)  # value -> its bit (0 for a blank)
_STANDARD_CELLS = frozenset(n * n for n in (4, 6, 8, 9, 12, 16))


def read_sudoku_block(
    lines: Sequence[str], first_line: int = 1, shape: SudokuShape | None = None, *, check_conflicts: bool = True
) -> SudokuBlock:
    """Read many one-puzzle lines at once: the same puzzles and the same errors as
    `iter_sudoku_lines` (numbered from `first_line`), as arrays grouped by shape.

    A line that is only n*n cell characters (`.`, `0`, digits, A..G) is read with a few
    NumPy operations over all such lines together; any other line (separators, a comment,
    a bad character, a clue too large, conflicting clues) goes through the one-line reader,
    which gives its Sudoku or its exact error.
    """
    texts = [raw.rstrip("\r\n") for raw in lines]
    count = len(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=count)
    plain = np.fromiter(map(str.isascii, texts), dtype=bool, count=count)
    slow = np.ones(count, dtype=bool)
    fast: list[tuple[SudokuShape, np.ndarray, np.ndarray]] = []  # (shape, positions in texts, grids)
    for cells in sorted(_STANDARD_CELLS if shape is None else {shape.cells}):
        where = np.flatnonzero(plain & (lengths == cells))
        if not len(where):
            continue
        group_shape = shape or SudokuShape.for_cells(cells)
        n = group_shape.n
        raw_bytes = np.frombuffer("".join([texts[i] for i in where.tolist()]).encode("ascii"), dtype=np.uint8)
        values = _BYTE_VALUES[raw_bytes].reshape(len(where), cells)
        ok = (values <= n).all(axis=1)
        if check_conflicts:
            ok[ok] = ~_has_conflicts(values[ok], group_shape)
        if ok.any():
            slow[where[ok]] = False
            fast.append((group_shape, where[ok], values[ok].astype(np.int8).reshape(-1, n, n)))
    # every other line through the one-line reader; blank and comment lines (None) are dropped
    parsed = {i: _parse_line(texts[i], first_line + i, shape, check_conflicts) for i in np.flatnonzero(slow).tolist()}
    keep = ~slow
    keep[[i for i, item in parsed.items() if item is not None]] = True
    puzzle_index = np.cumsum(keep) - 1  # position in texts -> position among the puzzle lines
    line_nos = (np.flatnonzero(keep) + first_line).tolist()
    errors: dict[int, ParseError] = {}
    groups: dict[SudokuShape, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for group_shape, where, grids in fast:
        index, parts = groups.setdefault(group_shape, ([], []))
        index.append(puzzle_index[where])
        parts.append(grids)
    for i, item in parsed.items():
        if isinstance(item, ParseError):
            errors[int(puzzle_index[i])] = item
        elif item is not None:
            index, parts = groups.setdefault(item.shape, ([], []))
            index.append(puzzle_index[i : i + 1])
            parts.append(item.grid[None])
    return SudokuBlock(
        line_nos,
        errors,
        [SudokuGroup(s, np.concatenate(index), np.concatenate(parts)) for s, (index, parts) in groups.items()],
    )


def _has_conflicts(values: np.ndarray, shape: SudokuShape) -> np.ndarray:
    """(k,) bool: some unit of a (k, cells) grid holds a nonzero value twice. The values'
    bits are disjoint exactly when their sum equals their OR."""
    per_unit = _BITS[values][:, unit_tables(shape)[0]]  # (k, 3n, n)
    return (per_unit.sum(axis=2) != np.bitwise_or.reduce(per_unit, axis=2)).any(axis=1)
