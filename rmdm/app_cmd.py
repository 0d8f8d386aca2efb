"""`rmdm app`: start the web app (the same as `python app.py`). gradio is imported only when it runs."""

from __future__ import annotations

import argparse

from rmdm.app import add_arguments


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "app", help="start the web app (local only unless --host says otherwise)",
        description="The Gradio app: watch the bundled models solve Sudoku and Countdown.",
    )
    add_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from rmdm.app.blocks import run

    return run(args)
