"""benchmarks/countdown_ambiguity.py: every counted answer verifies, the public set's stored answers
are among those found (zero results and division by one included), and an absent set is said."""

from __future__ import annotations

from benchmarks import countdown_ambiguity
from puzzles.countdown import verify_countdown


def test_every_answer_found_verifies_and_none_repeats():
    found = countdown_ambiguity.solutions([1, 2, 3], 6)
    assert found and len(found) == len(set(found))
    assert all(verify_countdown("1,2,3,6", answer).valid for answer in found)
    assert {"1+2=3,3+3=6", "1*2=2,3*2=6", "2/1=2,3*2=6"} <= set(found)
    assert "2*3=6" not in found  # ml rules: every number is used


def test_zero_and_division_by_one_routes_are_found():
    assert "84-84=0,76*0=0,89+0=89" in countdown_ambiguity.solutions([84, 76, 89, 84], 89)
    assert "3/1=3,2*3=6" in countdown_ambiguity.solutions([1, 2, 3], 6)


def test_an_absent_set_is_said(tmp_path, capsys):
    assert countdown_ambiguity.main(["--data", str(tmp_path / "none.jsonl")]) == 0
    assert "not found" in capsys.readouterr().out
