"""Checking a Countdown answer: every step's arithmetic, the numbers it may use, the final value.

Operands are checked as a multiset of values: the pool starts as the instance's numbers;
a step takes its two operands out of the pool and puts its result in. Values are all
that matter (a 4 from the input and a 4 made by a step are interchangeable), so the
verdict does not depend on which of two equal values a step meant.

- ml: every number is used exactly once and every result but the last is used exactly
  once (so a valid answer has len(numbers) - 1 steps); results are integers >= 0.
- tv: each number at most once, each result at most once; results are integers > 0.
- both: division must be exact (never by zero); the last step's result is the value of
  the answer and must equal the target. A bare number is an answer with no step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from puzzles.errors import ParseError

from .answer import OPS, Step, apply_op, read_answer
from .instance import CountdownInstance, as_instance

# Each verdict names the first rule broken with one of these kinds.
ERROR_KINDS = (
    "malformed",  # the text is not an answer (ParseError)
    "empty",  # no step at all
    "unavailable",  # an operand is neither a number nor an earlier result
    "reused",  # an operand was available once but is used up
    "division-by-zero",
    "inexact-division",
    "arithmetic",  # a op b is not the claimed result
    "negative",  # a result below zero (either rule set)
    "zero",  # a result of zero (tv only)
    "wrong-value",  # the last result is not the target
    "unused",  # ml: a number or a result left unused
)


@dataclass(frozen=True)
class CountdownVerdict:
    """`valid`, else `kind` (one of ERROR_KINDS) and `error` for the first broken rule;
    `step_index` is the 0-based step at fault (None for whole-answer errors); `value` is
    the answer's value when every step was sound."""

    valid: bool
    error: str | None = None
    kind: str | None = None
    step_index: int | None = None
    value: int | None = None

    @property
    def message(self) -> str:
        return f"valid: makes {self.value}" if self.valid else f"invalid: {self.error}"

    def to_dict(self) -> dict:
        return asdict(self)


def _fail(kind: str, error: str, step_index: int | None = None, value: int | None = None) -> CountdownVerdict:
    return CountdownVerdict(False, error, kind, step_index, value)


def verify_countdown(
    instance: CountdownInstance | str, answer: str | Sequence[Step] | None, rules: str = "ml"
) -> CountdownVerdict:
    """The verdict on `answer` (text in step or infix form, or steps) for `instance`.

    Never raises on a bad answer: malformed text is a verdict of kind "malformed". A bad
    instance (text or values) raises `ParseError` / `PuzzleError`. `rules` is only used
    when `instance` is given as text.
    """
    instance = as_instance(instance, rules)
    bare = None
    if answer is None:
        return _fail("empty", "there is no answer")
    if isinstance(answer, str):
        try:
            parsed = read_answer(answer)
        except ParseError as err:
            return _fail("malformed", f"malformed answer: {err}")
        steps, bare = parsed.steps, parsed.bare
    else:
        steps = list(answer)
    if bare is not None:
        return _check_end(instance, Counter(instance.numbers) - Counter([bare]), bare, bare_ok=bare in instance.numbers)
    if not steps:
        return _fail("empty", "the answer has no step")
    pool = Counter(instance.numbers)
    ever = Counter(instance.numbers)  # every value that was ever in the pool, with multiplicity
    lowest = 0 if instance.rules == "ml" else 1
    for index, step in enumerate(steps):
        where = f"step {index + 1} ({step})"
        if step.op not in OPS:
            return _fail("malformed", f"{where}: unknown operator {step.op!r}", index)
        for operand in (step.a, step.b):
            if pool[operand] > 0:
                pool[operand] -= 1
                continue
            if ever[operand]:
                times = "once" if ever[operand] == 1 else f"{ever[operand]} times"
                return _fail("reused", f"{where}: {operand} is used up (it was available {times})", index)
            message = f"{where}: {operand} is neither one of the numbers nor an earlier result"
            return _fail("unavailable", message, index)
        if step.op == "/" and step.b == 0:
            return _fail("division-by-zero", f"{where}: division by zero", index)
        value = apply_op(step.a, step.op, step.b)
        if value is None:
            return _fail("inexact-division", f"{where}: {step.a}/{step.b} is not a whole number", index)
        if value != step.result:
            return _fail("arithmetic", f"{where}: {step.a}{step.op}{step.b} is {value}, not {step.result}", index)
        if value < lowest:
            kind = "negative" if value < 0 else "zero"
            allowed = "positive" if instance.rules == "tv" else "zero or positive"
            return _fail(kind, f"{where}: result {value}; {instance.rules} results must be {allowed}", index)
        pool[value] += 1
        ever[value] += 1
    final = steps[-1].result
    pool[final] -= 1
    return _check_end(instance, +pool, final, bare_ok=True)


def _check_end(instance: CountdownInstance, left: Counter, value: int, *, bare_ok: bool) -> CountdownVerdict:
    """The checks on the whole answer: its value, and under ml that nothing is left over."""
    if not bare_ok:
        return _fail("unavailable", f"{value} is not one of the numbers")
    if value != instance.target:
        return _fail("wrong-value", f"the answer makes {value}, not the target {instance.target}", value=value)
    if instance.rules == "ml" and left:
        unused = ", ".join(map(str, sorted(left.elements())))
        return _fail("unused", f"left unused: {unused} (ml rules use every number exactly once)", value=value)
    return CountdownVerdict(True, value=value)
