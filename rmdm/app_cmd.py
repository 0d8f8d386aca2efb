"""`rmdm app`: start the web app (the same as `python app.py`). gradio is imported only when it runs."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="address to bind (default $GRADIO_SERVER_NAME, else 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default $GRADIO_SERVER_PORT, else 7860)")
    parser.add_argument(
        "--checkpoint", action="append", default=[], metavar="DIR",
        help="also offer the model in this checkpoint directory (repeatable)",
    )
    parser.add_argument(
        "--max-passes", type=int, default=None, metavar="N",
        help="cap on steps x loops x attempts for one request (default: the app's, 4000)",
    )


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "app", help="start the web app (local only unless --host says otherwise)",
        description="The Gradio app: watch the bundled models solve Sudoku and Countdown.",
    )
    add_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import app

    return app.run(args)
