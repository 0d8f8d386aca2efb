"""The Countdown codecs' vectorised encode_batch equals `encode` row by row: on generated data
(ml and tv, every number count the models use, answers with fewer steps), on the edge cases
(numbers of 1 to 3 digits, targets 100 and 999, leading zeros, other spellings of an answer),
and on every input `encode` refuses, which must raise the same error (the first bad row's)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from puzzles.countdown import CountdownInstance, generate_countdown
from solver.codecs import CountdownCodec, _stack
from solver.countdown_steps import CountdownStepCodec, digit_ids, parse_step_answers


def per_row(codec, items):
    try:
        return _stack([codec.encode(*item) if isinstance(item, tuple) else codec.encode(item) for item in items])
    except Exception as err:  # noqa: BLE001 - the error is what is compared
        return err


def bulk(codec, items):
    try:
        return codec.encode_batch(items)
    except Exception as err:  # noqa: BLE001
        return err


def assert_same(codec, items):
    expected, got = per_row(codec, items), bulk(codec, items)
    if isinstance(expected, Exception):
        assert type(got) is type(expected) and str(got) == str(expected), (expected, got)
        return
    assert not isinstance(got, Exception), got
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.dtype == theirs.dtype and torch.equal(mine, theirs)


def codecs(n_numbers: int, rules: str = "ml"):
    return [CountdownStepCodec(n_numbers, rules=rules), CountdownCodec(n_numbers, 3 * 4 * (n_numbers + 1), 120, rules=rules)]


def generated(n_numbers: int, rules: str, count: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    items = []
    for index in range(count):
        made = generate_countdown(rng, n_numbers=n_numbers, rules=rules)
        instance = made.instance if index % 3 == 0 else {"numbers": list(made.instance.numbers), "target": made.instance.target}
        items.append(instance if index % 7 == 0 else (instance, made.answer))  # some without an answer
    return items


@pytest.mark.parametrize("n_numbers,rules", [(3, "ml"), (4, "ml"), (5, "ml"), (6, "tv")])
def test_generated_data_encodes_as_row_by_row(n_numbers, rules):
    items = generated(n_numbers, rules, 150, seed=n_numbers)
    for codec in codecs(n_numbers, rules):
        assert_same(codec, items)
    if rules == "tv":  # the tv set holds answers with fewer steps than numbers - 1
        steps = [len(item[1].split(",")) for item in items if isinstance(item, tuple)]
        assert min(steps) < n_numbers - 1


EDGE = [
    ({"numbers": [1, 10, 100, 7], "target": 100}, "100*1=100,10-7=3,100-3=97"),  # the 100 is the first 100 left
    ({"numbers": [62, 69, 49, 98], "target": 100}, None),
    ({"numbers": [100, 100, 100, 100], "target": 999}, "100*100=10000,10000*100=1000000,1000000*100=100000000"),
    ({"numbers": [5, 5, 5, 5], "target": 0}, "5-5=0,5*0=0,0*5=0"),  # results equal to numbers: first available
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3*7=21"),  # fewer steps than the codec's
    ({"numbers": [3, 7, 2, 9], "target": 21}, "  003*07=021 "),  # leading zeros and spaces around
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3 * 7 = 21"),  # spaces inside: the per-row parser's
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3*7"),  # infix
    ({"numbers": [3, 7, 2, 21], "target": 21}, "21"),  # a bare number: no steps
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3\u00d77=21"),  # a Unicode operator the parser accepts
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3*7=21\n"),
    ({"numbers": [3, 7, 2, 9], "target": 21}, ""),
    ("3,7,2,9,21", "3*7=21"),  # an instance as text
    (CountdownInstance((3, 7, 2, 9), 21), "3*7=21"),
    ({"numbers": [3, 7, 2, 9], "target": 21},),
    ({"numbers": [3, 7, 2, 9], "target": 21}, None),
]

BAD = [
    ({"numbers": [3, 7, 2, 9], "target": 21}, "4*7=28"),  # a value not available
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3*7=21,21-2=19,19-9=10,10+1=11"),  # more steps than the codec's
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3*7=" + "9" * 12),  # a result wider than the codec's digits
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3*7=" + "1" * 19),  # beyond int64
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3*7=" + "1" * 21),  # beyond the parser's digits
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3*7=21,"),
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3*7=21;"),
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3**7=21"),
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3*7=2a"),
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3*7=21é"),
    ({"numbers": [3, 7, 2, 9], "target": 1000}, "3*7=21"),  # target over the limit
    ({"numbers": [3, 7, 2, 101], "target": 21}, None),  # a number over the limit
    ({"numbers": [3, 7, 2], "target": 21}, None),  # too few numbers
    ({"numbers": [3, 7, 2, 9], "target": 21}, 21),  # not text
    ({"numbers": [3, 7, 2, 9]}, None),
    ({"numbers": [3, 7, 2, 9], "target": 21}, "3*7=21", "extra"),
]


@pytest.mark.parametrize("item", EDGE + BAD)
def test_each_edge_case_alone(item):
    for codec in codecs(4):
        assert_same(codec, [item])


def test_a_bad_row_among_good_ones_raises_the_first_bad_rows_error():
    good = generated(4, "ml", 20, seed=9)
    for codec in codecs(4):
        assert_same(codec, good + EDGE)
        for bad in BAD[:5]:
            assert_same(codec, good[:7] + [bad] + good[7:] + BAD[::-1])
        assert codec.encode_batch([])[0].shape == (0, codec.seq_len)


def test_long_batches_go_in_chunks_and_still_raise_the_first_error(monkeypatch):
    monkeypatch.setattr("solver.codecs.BULK_ROWS", 7)
    monkeypatch.setattr("solver.countdown_steps.BULK_ROWS", 7)
    good = generated(4, "ml", 30, seed=4)
    for codec in codecs(4):
        assert_same(codec, good)
        assert_same(codec, good[:20] + BAD[:2] + good[20:] + [BAD[5]])


def test_digit_ids_are_the_per_row_digits():
    values = [0, 1, 9, 10, 99, 100, 999, 1000, 123456789, 10**17, 10**18 - 1]
    for width in (3, 9, 13, 19, 20):
        fits = [v for v in values if len(str(v)) <= width]
        assert digit_ids(np.array(fits), width).tolist() == [CountdownStepCodec(4)._digits(v, width) for v in fits]


def test_parse_step_answers_reads_the_plain_form_only():
    a, op, b, result, steps, ok = parse_step_answers(["44-15=29,79-29=50", "1+2=3", "1 + 2=3", "(1+2)", "7"], 3)
    assert ok.tolist() == [True, True, False, False, False] and steps.tolist() == [2, 1, 0, 0, 0]
    assert (a[0, :2].tolist(), op[0, :2].tolist(), b[0, :2].tolist(), result[0, :2].tolist()) == \
        ([44, 79], [1, 1], [15, 29], [29, 50])


@st.composite
def answers(draw, n: int):
    """An instance and an answer close to the step form: operands mostly available values (so
    references resolve, duplicates included), random operators and results, now and then a
    spelling or a value the per-row path treats differently."""
    numbers = draw(st.lists(st.sampled_from([0, 1, 2, 5, 7, 10, 25, 50, 75, 100]), min_size=n, max_size=n))
    def rarely(odds: int = 20) -> bool:  # True once in `odds` draws, roughly (hypothesis likes 0, so not integers)
        return draw(st.sampled_from([False] * (odds - 1) + [True]))

    pool = list(numbers)
    parts = []
    for _ in range(draw(st.sampled_from([0, n])) if rarely(10) else draw(st.integers(1, n - 1))):  # 0 or n steps: rarely
        a = draw(st.integers(0, 10**4)) if rarely() else draw(st.sampled_from(pool))
        b = draw(st.integers(0, 10**4)) if rarely() else draw(st.sampled_from(pool))
        result = draw(st.integers(0, 10**19)) if rarely() else draw(st.integers(0, 10**3))
        pool.append(result)
        zeros = "0" * draw(st.integers(0, 2)) if rarely(5) else ""
        op = draw(st.sampled_from("x\u00d7")) if rarely() else draw(st.sampled_from("+-*/"))
        parts.append(f"{a}{op}{zeros}{b}={result}")
    text = (draw(st.sampled_from([", ", "\n", ",\n"])) if rarely(10) else ",").join(parts)
    if rarely(10):
        text = draw(st.text(alphabet="0123456789+-*/=, ()", max_size=20))
    return {"numbers": numbers, "target": draw(st.sampled_from([0, 100, 999]))}, text


@settings(max_examples=300, deadline=None)
@given(st.integers(3, 5).flatmap(lambda n: st.lists(answers(n), min_size=1, max_size=3)))
def test_random_answers_encode_or_fail_as_row_by_row(items):
    n = len(items[0][0]["numbers"])
    for codec in codecs(n):
        assert_same(codec, items)
