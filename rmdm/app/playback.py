"""Running the model for the app, bounding its work, and playing a run back frame by frame.

`run_model` calls the one sampler entry point (`solver.inference.solve_one`) with a trace
and turns its frames into `View`s; `playback` yields them at a watchable pace. `solve_live`
runs `run_model` in a worker thread and shows its frames while it works (`LiveSolve`, through
`solver.trace.live`), then plays the rest of the finished run; `stopped` says what a frozen
frame shows.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from solver.sampler import POLICIES

from . import render
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


class ViewMaker:
    """Turns one puzzle's sampler frames (dicts, `solver.trace.row_frames`) into `View`s over
    its answer positions: the same reading for a finished trace and for frames as they arrive."""

    def __init__(self, loaded: Any, instance: Any, settings: SolveSettings):
        codec = loaded.codec
        frozen = [bool(x) for x in codec.encode(instance).frozen.tolist()]
        self.positions = None if codec.task == "sudoku" else [i for i, f in enumerate(frozen) if not f]
        self.to_answer = sum(1 for f in frozen if not f)  # positions the model fills
        self.chars = token_chars(codec)
        self.loops = Limits.loops_for(settings, loaded) if not settings.adaptive else None
        self.decode = (lambda ids: codec.decode(ids)) if getattr(codec, "format", None) == "steps" else None

    def views(self, frames: list[dict], steps: int | None = None) -> list[View]:
        """`steps` None: each retry's step count read from the frames; 0: not known yet."""
        return views_from_trace(frames, self.chars, self.positions, steps=steps, loops=self.loops, decode=self.decode)


def sample_options(settings: SolveSettings, limits: Limits) -> Any:
    from solver.guided import default_steps
    from solver.sampler import SampleOptions

    return SampleOptions(
        steps=default_steps(settings.steps, settings.decoding == "search"),
        loops=settings.loops or None,
        policy=settings.policy,
        adaptive=settings.adaptive,
        seed=settings.seed,
        trace=True,
        **limits.search_options(settings),
    )


def run_model(loaded: Any, instance: Any, settings: SolveSettings, limits: Limits = Limits()) -> ModelOutcome:
    """Solve one puzzle with the sampler's trace on; frames cover the answer positions only."""
    from solver.inference import solve_one

    started = time.perf_counter()
    outcome = solve_one(loaded, instance, sample_options(settings, limits), retries=settings.retries)
    seconds = time.perf_counter() - started
    views = ViewMaker(loaded, instance, settings).views(outcome.frames or [])
    return ModelOutcome(views, str(outcome.answer), int(outcome.nfe), seconds, outcome.mode, int(outcome.backtracks))


class _Stopped(Exception):
    """Raised in the solving thread once nobody is watching: ends the sampler early."""


class LiveSolve:
    """`run_model` in a worker thread that hands over each frame as the sampler makes it.

    `events(timeout)` returns what arrived since the last call, waiting up to `timeout` for
    the first: ("frame", record) for a new frame, ("commit", record) when a step's commit
    updates the last one, then ("done", ModelOutcome) or ("error", exception). `stop()` ends
    the solve at its next frame (a closed request: Stop, a closed tab, the time limit), so no
    worker keeps computing for nobody. The request's bounds are `run_model`'s: `Limits` has
    checked the settings and a search gets the app's budget."""

    def __init__(self, loaded: Any, instance: Any, settings: SolveSettings, limits: Limits = Limits()):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._work, args=(loaded, instance, settings, limits), name="rmdm-app-solve", daemon=True
        )
        self._thread.start()

    def _sink(self, event: str, frame: Any) -> None:
        from solver.trace import frame_record

        if self._stop.is_set():
            raise _Stopped
        self._queue.put((event, frame_record(frame, 0)))  # the app solves one puzzle: row 0

    def _work(self, loaded: Any, instance: Any, settings: SolveSettings, limits: Limits) -> None:
        from solver.trace import live

        try:
            with live(self._sink):
                outcome = run_model(loaded, instance, settings, limits)
        except _Stopped:
            self._queue.put(("stopped", None))
        except BaseException as err:  # noqa: BLE001 - handed to the request, which reports it
            self._queue.put(("error", err))
        else:
            self._queue.put(("done", outcome))

    def events(self, timeout: float | None) -> list[tuple[str, Any]]:
        try:
            got = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                got.append(self._queue.get_nowait())
            except queue.Empty:
                return got

    def stop(self) -> None:
        self._stop.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


