"""Low-level text checks shared by the instance and answer parsers.

Unicode policy (explicit, tested): digits are ASCII `0-9` only. Python's `int()` would
accept fullwidth `１２` or Arabic-Indic digits, so digits are checked by hand and any
other Unicode digit is a `ParseError` naming it. In answers the operator signs `×`, `÷`
and `−` (U+2212 MINUS SIGN) are accepted as `*`, `/` and `-`, since people paste them;
every other non-ASCII character is an error. Whitespace is ASCII space, tab, CR, LF.
"""

from __future__ import annotations

import unicodedata

from puzzles.errors import ParseError

ASCII_DIGITS = frozenset("0123456789")
ASCII_SPACE = " \t\r\n"
OPERATOR_ALIASES = {"\u00d7": "*", "\u00f7": "/", "\u2212": "-"}


def strip_ascii(text: str) -> tuple[str, int]:
    """`text` without surrounding ASCII whitespace, and how many characters were cut in front."""
    stripped = text.strip(ASCII_SPACE)
    return stripped, (len(text) - len(text.lstrip(ASCII_SPACE)) if stripped else 0)


def describe_char(ch: str) -> str:
    """`'x'`, or for non-ASCII characters `'１' (U+FF11 FULLWIDTH DIGIT ONE)`."""
    if ch.isascii():
        return repr(ch)
    return f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')})"


def bad_char(ch: str, *, line: int | None, column: int, expected: str) -> ParseError:
    """The error for an unexpected character, with a hint for Unicode digits."""
    if not ch.isascii() and unicodedata.category(ch) == "Nd":
        return ParseError(f"non-ASCII digit {describe_char(ch)}: write numbers with 0-9", line=line, column=column)
    return ParseError(f"unexpected character {describe_char(ch)}, expected {expected}", line=line, column=column)


def read_int(
    text: str, *, line: int | None, column: int, signed: bool, max_digits: int
) -> int:
    """The integer written in `text` (ASCII digits, an optional leading `-` when `signed`)."""
    digits = text[1:] if signed and text.startswith("-") else text
    if not digits:
        raise ParseError(f"expected a number, got {text!r}", line=line, column=column)
    first = column + len(text) - len(digits)
    for i, ch in enumerate(digits):
        if ch not in ASCII_DIGITS:
            raise bad_char(ch, line=line, column=first + i, expected="a digit 0-9")
    if len(digits) > max_digits:
        raise ParseError(
            f"number with {len(digits)} digits: at most {max_digits} are allowed", line=line, column=column
        )
    return int(text)
