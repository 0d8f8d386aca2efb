"""`rmdm verify`: check one answer with the puzzle's verifier.

    rmdm verify sudoku --puzzle P --solution S
    rmdm verify countdown --numbers 44,15,79 --target 50 --answer "44-15=29,79-29=50" [--rules tv]

Prints the verdict (for Sudoku every violation, for Countdown the first broken rule
with its step), or with --json one JSON object. Exit 0 valid, 1 invalid answer,
2 malformed input (puzzle, numbers, or answer text that cannot be read).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from puzzles.errors import PuzzleError

EXIT_VALID, EXIT_INVALID, EXIT_MALFORMED = 0, 1, 2


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="check one answer (exit 0 valid, 1 invalid, 2 malformed)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tasks = parser.add_subparsers(dest="task", metavar="TASK", required=True)
    sudoku = tasks.add_parser("sudoku", help="a Sudoku and a filled grid (one-line or grid form)")
    sudoku.add_argument("--puzzle", required=True, metavar="P", help="the puzzle, '.' or '0' for blanks")
    sudoku.add_argument("--solution", required=True, metavar="S", help="the answer grid")
    sudoku.add_argument("--json", action="store_true", help="print the verdict as JSON")
    sudoku.set_defaults(func=_verify_sudoku)
    countdown = tasks.add_parser("countdown", help="numbers, target and an answer (steps or one expression)")
    countdown.add_argument("--numbers", required=True, metavar="N1,N2,...", help="the numbers, comma-separated")
    countdown.add_argument("--target", required=True, metavar="T", help="the target")
    countdown.add_argument(
        "--answer", required=True, metavar="TEXT", help='steps "44-15=29,79-29=50" or an expression "79-(44-15)"'
    )
    countdown.add_argument("--rules", choices=("ml", "tv"), default="ml", help="rule set (default %(default)s)")
    countdown.add_argument("--json", action="store_true", help="print the verdict as JSON")
    countdown.set_defaults(func=_verify_countdown)


def _malformed(args: argparse.Namespace, what: str, err: Exception) -> int:
    if args.json:
        print(json.dumps({"valid": False, "malformed": True, "error": f"{what}: {err}"}))
    else:
        print(f"error: {what}: {err}", file=sys.stderr)
    return EXIT_MALFORMED


def _emit(args: argparse.Namespace, payload: dict[str, Any], lines: list[str]) -> None:
    print(json.dumps(payload) if args.json else "\n".join(lines))


def _verify_sudoku(args: argparse.Namespace) -> int:
    from puzzles.sudoku import as_sudoku, verify_sudoku
    from puzzles.sudoku.verify import plural

    try:
        puzzle = as_sudoku(args.puzzle)
    except PuzzleError as err:
        return _malformed(args, "--puzzle", err)
    try:
        solution = as_sudoku(args.solution, puzzle.shape, strict=False)
    except PuzzleError as err:
        return _malformed(args, "--solution", err)
    verdict = verify_sudoku(puzzle, solution)
    violations = [
        {"kind": v.kind, "index": v.index, "digit": v.digit, "cells": [list(c) for c in v.cells],
         "message": v.describe()}
        for v in verdict.violations
    ]
    lines = ["valid"] if verdict.valid else [f"invalid: {plural(len(violations), 'violation')}"]
    lines += [f"  {v['message']}" for v in violations]
    _emit(args, {"valid": verdict.valid, "malformed": False, "violations": violations}, lines)
    return EXIT_VALID if verdict.valid else EXIT_INVALID


def _verify_countdown(args: argparse.Namespace) -> int:
    from puzzles.countdown import parse_instance, verify_countdown

    try:
        instance = parse_instance(f"{args.numbers},{args.target}", args.rules)
    except PuzzleError as err:
        return _malformed(args, "--numbers/--target", getattr(err, "reason", err))
    verdict = verify_countdown(instance, args.answer)
    if verdict.kind == "malformed":
        return _malformed(args, "--answer", verdict.error)
    payload = {"malformed": False, **verdict.to_dict(), "instance": instance.to_line(), "rules": instance.rules}
    _emit(args, payload, [verdict.message])
    return EXIT_VALID if verdict.valid else EXIT_INVALID
