"""`rmdm solve sudoku --method exact` reads, solves, checks and writes in blocks of lines
(issue 16 item 10); it must print exactly what solving one line at a time prints: the same
answers, the same per-line errors (line and column), the same stderr and exit code."""

from __future__ import annotations

import io
import sys

import pytest

from puzzles.errors import ParseError
from puzzles.sudoku import iter_sudoku_lines, solve_sudoku, verify_sudoku
from rmdm import solve_cmd
from rmdm.cli import main
from tests.puzzles.sudoku_helpers import known_puzzles

from .test_cli_solve_verify import SUDOKU, SUDOKU_NO_SOLUTION

KNOWN = known_puzzles()
FOUR = next(p for p, _ in KNOWN if p.n == 4).to_line()
SIX = next(p for p, _ in KNOWN if p.n == 6).to_line()
SIXTEEN = next(p for p, _ in KNOWN if p.n == 16).to_line()
NINE = next(p for p, _ in KNOWN if p.n == 9).to_line()

# Good lines of several sizes among every kind of bad one, including lines the fast
# reader looks at first (n*n plain characters) and must hand to the one-line reader.
MIXED = [
    SUDOKU,
    "",
    "# a comment",
    "# exactly sixteen",  # 17 characters
    "# a comment of 16"[:16],  # 16 characters, the length of a 4x4 puzzle: still a comment
    "#" * 81,  # 81 characters, all comment
    FOUR,
    "12345",  # not a Sudoku size
    SUDOKU[:-1],  # 80 cells
    SUDOKU_NO_SOLUTION,  # unsolvable, though no two clues clash
    "55" + "." * 79,  # two 5s in row 1: a ParseError with its column
    SUDOKU[:10] + "x" + SUDOKU[11:],  # a bad character at column 11
    FOUR[:5] + "5" + FOUR[6:],  # 5 is not a digit of a 4x4 Sudoku
    NINE[:3] + "A" + NINE[4:],  # nor A of a 9x9 one
    NINE + "  # a comment after the puzzle",
    " ".join(SIX),  # spaces between the cells
    FOUR + "\r",  # a CRLF line ending
    SIXTEEN,
    SIXTEEN.lower(),
    SUDOKU[:20] + "\ufffd" + SUDOKU[21:],  # an undecodable byte, as --input reads it
    "\ufffd" * 81,
    NINE.replace(".", "0"),
    "   ",
    NINE,
]


def one_at_a_time(lines: list[str]) -> tuple[list[str], list[str], int]:
    """(stdout lines, stderr lines, exit code) of solving each line on its own, with the
    per-puzzle API: what `rmdm solve sudoku --method exact` printed before it batched."""
    out, err, code = [], [], 0
    for line_no, item in iter_sudoku_lines(lines):
        if isinstance(item, ParseError):
            where = f"line {line_no}" + (f", column {item.column}" if item.column is not None else "")
            text = f"error: {where}: {item.reason}"
            out.append(text)
            err.append(text)
            code = 2
            continue
        solution = solve_sudoku(item).solution
        if solution is None:
            out.append("- no-solution")
            code = max(code, 1)
        elif verify_sudoku(item, solution).valid:
            out.append(f"{solution.to_line()} valid")
        else:
            out.append(f"{solution.to_line()} invalid")
            code = max(code, 1)
    return out, err, code


def run_batched(text: str, capsys, monkeypatch, block: int, path=None):
    monkeypatch.setattr(solve_cmd, "BLOCK_LINES", block)
    argv = ["solve", "sudoku", "--method", "exact"]
    if path is None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    else:
        path.write_text(text, encoding="utf-8", newline="")
        argv += ["--input", str(path)]
    code = main(argv)
    captured = capsys.readouterr()
    return captured.out.splitlines(), captured.err.splitlines(), code


@pytest.mark.parametrize("block", [1, 2, 5, 4096])
def test_batched_output_is_one_line_at_a_time(block, capsys, monkeypatch, tmp_path):
    text = "\n".join(MIXED * 3) + "\n"
    expected = one_at_a_time(text.splitlines(keepends=True))
    out, err, code = expected
    assert code == 2 and sum(line.endswith(" valid") for line in out) == 3 * 9
    assert sum(line == "- no-solution" for line in out) == 3
    assert "error: line 11, column 2: clue 5 at r1c2 conflicts with the same clue at r1c1 (row 1)" in out
    assert "error: line 12, column 11: unexpected character 'x' in a Sudoku" in out
    assert run_batched(text, capsys, monkeypatch, block) == expected
    assert run_batched(text, capsys, monkeypatch, block, tmp_path / "in.txt") == expected


def test_batched_exit_codes(capsys, monkeypatch):
    for text, code in ((f"{SUDOKU}\n{FOUR}\n", 0), (f"{SUDOKU}\n{SUDOKU_NO_SOLUTION}\n", 1), ("12345\n", 2)):
        assert run_batched(text, capsys, monkeypatch, 4096)[2] == code


def test_error_lines_keep_their_place_between_stdout_and_stderr(monkeypatch):
    """One stream for both (a terminal): each error right after its own stdout line."""
    shared = io.StringIO()
    monkeypatch.setattr(sys, "stdout", shared)
    monkeypatch.setattr(sys, "stderr", shared)
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{FOUR}\n12345\n{FOUR}\n"))
    assert main(["solve", "sudoku", "--method", "exact"]) == 2
    lines = shared.getvalue().splitlines()
    error = "error: line 2: the line has 5 cells, which is not a Sudoku size (16, 36, 64, 81, 144 or 256)"
    assert lines[1:3] == [error, error] and lines[3].endswith(" valid") and len(lines) == 4


def test_a_terminal_is_read_one_line_at_a_time():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert solve_cmd._block_size(Terminal()) == 1
    assert solve_cmd._block_size(io.StringIO()) == solve_cmd.BLOCK_LINES
