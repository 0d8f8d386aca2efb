"""`rmdm solve`: bad option values are refused while parsing (exit 2, argparse's error, before
a model loads), 0 is never silently the default, and input without puzzles says so
(issue 16 item 8)."""

from __future__ import annotations

import io
import subprocess
import sys
import time

import pytest

from rmdm.cli import main
from tests.conftest import REPO

FOUR = "...3.1..2..11.3."


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if the model path gets as far as solving (or loading) anything."""
    import solver.inference

    def refuse(*args, **kwargs):
        raise AssertionError("the model path ran")

    monkeypatch.setattr(solver.inference, "solve_instances", refuse)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch-size", "-3"], "argument --batch-size: must be at least 1, got -3"),
        (["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
        (["--samples", "0"], "argument --samples: must be at least 1, got 0"),
        (["--steps", "0"], "argument --steps: must be at least 1, got 0"),
        (["--loops", "0"], "argument --loops: must be at least 1, got 0"),
        (["--retries", "-1"], "argument --retries: must be at least 0, got -1"),
        (["--search-nfe", "0"], "argument --search-nfe: must be at least 1, got 0"),
        (["--search-nodes", "-5"], "argument --search-nodes: must be at least 1, got -5"),
        (["--temperature", "-0.5"], "argument --temperature: cannot be negative, got -0.5"),
        (["--retry-temperature", "inf"], "argument --retry-temperature: must be a finite number, got 'inf'"),
        (["--samples", "two"], "argument --samples: 'two' is not a whole number"),
    ],
)
def test_bad_model_options_are_refused_while_parsing(flags, message, capsys, monkeypatch, no_model):
    monkeypatch.setattr(sys, "stdin", io.StringIO(FOUR + "\n"))
    with pytest.raises(SystemExit) as info:
        main(["solve", "sudoku", *flags])
    err = capsys.readouterr().err.splitlines()
    assert info.value.code == 2
    assert err[0].startswith("usage: rmdm solve sudoku") and err[-1] == f"rmdm solve sudoku: error: {message}"


def test_a_bad_batch_size_is_refused_at_once_by_the_real_command():
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rmdm", "solve", "sudoku", "--batch-size", "-3"],
        input=FOUR + "\n", cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[-1] == "rmdm solve sudoku: error: argument --batch-size: must be at least 1, got -3"
    assert "TensorList" not in done.stderr and time.perf_counter() - started < 30  # no model loaded


def test_good_values_still_parse():
    from rmdm.cli import build_parser

    args = build_parser().parse_args(["solve", "sudoku", "--samples", "3", "--batch-size", "1", "--steps", "4",
                                      "--retries", "0", "--temperature", "0", "--retry-temperature", "0.5"])
    assert (args.samples, args.batch_size, args.steps, args.retries, args.temperature) == (3, 1, 4, 0, 0.0)


@pytest.mark.parametrize("method", ["exact", "model"])
@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n   \n"])
def test_input_without_puzzles_is_noted(method, text, capsys, monkeypatch, no_model):
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code = main(["solve", "sudoku", "--method", method])
    captured = capsys.readouterr()
    assert code == 0 and captured.out == ""
    assert captured.err == "note: no puzzles in the standard input\n"


def test_an_empty_file_is_named(tmp_path, capsys, no_model):
    path = tmp_path / "empty.txt"
    path.write_text("")
    assert main(["solve", "countdown", "--input", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"note: no puzzles in {path}\n"


def test_input_with_puzzles_gets_no_note(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(FOUR + "\n"))
    assert main(["solve", "sudoku", "--method", "exact"]) == 0
    captured = capsys.readouterr()
    assert captured.out.endswith(" valid\n") and captured.err == ""


def test_help_documents_the_empty_input_and_bad_values(capsys):
    with pytest.raises(SystemExit):
        main(["solve", "sudoku", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert 'prints nothing on stdout and "note: no puzzles in FILE" on stderr, and exits 0' in text
    assert "a bad option value" in text
