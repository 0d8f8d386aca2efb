"""Sudoku of any box shape (4x4, 6x6, 8x8, 9x9, 12x12, 16x16): parsing, verifying, solving,
rating, generating and canonical forms.

A grid is an (n, n) int8 array, 0 = blank. Text uses `.`/`0` for blanks and A..G for 10..16.

    from puzzles.sudoku import parse_sudoku, solve_sudoku, verify_sudoku
    puzzle = parse_sudoku("53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79")
    result = solve_sudoku(puzzle)            # .solution, .guesses, .singles_only
    verify_sudoku(puzzle, result.solution)   # .valid, .violations

Difficulty levels (`rate_sudoku`, deterministic):

- easy: naked singles alone solve it;
- medium: naked + hidden singles solve it (naked singles alone do not);
- hard: singles do not; the exact solver's full search (locked candidates before the
  first guess, singles after each, branching on a cell with fewest candidates, searching
  the whole tree for a second solution) tries at most 10 values (`HARD_MAX_GUESSES`),
  possibly 0;
- extreme: that search tries more than 10 values.

On random minimal 9x9 puzzles from `generate_sudoku` this gives roughly 1% easy, 41%
medium, 51% hard and 7% extreme; 85% of magictour_top1465 is extreme, the rest hard.
"""

from .canonical import Symmetry, apply_symmetry, canonical_batch, canonical_form, random_symmetry
from .generate import MIN_CLUES, Generated, generate_sudoku, min_clues
from .parse import SudokuBlock, SudokuGroup, iter_sudoku_lines, parse_sudoku, read_sudoku_block
from .rating import HARD_MAX_GUESSES, LEVELS, Rating, rate_batch, rate_sudoku
from .shape import DIGIT_CHARS, Sudoku, SudokuShape, to_lines
from .solve import BatchSolveResult, SolveResult, count_solutions, singles_solve, solve_batch, solve_sudoku
from .verify import SudokuVerdict, Violation, as_sudoku, verify_batch, verify_sudoku

__all__ = [
    "DIGIT_CHARS",
    "HARD_MAX_GUESSES",
    "LEVELS",
    "MIN_CLUES",
    "BatchSolveResult",
    "Generated",
    "Rating",
    "SolveResult",
    "Sudoku",
    "SudokuBlock",
    "SudokuGroup",
    "SudokuShape",
    "SudokuVerdict",
    "Symmetry",
    "Violation",
    "apply_symmetry",
    "as_sudoku",
    "canonical_batch",
    "canonical_form",
    "count_solutions",
    "generate_sudoku",
    "iter_sudoku_lines",
    "min_clues",
    "parse_sudoku",
    "random_symmetry",
    "rate_batch",
    "rate_sudoku",
    "read_sudoku_block",
    "singles_solve",
    "solve_batch",
    "solve_sudoku",
    "to_lines",
    "verify_batch",
    "verify_sudoku",
]
