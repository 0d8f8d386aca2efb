"""Countdown: instances, answer parsing, verifier and exact solver on known cases."""

from __future__ import annotations

import json

import numpy as np
import pytest

from puzzles.countdown import (
    MAX_ANSWER_CHARS,
    MAX_DEPTH,
    CountdownInstance,
    Step,
    closest,
    count_solutions,
    format_steps,
    parse_answer,
    parse_instance,
    read_answer,
    reachable,
    solve_all,
    solve_countdown,
    steps_to_infix,
    verify_countdown,
)
from puzzles.countdown.examples import EXAMPLES
from puzzles.errors import ParseError, PuzzleError

ML = CountdownInstance((44, 15, 79), 50, "ml")
SHOW = CountdownInstance((25, 50, 75, 100, 3, 6), 952, "tv")


# ---------------------------------------------------------------- instances


def test_parse_instance_round_trip():
    instance = parse_instance(" 44, 15 ,79,50 ")
    assert instance == ML and instance.to_line() == "44,15,79,50"
    assert parse_instance("25,50,75,100,3,6,952", "tv") == SHOW


@pytest.mark.parametrize(
    "line, rules, message",
    [
        ("44,15,50", "ml", "3 to 6 numbers"),
        ("1,2,3,4,5,6,7,50", "ml", "3 to 6 numbers"),
        ("0,15,79,50", "ml", "1..1000"),
        ("1001,15,79,50", "ml", "1..1000"),
        ("44,15,79,2000000", "ml", "0..1000000"),
        ("25,50,75,100,3,952", "tv", "exactly 6"),
        ("25,50,75,100,3,11,952", "tv", "not one of them"),
        ("25,25,75,100,3,6,952", "tv", "at most once"),
        ("3,3,3,100,4,6,952", "tv", "at most twice"),
        ("25,50,75,100,3,6,99", "tv", "100..999"),
        ("25,50,75,100,3,6,1000", "tv", "100..999"),
    ],
)
def test_instance_rules_are_enforced(line, rules, message):
    with pytest.raises(ParseError, match=message):
        parse_instance(line, rules, line_no=3)
    numbers = tuple(int(x) for x in line.split(","))
    with pytest.raises(PuzzleError, match=message):
        CountdownInstance(numbers[:-1], numbers[-1], rules)


@pytest.mark.parametrize(
    "line, column, message",
    [
        ("44,15,,50", 7, "empty field"),
        ("44,15,x9,50", 7, "unexpected character 'x'"),
        ("44,１5,79,50", 4, "non-ASCII digit"),
        ("44,-15,79,50", 4, "unexpected character '-'"),
        ("44,15,79," + "9" * 30, 10, "digits"),
    ],
)
def test_parse_instance_malformed(line, column, message):
    with pytest.raises(ParseError, match=message) as info:
        parse_instance(line, line_no=2)
    assert (info.value.line, info.value.column) == (2, column)


def test_instance_rejects_unknown_rules_and_non_ints():
    with pytest.raises(PuzzleError, match="unknown rules"):
        CountdownInstance((1, 2, 3), 6, "xx")
    for bad in (3.0, "3", True):
        with pytest.raises(PuzzleError, match="must be integers"):
            CountdownInstance((1, 2, bad), 6)
    instance = CountdownInstance(np.array([44, 15, 79]), np.int64(50))  # e.g. read from Parquet
    assert instance == ML and type(instance.target) is int and type(instance.numbers[0]) is int
    with pytest.raises(ParseError, match="characters long"):
        parse_instance("1," * 500 + "5")


# ---------------------------------------------------------------- answers


def test_step_and_infix_forms_parse_to_the_same_steps():
    steps = [Step(44, "-", 15, 29), Step(79, "-", 29, 50)]
    assert parse_answer("44-15=29,79-29=50") == steps
    assert parse_answer(" 44 - 15 = 29 ,\n79-29=50\n") == steps
    assert parse_answer("44-15=29\n79-29=50") == steps
    assert parse_answer("(79-(44-15))") == [Step(44, "-", 15, 29), Step(79, "-", 29, 50)]
    assert format_steps(steps) == "44-15=29,79-29=50"
    assert steps_to_infix(steps) == "79-(44-15)"


