"""read_sudoku_block (many lines at once) reads what iter_sudoku_lines reads line by line,
and to_lines writes what Sudoku.to_line writes."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from puzzles.sudoku import SudokuShape, iter_sudoku_lines, read_sudoku_block, to_lines

from .sudoku_helpers import known_puzzles
from .test_sudoku_properties import FAST, puzzles

KNOWN = [p.to_line() for p, _ in known_puzzles()] + [s.to_line() for _, s in known_puzzles()]


def same_items(lines, first_line=1, shape=None, check_conflicts=True):
    block = read_sudoku_block(lines, first_line, shape, check_conflicts=check_conflicts)
    padded = ["\n"] * (first_line - 1) + list(lines)  # blank lines: the line reader numbers from first_line too
    expected = list(iter_sudoku_lines(padded, shape, check_conflicts=check_conflicts))
    got = block.items()
    assert [line_no for line_no, _ in got] == [line_no for line_no, _ in expected] == block.line_nos
    for (_, a), (_, b) in zip(got, expected):
        assert type(a) is type(b)
        assert a == b if not isinstance(a, Exception) else (str(a), a.line, a.column) == (str(b), b.line, b.column)
    for group in block.groups:
        assert group.grids.dtype == np.int8 and group.grids.shape[1:] == (group.shape.n, group.shape.n)


@st.composite
def edited_lines(draw):
    """A known puzzle or solution with a few characters replaced, inserted or removed."""
    text = list(draw(st.sampled_from(KNOWN)))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["replace", "insert", "delete"]))
        ch = draw(st.sampled_from(list(".0123456789ABCDEFGabcdefgxz #/|-+\t\r\ufffd")))
        if edit == "insert" or at == len(text):
            text.insert(at, ch)
        elif edit == "replace":
            text[at] = ch
        else:
            del text[at]
    return "".join(text) + draw(st.sampled_from(["\n", "\r\n", ""]))


NOT_PUZZLES = st.sampled_from(["\n", "# note\n", "   \n", "#" * 16 + "\n"])


@FAST
@given(st.lists(edited_lines() | NOT_PUZZLES, max_size=12), st.integers(1, 50))
def test_block_reads_what_the_line_reader_reads(lines, first_line):
    same_items(lines, first_line)


@FAST
@given(st.lists(edited_lines(), max_size=8))
def test_block_with_a_fixed_shape_or_without_conflict_checks(lines):
    same_items(lines, shape=SudokuShape(3, 3))
    same_items(lines, check_conflicts=False)


def test_block_of_nothing():
    block = read_sudoku_block([])
    assert (block.line_nos, block.errors, block.groups) == ([], {}, [])
    assert read_sudoku_block(["\n", "# only a comment\n"]).groups == []


@FAST
@given(puzzles())
def test_to_lines_is_to_line(case):
    shape, puzzle, grid = case
    from puzzles.sudoku import Sudoku

    assert to_lines(np.stack([puzzle, grid])) == [Sudoku(shape, puzzle).to_line(), Sudoku(shape, grid).to_line()]
    assert to_lines(puzzle[None], blank="0") == [Sudoku(shape, puzzle).to_line("0")]
    assert to_lines(np.zeros((0, shape.n, shape.n), dtype=np.int8)) == []
