"""What the app shows at one moment of a solve: plain data built from sampler frames.

The sampler's trace (`solver.sampler.Frame`, or the per-puzzle frames of
`solver.inference.solve_one`) holds token ids; the app turns each frame into a
`View` of characters, one per answer position, so the renderer needs no codec and
the exact solver can produce the same kind of views. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

MASK = "."  # a position still masked in `View.cells`
PAD = "_"  # a padding token (Countdown answers); no puzzle text uses it


@dataclass(frozen=True)
class View:
    """One frame of an animation, over the answer positions only.

    `cells[i]` is the committed character at answer position i (MASK while masked);
    `guesses[i]` the model's current best character there and `confidence[i]` its
    probability; `committed[i]` is True where position i was committed at this frame.
    step/loop/retry are 0-based; `steps`/`loops` are the totals of the run (None if unknown).
    A search's frames also have `kind` "backtrack" (`reverted[i]`: position i was undone) or
    "propagate" (committed because only one digit was left), and `backtracks` so far.
    """

    cells: str
    guesses: str = ""
    confidence: tuple[float, ...] = ()
    committed: tuple[bool, ...] = ()
    step: int = 0
    loop: int = 0
    retry: int = 0
    nfe: int = 0
    steps: int | None = None
    loops: int | None = None
    label: str = ""  # overrides the step/loop caption ("puzzle", "exact solver", ...)
    kind: str = "loop"  # "loop", or a search's "backtrack" / "propagate"
    reverted: tuple[bool, ...] = ()
    backtracks: int = 0
    computed: tuple[bool, ...] = ()  # filled without the network so far: one legal token was left (Countdown: the calculator)
    text: str = ""  # the answer as the codec reads it at this frame, where that is not `cells` (Countdown steps)

    @property
    def masked(self) -> int:
        return self.cells.count(MASK)


@dataclass
class Run:
    """A finished solve as the app keeps it in gr.State, to scrub and replay."""

    task: str  # "sudoku" | "countdown"
    puzzle: str  # Sudoku: the one-line puzzle; Countdown: "n1,n2,...,target"
    frames: list[View] = field(default_factory=list)
    shape: tuple[int, int] = (0, 0)  # Sudoku (box_rows, box_cols)
    marks: dict[int, frozenset[int]] = field(default_factory=dict)  # frame -> positions to mark red
    solved: set[int] = field(default_factory=set)  # frames whose answer the verifier accepts
    notes: dict[int, str] = field(default_factory=dict)  # frame -> the verifier's complaint
    verdict_html: str = ""
    unit: str = ""  # what one answer position is, for the verdicts ("" : cell for Sudoku, character for Countdown)

    def retry_ends(self) -> list[int]:
        """Index of the last frame of each retry, in order."""
        ends = [i for i in range(len(self.frames) - 1) if self.frames[i + 1].retry != self.frames[i].retry]
        return ends + [len(self.frames) - 1] if self.frames else []


def frame_field(frame: Any, name: str, default: Any = None) -> Any:
    """A field of a sampler frame, whether it is a dataclass or a dict."""
    if isinstance(frame, dict):
        return frame.get(name, default)
    return getattr(frame, name, default)


def _row(values: Any) -> list:
    """A (T,) sequence as a list: accepts lists, numpy arrays and (1, T) or (T,) tensors."""
    if values is None:
        return []
    if hasattr(values, "detach"):
        values = values.detach().cpu()
    if hasattr(values, "tolist"):
        values = values.tolist()
    values = list(values)
    if values and isinstance(values[0], (list, tuple)):
        values = list(values[0])  # a batch of one
    return values


def views_from_trace(
    frames: Iterable[Any],
    token_chars: Callable[[Sequence[int]], str],
    positions: Sequence[int] | None = None,
    steps: int | None = None,
    loops: int | None = None,
    decode: Callable[[Sequence[int]], str] | None = None,
) -> list[View]:
    """Sampler frames -> views over the answer positions.

    `token_chars(ids)` maps token ids to one character each (MASK for the mask token);
    `decode(ids)`, when given, reads a frame's whole token row as answer text (`View.text`);
    `positions` picks the answer positions out of the sequence (all when None).
    The per-retry step total is taken from the trace when `steps` is None.
    """
    frames = list(frames)
    max_step: dict[int, int] = {}
    for fr in frames:
        retry = int(frame_field(fr, "retry", 0) or 0)
        max_step[retry] = max(max_step.get(retry, 0), int(frame_field(fr, "step", 0) or 0))
    views = []
    computed: list[bool] = []  # per answer position: filled by propagation and still standing
    last_retry = None
    for fr in frames:
        tokens = _row(frame_field(fr, "tokens"))
        preds = _row(frame_field(fr, "predictions"))
        conf = _row(frame_field(fr, "confidence"))
        comm = _row(frame_field(fr, "committed"))
        idx = list(positions) if positions is not None else list(range(len(tokens)))
        retry = int(frame_field(fr, "retry", 0) or 0)
        reverted = _row(frame_field(fr, "reverted"))
        cells = token_chars([tokens[i] for i in idx])
        if retry != last_retry or len(computed) != len(idx):
            computed, last_retry = [False] * len(idx), retry
        forced = str(frame_field(fr, "kind", "loop") or "loop") == "propagate"
        computed = [(was or (forced and bool(comm and comm[i]))) and cells[k] != MASK
                    for k, (i, was) in enumerate(zip(idx, computed))]
        views.append(
            View(
                cells=cells,
                guesses=token_chars([preds[i] for i in idx]) if preds else "",
                confidence=tuple(float(conf[i]) for i in idx) if conf else (),
                committed=tuple(bool(comm[i]) for i in idx) if comm else (),
                step=int(frame_field(fr, "step", 0) or 0),
                loop=int(frame_field(fr, "loop", 0) or 0),
                retry=retry,
                nfe=int(frame_field(fr, "nfe", 0) or 0),
                steps=steps if steps is not None else max_step.get(retry, 0) + 1,
                loops=loops,
                kind=str(frame_field(fr, "kind", "loop") or "loop"),
                reverted=tuple(bool(reverted[i]) for i in idx) if reverted else (),
                backtracks=int(frame_field(fr, "backtracks", 0) or 0),
                computed=tuple(computed) if any(computed) else (),
                text=decode(tokens) if decode is not None else "",
            )
        )
    return views


def reveal_views(start: str, answer: str, label: str, nfe: int = 0) -> list[View]:
    """Two frames for an answer that arrives whole (the exact solver): the start, then the answer."""
    return [View(cells=start, label="puzzle"), View(cells=answer, label=label, nfe=nfe)]


def pick_for_stream(count: int, limit: int) -> list[int]:
    """Indices of at most `limit` frames spread evenly over `count`, always keeping the last."""
    if count <= limit:
        return list(range(count))
    stride = count / limit
    return sorted({int(i * stride) for i in range(limit)} | {count - 1})
