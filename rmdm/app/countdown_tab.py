"""The Countdown tab's handlers: read numbers + target, solve (model or exact), check each step.

Same shape as sudoku_tab: plain functions returning HTML strings and a `Run`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from puzzles.errors import PuzzleError

from . import render
from .frames import MASK, PAD, Run, reveal_views
from .models import ModelShelf
from .playback import Limits, ModelOutcome, SolveSettings, scrubbed, solve_live, stopped
from .sudoku_tab import InputProblem, Update

MAX_INPUT_CHARS = 200


def _ints(text: str | None, what: str) -> list[int]:
    text = (text or "").strip()
    if len(text) > MAX_INPUT_CHARS:
        raise InputProblem(f"The {what} text is far too long.")
    parts = [p for p in re.split(r"[,\s;]+", text) if p]
    if not parts:
        raise InputProblem(f"Enter the {what}.")
    for p in parts:
        if not re.fullmatch(r"[+-]?\d{1,9}", p):
            raise InputProblem(f"{p[:20]!r} in the {what} is not a whole number of at most 9 digits.")
    return [int(p) for p in parts]


COUNTS = (3, 4, 5, 6)  # what the "How many numbers" radio offers


def count_of(numbers: str | None) -> int | None:
    """How many numbers the text holds, for the "How many numbers" radio to follow; None when
    it cannot be read or the radio does not offer that count."""
    try:
        count = len(_ints(numbers, "numbers"))
    except InputProblem:
        return None
    return count if count in COUNTS else None


def read_instance(numbers: str | None, target: str | int | float | None, rules: str = "ml") -> Any:
    """A CountdownInstance from the two input boxes, or InputProblem saying what is wrong
    (the instance's own validation names the rule's bounds)."""
    from puzzles.countdown import CountdownInstance

    nums = _ints(numbers, "numbers")
    goal = _ints(None if target is None else str(target), "target")
    if len(goal) != 1:
        raise InputProblem("The target is a single number.")
    try:
        return CountdownInstance(tuple(nums), goal[0], rules=rules)
    except (PuzzleError, ValueError, TypeError) as err:
        raise InputProblem(f"Not a Countdown instance: {err}.") from None


def generate(n_numbers: int, rules: str, seed: int | None = None) -> tuple[str, str, str]:
    """(numbers text, target text, note) for a fresh solvable instance; the show's rules
    always deal six numbers."""
    from puzzles.countdown import generate_countdown

    count = None if rules == "tv" else int(n_numbers)
    try:
        made = generate_countdown(np.random.default_rng(seed), n_numbers=count, rules=rules, count_limit=1000)
    except (PuzzleError, ValueError) as err:
        return "", "", render.verdict_box("warn", f"Could not generate an instance: {err}")
    inst = made.instance
    ways = "1000 or more" if made.solutions >= 1000 else str(made.solutions)
    note = f"{len(inst.numbers)} numbers, target {inst.target}, {inst.rules} rules: {ways} distinct solution(s)."
    return ",".join(map(str, inst.numbers)), str(inst.target), render.verdict_box("info", note)


def check_step(text: str) -> tuple[str, str]:
    """(status ok|bad|wait, note) for one `a op b=c` step's arithmetic on its own."""
    from puzzles.countdown import apply_op, parse_answer

    if MASK in text or PAD in text or "?" in text:  # '?': a slot the step codec cannot read yet
        return "wait", "still masked"
    try:
        steps = parse_answer(text)
    except PuzzleError:
        return "bad", "not of the form a op b=c"
    if len(steps) != 1:
        return "bad", "not a single step"
    step = steps[0]
    value = apply_op(step.a, step.op, step.b)
    if value is None:
        return "bad", f"{step.a}{step.op}{step.b} is not a whole number"
    return ("ok", "") if value == step.result else ("bad", f"{step.a}{step.op}{step.b} is {value}, not {step.result}")


def step_rows(answer: str, first_bad: int | None = None, error: str = "") -> list[tuple[str, str, str]]:
    """(step text, ok|bad|wait, note) for each step of a partly masked answer (padding dropped);
    `first_bad` is the step the verifier rejected, marked bad with `error` even if its arithmetic holds."""
    rows = []
    for i, part in enumerate(p for p in answer.replace(PAD, "").split(",") if p):
        status, note = check_step(part)
        if i == first_bad and status != "bad":
            status, note = "bad", error
        rows.append((part, status, note))
    return rows


def _numbers_target(run: Run) -> tuple[list[int], int]:
    values = [int(x) for x in run.puzzle.split(",")]
    return values[:-1], values[-1]


def show(run: Run | None, index: int | float | None) -> tuple[str, str]:
    """(prompt + answer strip + step checks, caption) of frame `index` (a run with no frame yet:
    the prompt)."""
    if run is None:
        return "", render.caption(None)
    if not run.frames:
        return render.countdown_prompt(*_numbers_target(run)), render.caption(None)
    i = max(0, min(len(run.frames) - 1, int(index or 0)))
    view = run.frames[i]
    numbers, target = _numbers_target(run)
    bad = run.marks.get(i, frozenset())  # Countdown marks steps, not characters
    first_bad = min(bad) if bad else None
    body = render.countdown_prompt(numbers, target) + render.countdown_strip(view, PAD)
    body += render.step_table(step_rows(view.text or view.cells, first_bad, run.notes.get(i, "")))
    return body, render.caption(view, forced="computed: the calculator")


