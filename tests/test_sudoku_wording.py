"""One phrasing for Sudoku verdicts in `rmdm verify` and the app, a truthful account of what the
exact solver needed, and input errors that show what the user typed (issue 16 item 5)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rmdm.app import sudoku_tab
from rmdm.cli import main

# norvig_top95 line 1: singles cannot finish it, locked candidates before the first guess do
NORVIG1 = "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"
NORVIG1_SOLUTION = "417369825632158947958724316825437169791586432346912758289643571573291684164875293"
# Arto Inkala's "hardest": the search branches
INKALA = "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4.."
EASY9 = ".....8..53.69..82...15.2..951.7.34.68.4...1.....1.42...6741..8.425....611.8..6..."


def column_clash() -> str:
    """NORVIG1_SOLUTION with r2c4 and r4c4 swapped: both blank in the puzzle, so no given
    changes; column 4 keeps its digits, rows 2 and 4 and boxes 2 and 5 each get two of one."""
    cells = list(NORVIG1_SOLUTION)
    cells[9 + 3], cells[27 + 3] = cells[27 + 3], cells[9 + 3]
    return "".join(cells)


def test_rmdm_verify_and_the_app_say_a_violation_the_same_way(capsys):
    answer = column_clash()
    code = main(["verify", "sudoku", "--puzzle", NORVIG1, "--solution", answer])
    out = capsys.readouterr().out.splitlines()
    assert code == 1 and out[0] == "invalid: 4 violations"
    cli = [line.strip() for line in out[1:]]
    valid, app, _ = sudoku_tab.judge(sudoku_tab.read_puzzle(NORVIG1).puzzle, answer)
    assert not valid and cli == app
    # 1-based units and cells, the digit's plural, the count in words: row 2 reads 632458947
    assert cli == ["row 2: two 4s (r2c4, r2c8)", "row 4: two 1s (r4c4, r4c7)",
                   "box 2: two 4s (r2c4, r3c6)", "box 5: two 1s (r4c4, r6c5)"]


def test_a_column_clash_is_named_by_its_1_based_column(capsys):
    cells = list(NORVIG1_SOLUTION)
    cells[9 + 3] = cells[27 + 3]  # r2c4 takes r4c4's digit: column 4 has it twice
    digit = cells[27 + 3]
    main(["verify", "sudoku", "--puzzle", NORVIG1, "--solution", "".join(cells)])
    out = capsys.readouterr().out
    assert f"column 4: two {digit}s (r2c4, r4c4)" in out and "times" not in out


def test_one_violation_is_singular(capsys):
    cells = list(NORVIG1_SOLUTION)
    cells[1] = "."  # r1c2 left blank
    assert main(["verify", "sudoku", "--puzzle", NORVIG1, "--solution", "".join(cells)]) == 1
    assert capsys.readouterr().out.splitlines() == ["invalid: 1 violation", "  r1c2 is blank"]


@pytest.mark.parametrize(
    ("puzzle", "said", "not_said"),
    [
        (EASY9, "by singles alone, no guessing", "guess "),
        (NORVIG1, "by singles and locked candidates, no guessing", "0 guess"),
        (INKALA, "by search: 172 guesses at branch points", "guess(es)"),
    ],
)
def test_the_exact_solvers_verdict_says_what_it_needed(puzzle, said, not_said):
    *_, verdict, _, run = sudoku_tab.solve_exact(puzzle)
    assert "data-verdict='solved'" in verdict and said in verdict and not_said not in verdict


def test_guess_counts_are_singular_and_plural():
    one = SimpleNamespace(singles_only=False, guesses=1)
    many = SimpleNamespace(singles_only=False, guesses=3)
    assert sudoku_tab.how_solved(one) == "by search: 1 guess at branch points"
    assert sudoku_tab.how_solved(many) == "by search: 3 guesses at branch points"


@pytest.mark.parametrize("typed", ["a", "A", "g"])
def test_a_letter_out_of_range_is_shown_as_typed(typed):
    text = EASY9[:4] + typed + EASY9[5:]
    with pytest.raises(sudoku_tab.InputProblem) as info:
        sudoku_tab.read_puzzle(text)
    message = str(info.value)
    assert f"'{typed}' is not a digit of a 9x9 (3x3 boxes) Sudoku, which uses 1-9" in message
    assert "column 5" in message and "(10)" not in message and "(16)" not in message


def test_rmdm_solve_shows_the_letter_as_typed(capsys, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO("." * 15 + "b\n"))
    assert main(["solve", "sudoku", "--method", "exact"]) == 2
    assert capsys.readouterr().out.strip() == (
        "error: line 1, column 16: 'b' is not a digit of a 4x4 (2x2 boxes) Sudoku, which uses 1-4"
    )
