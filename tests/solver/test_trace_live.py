"""solver.trace.live: a sink sees each frame while the sampler runs (the app streams them), an
exception from it ends the solve, and outside the block no tracer calls it."""

from __future__ import annotations

import pytest
import torch

from solver.sampler import SampleOptions, sample
from solver.trace import Tracer, frame_record, live, row_frames

from .fake_models import FakeDenoiser, masked_batch


def _solve(tracer_box: list, steps: int = 4):
    model = FakeDenoiser(vocab_size=10, seq_len=12, loops=2)
    tokens, frozen = masked_batch(1, 12, seed=3)
    tracer = Tracer(tokens, model.config.vocab_size)
    tracer_box.append(tracer)
    return sample(model, tokens, frozen, SampleOptions(steps=steps), observer=tracer)


def test_the_sink_sees_every_frame_as_it_is_made_and_each_commit():
    seen, tracers = [], []

    def sink(event, frame):
        seen.append((event, frame_record(frame, 0), len(tracers[0].frames) if tracers else None))

    with live(sink):
        _solve(tracers)
    frames = tracers[0].frames
    made = [record for event, record, _ in seen if event == "frame"]
    assert len(made) == len(frames) == 4 * 2  # steps x loops, each handed over once
    assert [n for event, _, n in seen if event == "frame"] == list(range(1, len(frames) + 1))  # at once, in order
    assert [event for event, _, _ in seen].count("commit") == 4  # one per step, after its last loop
    # the frame records, with each commit applied, are what row_frames gives after the solve
    latest: list[dict] = []
    for event, record, _ in seen:
        if event == "frame":
            latest.append(record)
        else:
            latest[-1] = record
    assert latest == row_frames(frames, 0)


def test_an_exception_from_the_sink_stops_the_sampler_and_the_scope_ends():
    class Enough(Exception):
        pass

    calls, tracers = [], []

    def sink(event, frame):
        calls.append(event)
        if len(calls) == 3:
            raise Enough

    with live(sink), pytest.raises(Enough):
        _solve(tracers)
    assert len(calls) == 3 and len(tracers[0].frames) <= 3
    outside = Tracer(torch.zeros(1, 4, dtype=torch.long), 10)
    assert outside.sink is None  # the block is over: nothing streams
