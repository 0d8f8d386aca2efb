"""Countdown property tests: parsers never fail but with ParseError, generated instances
are solvable with verified reference answers, step and infix forms convert both ways."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from puzzles.countdown import (
    TV_LARGE,
    CountdownInstance,
    count_solutions,
    format_steps,
    generate_countdown,
    parse_answer,
    parse_instance,
    read_answer,
    solve_all,
    solve_countdown,
    steps_to_infix,
    verify_countdown,
)
from puzzles.errors import ParseError, PuzzleError

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ANSWER_ALPHABET = "0123456789+-*/=(), \n\u00d7\u00f7\u2212\uff11x."
# Text that looks like an answer often; arbitrary Unicode sometimes.
answer_text = st.one_of(st.text(alphabet=ANSWER_ALPHABET, max_size=60), st.text(max_size=60))
ML = CountdownInstance((44, 15, 79), 50, "ml")


@FAST
@given(answer_text)
def test_answer_parser_fails_only_with_parse_error(text):
    try:
        parsed = read_answer(text)
    except ParseError as err:
        assert err.column is None or 1 <= err.column <= len(text) + 1
        return
    assert all(step.op in "+-*/" for step in parsed.steps)
    assert isinstance(verify_countdown(ML, text).valid, bool)


@FAST
@given(
    st.one_of(st.text(alphabet="0123456789, -\t\uff11", max_size=40), st.text(max_size=40)),
    st.sampled_from(["ml", "tv"]),
)
def test_instance_parser_fails_only_with_parse_error(text, rules):
    try:
        instance = parse_instance(text, rules)
    except ParseError:
        return
    assert parse_instance(instance.to_line(), rules) == instance


@st.composite
def ml_instances(draw, max_numbers=5):
    numbers = draw(st.lists(st.integers(1, 30), min_size=3, max_size=max_numbers))
    return CountdownInstance(tuple(numbers), draw(st.integers(0, 200)), "ml")


@FAST
@given(ml_instances())
def test_solver_answers_verify_and_convert_both_ways(instance):
    steps = solve_countdown(instance)
    if steps is None:
        assert count_solutions(instance) == 0
        return
    assert verify_countdown(instance, steps).valid
    text = format_steps(steps)
    assert parse_answer(text) == steps
    infix = steps_to_infix(steps)
    assert parse_answer(infix) == steps  # the solver writes steps in post-order
    assert verify_countdown(instance, infix).valid
    assert steps_to_infix(parse_answer(infix)) == infix


@settings(max_examples=40, deadline=None)
@given(ml_instances(max_numbers=4))
def test_every_enumerated_solution_is_valid_and_distinct(instance):
    solutions = solve_all(instance)
    assert len(solutions) == count_solutions(instance)
    assert len({steps_to_infix(s) for s in solutions}) == len(solutions)
    for steps in solutions:
        assert verify_countdown(instance, steps).valid


@st.composite
def expressions(draw, depth=3):
    """Random infix text over small numbers (valid or not as an answer)."""
    if depth == 0 or draw(st.booleans()):
        return str(draw(st.integers(1, 12)))
    left, right = draw(expressions(depth=depth - 1)), draw(expressions(depth=depth - 1))
    op = draw(st.sampled_from("+-*/"))
    return f"({left}{op}{right})" if draw(st.booleans()) else f"{left}{op}{right}"


@FAST
@given(expressions())
def test_infix_to_steps_to_infix_is_stable(text):
    steps = parse_answer(text)
    if not steps:
        return
    infix = steps_to_infix(steps)
    assert parse_answer(infix) == steps
    assert parse_answer(format_steps(steps)) == steps


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rules=st.sampled_from(["ml", "tv"]),
    n_numbers=st.integers(3, 5),
    unique=st.booleans(),
)
def test_generated_instances_are_solvable_and_answers_verify(seed, rules, n_numbers, unique):
    kwargs = {"n_numbers": n_numbers} if rules == "ml" else {"large": seed % (len(TV_LARGE) + 1)}
    generated = generate_countdown(np.random.default_rng(seed), rules=rules, unique=unique and rules == "ml", **kwargs)
    instance = generated.instance
    assert instance.rules == rules
    assert verify_countdown(instance, generated.answer).valid
    assert generated.solutions == count_solutions(instance) >= 1
    if unique and rules == "ml":
        assert generated.solutions == 1
    if rules == "tv":
        assert sum(n in TV_LARGE for n in instance.numbers) == seed % (len(TV_LARGE) + 1)
        assert instance.target not in instance.numbers


def test_generator_is_deterministic_and_honours_options():
    def batch(seed, **kwargs):
        rng = np.random.default_rng(seed)
        return [generate_countdown(rng, **kwargs) for _ in range(5)]

    assert batch(3) == batch(3) and batch(3) != batch(4)
    for g in batch(1, n_numbers=3, number_range=(5, 9), target_range=(20, 30)):
        assert len(g.instance.numbers) == 3 and all(5 <= n <= 9 for n in g.instance.numbers)
        assert 20 <= g.instance.target <= 30
    for g in batch(2, min_solutions=3):
        assert g.solutions >= 3
    for g in batch(5, rules="tv", target_range=(500, 600)):
        assert len(g.instance.numbers) == 6 and 500 <= g.instance.target <= 600


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rules": "xx"}, "unknown rules"),
        ({"n_numbers": 7}, "3 to 6"),
        ({"rules": "tv", "n_numbers": 4}, "exactly 6"),
        ({"rules": "tv", "number_range": (1, 9)}, "does not apply"),
        ({"rules": "tv", "large": 5}, "0..4"),
        ({"large": 2}, "tv rules only"),
        ({"number_range": (0, 9)}, "number_range"),
        ({"target_range": (50, 10)}, "target_range"),
        ({"rules": "tv", "target_range": (50, 150)}, "target_range"),
        ({"unique": True, "min_solutions": 2}, "contradict"),
        ({"n_numbers": 3, "number_range": (1, 2), "target_range": (500, 600), "max_tries": 20}, "20 draws"),
    ],
)
def test_generator_rejects_bad_configurations(kwargs, message):
    with pytest.raises(PuzzleError, match=message):
        generate_countdown(np.random.default_rng(0), **kwargs)