def test_infix_precedence_and_associativity():
    assert steps_to_infix(parse_answer("2+3*4")) == "2+3*4"
    assert parse_answer("2+3*4")[-1].result == 14
    assert parse_answer("8-3-2")[-1].result == 3  # left associative
    assert parse_answer("8/4/2")[-1].result == 1
    assert steps_to_infix(parse_answer("8-(3-2)")) == "8-(3-2)"
    assert steps_to_infix(parse_answer("(2+3)*(4+1)")) == "(2+3)*(4+1)"
    assert read_answer("100").bare == 100 and read_answer("100").steps == []


def test_steps_to_infix_with_equal_values_and_other_orders():
    # Equal values: the post-order reading that uses every result is found.
    for text in ["1*1+2+(1+1+3)", "(2+3)*(4+1)", "2*2*2*2*(2*2)"]:
        assert steps_to_infix(parse_answer(text)) == text
    assert steps_to_infix(parse_answer("(1+1)+2")) == "1+1+2"
    # Not post-order, or a tv result left unused: the latest result with the value is used.
    assert steps_to_infix(parse_answer("4+5=9,1+2=3,3*9=27")) == "(1+2)*(4+5)"
    assert steps_to_infix(parse_answer("25+100=125,3+6=9")) == "3+6"
    # Many partial readings, none that uses every result: the search gives up on budget
    # (benchmarks/bench_countdown.py times it).
    assert steps_to_infix(parse_answer(",".join(["1*1=1"] * 63 + ["2+2=4"]))) == "2+2"


def test_unicode_operators_are_accepted_and_other_unicode_is_not():
    assert parse_answer("79\u2212(44\u221215)") == parse_answer("79-(44-15)")
    assert parse_answer("6\u00d77=42,42\u00f76=7") == parse_answer("6*7=42,42/6=7")
    for text, column in [("７9-(44-15)", 1), ("79-(44-1５)", 9), ("79–(44-15)", 3), ("79-(44-15)\u00a0", 11)]:
        with pytest.raises(ParseError) as info:
            parse_answer(text)
        assert info.value.column == column


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty answer"),
        ("   \n ", "empty answer"),
        ("44-15=", "expected the result of step 1"),
        ("44-15=29,", "expected the first number of step 2"),
        ("44-15=29,,79-29=50", "expected the first number of step 2"),
        ("44 15=29", "expected an operator"),
        ("44-15=29=29", "expected a comma"),
        ("44-15,29", "there is no '='"),
        ("(79-(44-15)", "expected '\\)'"),
        ("79-(44-15))", "expected an operator or the end"),
        ("-5+7", "no unary minus"),
        ("79-", "expected a number or '\\('"),
        ("2**3", "expected a number or '\\('"),
        ("__import__('os')", "unexpected character '_'"),
        ("1e5", "unexpected character 'e'"),
        ("3.5*2", "unexpected character '.'"),
        ("1" * 21 + "+1", "21 digits"),
        ("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), "nested deeper"),
        ("(" * 10_000, "characters long"),
        ("1+" * MAX_ANSWER_CHARS, "characters long"),
        ("1" * 10_001, "characters long"),
    ],
)
def test_malformed_answers_are_parse_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_answer(text)
    verdict = verify_countdown(ML, text)
    assert not verdict.valid and verdict.kind == "malformed"


HOSTILE_ANSWERS = ["9" * 10**6, "(" * 10**6, str(10**100) + "+1", "+" * 5000, "1" + "+1" * 999]


@pytest.mark.parametrize("text", HOSTILE_ANSWERS, ids=["digits", "parens", "googol", "pluses", "long sum"])
def test_huge_and_deep_inputs_are_refused(text):
    # Refused as a ParseError, never a RecursionError or a huge integer (bench_countdown times these).
    with pytest.raises(ParseError):
        parse_answer(text)


def test_parse_rejects_non_text():
    with pytest.raises(ParseError, match="expected text"):
        parse_answer(b"44-15=29")  # type: ignore[arg-type]


