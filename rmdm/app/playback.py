"""Running the model for the app, bounding its work, and playing a run back frame by frame.

`run_model` calls the one sampler entry point (`solver.inference.solve_one`) with a trace
and turns its frames into `View`s; `playback` yields them at a watchable pace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from solver.sampler import POLICIES

from .frames import MASK, PAD, Run, View, pick_for_stream, views_from_trace

# name -> (seconds the whole animation should take, longest pause between two frames)
SPEEDS: dict[str, tuple[float, float]] = {
    "slow": (24.0, 0.6),
    "normal": (10.0, 0.25),
    "fast": (4.0, 0.08),
    "instant": (0.0, 0.0),
}
STREAM_FRAMES = 240  # at most this many frames are sent while playing; all are kept to scrub


@dataclass(frozen=True)
class SolveSettings:
    """The model controls of the UI. 0 steps = one position per step; 0 loops = as trained."""

    steps: int = 0
    loops: int = 0
    adaptive: bool = False
    policy: str = "top_prob"
    retries: int = 0
    seed: int = 0
    decoding: str = "plain"  # one of DECODINGS


DECODINGS = ("plain", "constrained", "search")  # search: backtracking with the verifier in the loop (Sudoku)


@dataclass(frozen=True)
class Limits:
    """Caps on the work of one request, so no click can hold a worker for long."""

    max_passes: int = 4000  # steps x loops x attempts, counted in core passes; a search's whole budget
    max_retries: int = 5
    max_loops: int = 32
    max_search_nodes: int = 20_000  # a search's commits, forced ones and backtracks included

    def check(self, settings: SolveSettings, positions: int, loaded: Any) -> str | None:
        """Why these settings are refused, or None. `positions` = answer positions to fill."""
        if settings.policy not in POLICIES:
            return f"Unknown unmasking policy {settings.policy!r} (choose one of {', '.join(POLICIES)})."
        for name in ("steps", "loops", "retries"):
            if getattr(settings, name) < 0:
                return f"{name} cannot be negative."
        if settings.decoding not in DECODINGS:
            return f"Unknown decoding {settings.decoding!r} (choose one of {', '.join(DECODINGS)})."
        if settings.decoding == "search" and settings.retries:
            return "A search already backtracks where the verifier objects: use retries with plain or constrained decoding."
        if settings.retries > self.max_retries:
            return f"At most {self.max_retries} retries per request."
        steps = settings.steps or positions
        if steps > positions:
            return f"{steps} steps is more than the {positions} positions to fill: use at most {positions}."
        cap = self.loop_cap(loaded)
        if settings.loops > cap:
            return f"This model runs at most {cap} loops per step."
        if settings.decoding == "search":
            return None  # bounded by search_options: every pass, backtracks included, counts
        loops = self.loops_for(settings, loaded)
        passes = steps * loops * (settings.retries + 1)  # adaptive: at most this, its cap is the same count
        if passes > self.max_passes:
            return (
                f"That is {steps} steps x {loops} loops x {settings.retries + 1} attempts = {passes} passes, "
                f"over this app's limit of {self.max_passes} per request: lower steps, loops or retries."
            )
        return None

    def loop_cap(self, loaded: Any) -> int:
        """The most loops per step a request may ask of this model: its trained count, or its
        max_loops when it has no loop embedding (solver.sampler.supported_loops)."""
        from solver.sampler import supported_loops

        return min(self.max_loops, supported_loops(loaded.model))

    def search_options(self, settings: SolveSettings) -> dict[str, Any]:
        """SampleOptions fields for the decoding mode; a search gets this app's whole budget."""
        from solver.guided import decoding_options

        if settings.decoding == "search":
            return decoding_options("search", self.max_passes) | {"search_nodes": self.max_search_nodes}
        return decoding_options(settings.decoding)

    @staticmethod
    def loops_for(settings: SolveSettings, loaded: Any) -> int:
        """Loops per step of a fixed-loop run, or the cap of an adaptive one: as asked, else as trained."""
        return settings.loops or int(getattr(loaded.model.config, "loops", 1) or 1)


