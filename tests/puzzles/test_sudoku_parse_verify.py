"""Parsing, formatting and verifying Sudoku grids."""

from __future__ import annotations

import numpy as np
import pytest

from puzzles.errors import ParseError, PuzzleError
from puzzles.sudoku import (
    Sudoku,
    SudokuShape,
    iter_sudoku_lines,
    parse_sudoku,
    verify_batch,
    verify_sudoku,
)

from .sudoku_helpers import pattern_grid

WIKI = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
WIKI_SOLUTION = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"


def test_public_api_names():
    """The names docs/ARCHITECTURE.md promises are importable from puzzles.sudoku."""
    import puzzles.sudoku as sudoku

    promised = """SudokuShape Sudoku parse_sudoku iter_sudoku_lines verify_sudoku SudokuVerdict Violation
        verify_batch solve_sudoku SolveResult count_solutions rate_sudoku Rating LEVELS generate_sudoku
        Generated canonical_form random_symmetry apply_symmetry""".split()
    assert [name for name in promised if not hasattr(sudoku, name)] == []
    assert set(sudoku.__all__) <= set(dir(sudoku))
    assert sudoku.LEVELS == ("easy", "medium", "hard", "extreme")


@pytest.mark.parametrize("size", [4, 6, 8, 9, 12, 16])
def test_pattern_grids_are_valid(size):
    shape = SudokuShape.for_size(size)
    grid = pattern_grid(shape)
    assert verify_sudoku(np.zeros_like(grid), grid).valid
    assert verify_batch(grid[None] * 0, grid[None])[0]


def test_shape_basics():
    shape = SudokuShape(2, 3)
    assert (shape.n, shape.cells) == (6, 36)
    assert SudokuShape.for_size(9) == SudokuShape(3, 3)
    assert shape.box_of(3, 4) == 3
    assert shape.box_cells(3) == [(2, 3), (2, 4), (2, 5), (3, 3), (3, 4), (3, 5)]
    with pytest.raises(PuzzleError):
        SudokuShape.for_size(7)
    for bad in ((0, 3), (1, 4), (3, True), (2.0, 2)):
        with pytest.raises(PuzzleError):
            SudokuShape(*bad)


def test_one_line_round_trip():
    puzzle = parse_sudoku(WIKI)
    assert puzzle.shape == SudokuShape(3, 3)
    assert puzzle.grid.dtype == np.int8 and puzzle.grid[0, 0] == 5 and puzzle.grid[0, 2] == 0
    assert puzzle.clues == 30 and not puzzle.is_complete
    assert puzzle.to_line() == WIKI
    assert parse_sudoku(WIKI.replace(".", "0")) == puzzle
    assert parse_sudoku(f"  # a comment\n\n {WIKI}   // trailing\n") == puzzle


def test_grid_text_round_trip():
    puzzle = parse_sudoku(WIKI)
    text = puzzle.to_grid_text()
    assert text.splitlines()[3] == "------+-------+------"
    assert text.splitlines()[0] == "5 3 . | . 7 . | . . ."
    assert parse_sudoku(text) == puzzle
    compact = "\n".join(WIKI[i : i + 9] for i in range(0, 81, 9))
    assert parse_sudoku(compact) == puzzle


def test_sixteen_by_sixteen_letters():
    shape = SudokuShape.for_size(16)
    grid = pattern_grid(shape)
    line = Sudoku(shape, grid).to_line()
    assert set(line) == set("123456789ABCDEFG")
    assert parse_sudoku(line.lower()).grid.tolist() == grid.tolist()
    assert parse_sudoku(Sudoku(shape, grid).to_grid_text()) == Sudoku(shape, grid)


def test_shape_given_overrides_inference():
    shape = SudokuShape(4, 2)  # 8x8 with tall boxes instead of the default 2x4
    grid = pattern_grid(shape)
    parsed = parse_sudoku(Sudoku(shape, grid).to_line(), shape)
    assert parsed.shape == shape
    with pytest.raises(ParseError, match="expected 64"):
        parse_sudoku(WIKI, shape)


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        (WIKI[:-1], 1, None, "80 cells"),
        (WIKI[:10] + "x" + WIKI[11:], 1, 11, "unexpected character 'x'"),
        ("5" + WIKI[1:], 1, 1, None),  # fine: replaces 5 by 5
        ("\n\n" + WIKI[:5] + "A" + WIKI[6:], 3, 6, "'A' is not a digit of a 9x9 (3x3 boxes) Sudoku, which uses 1-9"),
        (WIKI[:5] + "a" + WIKI[6:], 1, 6, "'a' is not a digit of a 9x9"),  # as typed: not 'A', not "(10)"
        ("5" + "." * 15, 1, 1, "'5' is not a digit of a 4x4 (2x2 boxes) Sudoku, which uses 1-4"),
        ("." * 143 + "d", 1, 144, "'d' is not a digit of a 12x12 (3x4 boxes) Sudoku, which uses 1-9 and A-C"),
        ("55" + WIKI[2:], 1, 2, "conflicts"),
        ("# nothing here\n", 1, None, "no Sudoku"),
        ("\n".join([WIKI[i : i + 9] for i in range(0, 81, 9)][:8] + ["123"]), 9, None, "3 cells"),
        ("\n".join([WIKI[i : i + 9] for i in range(0, 81, 9)] + ["123456789"]), 10, None, "10 rows"),
        ("1234\n5678\n1234", 3, None, "3 rows, expected 4"),
        ("123\n456\n789", 1, None, "3 lines"),
    ],
)
def test_parse_errors_name_the_place(text, line, column, words):
    if words is None:
        parse_sudoku(text)
        return
    with pytest.raises(ParseError) as info:
        parse_sudoku(text)
    assert info.value.line == line and info.value.column == column
    assert words in str(info.value)
    assert f"line {line}" in str(info.value)


