"""`rmdm`: the command-line entry point.

Each subcommand lives in the package that owns it and exposes `add_parser(subparsers)`,
which registers its arguments and sets `func` (a callable taking the parsed args and
returning an exit code). Modules are imported here, but heavy imports (torch, gradio)
happen inside each `func`, so `rmdm verify` starts in a fraction of a second.

    rmdm solve sudoku --method exact < puzzles.txt
    rmdm verify countdown --numbers 44,15,79 --target 50 --answer "44-15=29,79-29=50"
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (module, help) for each subcommand, in the order `rmdm --help` lists them.
COMMANDS: dict[str, str] = {
    "solve": "rmdm.solve_cmd",
    "verify": "rmdm.verify_cmd",
    "gen": "data_gen.cli",
    "train": "solver.train_cli",
    "eval": "solver.eval_cli",
    "export": "solver.export_cli",
    "app": "rmdm.app_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rmdm",
        description="Recursive masked diffusion models for Sudoku and Countdown.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name and module_name.startswith(err.name):
                continue  # subcommand not built yet in this checkout
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
