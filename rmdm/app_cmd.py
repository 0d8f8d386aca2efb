"""`rmdm app`: start the web app (the same as `python app.py`). gradio is imported only when it runs."""

from __future__ import annotations

import argparse
import sys

from rmdm.app import add_arguments

EXIT_BAD_CHECKPOINT = 2  # a --checkpoint that cannot be loaded: bad input, like a bad flag


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "app", help="start the web app (local only unless --host says otherwise)",
        description="The Gradio app: watch the bundled models solve Sudoku and Countdown.",
        epilog="A --checkpoint that cannot be loaded (no such name or directory, a missing or corrupt file) is "
               f"one line on stderr and exit status {EXIT_BAD_CHECKPOINT}, before the server starts.",
    )
    add_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    problem = check_checkpoints(args.checkpoint)
    if problem:
        print(f"rmdm app: error: {problem}", file=sys.stderr)
        return EXIT_BAD_CHECKPOINT
    from rmdm.app.blocks import run

    return run(args)


def check_checkpoints(names: list[str]) -> str | None:
    """Load each --checkpoint once before the server starts: the first problem as one line, or None.
    (The app itself only lists a checkpoint that fails to load in its about panel; a user who named
    one on the command line should hear at once that it cannot be offered.)"""
    if not names:
        return None
    try:
        from solver.checkpoint import load
    except ImportError as err:
        return f"--checkpoint needs the model code, which cannot be imported here ({err})"
    for name in names:
        try:
            load(name, device="cpu")
        except (ValueError, OSError, RuntimeError) as err:  # CheckpointError is a ValueError
            return f"--checkpoint: {err}"
    return None
