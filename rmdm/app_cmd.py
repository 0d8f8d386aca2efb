"""`rmdm app`: start the web app, exactly as `python app.py` does (`rmdm.app.start`: the address,
then each --checkpoint, then the page). gradio is imported only when it runs."""

from __future__ import annotations

import argparse

from rmdm.app import EPILOG, EXIT_BAD_CHECKPOINT, add_arguments, start  # noqa: F401 - the exit code is part of the command


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "app", help="start the web app (local only unless --host says otherwise)",
        description="The Gradio app: watch the bundled models solve Sudoku and Countdown.",
        epilog=EPILOG,
    )
    add_arguments(parser)
    parser.set_defaults(func=start)
