"""Sudoku: shapes, parsing, verifier (solver, rating, generator, canonical form to come)."""

from .parse import iter_sudoku_lines, parse_sudoku
from .shape import DIGIT_CHARS, Sudoku, SudokuShape
from .verify import SudokuVerdict, Violation, as_sudoku, verify_batch, verify_sudoku

__all__ = [
    "DIGIT_CHARS",
    "Sudoku",
    "SudokuShape",
    "SudokuVerdict",
    "Violation",
    "as_sudoku",
    "iter_sudoku_lines",
    "parse_sudoku",
    "verify_batch",
    "verify_sudoku",
]