LIVE_INTERVAL = 0.1  # "instant": the newest frame at most this often while the model works
LIVE_SLOW_INTERVAL = 1.0  # once STREAM_FRAMES were sent live, at most one frame a second
LIVE_POLL = 0.25  # longest wait for the worker without looking again


def planned_frames(settings: SolveSettings, positions: int, loaded: Any) -> int | None:
    """About how many frames the first attempt makes (steps x loops), or None (a search)."""
    if settings.decoding == "search":
        return None
    return (settings.steps or positions) * Limits.loops_for(settings, loaded)


def solving_verdict(view: View | None) -> str:
    if view is None:
        return render.verdict_box("info", "The model is solving: its first frame is on its way...")
    attempt = f"attempt {view.retry + 1}, " if view.retry else ""
    return render.verdict_box("info", f"The model is solving: {attempt}step {view.step + 1}, NFE {view.nfe} so far...")


class _RunningCounts:
    """Live frames -> views, their NFE and backtracks counted over the whole run as the finished
    trace counts them (each attempt's tracer starts again from zero)."""

    def __init__(self, maker: ViewMaker):
        self.maker = maker
        self.retry, self.base, self.latest = 0, (0, 0), (0, 0)

    def view(self, record: dict) -> View:
        if record["retry"] != self.retry:  # a new attempt: add what the previous one spent
            self.retry = record["retry"]
            self.base = (self.base[0] + self.latest[0], self.base[1] + self.latest[1])
        self.latest = (record["nfe"], record["backtracks"])
        record = record | {"nfe": record["nfe"] + self.base[0], "backtracks": record["backtracks"] + self.base[1]}
        return self.maker.views([record], steps=0)[0]


def solve_live(
    loaded: Any,
    instance: Any,
    settings: SolveSettings,
    limits: Limits,
    speed: str,
    live_run: Run,
    show: Callable[[Run, int], tuple[str, str]],
    finish: Callable[[ModelOutcome], Run],
) -> Iterator[tuple[str, str, str, int, Run]]:
    """Solve in a worker thread and show the frames as they arrive, at the chosen speed's pace
    (or, the model being slower, as soon as each arrives; "instant": the newest, ten a second);
    then `finish(outcome)` judges the whole run and the frames not yet shown play at the same
    pace, the last with the verdict. `live_run` (task, puzzle, shape) collects the live frames:
    it is the state while the model works, so Stop and the slider see them."""
    total, longest = SPEEDS.get(speed, SPEEDS["normal"])
    maker = ViewMaker(loaded, instance, settings)
    planned = planned_frames(settings, maker.to_answer, loaded)
    if total > 0:
        expected = min(planned or STREAM_FRAMES, STREAM_FRAMES)
        pace, stride = min(longest, total / max(1, expected)), max(1, round((planned or 0) / STREAM_FRAMES))
    else:
        pace, stride = LIVE_INTERVAL, math.inf  # the newest frame
    views, counts = live_run.frames, _RunningCounts(maker)
    solve = LiveSolve(loaded, instance, settings, limits)
    shown, sent, due = -1, 0, 0.0
    outcome = None
    try:
        board, caption = show(live_run, 0)
        yield board, caption, solving_verdict(None), 0, live_run
        while outcome is None:
            behind = shown < len(views) - 1
            wait = max(0.0, due - time.monotonic()) if behind else LIVE_POLL
            for event, payload in solve.events(min(wait, LIVE_POLL)):
                if event == "frame":
                    views.append(counts.view(payload))
                elif event == "commit" and views:
                    views[-1] = counts.view(payload)
                    if shown == len(views) - 1:
                        shown -= 1  # shown before its commit: show it again
                elif event == "done":
                    outcome = payload
                elif event == "error":
                    raise payload
                elif event == "stopped":
                    return
            if outcome is not None or shown >= len(views) - 1 or time.monotonic() < due:
                continue
            shown = int(min(len(views) - 1, shown + stride))
            board, caption = show(live_run, shown)
            yield board, caption, solving_verdict(views[shown]), shown, live_run
            sent += 1
            due = time.monotonic() + (pace if sent < STREAM_FRAMES else LIVE_SLOW_INTERVAL)
    finally:
        solve.stop()
    run = finish(outcome)
    start = min(shown + 1, len(run.frames) - 1) if shown >= 0 else 0
    left = max(0.0, due - time.monotonic())
    if left and total > 0:
        time.sleep(left)  # keep the pace across the hand-over
    yield from playback(run, speed, lambda i: show(run, i), start=max(0, start), sent=sent)


