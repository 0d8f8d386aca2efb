"""Codecs: exact round trips, frozen givens, position ids, and decoding that never raises."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from puzzles.sudoku import SudokuShape, parse_sudoku
from solver.codecs import IGNORE, CodecError, CountdownCodec, SudokuCodec, codec_from_config

PUZZLE4 = "1.3..4.......3.1"
SOLUTION4 = "1234341221434321"


def test_sudoku_encode_frozen_and_target():
    codec = SudokuCodec(SudokuShape(2, 2))
    enc = codec.encode(PUZZLE4, SOLUTION4)
    assert enc.tokens.tolist()[:4] == [1, codec.mask_id, 3, codec.mask_id]
    assert enc.frozen.tolist() == [c != "." for c in PUZZLE4]
    assert codec.decode(enc.target) == SOLUTION4
    assert codec.decode(enc.tokens) == PUZZLE4
    assert torch.equal(enc.target[enc.frozen], enc.tokens[enc.frozen])
    no_answer = codec.encode(PUZZLE4)
    assert (no_answer.target[~no_answer.frozen] == IGNORE).all()
    assert codec.encode(parse_sudoku(PUZZLE4)).tokens.tolist() == enc.tokens.tolist()


def test_sudoku_rejects_bad_input():
    codec = SudokuCodec(SudokuShape(2, 2))
    with pytest.raises(CodecError, match="characters"):
        codec.encode("123")
    with pytest.raises(CodecError, match="given"):
        codec.encode(PUZZLE4, "2234341221434321")
    with pytest.raises(CodecError, match="not a digit"):
        codec.encode("1.3..4.......3.9")


@pytest.mark.parametrize("box_rows,box_cols", [(2, 2), (2, 3), (3, 3), (4, 4)])
def test_sudoku_positions_factored(box_rows, box_cols):
    shape = SudokuShape(box_rows, box_cols)
    pos = SudokuCodec(shape).positions()
    n = shape.n
    for cell in range(n * n):
        r, c = divmod(cell, n)
        assert (pos["row"][cell], pos["col"][cell], pos["box"][cell]) == (r, c, shape.box_of(r, c))


@settings(deadline=None, max_examples=50)
@given(st.lists(st.integers(-5, 30), min_size=0, max_size=100))
def test_decoders_never_raise(ids):
    sudoku = SudokuCodec(SudokuShape(3, 3))
    text = sudoku.decode(torch.tensor(ids, dtype=torch.long))
    assert len(text) == 81
    countdown = CountdownCodec(4, 16, 30)
    assert isinstance(countdown.decode(torch.tensor(ids, dtype=torch.long)), str)


@settings(deadline=None, max_examples=50)
@given(st.lists(st.integers(1, 9), min_size=81, max_size=81), st.lists(st.booleans(), min_size=81, max_size=81))
def test_sudoku_round_trip(digits, blanks):
    codec = SudokuCodec(SudokuShape(3, 3))
    line = "".join("." if b else str(d) for d, b in zip(digits, blanks))
    assert codec.decode(codec.encode_lines([line])[0]) == line


def test_countdown_round_trip_and_pad():
    codec = CountdownCodec(4, prompt_len=16, answer_len=24)
    enc = codec.encode("44,15,79,50", "44-15=29,79-29=50")
    assert codec.seq_len == 40 and enc.tokens.shape == (40,)
    assert enc.frozen[:16].all() and not enc.frozen[16:].any()
    assert (enc.tokens[16:] == codec.mask_id).all()
    assert codec.decode(enc.target) == "44-15=29,79-29=50"
    assert codec.decode_prompt(enc.tokens) == "44,15,79,50"
    assert (enc.target[16 + 17 :] == codec.pad_id).all()  # PAD is a learned answer token
    with pytest.raises(CodecError, match="more than"):
        codec.encode("44,15,79,50", "44-15=29,79-29=50,50*1=50,50*1=50")


def test_countdown_from_manifest_and_config():
    manifest = {"task": "countdown", "config": {"n_numbers": 3, "rules": "ml"},
                "stats": {"max_prompt_chars": 14, "max_answer_chars": 20}}
    codec = CountdownCodec.from_manifest(manifest)
    assert (codec.prompt_len, codec.answer_len, codec.n_numbers) == (14, 20, 3)
    again = codec_from_config(codec.to_config())
    assert again.to_config() == codec.to_config()
    sudoku = SudokuCodec(SudokuShape(2, 3))
    assert codec_from_config(sudoku.to_config()).seq_len == 36
    with pytest.raises(CodecError):
        codec_from_config({"task": "chess"})


def test_encode_batch_shapes():
    codec = SudokuCodec(SudokuShape(2, 2))
    tokens, frozen, target = codec.encode_batch([(PUZZLE4, SOLUTION4), PUZZLE4])
    assert tokens.shape == frozen.shape == target.shape == (2, 16)
    assert codec.verify(PUZZLE4, SOLUTION4) and not codec.verify(PUZZLE4, "1" * 16)
    assert not codec.verify(PUZZLE4, "garbage")
