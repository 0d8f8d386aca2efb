"""benchmarks/compare_inference.py: two checkpoints timed in paired rounds; the ratio is the
median of the rounds' ratios, and checkpoints of different puzzles are refused."""

from __future__ import annotations

import json

import pytest

from benchmarks import compare_inference


def test_a_model_against_itself_prints_rounds_and_a_ratio(capsys):
    assert compare_inference.main(["sudoku9", "sudoku9", "--rounds", "2", "--puzzles", "1", "--threads", "1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(result["ms_per_puzzle"]["old"]) == len(result["ms_per_puzzle"]["new"]) == 2
    ratios = [n / o for o, n in zip(result["ms_per_puzzle"]["old"], result["ms_per_puzzle"]["new"])]
    assert result["ratio"] == pytest.approx(sorted(ratios)[0] / 2 + sorted(ratios)[1] / 2)


def test_models_of_different_puzzles_are_refused():
    with pytest.raises(SystemExit):
        compare_inference.main(["sudoku4", "sudoku6", "--rounds", "1", "--puzzles", "1"])
