"""The web app: watch a recursive masked diffusion model solve Sudoku and Countdown.

    python app.py                      # http://127.0.0.1:7860, local only
    python app.py --host 0.0.0.0 --port 8080
    rmdm app --checkpoint runs/my-model   # also offer a checkpoint directory of your own

blocks: the Gradio page, its events and the launch (the only module that imports gradio);
sudoku_tab / countdown_tab: the handlers, plain functions tested without a browser;
frames: sampler frames -> `View`s; render: views -> HTML and the page's CSS; playback:
running the model, bounding its work and streaming frames; models: the bundled checkpoints
and the "About the model" text; examples: puzzles shipped with the app.

Importing this package imports neither gradio nor torch: `rmdm` builds its command line
from `add_arguments` without paying for either.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The app's flags, the same for `python app.py` and `rmdm app`."""
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
