"""The one error type of data_gen: the command line prints its message as one line, exit 2."""

from __future__ import annotations


class DataGenError(Exception):
    """A problem the user can fix; the message says what happened and what to do."""