def stopped(run: Run | None, index: int | float | None, show: Callable[[Run, int], tuple[str, str]]) -> tuple[str, str, str] | None:
    """(board, caption, verdict) after Stop, all three about the frame the slider is on: the
    run's verdict on its last frame, else where it stopped and what is still masked, claiming
    nothing about red cells that frame does not show. None when there is nothing to stop."""
    return _frame_with_verdict(run, index, show, stopped=True)


def scrubbed(run: Run | None, index: int | float | None, show: Callable[[Run, int], tuple[str, str]]) -> tuple[str, str, str] | None:
    """(board, caption, verdict) of the frame the slider was dragged to: the verdict follows the
    board as Stop's does (the run's verdict on the last frame only). None when there is no run."""
    return _frame_with_verdict(run, index, show, stopped=False)


def _frame_with_verdict(run: Run | None, index: Any, show: Callable[[Run, int], tuple[str, str]], stopped: bool):
    if run is None:
        return None
    if not run.frames:
        said = "Stopped before the model's first frame." if stopped else "No frame yet."
        return show(run, 0) + (render.verdict_box("warn" if stopped else "info", said, state="stopped" if stopped else None),)
    last = len(run.frames) - 1
    i = max(0, min(last, int(index or 0)))
    board, caption = show(run, i)
    if i == last and run.verdict_html:
        return board, caption, run.verdict_html
    view = run.frames[i]
    sudoku = run.task == "sudoku"
    total = run.puzzle.count(MASK) if sudoku else len(view.cells)
    noun = run.unit or ("cell" if sudoku else "character")
    if view.label:  # a run that arrived whole (the exact solver): its frames have names, not steps
        where = f"frame {i + 1} of {last + 1} ({view.label})"
    else:
        where = f"step {view.step + 1}" + (f" of {view.steps}" if view.steps else "")
        if view.retry:
            where += f" of attempt {view.retry + 1}"
        if not stopped:
            where = f"frame {i + 1} of {last + 1}, {where}"
    masked = f"{view.masked} of {total} {noun}{'' if total == 1 else 's'} still masked"
    title = f"Stopped at {where}: {masked}." if stopped else f"{where[0].upper()}{where[1:]}: {masked}."
    details = []
    if run.marks.get(i):
        what = "the clashing cells are" if sudoku else "the step it rejects is"
        details.append(f"This frame ends an attempt the verifier rejected: {what} marked in red.")
    if run.verdict_html:
        details.append("The model finished: drag the slider to the last frame" + (", or press Replay," if stopped else "")
                       + " for the verifier's verdict.")
    elif stopped:
        details.append("The model was stopped before it finished: solve again to see the rest.")
    else:
        details.append("The model has not finished.")
    kind, state = ("warn", "stopped") if stopped else ("info", None)
    return board, caption, render.verdict_box(kind, title, details, state=state)


def playback(
    run: Run, speed: str, frame: Callable[[int], tuple[str, str]], start: int = 0, sent: int = 0
) -> Iterator[tuple[str, str, str, int, Run]]:
    """Yield (board, caption, verdict, frame index, run) for each shown frame from `start` on,
    pausing between them at the pace of the whole run; the last yield carries the run's verdict.
    `sent`: frames already sent (live), counted against STREAM_FRAMES."""
    total, longest = SPEEDS.get(speed, SPEEDS["normal"])
    count = len(run.frames)
    if not count:  # nothing to animate: the verdict alone
        yield *frame(0), run.verdict_html, 0, run
        return
    start = max(0, min(start, count - 1))
    pause = min(longest, total / max(1, min(count, STREAM_FRAMES)))
    rest = pick_for_stream(count - start, max(1, STREAM_FRAMES - sent))
    shown = [start + i for i in rest] if total > 0 else [count - 1]
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