def test_conflicts_in_column_and_box_named():
    column = "5........" + "5" + "." * 71
    with pytest.raises(ParseError, match=r"r2c1 conflicts .* r1c1 \(column 1\)"):
        parse_sudoku(column)
    box = "5.........5" + "." * 70
    with pytest.raises(ParseError, match=r"\(box 1\)"):
        parse_sudoku(box)
    assert parse_sudoku(box, check_conflicts=False).grid[1, 1] == 5


def test_iter_lines_reports_each_line():
    lines = ["# header", WIKI, "", WIKI[:-1], "   ", WIKI_SOLUTION + "  # solved"]
    out = list(iter_sudoku_lines(lines))
    assert [n for n, _ in out] == [2, 4, 6]
    assert isinstance(out[0][1], Sudoku) and isinstance(out[2][1], Sudoku)
    assert isinstance(out[1][1], ParseError) and out[1][1].line == 4


def test_sudoku_value_checks():
    with pytest.raises(PuzzleError, match="shape"):
        Sudoku(SudokuShape(3, 3), np.zeros((4, 4)))
    with pytest.raises(PuzzleError, match="outside"):
        Sudoku(SudokuShape(2, 2), np.full((4, 4), 5))
    puzzle = parse_sudoku(WIKI)
    with pytest.raises(ValueError):
        puzzle.grid[0, 0] = 1
    assert hash(puzzle) == hash(parse_sudoku(WIKI)) and puzzle == parse_sudoku(WIKI)


def test_verify_accepts_known_solution():
    verdict = verify_sudoku(WIKI, WIKI_SOLUTION)
    assert verdict.valid and verdict.violations == [] and verdict.message.startswith("valid")


def test_verify_names_each_kind_of_violation():
    solution = parse_sudoku(WIKI_SOLUTION).grid.copy()
    # given changed: r1c1 was 5; swapping r1c1 and r1c3 keeps rows but breaks columns too
    broken = solution.copy()
    broken[0, 0], broken[0, 2] = broken[0, 2], broken[0, 0]
    kinds = {v.kind for v in verify_sudoku(WIKI, broken).violations}
    assert kinds == {"given", "column"}
    given = [v for v in verify_sudoku(WIKI, broken).violations if v.kind == "given"][0]
    assert given.cells == ((0, 0),) and given.digit == 5

    blank = solution.copy()
    blank[8, 8] = 0
    verdict = verify_sudoku(WIKI, blank)
    assert [(v.kind, v.cells) for v in verdict.violations] == [("given", ((8, 8),)), ("blank", ((8, 8),))]

    row_dup = solution.copy()
    row_dup[4, 4] = row_dup[4, 5]  # r5c5 is blank in the puzzle
    verdict = verify_sudoku(WIKI, row_dup)
    by_kind = {v.kind: v for v in verdict.violations}
    assert set(by_kind) == {"row", "column", "box"}
    assert by_kind["row"].index == 4 and by_kind["row"].digit == row_dup[4, 5]
    assert by_kind["row"].cells == ((4, 4), (4, 5))
    assert by_kind["box"].index == 4
    assert (4, 4) in verdict.cells()
    digit = int(row_dup[4, 5])
    # the one phrasing of `rmdm verify` and the app, 1-based like the cells
    assert by_kind["row"].describe() == f"row 5: two {digit}s (r5c5, r5c6)"
    assert by_kind["box"].describe().startswith(f"box 5: two {digit}s (")
    assert verdict.message.startswith("3 violations: ") and f"row 5: two {digit}s" in verdict.message


def test_verify_reads_wrong_answers_from_text():
    answer = "55" + WIKI_SOLUTION[2:]
    verdict = verify_sudoku(WIKI, answer)
    assert not verdict.valid
    with pytest.raises(PuzzleError):
        verify_sudoku(WIKI, "1234")


def test_verify_batch_matches_single():
    rng = np.random.default_rng(1)
    puzzle = parse_sudoku(WIKI).grid
    solution = parse_sudoku(WIKI_SOLUTION).grid
    solutions = np.repeat(solution[None], 64, axis=0)
    for b in range(1, 64):
        r, c = rng.integers(0, 9, 2)
        solutions[b, r, c] = rng.integers(-3, 14)
    puzzles = np.repeat(puzzle[None], 64, axis=0)
    expected = [verify_sudoku(puzzle, s.clip(0, 9)).valid and s.min() >= 0 and s.max() <= 9 for s in solutions]
    assert verify_batch(puzzles, solutions).tolist() == expected
    assert verify_batch(puzzles.astype(np.int64), solutions.astype(np.int64)).tolist() == expected
    with pytest.raises(PuzzleError):
        verify_batch(puzzles[:3], solutions)
