"""Errors raised for bad puzzle input: each names what is wrong and where."""

from __future__ import annotations


class PuzzleError(ValueError):
    """Base class for every error about a puzzle, an answer or a rule set."""


class ParseError(PuzzleError):
    """Text that cannot be read as a puzzle or answer.

    `line` and `column` are 1-based positions in the text that was parsed (None when
    not applicable); they are part of the message so a user can find the problem.
    """

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        self.line = line
        self.column = column
        where = []
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.reason = message


def one_line(err: BaseException) -> str:
    """An error as one line of a message (its text with line breaks and runs of spaces folded), or its
    type's name when it has no text: what the command line and the app print for a bad input."""
    return " ".join(str(err).split()) or type(err).__name__