# ---------------------------------------------------------------- verifier


def test_valid_answers_in_both_forms():
    for answer in ["44-15=29,79-29=50", "(79-(44-15))", "79-(44-15)", "79+15-44"]:
        verdict = verify_countdown(ML, answer)
        assert verdict.valid and verdict.value == 50 and verdict.error is None, answer
    assert verify_countdown("44,15,79,50", "44-15=29,79-29=50").valid
    assert verify_countdown(ML, [Step(44, "-", 15, 29), Step(79, "-", 29, 50)]).valid


@pytest.mark.parametrize(
    "instance, answer, kind, step_index",
    [
        (ML, "44-15=28,79-28=51", "arithmetic", 0),
        (ML, "44-15=29,79-29=51", "arithmetic", 1),
        (ML, "44-15=29,29+29=58", "reused", 1),  # result used twice
        (ML, "44-15=29,79-44=35", "reused", 1),  # number used twice
        (ML, "44-16=28,79-28=51", "unavailable", 0),
        (ML, "44-15=29,80-29=51", "unavailable", 1),
        (ML, "44-15=29,79+29=108", "wrong-value", None),
        (ML, "44-15=29", "wrong-value", None),
        (CountdownInstance((44, 15, 79), 29, "ml"), "44-15=29", "unused", None),
        (CountdownInstance((44, 15, 79, 2), 50, "ml"), "44-15=29,79-29=50", "unused", None),
        (CountdownInstance((44, 15, 79), 50, "ml"), "15-44=-29,79+-29=50", "negative", 0),
        (CountdownInstance((7, 2, 3), 10, "ml"), "7/2=3,3+3=6", "inexact-division", 0),
        (CountdownInstance((7, 2, 3), 10, "ml"), "(7/2)*3", "inexact-division", 0),
        (CountdownInstance((7, 7, 3), 10, "ml"), "7-7=0,3/0=0", "division-by-zero", 1),
        (CountdownInstance((7, 7, 3), 10, "ml"), "3/(7-7)", "division-by-zero", 1),
        (CountdownInstance((3, 5, 2, 1, 8, 9), 100, "tv"), "3-5=-2,9*-2=-18", "negative", 0),
        (CountdownInstance((3, 3, 2, 1, 8, 9), 100, "tv"), "3-3=0,9+0=9", "zero", 0),
        (SHOW, "100+6=106,106*3=318,318*75=23850,23850-50=23800,23800/25=952,952+3=955", "reused", 5),
        (SHOW, "", "malformed", None),
        (SHOW, None, "empty", None),
        (SHOW, [], "empty", None),
        (SHOW, "951", "unavailable", None),
    ],
)
def test_verifier_rejects_each_violation(instance, answer, kind, step_index):
    verdict = verify_countdown(instance, answer)
    assert not verdict.valid
    assert (verdict.kind, verdict.step_index) == (kind, step_index), verdict
    assert verdict.error and verdict.message.startswith("invalid: ")
    if step_index is not None:
        assert verdict.error.startswith(f"step {step_index + 1} (")


def test_verifier_rules_differ_between_ml_and_tv():
    tv = CountdownInstance((25, 50, 75, 100, 3, 6), 125, "tv")
    assert verify_countdown(tv, "25+100=125").valid  # tv: unused cards are fine
    assert verify_countdown(tv, "125").kind == "unavailable"
    assert verify_countdown(CountdownInstance((25, 50, 75, 100, 3, 6), 100, "tv"), "100").valid
    zero = CountdownInstance((84, 76, 89, 84), 89, "ml")
    assert verify_countdown(zero, "84-84=0,76*0=0,89+0=89").valid  # ml allows zero
    assert verify_countdown(CountdownInstance((7, 7, 3), 3, "ml"), "7-7").kind == "wrong-value"


def test_verdict_serialises():
    verdict = verify_countdown(ML, "44-15=28,79-28=51")
    assert verdict.to_dict() == {
        "valid": False,
        "error": "step 1 (44-15=28): 44-15 is 29, not 28",
        "kind": "arithmetic",
        "step_index": 0,
        "value": None,
    }


