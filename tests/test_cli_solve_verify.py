"""`rmdm solve` and `rmdm verify`: output lines, malformed input, exit codes, stdin and --input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import types

import pytest

from rmdm.cli import main
from tests.conftest import REPO

# norvig_top95 line 1 (kept here so the test needs no shared files) and its solution.
SUDOKU = "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"
SUDOKU_SOLUTION = "417369825632158947958724316825437169791586432346912758289643571573291684164875293"
# Row 1 holds 1..8, so r1c9 must be 9, but 9 is already in column 9: no solution,
# though no two clues conflict directly.
SUDOKU_NO_SOLUTION = "12345678." + "........9" + "." * 63

COUNTDOWN_INPUT = """\
# numbers..., target
44,15,79,50

1,2,x,4
84,76,89,84,89   # cd4: an intermediate of zero
2,3,5,100
"""


def run_cli(argv, capsys, monkeypatch, stdin: str | None = None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


# ---------------------------------------------------------------- solve countdown


def test_solve_countdown_stdin_with_malformed_and_unsolvable_lines(capsys, monkeypatch):
    code, out, err = run_cli(["solve", "countdown", "--method", "exact"], capsys, monkeypatch, COUNTDOWN_INPUT)
    assert out == [
        "15+79=94,94-44=50 valid",
        "error: line 4, column 5: unexpected character 'x', expected a digit 0-9",
        "84-84=0,76*0=0,0+89=89 valid",
        "- no-solution",
    ]
    assert err == ["error: line 4, column 5: unexpected character 'x', expected a digit 0-9"]
    assert code == 2  # malformed input wins over an unsolved puzzle


def test_solve_countdown_input_file_exit_codes(tmp_path, capsys, monkeypatch):
    path = tmp_path / "in.txt"
    path.write_text("44,15,79,50\n58,11,80,83,81\n")
    code, out, err = run_cli(["solve", "countdown", "--method", "exact", "--input", str(path)], capsys, monkeypatch)
    assert (code, err) == (0, [])
    assert [line.split(" ")[1] for line in out] == ["valid", "valid"]
    path.write_text("44,15,79,50\n2,3,5,100\n")
    code, out, _ = run_cli(["solve", "countdown", "--method", "exact", "-i", str(path)], capsys, monkeypatch)
    assert (code, out[1]) == (1, "- no-solution")
    missing = ["solve", "countdown", "--method", "exact", "-i", str(tmp_path / "nope")]
    code, _, err = run_cli(missing, capsys, monkeypatch)
    assert code == 2 and "cannot read" in err[0]


def test_solve_countdown_tv_rules_and_closest(capsys, monkeypatch):
    lines = "25,50,75,100,3,6,952\n1,1,2,2,3,3,999\n3,6,25,50,75,100,100\n44,15,79,50\n"
    code, out, _ = run_cli(
        ["solve", "countdown", "--method", "exact", "--rules", "tv", "--closest"], capsys, monkeypatch, lines
    )
    assert out[0].endswith(" valid") and out[0].count("=") == 5
    assert out[1] == "1+2=3,3*3=9,9*3=27,1+2=3,27*3=81 closest=81"
    assert out[2] == "100 valid"  # the target is one of the cards: no step needed
    assert out[3] == "error: line 4: tv rules take exactly 6 numbers, got 3"
    assert code == 2


# ---------------------------------------------------------------- solve sudoku


def test_solve_sudoku_exact(capsys, monkeypatch):
    text = f"{SUDOKU}\n\n# a comment\n12345\n{SUDOKU_NO_SOLUTION}\n"
    code, out, err = run_cli(["solve", "sudoku", "--method", "exact"], capsys, monkeypatch, text)
    assert out[0] == f"{SUDOKU_SOLUTION} valid"
    assert out[1].startswith("error: line 4") and "5 cells" in out[1]
    assert out[2] == "- no-solution"
    assert err == [out[1]] and code == 2
    code, out, _ = run_cli(["solve", "sudoku", "--method", "exact"], capsys, monkeypatch, SUDOKU + "\n")
    assert (code, out) == (0, [f"{SUDOKU_SOLUTION} valid"])


# ---------------------------------------------------------------- solve --method model


from solver.inference import Answer  # noqa: E402  (a dataclass; the stand-in module below returns it)


def fake_inference(monkeypatch, answers):
    """Install a stand-in solver.inference whose solve_instances records its call."""
    calls = []

    def solve_instances(task, instances, args):
        calls.append((task, list(instances), args))
        return [a if isinstance(a, Answer) else Answer(a, a is not None) for a in answers[: len(instances)]]

    module = types.ModuleType("solver.inference")
    module.solve_instances = solve_instances
    monkeypatch.setitem(sys.modules, "solver.inference", module)
    return calls


def test_solve_model_verifies_each_answer(capsys, monkeypatch):
    calls = fake_inference(monkeypatch, ["44-15=29,79-29=50", Answer("44-15=29,79-29=51", False), None])
    text = "44,15,79,50\n44,15,79,50\nbad\n44,15,79,50\n"
    argv = ["solve", "countdown", "--steps", "8", "--loops", "3", "--policy", "entropy", "--retries", "2", "--adaptive"]
    code, out, _ = run_cli(argv, capsys, monkeypatch, text)
    assert out == [
        "44-15=29,79-29=50 valid",
        "44-15=29,79-29=51 invalid",
        "error: line 3, column 1: unexpected character 'b', expected a digit 0-9",
        "- no-answer",
    ]
    assert code == 2
    task, instances, args = calls[0]
    assert task == "countdown" and len(instances) == 3
    assert (args.steps, args.loops, args.policy, args.retries, args.adaptive) == (8, 3, "entropy", 2, True)
    assert (args.samples, args.temperature, args.seed, args.batch_size, args.device) == (1, 0.0, 0, 64, "auto")


def test_solve_model_sudoku_answers(capsys, monkeypatch):
    fake_inference(monkeypatch, [SUDOKU_SOLUTION, "." * 81])
    code, out, _ = run_cli(["solve", "sudoku"], capsys, monkeypatch, f"{SUDOKU}\n{SUDOKU}\n")
    assert out == [f"{SUDOKU_SOLUTION} valid", f"{'.' * 81} invalid"]
    assert code == 1


def test_a_line_no_model_can_take_is_that_lines_error(capsys, monkeypatch):
    refused = Answer(None, error="this model takes 4 numbers; the instance has 5")
    fake_inference(monkeypatch, ["44-15=29,79-29=50", refused, "44-15=29,79-29=50"])
    text = "44,15,79,50\n1,2,3,4,5,10\n44,15,79,50\n"
    code, out, err = run_cli(["solve", "countdown"], capsys, monkeypatch, text)
    assert out == ["44-15=29,79-29=50 valid", "error: line 2: this model takes 4 numbers; the instance has 5",
                   "44-15=29,79-29=50 valid"]
    assert code == 3 and err == ["error: line 2: this model takes 4 numbers; the instance has 5"]


def test_solve_model_unavailable_says_use_exact(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "solver.inference", None)  # import fails
    code, out, err = run_cli(["solve", "countdown"], capsys, monkeypatch, "44,15,79,50\n")
    assert code == 3 and out == []
    assert "--method exact" in err[0]


def test_solve_model_failure_is_reported(capsys, monkeypatch):
    module = types.ModuleType("solver.inference")

    def solve_instances(task, instances, args):
        raise ValueError("no bundled model for Countdown with 3 numbers")

    module.solve_instances = solve_instances
    monkeypatch.setitem(sys.modules, "solver.inference", module)
    code, _, err = run_cli(["solve", "countdown"], capsys, monkeypatch, "44,15,79,50\n")
    assert code == 3 and "no bundled model" in err[0]


# ---------------------------------------------------------------- verify


@pytest.mark.parametrize(
    "answer, code, first_line",
    [
        ("44-15=29,79-29=50", 0, "valid: makes 50"),
        ("(79-(44-15))", 0, "valid: makes 50"),
        ("44-15=28,79-28=51", 1, "invalid: step 1 (44-15=28): 44-15 is 29, not 28"),
        ("44-15=29", 1, "invalid: the answer makes 29, not the target 50"),
    ],
)
def test_verify_countdown(answer, code, first_line, capsys, monkeypatch):
    argv = ["verify", "countdown", "--numbers", "44,15,79", "--target", "50", "--answer", answer]
    got, out, _ = run_cli(argv, capsys, monkeypatch)
    assert (got, out) == (code, [first_line])
    got, out, _ = run_cli(argv + ["--json"], capsys, monkeypatch)
    payload = json.loads(out[0])
    assert got == code and payload["valid"] is (code == 0) and payload["malformed"] is False


def test_verify_countdown_malformed_and_rules(capsys, monkeypatch):
    base = ["verify", "countdown", "--numbers", "44,15,79", "--target", "50"]
    code, out, err = run_cli(base + ["--answer", "44-15="], capsys, monkeypatch)
    assert code == 2 and out == [] and "--answer" in err[0] and "column 7" in err[0]
    code, out, _ = run_cli(base + ["--answer", "44-15=", "--json"], capsys, monkeypatch)
    assert code == 2 and json.loads(out[0])["malformed"] is True
    code, _, err = run_cli(
        ["verify", "countdown", "--numbers", "44,15", "--target", "50", "--answer", "1"], capsys, monkeypatch
    )
    assert code == 2 and "3 to 6 numbers" in err[0]
    tv = ["verify", "countdown", "--numbers", "25,50,75,100,3,6", "--target", "125", "--rules", "tv"]
    assert run_cli(tv + ["--answer", "25+100=125"], capsys, monkeypatch)[0] == 0
    assert run_cli(tv[:-2] + ["--answer", "25+100=125"], capsys, monkeypatch)[0] == 1  # ml: numbers unused


def test_verify_sudoku(capsys, monkeypatch):
    base = ["verify", "sudoku", "--puzzle", SUDOKU, "--solution"]
    assert run_cli(base + [SUDOKU_SOLUTION], capsys, monkeypatch)[:2] == (0, ["valid"])
    swapped = SUDOKU_SOLUTION[1] + SUDOKU_SOLUTION[0] + SUDOKU_SOLUTION[2:]  # breaks a given and two boxes
    code, out, _ = run_cli(base + [swapped], capsys, monkeypatch)
    assert code == 1 and out[0].startswith("invalid: ") and any("given 4 at r1c1" in line for line in out[1:])
    code, out, _ = run_cli(base + [swapped, "--json"], capsys, monkeypatch)
    payload = json.loads(out[0])
    assert code == 1 and not payload["valid"] and {"given", "column"} <= {v["kind"] for v in payload["violations"]}
    code, _, err = run_cli(base + [SUDOKU_SOLUTION[:80]], capsys, monkeypatch)
    assert code == 2 and "--solution" in err[0]
    conflicting = ["verify", "sudoku", "--puzzle", "11" + SUDOKU[2:], "--solution", SUDOKU_SOLUTION]
    code, _, err = run_cli(conflicting, capsys, monkeypatch)
    assert code == 2 and "--puzzle" in err[0]


# ---------------------------------------------------------------- the real entry point


@pytest.mark.parametrize(
    "argv, stdin, code",
    [
        (["solve", "countdown", "--method", "exact"], "44,15,79,50\n", 0),
        (["solve", "countdown", "--method", "exact"], "44,15,79,50\n2,3,5,100\n", 1),
        (["solve", "countdown", "--method", "exact"], "44,15,79,50\n2,3,5,100\n1,2\n", 2),
        (["verify", "countdown", "--numbers", "44,15,79", "--target", "50", "--answer", "79-(44-15)"], "", 0),
        (["verify", "countdown", "--numbers", "44,15,79", "--target", "50", "--answer", "79-44-15"], "", 1),
        (["verify", "countdown", "--numbers", "44,15,79", "--target", "50", "--answer", "79-(44"], "", 2),
    ],
)
def test_python_dash_m_rmdm_exit_codes(argv, stdin, code):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "rmdm", *argv], input=stdin, capture_output=True, text=True, cwd=REPO, env=env,
        timeout=120,
    )
    assert result.returncode == code, result.stderr
    if argv[0] == "solve":
        assert len(result.stdout.splitlines()) == stdin.count("\n")
