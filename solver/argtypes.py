"""argparse `type=` functions for the numeric flags of `rmdm solve` and `rmdm eval`.

A bad value is refused while the command line is parsed: argparse's usual usage line and
one `error: argument --FLAG: ...` line, exit status 2, before any data or model is loaded.
No torch here (the command line is built without it).

    parser.add_argument("--samples", type=positive_int, default=1)
    parser.add_argument("--steps", type=int_list(minimum=1, default_word="all"), default="all")
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _whole(text: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def at_least(minimum: int) -> Callable[[str], int]:
    """A whole number >= minimum."""

    def parse(text: str) -> int:
        value = _whole(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = f"int>={minimum}"
    return parse


positive_int = at_least(1)
non_negative_int = at_least(0)


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (a temperature, a threshold)."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"cannot be negative, got {value:g}")
    return value


def parse_int_list(text: str, *, minimum: int, default_word: str | None = None) -> list[int | None]:
    """'1,2,4' -> [1, 2, 4]; `default_word` (e.g. 'all') -> None; ArgumentTypeError otherwise."""
    values: list[int | None] = []
    for part in str(text).split(","):
        part = part.strip()
        if default_word is not None and part.lower() == default_word:
            values.append(None)
            continue
        try:
            value = int(part)
        except ValueError:
            allowed = f" or '{default_word}'" if default_word else ""
            raise argparse.ArgumentTypeError(f"{part!r} is not a whole number{allowed} (got {text!r})") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {minimum}")
        values.append(value)
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"repeated value in {text!r}")
    return values


def int_list(*, minimum: int, default_word: str | None = None) -> Callable[[str], list[int | None]]:
    """A comma list of whole numbers >= minimum (a sweep), `default_word` standing for None."""

    def parse(text: str) -> list[int | None]:
        return parse_int_list(text, minimum=minimum, default_word=default_word)

    parse.__name__ = "list"
    return parse
