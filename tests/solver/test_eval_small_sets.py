"""`rmdm eval` on a set too small to say anything warns, naming the interval's width and how to
evaluate more; its progress bar counts what it counts (issue 16 item 6)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from rmdm.cli import main
from solver.evaluate import SMALL_SET, EvalData, small_set_warning, widest_interval

from .test_evaluate import write_sudoku_dir
from .test_guided import CODEC, known_9x9, oracle


def test_the_widest_interval_shrinks_with_the_set():
    assert round(widest_interval(1), 2) == 0.79  # 0/1 or 1/1: [0, 79%] or [21%, 100%]
    assert widest_interval(1) > widest_interval(10) > widest_interval(SMALL_SET) > widest_interval(500)
    assert widest_interval(SMALL_SET) < 0.35


def data(n: int, split: str | None = "test", splits: dict[str, int] | None = None, source: str = "data/sudoku9-hard"):
    return EvalData("sudoku", [object()] * n, ["all"] * n, "all", source, split, splits)


def test_one_puzzle_of_a_split_names_the_bigger_splits():
    warning = small_set_warning(data(1, splits={"train": 180, "val": 19, "test": 1}))
    assert warning.startswith("only 1 puzzle in the 'test' split of data/sudoku9-hard: ")
    assert "up to 79 points wide" in warning and "too wide to tell settings apart" in warning
    assert "--split train (180 puzzles), --split val (19 puzzles)" in warning
    assert "\n" not in warning


def test_a_limit_that_cut_the_set_is_named():
    warning = small_set_warning(data(10, split=None, source="norvig_top95.txt"), limit=10)
    assert warning.startswith("only 10 puzzles in norvig_top95.txt") and "a larger --limit (now 10)" in warning
    assert "--split" not in warning
    assert "a larger data set (--data)" in small_set_warning(data(12, split=None, source="mine.txt"))


def test_enough_puzzles_need_no_warning():
    assert small_set_warning(data(SMALL_SET)) is None
    assert small_set_warning(data(SMALL_SET - 1)) is not None


def test_the_data_directorys_split_sizes_are_read(tmp_path):
    from solver.evaluate import load_eval_data

    directory = write_sudoku_dir(tmp_path)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["splits"]["train"] = {"count": 180, "files": []}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    loaded = load_eval_data(directory)
    assert loaded.splits == {"test": 3, "train": 180}


@pytest.fixture
def oracle_checkpoint(monkeypatch):
    """`rmdm eval --checkpoint oracle` loads a model that knows the known 9x9 puzzles."""
    import solver.checkpoint

    model = oracle(known_9x9())
    monkeypatch.setattr(solver.checkpoint, "load", lambda name, device=None: SimpleNamespace(
        model=model, codec=CODEC, name="oracle", path=""))


def test_rmdm_eval_warns_on_stderr_and_its_bar_counts_solves(tmp_path, capsys, oracle_checkpoint):
    directory = write_sudoku_dir(tmp_path)
    code = main(["eval", "--checkpoint", "oracle", "--data", str(directory), "--device", "cpu",
                 "--steps", "6,9", "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0
    warnings = [line for line in captured.err.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("rmdm eval: warning: only 3 puzzles in the 'test' split of ")
    assert "95% interval is up to" in warnings[0] and "--limit" not in warnings[0]
    # the bar: 3 puzzles x 2 runs = 6 solves, in a unit that says so
    assert "3 puzzles × 2 runs" in captured.err and "6/6" in captured.err
    assert "solve/s" in captured.err or "s/solve" in captured.err
    assert "puzzle/s" not in captured.err and "s/puzzle" not in captured.err
