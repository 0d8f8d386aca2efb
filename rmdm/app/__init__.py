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
import errno
import os
import socket
import sys
from typing import Any

from puzzles.errors import one_line

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
EXIT_CANNOT_SERVE = 1  # the address cannot be served (port taken, not allowed, unknown host)
EXIT_BAD_CHECKPOINT = 2  # a --checkpoint that cannot be loaded: bad input, like a bad flag
EPILOG = (
    f"exit status {EXIT_CANNOT_SERVE}: the address cannot be served (port taken, host unknown); "
    f"{EXIT_BAD_CHECKPOINT}: a --checkpoint cannot be loaded (no such name or directory, a missing or corrupt "
    "file). Both are one line on stderr, before the server starts; the address is checked first."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The app's flags, the same for `python app.py` and `rmdm app`."""
    parser.add_argument("--host", default=None, help="address to bind (default $GRADIO_SERVER_NAME, else 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=None, help="port (default $GRADIO_SERVER_PORT, else 7860)")
    parser.add_argument(
        "--checkpoint", action="append", default=[], metavar="DIR",
        help="also offer the model in this checkpoint directory (repeatable)",
    )
    parser.add_argument(
        "--max-passes", type=int, default=None, metavar="N",
        help="cap on steps x loops x attempts for one request (default: the app's, 4000)",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port lies in 1..65535, got {port}")
    return port


class AddressProblem(Exception):
    """The server cannot listen where asked; the message is one line for the user."""


def server_address(host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """The flags, else GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, else 127.0.0.1:7860 (local only)."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    if port is None:
        text = os.environ.get("GRADIO_SERVER_PORT") or str(DEFAULT_PORT)
        try:
            port = _port(text)
        except argparse.ArgumentTypeError as err:
            raise AddressProblem(f"GRADIO_SERVER_PORT: {err}") from None
    return host, port


def _how_to_move(port: int) -> str:
    other = port + 1 if port < 65535 else 8080
    return f"pick another port with --port {other} (or GRADIO_SERVER_PORT={other})"


def check_address(host: str, port: int) -> None:
    """AddressProblem unless a server could listen on host:port now: bind a socket there
    (SO_REUSEADDR, as the server itself does, so a port in TIME_WAIT still counts as free)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise AddressProblem(f"cannot serve on {host}:{port}: unknown host ({err.strerror})") from None
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise AddressProblem(
                f"port {port} on {host} is taken (is the app already running?): {_how_to_move(port)}"
            ) from None
        raise AddressProblem(f"cannot serve on {host}:{port}: {err.strerror or err}; {_how_to_move(port)}") from None


def cannot_serve(message: str) -> int:
    print(f"rmdm app: error: {message}", file=sys.stderr)
    return EXIT_CANNOT_SERVE


def main(argv: list[str] | None = None) -> int:
    """`python app.py`: parse the flags, then `start` (the same checks as `rmdm app`): a taken
    port is one line at once, before gradio or torch is imported, not a traceback later."""
    parser = argparse.ArgumentParser(
        description="The R-MDM puzzle app (Gradio, local only by default).",
        epilog=EPILOG,
    )
    add_arguments(parser)
    return start(parser.parse_args(argv))


def address_problem(args: argparse.Namespace) -> str | None:
    """Why the app cannot listen where `args` (--host, --port, else the environment) say, or None."""
    try:
        check_address(*server_address(args.host, args.port))
    except AddressProblem as err:
        return str(err)
    return None


def load_checkpoints(names: list[str]) -> tuple[list[Any], str | None]:
    """Load each --checkpoint once, before the server starts: (the loaded models, which the page's
    shelf then offers without loading them again; the first problem as one line, or None). The
    page itself only lists a checkpoint that fails to load in its about panel; a user who named one
    on the command line should hear at once that it cannot be offered. Imports torch only when
    there is a name to load."""
    if not names:
        return [], None
    try:
        from solver.checkpoint import load
    except ImportError as err:
        return [], f"--checkpoint needs the model code, which cannot be imported here ({err})"
    loaded = []
    for name in names:
        try:
            loaded.append(load(name, device="cpu"))
        except (ValueError, OSError, RuntimeError) as err:  # CheckpointError is a ValueError
            return [], "--checkpoint: " + one_line(err)
    return loaded, None


def start(args: argparse.Namespace) -> int:
    """What both `python app.py` and `rmdm app` run, in this order: the address (a socket, no gradio,
    no torch: exit 1), each --checkpoint (loaded once: exit 2), then build the page with those
    models and serve it (`blocks.run`).
    Each refusal is one line on stderr."""
    problem = address_problem(args)
    if problem:
        return cannot_serve(problem)
    loaded, problem = load_checkpoints(args.checkpoint)
    if problem:
        print(f"rmdm app: error: {problem}", file=sys.stderr)
        return EXIT_BAD_CHECKPOINT
    from .blocks import run

    return run(args, loaded)
