"""The frame trace the app animates: an observer the sampler and the search call, never part of them.

`sample(..., observer=tracer)` calls `tracer.on_loop(...)` after every loop's readout and
`tracer.on_commit(...)` after every step's commit; `search(..., observer=tracer)` also
calls `tracer.on_backtrack(...)` when it undoes commits. `Tracer` keeps full-batch CPU
copies (small dtypes) as `Frame`s; `row_frames(frames, row)` turns one row's frames into
plain dicts for the app.

    tracer = Tracer(tokens, vocab_size)
    result = sample(model, tokens, frozen, options, observer=tracer)
    frames = row_frames(tracer.frames, 0)

To watch frames while a solve runs (the app streams them), wrap the call in `live(sink)`:
every Tracer made in that thread inside the block hands each frame to the sink as it is made.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

_live = threading.local()


@contextmanager
def live(sink: Callable[[str, Frame], None]) -> Iterator[None]:
    """Inside this block, in this thread, every `Tracer` created calls `sink(event, frame)` as it
    goes: event "frame" for each new frame, "commit" when a step's commit updates the last one
    (the same `Frame`, now showing the state after the commit). The sink runs in the solving
    thread, so it should copy what it keeps (`frame_record`); an exception it raises leaves the
    sampler, which is how a caller stops a solve early."""
    previous = getattr(_live, "sink", None)
    _live.sink = sink
    try:
        yield
    finally:
        _live.sink = previous


@dataclass
class Frame:
    """The state after one loop of one step, for the whole batch (CPU tensors, small dtypes).

    `tokens` (B,T) is the state before this step's commit, except in the last frame of a
    step, which shows it after; `committed` (B,T) marks the positions that frame committed.
    `predictions`/`confidence` (B,T) are the argmax and its probability (a row's latest
    readout; 1.0 at given and committed positions before any). `active` (B,) marks rows that
    ran this loop; `nfe` (B,) is each row's count of network passes so far. The search adds
    frames of the rows `active` in them: `kind` "decide" (`loop` -3) shows one decision
    committed per row; "backtrack" (`loop` -1) the state after a row undid commits, `reverted`
    (B,T) marking the positions cleared or changed; "propagate" (`loop` -2) positions committed
    because one legal token was left (`committed`). `backtracks` (B,) counts each row's
    backtracks so far.
    """

    step: int
    loop: int
    retry: int
    tokens: torch.Tensor
    predictions: torch.Tensor
    confidence: torch.Tensor
    committed: torch.Tensor
    active: torch.Tensor
    nfe: torch.Tensor
    reverted: torch.Tensor | None = None
    backtracks: torch.Tensor | None = None
    kind: str = "loop"


class Tracer:
    """Collects frames: full-batch CPU copies, predictions kept per row between readouts."""

    def __init__(self, tokens: torch.Tensor, vocab_size: int, retry: int = 0):
        self.dtype = torch.int8 if vocab_size <= 127 else torch.int16
        self.retry = retry
        self.predictions = tokens.cpu().to(self.dtype)
        self.confidence = torch.ones(tokens.shape, dtype=torch.float16)
        self.backtracks = torch.zeros(tokens.shape[0], dtype=torch.int32)
        self.frames: list[Frame] = []
        self.sink: Callable[[str, Frame], None] | None = getattr(_live, "sink", None)  # see `live`

    def _frame(self, step: int, loop: int, tokens, committed, active, nfe, reverted=None, kind="loop") -> Frame:
        frame = Frame(
            step=step,
            loop=loop,
            retry=self.retry,
            tokens=tokens.cpu().to(self.dtype),
            predictions=self.predictions.clone(),
            confidence=self.confidence.clone(),
            committed=committed.cpu().clone(),
            active=active,
            nfe=nfe.cpu().int(),
            reverted=reverted,
            backtracks=self.backtracks.clone(),
            kind=kind,
        )
        self.frames.append(frame)
        if self.sink is not None:
            self.sink("frame", frame)
        return frame

    def on_loop(self, step: int, loop: int, tokens: torch.Tensor, rows: torch.Tensor, logits: torch.Tensor, nfe: torch.Tensor) -> None:
        """After loop `loop` of step `step`: `rows` (N,) ran it and read out `logits` (N,T,V);
        `tokens` (B,T) is the batch's state, `nfe` (B,) each row's passes so far."""
        confidence, predictions = logits.float().softmax(-1).max(-1)
        rows = rows.cpu()
        self.predictions[rows] = predictions.cpu().to(self.dtype)
        self.confidence[rows] = confidence.cpu().half()
        active = torch.zeros(tokens.shape[0], dtype=torch.bool)
        active[rows] = True
        self._frame(step, loop, tokens, torch.zeros(tokens.shape, dtype=torch.bool), active, nfe)

    def on_commit(self, step: int, tokens: torch.Tensor, committed: torch.Tensor, nfe: torch.Tensor) -> None:
        """After step `step` committed `committed` (B,T): its last frame shows the new state."""
        last = self.frames[-1]
        last.tokens = tokens.cpu().to(self.dtype)
        last.committed = committed.cpu().clone()
        last.nfe = nfe.cpu().int()
        if self.sink is not None:
            self.sink("commit", last)

    def on_backtrack(self, step: int, row: int, tokens: torch.Tensor, reverted: torch.Tensor, nfe: torch.Tensor) -> None:
        """Row `row` undid commits: `tokens` (B,T) is the batch's state after the undo, `reverted`
        (T,) the positions cleared or changed."""
        self.backtracks[row] += 1
        self.predictions[row] = tokens[row].cpu().to(self.dtype)
        self.confidence[row] = 1.0
        active = torch.zeros(tokens.shape[0], dtype=torch.bool)
        active[row] = True
        mask = torch.zeros(tokens.shape, dtype=torch.bool)
        mask[row] = reverted.cpu()
        self._frame(step, -1, tokens, torch.zeros(tokens.shape, dtype=torch.bool), active, nfe, reverted=mask, kind="backtrack")

    def on_decide(self, step: int, rows: torch.Tensor, tokens: torch.Tensor, cells: torch.Tensor, nfe: torch.Tensor) -> None:
        """Batch rows `rows` (N,) each committed one search decision, at `cells` (N,T) bool."""
        rows = rows.cpu()
        active = torch.zeros(tokens.shape[0], dtype=torch.bool)
        active[rows] = True
        committed = torch.zeros(tokens.shape, dtype=torch.bool)
        committed[rows] = cells.cpu()
        self.predictions[rows] = torch.where(committed[rows], tokens[rows].cpu().to(self.dtype), self.predictions[rows])
        self._frame(step, -3, tokens, committed, active, nfe, kind="decide")

    def on_propagate(self, step: int, row: int, tokens: torch.Tensor, cells: torch.Tensor, nfe: torch.Tensor) -> None:
        """Row `row` committed `cells` (T,) bool without the network: one legal token was left there."""
        self.predictions[row] = torch.where(cells.cpu(), tokens[row].cpu().to(self.dtype), self.predictions[row])
        self.confidence[row] = torch.where(cells.cpu(), torch.ones((), dtype=torch.float16), self.confidence[row])
        active = torch.zeros(tokens.shape[0], dtype=torch.bool)
        active[row] = True
        committed = torch.zeros(tokens.shape, dtype=torch.bool)
        committed[row] = cells.cpu()
        self._frame(step, -2, tokens, committed, active, nfe, kind="propagate")


def row_frames(frames: list[Frame], row: int) -> list[dict]:
    """One row's frames as plain dicts (step, loop, retry, tokens, predictions, confidence,
    committed as (T,) lists; nfe and backtracks ints; a backtrack frame, loop -1, also has
    `reverted`; kind "loop", "backtrack" or "propagate"), keeping only the loops that row ran;
    each step's commit is shown in that row's last frame of the step."""
    out: list[dict] = []
    for i, frame in enumerate(frames):
        if frame.kind != "loop":  # a search frame: only the row that made it
            if bool(frame.active[row]):
                out.append(frame_record(frame, row))
            continue
        following = frames[i + 1] if i + 1 < len(frames) else None
        step_ends = following is None or following.kind != "loop" or (following.step, following.retry) != (frame.step, frame.retry)
        if not bool(frame.active[row]) and not step_ends:
            continue
        record = frame_record(frame, row)
        if step_ends:
            if not any(record["committed"]) and not bool(frame.active[row]):
                continue  # the row did not run this step
            same_step = out and out[-1]["kind"] == "loop" and (out[-1]["step"], out[-1]["retry"]) == (frame.step, frame.retry)
            if not bool(frame.active[row]) and same_step:
                record["loop"] = out.pop()["loop"]  # the row stopped looping early: its last loop commits
        out.append(record)
    return out


def frame_record(frame: Frame, row: int) -> dict:
    """One row of one frame as a plain dict (the fields `row_frames` lists; `reverted` where the frame has it)."""
    record = {
        "step": frame.step,
        "loop": frame.loop,
        "retry": frame.retry,
        "tokens": frame.tokens[row].tolist(),
        "predictions": frame.predictions[row].tolist(),
        "confidence": [round(float(c), 4) for c in frame.confidence[row]],
        "committed": frame.committed[row].tolist(),
        "nfe": int(frame.nfe[row]),
        "backtracks": int(frame.backtracks[row]) if frame.backtracks is not None else 0,
        "kind": frame.kind,
    }
    if frame.reverted is not None:
        record["reverted"] = frame.reverted[row].tolist()
    return record
