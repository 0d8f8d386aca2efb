"""benchmarks/bench_train_rate.py: the budget arithmetic, and a real (tiny) timing of a preset
through the Trainer that prints a schedule length scripts/gpu_chunk.sh can pass to --max-steps."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_train_rate


def test_steps_for_budget_counts_validation_and_keeps_a_margin():
    # 0.1 s a step plus a 5 s validation every 1000 steps: 0.105 s a step; 90% of 100 s is 90 s
    assert bench_train_rate.steps_for_budget(0.1, 100.0, 1000, 5.0) == 857
    assert bench_train_rate.steps_for_budget(0.1, 100.0, 1000, 0.0, margin=1.0) == 1000
    assert bench_train_rate.steps_for_budget(50.0, 1.0, 1000, 5.0) == 1  # never zero steps


@pytest.fixture(scope="module")
def sudoku4_data(tmp_path_factory):
    from data_gen.api import build_dataset

    spec = {"task": "sudoku", "size": 4, "n": 40, "seed": 5, "split": "train=0.8,val=0.2", "dedupe": False}
    return build_dataset(spec, tmp_path_factory.mktemp("data") / "sudoku4", workers=1)


def test_times_a_preset_and_prints_the_steps_that_fit(sudoku4_data, capsys):
    args = ["sudoku4-cpu", "--data", str(sudoku4_data), "--steps", "3", "--warmup", "1",
            "--set", "train.batch_size=8", "--budget", "60", "--print-steps"]
    assert bench_train_rate.main(args) == 0
    out, err = capsys.readouterr()
    steps = int(out.strip())  # the only line on stdout: what a shell captures
    result = json.loads(err.strip().splitlines()[-1])
    assert result["accelerator"] == "cpu" and result["batch_size"] == 8 and result["steps_timed"] == 3
    assert result["seconds_per_step"] > 0
    assert steps == result["max_steps"] == bench_train_rate.steps_for_budget(
        result["seconds_per_step"], 60.0, result["val_every"], 5.0)


def test_print_steps_needs_a_budget(sudoku4_data):
    with pytest.raises(SystemExit):
        bench_train_rate.main(["sudoku4-cpu", "--data", str(sudoku4_data), "--print-steps"])
