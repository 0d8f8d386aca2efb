"""Solving with a trained model: the entry points of `rmdm solve --method model` and of the app.

`solve_instances(task, instances, args)` solves many puzzles in batches with the bundled
model for their size (`sudoku<n>`, `countdown<k>`) or `args.checkpoint`;
`solve_one(loaded, input, options)` solves one puzzle for the app, with a trace if asked.
Both go through `guided.solve_guided`, so retries and best-of-N work the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .guided import Outcome, as_task_input, default_steps, solve_guided
from .sampler import SampleOptions


class InferenceError(ValueError):
    """A request the models at hand cannot serve (no bundled model for that size, wrong task)."""


def _describe(task: str, size: int) -> str:
    return f"{size}x{size} Sudoku" if task == "sudoku" else f"Countdown with {size} numbers"


def instance_size(task: str, task_input: Any) -> int:
    """Sudoku: the side n; Countdown: how many numbers."""
    return int(task_input.shape.n) if task == "sudoku" else len(task_input.numbers)


def codec_size(codec: Any) -> int:
    return int(codec.shape.n) if codec.task == "sudoku" else int(codec.n_numbers)


def default_checkpoint(task: str, size: int) -> str:
    """The bundled checkpoint for puzzles of this size; InferenceError when none is bundled."""
    from .checkpoint import list_checkpoints

    name = f"{task}{size}"
    bundled = list(list_checkpoints())
    if name not in bundled:
        have = ", ".join(sorted(bundled)) or "none"
        raise InferenceError(
            f"no bundled model for {_describe(task, size)} (bundled: {have}); "
            f"train one with `rmdm train` and pass --checkpoint DIR"
        )
    return name


def resolve_device(device: str | None) -> str:
    """'auto' (or None) picks CUDA when present; a device torch cannot use here is an InferenceError."""
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(str(device)).type
    except RuntimeError as err:
        raise InferenceError(f"unknown device {device!r} ({err})") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise InferenceError(f"device {device!r}: CUDA is not available on this machine (use cpu or auto)")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise InferenceError(f"device {device!r}: MPS is not available on this machine (use cpu or auto)")
    return str(device)


def check_compatible(loaded: Any, task: str, task_input: Any) -> None:
    """InferenceError unless the loaded model solves this kind and size of puzzle."""
    codec = loaded.codec
    name = getattr(loaded, "name", None) or getattr(loaded, "path", "the model")
    if codec.task != task:
        raise InferenceError(f"checkpoint {name} solves {codec.task}, not {task}")
    have, want = codec_size(codec), instance_size(task, task_input)
    if have != want:
        raise InferenceError(f"checkpoint {name} solves {_describe(task, have)}, not {_describe(task, want)}")
    if task == "sudoku" and task_input.shape != codec.shape:
        raise InferenceError(f"checkpoint {name} solves {codec.shape} grids, not {task_input.shape}")


def options_from_args(args: Any) -> tuple[SampleOptions, int, int]:
    """(options, retries, samples) from parsed `rmdm solve`/`rmdm eval`-style flags; 0 steps or
    loops mean the default (one position per step; the trained loop count)."""
    if isinstance(args, SampleOptions):
        return args, 0, 1
    get = lambda name, default=None: getattr(args, name, default)  # noqa: E731
    retry = get("retry_temperature")
    search = bool(get("search", False))
    options = SampleOptions(
        steps=default_steps(get("steps"), search),
        loops=get("loops") or None,
        policy=get("policy") or "top_prob",
        temperature=float(get("temperature") or 0.0),
        **({"retry_temperature": float(retry)} if retry is not None else {}),
        adaptive=bool(get("adaptive", False)),
        seed=int(get("seed") or 0),
        constrain=bool(get("constrain", False)),
        search=search,
        search_nfe=get("search_nfe"),
        search_nodes=get("search_nodes"),
        # the flags add_sampler_flags declares; an args object without them keeps SampleOptions' defaults
        **{name: get(name) for name in ("adaptive_on", "adaptive_threshold", "untrained_loops") if get(name) is not None},
    )
    return options, int(get("retries") or 0), int(get("samples") or 1)


def solve_batches(
    loaded: Any,
    inputs: Sequence[Any],
    options: SampleOptions,
    retries: int = 0,
    samples: int = 1,
    batch_size: int = 64,
    on_batch: Callable[[int], None] | None = None,
    timings: list[tuple[int, int, float]] | None = None,
) -> list[Outcome]:
    """solve_guided over `inputs` in batches of `batch_size`; `on_batch(n)` after each
    (progress); `timings` collects every batched pass (see solve_guided)."""
    outcomes: list[Outcome] = []
    for start in range(0, len(inputs), max(1, batch_size)):
        chunk = list(inputs[start : start + batch_size])
        outcomes += solve_guided(
            loaded.model, loaded.codec, chunk, options, retries=retries, samples=samples, timings=timings
        )
        if on_batch is not None:
            on_batch(len(chunk))
    return outcomes


@dataclass(frozen=True)
class Answer:
    """One instance's result on the model path: the model's answer (None when it has none) and
    whether the verifier accepts it, or `error`: why no model could take this instance."""

    answer: str | None
    valid: bool = False
    error: str | None = None


def admit(loaded: Any, task: str, task_input: Any) -> str | None:
    """Why the loaded model cannot take this instance (wrong size, outside its codec's limits), or None."""
    from .codecs import CodecError

    try:
        check_compatible(loaded, task, task_input)
        loaded.codec.encode(task_input)
    except (InferenceError, CodecError) as err:
        return str(err)
    return None


def solve_instances(task: str, instances: Sequence[Any], args: Any) -> list[Answer]:
    """`rmdm solve TASK --method model`: one `Answer` per instance, in order. Instances are
    grouped by size, each group solved by the bundled model for it (or all by
    `args.checkpoint`); an instance no model can take is that instance's `error`, and every
    other instance is still solved. A checkpoint that cannot be loaded stops the run
    (CheckpointError)."""
    from .checkpoint import load

    options, retries, samples = options_from_args(args)
    checkpoint = getattr(args, "checkpoint", None)
    device = resolve_device(getattr(args, "device", None))
    batch_size = int(getattr(args, "batch_size", None) or 64)
    results: list[Answer | None] = [None] * len(instances)
    groups: dict[str, list[int]] = {}
    for i, instance in enumerate(instances):
        try:
            name = checkpoint or default_checkpoint(task, instance_size(task, instance))
        except InferenceError as err:
            results[i] = Answer(None, error=str(err))
            continue
        groups.setdefault(name, []).append(i)
    for name, indices in groups.items():
        loaded = load(name, device=device)
        taken = []
        for i in indices:
            refused = admit(loaded, task, instances[i])
            if refused is None:
                taken.append(i)
            else:
                results[i] = Answer(None, error=refused)
        outcomes = solve_batches(loaded, [instances[i] for i in taken], options, retries, samples, batch_size)
        for i, outcome in zip(taken, outcomes):
            results[i] = Answer(outcome.answer or None, bool(outcome.valid))
    return [r if r is not None else Answer(None) for r in results]


def solve_one(
    loaded: Any, task_input: Any, options: SampleOptions | None = None, *, retries: int = 0, samples: int = 1
) -> Outcome:
    """One puzzle (a Sudoku / CountdownInstance, or its text) for the app: the `Outcome` with
    `.answer`, `.valid`, `.verdict`, `.nfe`, `.retries_used` and, when `options.trace`,
    `.frames` (dicts: step, loop, retry, sample, tokens, predictions, confidence, committed, nfe)."""
    codec = loaded.codec
    task_input = as_task_input(codec, task_input)
    check_compatible(loaded, codec.task, task_input)
    return solve_guided(loaded.model, codec, [task_input], options or SampleOptions(), retries=retries, samples=samples)[0]
