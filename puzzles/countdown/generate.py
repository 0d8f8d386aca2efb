"""Generating solvable Countdown instances, deterministically from a `np.random.Generator`.

Numbers are drawn (ml: uniformly from `number_range`, with repeats; tv: `large` cards
from {25, 50, 75, 100} and the rest from the twenty small cards, as on the show), then
the target uniformly from the values in `target_range` that the numbers can reach (a
tv target is never one of the cards, so every reference answer has a step). When
`unique` or `min_solutions` rule that target out, up to `TARGETS_PER_DEAL` reachable
targets are tried in all before new numbers are drawn. Without those conditions every
draw of numbers that reaches the range is kept, with a target uniform over what it
reaches (`solve.py` defines distinct solutions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from puzzles.errors import PuzzleError

from .answer import format_steps
from .instance import (
    ML_MAX_NUMBER,
    ML_MAX_NUMBERS,
    ML_MAX_TARGET,
    ML_MIN_NUMBERS,
    RULES,
    TV_LARGE,
    TV_MAX_TARGET,
    TV_MIN_TARGET,
    TV_NUMBERS,
    TV_SMALL,
    CountdownInstance,
)
from .solve import count_solutions, reachable_values, solve_countdown

GENERATOR_VERSION = 1
ML_NUMBER_RANGE = (1, 99)  # the cd4 benchmark's numbers lie in 1..99 ...
ML_TARGET_RANGE = (10, 99)  # ... and its targets in 14..96
TARGETS_PER_DEAL = 10  # reachable targets tried on one draw of numbers
_TV_SMALL_CARDS = np.array([n for n in TV_SMALL for _ in range(2)])


@dataclass(frozen=True)
class GeneratedCountdown:
    """A solvable instance, one reference answer in step form, and its number of
    distinct solutions (counted up to `count_limit`)."""

    instance: CountdownInstance
    answer: str
    solutions: int


def generate_countdown(
    rng: np.random.Generator,
    *,
    n_numbers: int | None = None,
    rules: str = "ml",
    number_range: tuple[int, int] | None = None,
    target_range: tuple[int, int] | None = None,
    large: int | None = None,
    unique: bool = False,
    min_solutions: int = 1,
    count_limit: int = 100_000,
    max_tries: int = 1000,
) -> GeneratedCountdown:
    """One solvable instance (module docstring). Ranges are inclusive.

    ml: `n_numbers` 3..6 (default 4), `number_range` default 1..99, `target_range`
    default 10..99. tv: six numbers, `large` cards (0..4, default drawn uniformly),
    `target_range` default 100..999; `number_range` does not apply. `unique` asks for
    exactly one solution, `min_solutions` for at least that many. Raises `PuzzleError`
    for an impossible configuration or when `max_tries` draws found nothing.
    """
    if rules not in RULES:
        raise PuzzleError(f"unknown rules {rules!r}: expected one of {', '.join(RULES)}")
    if unique and min_solutions > 1:
        raise PuzzleError("unique and min_solutions > 1 contradict each other")
    if min_solutions < 1 or count_limit < max(2, min_solutions):
        raise PuzzleError("min_solutions must be >= 1 and count_limit >= max(2, min_solutions)")
    if rules == "ml":
        draw = _ml_drawer(n_numbers, number_range, large)
        target_range = _checked_range("target_range", target_range or ML_TARGET_RANGE, 0, ML_MAX_TARGET)
    else:
        draw = _tv_drawer(n_numbers, number_range, large)
        target_range = _checked_range(
            "target_range", target_range or (TV_MIN_TARGET, TV_MAX_TARGET), TV_MIN_TARGET, TV_MAX_TARGET
        )
    lo, hi = target_range
    for _ in range(max_tries):
        numbers = draw(rng)
        values = reachable_values(numbers, rules)
        candidates = values[(values >= lo) & (values <= hi)]
        if rules == "tv":
            candidates = candidates[~np.isin(candidates, numbers)]
        if not len(candidates):
            continue
        for target in rng.choice(candidates, size=min(TARGETS_PER_DEAL, len(candidates)), replace=False):
            instance = CountdownInstance(numbers, int(target), rules)
            solutions = count_solutions(instance, limit=count_limit)
            if (unique and solutions != 1) or solutions < min_solutions:
                continue
            return GeneratedCountdown(instance, format_steps(solve_countdown(instance)), solutions)
    raise PuzzleError(
        f"no instance met the conditions in {max_tries} draws of numbers; widen the ranges or relax them"
    )


def _checked_range(name: str, value: tuple[int, int], lowest: int, highest: int) -> tuple[int, int]:
    lo, hi = (int(v) for v in value)
    if not lowest <= lo <= hi <= highest:
        raise PuzzleError(f"{name} must satisfy {lowest} <= low <= high <= {highest}, got {value}")
    return lo, hi


def _ml_drawer(n_numbers: int | None, number_range: tuple[int, int] | None, large: int | None):
    n = ML_MIN_NUMBERS + 1 if n_numbers is None else n_numbers
    if not ML_MIN_NUMBERS <= n <= ML_MAX_NUMBERS:
        raise PuzzleError(f"ml rules take {ML_MIN_NUMBERS} to {ML_MAX_NUMBERS} numbers, got {n}")
    if large is not None:
        raise PuzzleError("large applies to tv rules only")
    lo, hi = _checked_range("number_range", number_range or ML_NUMBER_RANGE, 1, ML_MAX_NUMBER)
    return lambda rng: tuple(int(x) for x in rng.integers(lo, hi + 1, size=n))


def _tv_drawer(n_numbers: int | None, number_range: tuple[int, int] | None, large: int | None):
    if n_numbers not in (None, TV_NUMBERS):
        raise PuzzleError(f"tv rules take exactly {TV_NUMBERS} numbers, got {n_numbers}")
    if number_range is not None:
        raise PuzzleError("tv numbers come from the show's pools: number_range does not apply (use large)")
    if large is not None and not 0 <= large <= len(TV_LARGE):
        raise PuzzleError(f"large must lie in 0..{len(TV_LARGE)}, got {large}")

    def draw(rng: np.random.Generator) -> tuple[int, ...]:
        k = int(rng.integers(0, len(TV_LARGE) + 1)) if large is None else large
        big = rng.choice(np.array(TV_LARGE), size=k, replace=False)
        small = rng.choice(_TV_SMALL_CARDS, size=TV_NUMBERS - k, replace=False)
        return tuple(int(x) for x in (*big, *small))

    return draw