# ---------------------------------------------------------------- solver


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.line)
def test_known_examples(example):
    instance = example.instance
    if example.answer:
        assert verify_countdown(instance, example.answer).valid
    steps = solve_countdown(instance)
    assert (steps is not None) == (example.solutions > 0)
    if steps is not None:
        assert verify_countdown(instance, steps).valid
    assert count_solutions(instance) == example.solutions
    assert len(solve_all(instance)) == example.solutions


def test_all_solutions_are_distinct_and_valid():
    solutions = solve_all(SHOW)
    assert [steps_to_infix(s) for s in solutions] == ["(3+100)*75*6/50+25", "(3*(6+100)*75-50)/25"]
    instance = CountdownInstance((75, 100, 2, 5, 8, 10), 999, "tv")
    solutions = solve_all(instance)
    assert len({format_steps(s) for s in solutions}) == len(solutions) == 5
    assert all(verify_countdown(instance, s).valid for s in solutions)
    assert len(solve_all(instance, limit=2)) == 2 and count_solutions(instance, limit=2) == 2


def test_commuted_and_reassociated_answers_are_one_solution():
    # 3+5+2 in every order and grouping is one solution; so are a-(b-c) and a+c-b.
    assert count_solutions(CountdownInstance((3, 5, 2), 10, "ml")) == 1
    assert count_solutions(CountdownInstance((1, 2, 3, 4), 10, "ml")) == 15
    assert count_solutions(CountdownInstance((9, 5, 2), 6, "ml")) == 1  # 9-(5-2) = 9+2-5
    # 1*4 and 4/1 are different solutions (no algebra beyond the normal form).
    assert {steps_to_infix(s) for s in solve_all(CountdownInstance((4, 1, 2), 6, "ml"))} >= {"1*4+2", "4/1+2"}


def test_tv_solution_uses_fewest_cards_and_bare_target():
    instance = CountdownInstance((25, 50, 75, 100, 3, 6), 100, "tv")
    assert solve_countdown(instance) == []
    assert verify_countdown(instance, "100").valid
    steps = solve_countdown(CountdownInstance((25, 50, 75, 100, 3, 6), 150, "tv"))
    assert len(steps) == 1


def test_unsolvable_and_closest():
    instance = CountdownInstance((1, 1, 2, 2, 3, 3), 999, "tv")
    assert solve_countdown(instance) is None and count_solutions(instance) == 0
    near = closest(instance)
    assert (near.value, near.distance) == (81, 918)
    assert verify_countdown(CountdownInstance(instance.numbers, 81, "ml"), near.steps).valid
    assert closest(SHOW).distance == 0
    ml = CountdownInstance((2, 3, 5), 100, "ml")
    assert solve_countdown(ml) is None
    near = closest(ml)
    assert near.distance == 100 - max(reachable(ml)) and verify_countdown(
        CountdownInstance(ml.numbers, near.value, "ml"), near.steps
    ).valid


def test_zero_target_under_ml():
    instance = CountdownInstance((5, 5, 7), 0, "ml")
    steps = solve_countdown(instance)
    assert verify_countdown(instance, steps).valid
    # (5-5)*7 and 7*(5-5) are one solution, (5-5)/7 another; 7/(5-5) divides by zero.
    assert [steps_to_infix(s) for s in solve_all(instance)] == ["(5-5)*7", "(5-5)/7"]


def test_six_number_tv_instance_solves():
    instance = CountdownInstance((25, 75, 100, 2, 7, 9), 873, "tv")  # bench_countdown times six-card deals
    steps = solve_countdown(instance)
    assert steps is not None and verify_countdown(instance, steps).valid


def test_cd4_reference_answers_verify_and_solver_solves_all(shared_benchmarks):
    rows = [json.loads(line) for line in (shared_benchmarks / "countdown" / "cd4_test.jsonl").open()]
    assert len(rows) == 500
    for row in rows:
        instance = parse_instance(row["input"], "ml")
        verdict = verify_countdown(instance, row["output"])
        assert verdict.valid, (row, verdict)
        steps = solve_countdown(instance)
        assert steps is not None and verify_countdown(instance, steps).valid, row
