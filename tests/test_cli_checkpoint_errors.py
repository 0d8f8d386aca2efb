"""A checkpoint that cannot be loaded is one line on stderr and the command's documented exit
code, never a traceback (issue 16 item 1): a path that does not exist, a mistyped bundled name,
a truncated model.safetensors; for `rmdm solve` (3: the method could not run), `rmdm eval`
(2: bad input) and `rmdm app` (2, before any server starts). `rmdm train --resume` with a
damaged checkpoint is tested in tests/solver/test_train_recovery.py."""

from __future__ import annotations

import io
import shutil
import sys

import pytest

from rmdm.cli import main
from solver.checkpoint import CheckpointError, bundled_dir

PUZZLE_4X4 = "...3.1..2..11.3."


@pytest.fixture(params=["missing", "mistyped", "truncated"])
def bad_checkpoint(request, tmp_path):
    """(the --checkpoint argument, words its one-line error must hold)."""
    if request.param == "missing":
        return str(tmp_path / "nonexistent"), ["no checkpoint named or at", "nonexistent"]
    if request.param == "mistyped":
        return "sudoku5", ["no checkpoint named or at 'sudoku5'", "bundled: ", "sudoku4"]
    copy = tmp_path / "sudoku4-copy"
    shutil.copytree(bundled_dir() / "sudoku4", copy)
    weights = copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return str(copy), [str(weights), "sha256 differs"]


def run(argv, capsys, monkeypatch, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line(err: str, words: list[str], prefix: str) -> str:
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith(prefix)]
    for word in words:
        assert word in line, line
    return line


def test_a_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)  # what every one-line `except ValueError` reports


def test_solve_exits_3_with_one_line(bad_checkpoint, capsys, monkeypatch):
    name, words = bad_checkpoint
    code, out, err = run(["solve", "sudoku", "--checkpoint", name], capsys, monkeypatch, PUZZLE_4X4 + "\n")
    assert code == 3, err
    assert err.count("\n") == 1  # the hint shares the error's line
    assert_one_line(err, [*words, "(--method exact solves without a model)"], "error: the model could not run: ")
    assert out == ""


def test_eval_exits_2_with_one_line(bad_checkpoint, capsys, monkeypatch, tmp_path):
    name, words = bad_checkpoint
    data = tmp_path / "puzzles.txt"
    data.write_text(PUZZLE_4X4 + "\n")
    code, _, err = run(["eval", "--checkpoint", name, "--data", str(data), "--quiet", "--out", str(tmp_path / "eval")],
                       capsys, monkeypatch)
    assert code == 2, err
    assert err.count("\n") == 1
    assert_one_line(err, words, "rmdm eval: error: ")


@pytest.mark.parametrize("launcher", ["rmdm app", "python app.py"])
def test_app_exits_2_with_one_line_before_serving(launcher, bad_checkpoint, capsys, monkeypatch):
    import rmdm.app
    import rmdm.app_cmd
    from tests.app.conftest import free_port

    monkeypatch.setitem(sys.modules, "rmdm.app.blocks", None)  # importing the server (gradio) would fail the test
    name, words = bad_checkpoint
    argv = ["--port", str(free_port()), "--checkpoint", "sudoku4", "--checkpoint", name]
    if launcher == "rmdm app":
        code, _, err = run(["app", *argv], capsys, monkeypatch)
    else:  # what app.py calls
        code, err = rmdm.app.main(argv), capsys.readouterr().err
    assert code == rmdm.app_cmd.EXIT_BAD_CHECKPOINT == rmdm.app.EXIT_BAD_CHECKPOINT == 2
    assert err.count("\n") == 1
    assert_one_line(err, words, "rmdm app: error: --checkpoint: ")