@dataclass
class ModelOutcome:
    views: list[View]
    answer: str  # the codec's decoding of the final answer (Sudoku: one line; Countdown: steps)
    nfe: int
    seconds: float
    mode: str = "plain"  # how it was decoded (solver.guided.decoding_mode)
    backtracks: int = 0


def token_chars(codec: Any) -> Callable[[list[int]], str]:
    """ids -> one character per id: MASK as '.', PAD as '_'. Sudoku decodes whole grids; a
    character-level codec (Countdown) is read one id at a time through its own `decode`."""
    import torch

    if getattr(codec, "task", None) == "sudoku":
        return lambda ids: codec.decode(torch.as_tensor(ids, dtype=torch.long))
    if hasattr(codec, "token_label"):  # the step codec labels its own ids (references as ①, ❶)
        labels = {token: codec.token_label(token) for token in range(codec.vocab_size)}
        labels[int(codec.mask_id)], labels[int(codec.pad_id)] = MASK, PAD
        return lambda ids: "".join(labels.get(int(i), "?") for i in ids)
    table = {}
    prompt = [codec.pad_id] * getattr(codec, "prompt_len", 0)
    for token in range(codec.vocab_size):
        text = codec.decode(prompt + [token])
        table[token] = text[:1] if text else "?"
    table[int(codec.mask_id)] = MASK
    if codec.pad_id is not None:
        table[int(codec.pad_id)] = PAD
    return lambda ids: "".join(table.get(int(i), "?") for i in ids)


def run_model(loaded: Any, instance: Any, settings: SolveSettings, limits: Limits = Limits()) -> ModelOutcome:
    """Solve one puzzle with the sampler's trace on; frames cover the answer positions only."""
    from solver.guided import default_steps
    from solver.inference import solve_one
    from solver.sampler import SampleOptions

    codec = loaded.codec
    options = SampleOptions(
        steps=default_steps(settings.steps, settings.decoding == "search"),
        loops=settings.loops or None,
        policy=settings.policy,
        adaptive=settings.adaptive,
        seed=settings.seed,
        trace=True,
        **limits.search_options(settings),
    )
    started = time.perf_counter()
    outcome = solve_one(loaded, instance, options, retries=settings.retries)
    seconds = time.perf_counter() - started
    encoded = codec.encode(instance)
    frozen = [bool(x) for x in encoded.frozen.tolist()]
    positions = None if codec.task == "sudoku" else [i for i, f in enumerate(frozen) if not f]
    chars = token_chars(codec)
    loops = Limits.loops_for(settings, loaded) if not settings.adaptive else None
    decode = (lambda ids: codec.decode(ids)) if getattr(codec, "format", None) == "steps" else None
    views = views_from_trace(outcome.frames or [], chars, positions, loops=loops, decode=decode)
    return ModelOutcome(views, str(outcome.answer), int(outcome.nfe), seconds, outcome.mode, int(outcome.backtracks))


def playback(
    run: Run, speed: str, frame: Callable[[int], tuple[str, str]]
) -> Iterator[tuple[str, str, str, int, Run]]:
    """Yield (board, caption, verdict, frame index, run) for each shown frame, pausing between them;
    the last yield carries the run's verdict."""
    total, longest = SPEEDS.get(speed, SPEEDS["normal"])
    count = len(run.frames)
    shown = pick_for_stream(count, STREAM_FRAMES) if total > 0 else [count - 1]
    pause = min(longest, total / max(1, len(shown)))
    playing = "<div class='rmdm-verdict info'><b>Playing the model's trace...</b></div>"
    for k, i in enumerate(shown):
        last = k == len(shown) - 1
        board, caption = frame(i)
        yield board, caption, run.verdict_html if last else playing, i, run
        if not last and pause:
            time.sleep(pause)


def replay(run: Run | None, speed: str, frame: Callable[[int], tuple[str, str]]) -> Iterator[tuple]:
    """Play a finished run again, without solving anew."""
    if run is None or not run.frames:
        note = "<div class='rmdm-verdict warn'><b>Nothing to replay yet: solve one first.</b></div>"
        yield "", "", note, 0, None
        return
    yield from playback(run, speed, frame)
