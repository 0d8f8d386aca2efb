"""A Countdown instance (numbers, target, rule set), its validation and its text form."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from numbers import Integral

from puzzles.errors import ParseError, PuzzleError

from ._text import read_int, strip_ascii

RULES = ("ml", "tv")

# ml: the research variant. 1001**6 < 2**63, so with these bounds every value any
# expression can take fits in int64 (the solver's arrays); see solve.py.
ML_MIN_NUMBERS, ML_MAX_NUMBERS = 3, 6
ML_MAX_NUMBER = 1000
ML_MAX_TARGET = 1_000_000

# tv: the show. Six cards drawn from these pools; targets are three-digit numbers.
TV_NUMBERS = 6
TV_SMALL = tuple(range(1, 11))  # each twice in the pool
TV_LARGE = (25, 50, 75, 100)  # each once
TV_POOL = Counter({**{n: 2 for n in TV_SMALL}, **{n: 1 for n in TV_LARGE}})
TV_MIN_TARGET, TV_MAX_TARGET = 100, 999

MAX_INSTANCE_CHARS = 200


@dataclass(frozen=True)
class CountdownInstance:
    """Numbers to combine with + - * / to reach `target` under `rules` ("ml" or "tv").

    Validated on construction; a `PuzzleError` names the broken rule.
    """

    numbers: tuple[int, ...]
    target: int
    rules: str = "ml"

    def __post_init__(self) -> None:
        object.__setattr__(self, "numbers", tuple(_as_int(n) for n in self.numbers))
        object.__setattr__(self, "target", _as_int(self.target))
        check_instance(self.numbers, self.target, self.rules)

    def to_line(self) -> str:
        """The text form `n1,n2,...,target` (what `parse_instance` reads)."""
        return ",".join(map(str, (*self.numbers, self.target)))

    def __str__(self) -> str:
        return f"{self.to_line()} ({self.rules})"


def _as_int(value: object) -> int:
    """A plain int from any integer type (numpy ints from data files included)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise PuzzleError(f"numbers and target must be integers, got {value!r} ({type(value).__name__})")
    return int(value)


def check_instance(numbers: tuple[int, ...], target: int, rules: str) -> None:
    """Raise `PuzzleError` unless (numbers, target), plain ints, are an instance of `rules`."""
    if rules not in RULES:
        raise PuzzleError(f"unknown rules {rules!r}: expected one of {', '.join(RULES)}")
    if rules == "ml":
        _check_ml(numbers, target)
    else:
        _check_tv(numbers, target)


def _check_ml(numbers: tuple[int, ...], target: int) -> None:
    if not ML_MIN_NUMBERS <= len(numbers) <= ML_MAX_NUMBERS:
        raise PuzzleError(
            f"ml rules take {ML_MIN_NUMBERS} to {ML_MAX_NUMBERS} numbers, got {len(numbers)}"
        )
    for n in numbers:
        if not 1 <= n <= ML_MAX_NUMBER:
            raise PuzzleError(f"ml numbers must lie in 1..{ML_MAX_NUMBER}, got {n}")
    if not 0 <= target <= ML_MAX_TARGET:
        raise PuzzleError(f"ml target must lie in 0..{ML_MAX_TARGET}, got {target}")


def _check_tv(numbers: tuple[int, ...], target: int) -> None:
    if len(numbers) != TV_NUMBERS:
        raise PuzzleError(f"tv rules take exactly {TV_NUMBERS} numbers, got {len(numbers)}")
    for n, count in Counter(numbers).items():
        if n not in TV_POOL:
            raise PuzzleError(
                f"tv numbers come from 1..10 and 25, 50, 75, 100; {n} is not one of them"
            )
        if count > TV_POOL[n]:
            limit = "twice" if TV_POOL[n] == 2 else "once"
            raise PuzzleError(f"tv rules allow {n} at most {limit}, got it {count} times")
    if not TV_MIN_TARGET <= target <= TV_MAX_TARGET:
        raise PuzzleError(f"tv target must lie in {TV_MIN_TARGET}..{TV_MAX_TARGET}, got {target}")


def parse_instance(line: str, rules: str = "ml", *, line_no: int | None = None) -> CountdownInstance:
    """Read `n1,n2,...,target` (spaces around the commas allowed).

    Every problem, malformed text or a rule the numbers break, is a `ParseError`
    (with `line_no` as its line when given, and the column where the text is at fault).
    """
    if not isinstance(line, str):
        raise ParseError(f"expected text, got {type(line).__name__}", line=line_no)
    if len(line) > MAX_INSTANCE_CHARS:
        raise ParseError(f"instance is {len(line)} characters long, the limit is {MAX_INSTANCE_CHARS}", line=line_no)
    text, offset = strip_ascii(line)
    if not text:
        raise ParseError("empty instance: expected n1,n2,...,target", line=line_no)
    values = []
    start = 0
    for field in text.split(","):
        lead = len(field) - len(field.lstrip(" \t"))
        body = field.strip(" \t")
        column = offset + start + lead + 1
        if not body:
            raise ParseError("empty field: expected a number between commas", line=line_no, column=column)
        values.append(read_int(body, line=line_no, column=column, signed=False, max_digits=7))
        start += len(field) + 1
    if len(values) < 2:
        raise ParseError("expected n1,n2,...,target: at least one number and a target", line=line_no)
    try:
        return CountdownInstance(tuple(values[:-1]), values[-1], rules)
    except PuzzleError as err:
        raise ParseError(str(err), line=line_no) from None


def as_instance(value: CountdownInstance | str, rules: str = "ml") -> CountdownInstance:
    """An instance from an instance or its text form."""
    if isinstance(value, CountdownInstance):
        return value
    return parse_instance(value, rules)


def iter_countdown_lines(
    lines: Iterable[str], rules: str = "ml"
) -> Iterator[tuple[int, CountdownInstance | ParseError]]:
    """One instance per line: yields (line number, instance or the ParseError for that line).

    `#` starts a comment; blank and comment-only lines are skipped.
    """
    for line_no, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].rstrip("\r\n")
        if not text.strip(" \t\r\n"):
            continue
        try:
            yield line_no, parse_instance(text, rules, line_no=line_no)
        except ParseError as err:
            yield line_no, err