def _refuse(message: str, state: str, instance: Any = None) -> Update:
    body = render.countdown_prompt(instance.numbers, instance.target) if instance is not None else ""
    kind = "warn" if state == "no-model" else "bad"
    return body, render.caption(None), render.verdict_box(kind, message, state=state), 0, None


def judge(instance: Any, answer_text: str) -> tuple[bool, str, int | None]:
    """(valid, the verifier's message, index of the first bad step or None)."""
    from puzzles.countdown import verify_countdown

    try:
        verdict = verify_countdown(instance, answer_text)
    except PuzzleError as err:
        return False, str(err), None
    return bool(verdict.valid), str(getattr(verdict, "error", "") or ""), getattr(verdict, "step_index", None)


def solve_exact(numbers: str | None, target: str | None, rules: str = "ml") -> Update:
    from puzzles.countdown import format_steps, solve_countdown

    try:
        instance = read_instance(numbers, target, rules)
    except InputProblem as err:
        return _refuse(str(err), "error")
    started = time.perf_counter()
    steps = solve_countdown(instance)
    ms = 1000 * (time.perf_counter() - started)
    if steps is None:
        return _refuse(f"No way to reach {instance.target} under the {rules} rules (searched in {ms:.0f} ms).", "unsolvable", instance)
    answer = format_steps(steps)
    run = Run("countdown", instance.to_line(), reveal_views(MASK * len(answer), answer, "exact solver"))
    valid, error, _ = judge(instance, answer)
    last = len(run.frames) - 1
    if valid:
        run.solved.add(last)
    run.verdict_html = render.verdict_box(
        "ok" if valid else "bad",
        f"Exact solver: {answer} ({ms:.0f} ms)." if valid else f"The exact solver's answer is wrong: {error}",
        state="solved" if valid else "invalid",
    )
    body, caption = show(run, last)
    return body, caption, run.verdict_html, last, run


def solve_model(
    shelf: ModelShelf,
    numbers: str | None,
    target: str | None,
    rules: str,
    settings: SolveSettings,
    speed: str = "normal",
    limits: Limits = Limits(),
) -> Iterator[Update]:
    """Solve with the bundled Countdown model and stream the answer unmasking."""
    try:
        instance = read_instance(numbers, target, rules)
    except InputProblem as err:
        yield _refuse(str(err), "error")
        return
    loaded = shelf.get("countdown", len(instance.numbers))
    if loaded is None:
        yield _refuse(shelf.missing_reason("countdown", len(instance.numbers)), "no-model", instance)
        return
    codec = loaded.codec
    try:
        encoded = codec.encode(instance)
    except (PuzzleError, ValueError) as err:
        yield _refuse(f"This model cannot read that instance: {err}", "error", instance)
        return
    positions = int((~encoded.frozen).sum())
    problem = limits.check(settings, positions, loaded)
    if problem is None and settings.decoding != "plain":
        from solver.constraints import ConstraintError, constraint_for

        try:
            constraint_for(codec)
        except ConstraintError as err:
            problem = f"{settings.decoding.capitalize()} decoding is not available for this model: {err}. Choose plain decoding."
    if problem:
        yield _refuse(problem, "error", instance)
        return
    unit = "slot" if hasattr(codec, "token_label") else "character"  # the step codec's positions are slots
    live_run = Run("countdown", instance.to_line(), [], unit=unit)
    finish = lambda outcome: _judged_run(instance, outcome, unit)  # noqa: E731
    yield from solve_live(loaded, instance, settings, limits, speed, live_run, show, finish)


def _judged_run(instance: Any, outcome: ModelOutcome, unit: str = "character") -> Run:
    """The finished run: each attempt's answer checked (the bad step marked), and the verdict."""
    run = Run("countdown", instance.to_line(), outcome.views, unit=unit)
    attempts = []
    for retry, end in enumerate(run.retry_ends()):
        text = run.frames[end].text or run.frames[end].cells.replace(PAD, "").replace(MASK, "")
        valid, error, step = judge(instance, text)
        if valid:
            run.solved.add(end)
        else:
            run.notes[end] = error
            if step is not None:
                run.marks[end] = frozenset({int(step)})
        attempts.append(f"attempt {retry + 1}: {text or '(empty)'}: " + ("valid" if valid else error))
    valid, error, _ = judge(instance, outcome.answer)
    tail = f"NFE {outcome.nfe}, {1000 * outcome.seconds:.0f} ms"
    if valid:
        title = f"Solved: {outcome.answer} reaches {instance.target} ({tail})."
    else:
        title = f"Not solved: {outcome.answer or '(empty answer)'}: {error} ({tail})."
    details = attempts if len(attempts) > 1 else []
    run.verdict_html = render.verdict_box("ok" if valid else "bad", title, details, state="solved" if valid else "invalid")
    return run


def stop(run: Run | None, index: int | float | None) -> tuple[str, str, str] | None:
    """What Stop shows: the frame the slider is on, and a verdict about that frame (`playback.stopped`)."""
    return stopped(run, index, show)


def scrub(run: Run | None, index: int | float | None) -> tuple[str, str, str] | None:
    """What dragging the slider shows: that frame, and a verdict about it (`playback.scrubbed`)."""
    return scrubbed(run, index, show)
