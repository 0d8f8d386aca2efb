"""The structured Countdown codec, its calculator constraint and its augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from puzzles.countdown import generate_countdown, verify_countdown
from solver.augment import augment_countdown_steps
from solver.calculator import CalculatorConstraint
from solver.codecs import CodecError, codec_from_config
from solver.constraints import ConstraintError, constraint_for, dead_ends
from solver.countdown_steps import MASK, OP0, PAD, CountdownStepCodec, max_value
from solver.model import Denoiser, DenoiserConfig
from solver.positions import step_positions

CODEC = CountdownStepCodec(4)
INSTANCE = {"numbers": [58, 11, 80, 83], "target": 81}
ANSWER = "80-58=22,22/11=2,83-2=81"


def _generated(n_numbers: int, count: int, seed: int = 0) -> list[tuple[dict, str]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        g = generate_countdown(rng, n_numbers=n_numbers, rules="ml")
        out.append(({"numbers": list(g.instance.numbers), "target": g.instance.target}, g.answer))
    return out


def test_limits_come_from_the_rules_not_a_data_set():
    assert CODEC.number_digits == 3  # numbers up to 100, targets up to 999
    assert CODEC.value_digits == len(str(max_value(4, 100))) == 9  # 100**4 fits
    # the line that sank the character codec: a valid instance with target 100
    assert CODEC.decode_prompt(CODEC.encode({"numbers": [62, 69, 49, 98], "target": 100}).tokens) == "62,69,49,98,100"
    assert CODEC.decode_prompt(CODEC.encode("100,100,100,100,999").tokens) == "100,100,100,100,999"


def test_round_trip_and_layout():
    enc = CODEC.encode(INSTANCE, ANSWER)
    assert CODEC.decode(enc.target) == ANSWER
    assert enc.frozen.tolist() == [True] * CODEC.prompt_len + [False] * CODEC.answer_len
    assert (enc.tokens[CODEC.prompt_len:] == MASK).all()
    labels = "".join(CODEC.token_label(i) for i in enc.target.tolist())
    assert labels[CODEC.prompt_len:CODEC.prompt_len + 3] == "③-①"  # 80 is the third number, 58 the first
    assert labels[CODEC.step_start(1):CODEC.step_start(1) + 3] == "❶/②"  # the first step's result
    assert CODEC.seq_len == CODEC.prompt_len + 3 * (3 + CODEC.value_digits)
    assert codec_from_config(CODEC.to_config()).to_config() == CODEC.to_config()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_every_generated_answer_round_trips(seed):
    for n_numbers in (3, 4):
        codec = CountdownStepCodec(n_numbers)
        (instance, answer), = _generated(n_numbers, 1, seed)
        text = codec.decode(codec.encode(instance, answer).target)
        line = ",".join(map(str, (*instance["numbers"], instance["target"])))
        assert verify_countdown(line, text).valid, (line, answer, text)


def test_instances_outside_the_limits_are_a_clear_error():
    with pytest.raises(CodecError, match="takes 4 numbers; the instance has 5"):
        CODEC.encode({"numbers": [1, 2, 3, 4, 5], "target": 10})
    with pytest.raises(CodecError, match="numbers up to 100; 150 is over"):
        CODEC.encode({"numbers": [1, 2, 3, 150], "target": 10})
    with pytest.raises(CodecError, match="targets up to 999; 1000 is over"):
        CODEC.encode({"numbers": [1, 2, 3, 4], "target": 1000})
    with pytest.raises(CodecError, match="not available"):
        CODEC.encode(INSTANCE, "80-57=23,23/11=2,83-2=81")


def test_decode_never_raises_and_marks_unknown_slots():
    assert CODEC.decode(CODEC.encode(INSTANCE).tokens) == "??=?,??=?,??=?".replace("??", "???")
    rng = np.random.default_rng(0)
    for _ in range(200):
        ids = rng.integers(0, CODEC.vocab_size + 3, CODEC.seq_len)
        text = CODEC.decode(ids)
        assert isinstance(text, str)
    assert CODEC.decode([1, 2]) == "?"


def test_step_positions_factor_segment_field_and_place():
    pos = step_positions(4, 3, 9)
    assert set(pos) == {"segment", "field", "place"}
    assert all(v.shape == (CODEC.seq_len,) for v in pos.values())
    units = [t for t in range(CODEC.seq_len) if int(pos["place"][t]) == 0 and int(pos["field"][t]) in (0, 1, 5)]
    assert len(units) == 5 + 3  # every number's, the target's and every result's units digit share place 0
    cfg = DenoiserConfig(vocab_size=CODEC.vocab_size, seq_len=CODEC.seq_len, positions="steps", n_numbers=4,
                         number_digits=3, value_digits=9, d_model=32, n_heads=2)
    assert Denoiser(cfg)(CODEC.encode(INSTANCE).tokens[None]).shape == (1, CODEC.seq_len, CODEC.vocab_size)
    with pytest.raises(ValueError, match="step layout"):
        DenoiserConfig(vocab_size=CODEC.vocab_size, seq_len=50, positions="steps", n_numbers=4, number_digits=3,
                       value_digits=9)


# ----------------------------------------------------------------------------- calculator constraint


def _legal_tokens(legal, position):
    return set(legal[0, position].nonzero().flatten().tolist())


def test_reference_answers_are_legal_and_complete():
    items = _generated(4, 60, seed=1)
    _, _, target = CODEC.encode_batch(items)
    legal, conflict = constraint_for(CODEC).check(target)
    assert not conflict.any()
    assert legal.gather(2, target[..., None]).all()


def test_operands_must_be_available_and_used_once():
    c, con = CODEC, CalculatorConstraint(CODEC)
    tokens = c.encode(INSTANCE).tokens.clone()
    legal, _ = con.check(tokens[None])
    numbers = {c.ref_token("n", i) for i in range(4)}
    assert _legal_tokens(legal, c.step_start(0)) == numbers  # step 1: only the instance's numbers
    step3 = _legal_tokens(legal, c.step_start(2))
    assert step3 == numbers | {c.ref_token("r", 0), c.ref_token("r", 1)}  # never the last result
    tokens[c.step_start(0)] = c.ref_token("n", 2)  # step 1 uses 80 ...
    legal, conflict = con.check(tokens[None])
    assert c.ref_token("n", 2) not in _legal_tokens(legal, c.step_start(0) + 2)  # ... so b cannot
    assert c.ref_token("n", 2) not in _legal_tokens(legal, c.step_start(1))  # nor any later step
    tokens[c.step_start(1)] = c.ref_token("n", 2)  # used twice: both are conflicts
    _, conflict = con.check(tokens[None])
    assert conflict[0, c.step_start(0)] and conflict[0, c.step_start(1)]


def test_results_are_computed_exactly_and_the_last_reaches_the_target():
    c, con = CODEC, CalculatorConstraint(CODEC)
    tokens = c.encode(INSTANCE).tokens.clone()
    s = c.step_start(0)
    tokens[s], tokens[s + 1], tokens[s + 2] = c.ref_token("n", 2), OP0 + 1, c.ref_token("n", 0)  # 80 - 58
    legal, _ = con.check(tokens[None])
    forced = [_legal_tokens(legal, s + 3 + p) for p in range(c.value_digits)]
    assert all(len(f) == 1 for f in forced)
    assert c.read_digits([next(iter(f)) for f in forced]) == 22
    tokens[s + 2] = MASK  # 58 - 80 is negative: never legal; 58 / 80 is not whole
    tokens[s], tokens[s + 1] = c.ref_token("n", 0), OP0 + 3
    legal, _ = con.check(tokens[None])
    b_options = _legal_tokens(legal, s + 2)
    assert c.ref_token("n", 2) not in b_options and c.ref_token("n", 1) not in b_options  # 58/80, 58/11
    last = [_legal_tokens(legal, c.step_start(2) + 3 + p) for p in range(c.value_digits)]
    assert [next(iter(x)) for x in last] == c._digits(81, c.value_digits)  # the last result is the target


def test_a_step_that_cannot_work_is_a_dead_end():
    c, con = CODEC, CalculatorConstraint(CODEC)
    tokens = c.encode({"numbers": [2, 3, 5, 7], "target": 1}).tokens.clone()
    s = c.step_start(0)
    tokens[s : s + 3] = torch.tensor([c.ref_token("n", 0), OP0 + 2, c.ref_token("n", 1)])  # 2*3=6
    tokens[c.step_start(1): c.step_start(1) + 3] = torch.tensor([c.ref_token("r", 0), OP0 + 2, c.ref_token("n", 2)])
    legal, conflict = con.check(tokens[None])  # 30 with 7 left cannot make 1
    assert dead_ends(legal, conflict, tokens[None] == MASK).item()


def test_only_ml_rules_and_the_step_codec_have_a_calculator():
    with pytest.raises(ConstraintError, match="ml rules only"):
        constraint_for(CountdownStepCodec(6, rules="tv"))


# ----------------------------------------------------------------------------- augmentation


def test_augmentation_keeps_every_pair_valid_and_moves_numbers():
    items = _generated(4, 200, seed=2)
    tokens, frozen, target = CODEC.encode_batch(items)
    new_tokens, new_frozen, new_target = augment_countdown_steps(tokens, frozen, target, CODEC,
                                                                 generator=torch.Generator().manual_seed(0))
    assert torch.equal(new_frozen, frozen)
    assert (new_tokens[:, CODEC.prompt_len:] == MASK).all()
    moved = 0
    for row in range(len(items)):
        numbers, goal = CODEC.prompt_values(new_target[row])
        assert sorted(numbers) == sorted(items[row][0]["numbers"]) and goal == items[row][0]["target"]
        assert verify_countdown(",".join(map(str, (*numbers, goal))), CODEC.decode(new_target[row])).valid
        assert torch.equal(new_tokens[row, :CODEC.prompt_len], new_target[row, :CODEC.prompt_len])
        moved += numbers != items[row][0]["numbers"]
    assert moved > 150  # 23 of 24 orders differ from the original
    assert int((new_target == PAD).sum()) == int((target == PAD).sum())
