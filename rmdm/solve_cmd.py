"""`rmdm solve`: solve puzzles read one per line, with the bundled model or exactly.

    rmdm solve sudoku --method exact < puzzles.txt
    rmdm solve countdown --method exact --rules tv --input instances.txt
    rmdm solve sudoku --steps 16 --loops 4 --retries 2 < puzzles.txt     # the model

Each puzzle line gives one output line, in order: the answer in one-line form (Sudoku:
n*n digits; Countdown: step form), a space, and a verdict from the puzzle's verifier.
A line that cannot be read gives `error: line N: ...` in its place (and on stderr); the
other lines are still solved. Blank lines and `#` comments are skipped.

The exact Sudoku path works in blocks of lines (a terminal's lines one at a time): one
parse of the block into arrays, one compiled solve, one vectorised check and one write
per block; every line still gets its own answer or its own error.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, TextIO

from puzzles.errors import ParseError, PuzzleError, one_line
from solver.argtypes import non_negative_int, positive_int
from solver.options import add_sampler_flags

# Exit codes (also in --help).
EXIT_OK = 0  # every puzzle solved, every answer verified
EXIT_UNSOLVED = 1  # some puzzle has no solution, or the model's answer was missing/invalid
EXIT_MALFORMED = 2  # some input line (or the input file) could not be read; wins over 1
EXIT_CANNOT_RUN = 3  # the chosen method could not run (model missing or failing to load)

EPILOG = """\
output: one line per puzzle, "ANSWER VERDICT", where VERDICT is
  valid          the answer passed the verifier
  invalid        the model's answer failed the verifier
  no-solution    the exact solver proved there is none (ANSWER is "-")
  no-answer      the model gave no answer that passed the verifier (ANSWER is "-")
  closest=V      countdown --closest: no solution; ANSWER reaches V, the nearest value
malformed lines, and lines no model can take (a size with no bundled model, more numbers
or larger numbers than the model's), print "error: line N: ..." in their place (and on
stderr); every other line is still solved.

input with no puzzle at all (empty, or only blank and comment lines) prints nothing on
stdout and "note: no puzzles in FILE" on stderr, and exits 0.

exit codes: 0 all solved and valid (or no puzzles); 1 some puzzle unsolved or invalid; 2 some
input malformed or unreadable (takes precedence over 1), or a bad option value (refused
before anything is read or loaded); 3 the method could not run (for the whole input, or for
some line: takes precedence over 2)."""

@dataclass
class _Line:
    """One output line and what it says about the run."""

    text: str
    code: int  # EXIT_OK, EXIT_UNSOLVED or EXIT_MALFORMED


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--method", choices=("model", "exact"), default="model",
        help="model: the bundled (or --checkpoint) model; exact: the exact solver (default %(default)s)",
    )
    common.add_argument("--input", "-i", metavar="FILE", help="read puzzles from FILE (default: stdin)")
    model = common.add_argument_group("model options (--method model)")
    model.add_argument("--checkpoint", metavar="NAME_OR_DIR", help="a bundled model name or a checkpoint directory")
    model.add_argument("--constrain", action="store_true", help="constraint-masked decoding: a digit already in a cell's row, column or box is never placed there (Sudoku)")
    model.add_argument("--search", action="store_true", help="model-guided backtracking search with the verifier in the loop (Sudoku; implies --constrain); "
                       "one network pass orders the search unless --steps asks for more")
    add_sampler_flags(model, sweep=False)  # --steps --loops --policy --search-nfe --search-nodes --adaptive ... --seed
    model.add_argument("--retries", type=non_negative_int, default=0, metavar="R", help="verifier-guided retries (default 0)")
    model.add_argument("--samples", type=positive_int, default=1, metavar="N", help="samples per puzzle, best kept (default 1)")
    model.add_argument("--batch-size", type=positive_int, default=64, metavar="B", help="puzzles per batch (default 64)")
    model.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda, ... (default auto)")

    parser = subparsers.add_parser(
        "solve", help="solve puzzles read one per line (model or exact)", description=__doc__,
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tasks = parser.add_subparsers(dest="task", metavar="TASK", required=True)
    sudoku = tasks.add_parser(
        "sudoku", parents=[common], help="one Sudoku per line ('.' or '0' for blanks)",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sudoku.set_defaults(func=run)
    countdown = tasks.add_parser(
        "countdown", parents=[common], help="one instance per line: n1,n2,...,target",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    countdown.add_argument(
        "--rules", choices=("ml", "tv"), default="ml",
        help="ml: use every number once, results >= 0; tv: the show's rules (default %(default)s)",
    )
    countdown.add_argument(
        "--closest", action="store_true", help="for an instance without solution, print the nearest reachable value"
    )
    countdown.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        stream = _open_input(args.input)
    except OSError as err:
        print(f"error: cannot read {args.input}: {err.strerror or err}", file=sys.stderr)
        return EXIT_MALFORMED
    with stream as text_lines:
        if args.method == "exact" and args.task == "sudoku":
            blocks: Iterable[list[_Line]] = _exact_sudoku_blocks(text_lines, _block_size(text_lines))
        elif args.method == "exact":
            items = _read_items(args, text_lines)
            blocks = ([_exact_countdown_line(args, line_no, item)] for line_no, item in items)
        else:
            items = list(_read_items(args, text_lines))
            try:
                blocks = [_model_lines(args, items)] if items else []  # nothing to solve: load no model
            except _CannotRun as err:
                print(f"error: {err}", file=sys.stderr)
                return EXIT_CANNOT_RUN
        worst, count = EXIT_OK, 0
        for lines in blocks:
            _write(lines)
            worst = max([worst, *(line.code for line in lines)])
            count += len(lines)
    if count == 0:
        source = "the standard input" if args.input in (None, "-") else args.input
        print(f"note: no puzzles in {source}", file=sys.stderr)
    return worst


def _open_input(path: str | None) -> AbstractContextManager[TextIO]:
    if path in (None, "-"):
        if hasattr(sys.stdin, "reconfigure"):
            sys.stdin.reconfigure(errors="replace")  # bad bytes become U+FFFD: a per-line error
        return nullcontext(sys.stdin)
    return open(path, encoding="utf-8", errors="replace")


def _read_items(args: argparse.Namespace, stream: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """(line number, puzzle or ParseError) for each puzzle line."""
    if args.task == "sudoku":
        from puzzles.sudoku import iter_sudoku_lines

        return iter_sudoku_lines(stream)
    from puzzles.countdown import iter_countdown_lines

    return iter_countdown_lines(stream, args.rules)


def _write(lines: list[_Line]) -> None:
    """The lines on stdout in one write, each error line also on stderr, in the same order
    relative to the other lines as one print per line would give."""
    start = 0
    for i, line in enumerate(lines):
        if line.code in (EXIT_MALFORMED, EXIT_CANNOT_RUN):
            sys.stdout.write("".join(f"{item.text}\n" for item in lines[start : i + 1]))
            print(line.text, file=sys.stderr)
            start = i + 1
    if start < len(lines):
        sys.stdout.write("".join(f"{item.text}\n" for item in lines[start:]))


def _error_line(line_no: int, err: ParseError) -> _Line:
    where = f"line {line_no}" + (f", column {err.column}" if err.column is not None else "")
    return _Line(f"error: {where}: {err.reason}", EXIT_MALFORMED)


# ---------------------------------------------------------------- exact

BLOCK_LINES = 4096  # input lines per block on the batched exact path


def _block_size(stream: TextIO) -> int:
    """Lines per block: one from a terminal (each answer as soon as its line is typed)."""
    try:
        return 1 if stream.isatty() else BLOCK_LINES
    except (AttributeError, ValueError):  # a stream without isatty, or a closed one
        return BLOCK_LINES


def _exact_sudoku_blocks(stream: Iterable[str], size: int) -> Iterator[list[_Line]]:
    """The output lines of each block of `size` input lines: one parse of the block into
    arrays, one solve and one vectorised check per grid size in it. The same lines as
    solving one puzzle at a time with `solve_sudoku` and `verify_sudoku` (a test holds it
    to that)."""
    from puzzles.sudoku import read_sudoku_block, solve_batch, to_lines, verify_batch

    lines = iter(stream)
    first_line = 1
    while block_text := list(itertools.islice(lines, size)):
        block = read_sudoku_block(block_text, first_line)
        first_line += len(block_text)
        out: list[_Line | None] = [None] * len(block.line_nos)
        for i, err in block.errors.items():
            out[i] = _error_line(block.line_nos[i], err)
        for group in block.groups:
            result = solve_batch(group.grids, group.shape)
            valid = verify_batch(group.grids, result.solutions, group.shape).tolist()
            found = (result.counts > 0).tolist()
            for i, text, ok, solved in zip(group.index.tolist(), to_lines(result.solutions), valid, found):
                if ok:
                    out[i] = _Line(f"{text} valid", EXIT_OK)
                elif solved:  # the verifier disagrees with the solver: say so, never hide it
                    out[i] = _Line(f"{text} invalid", EXIT_UNSOLVED)
                else:
                    out[i] = _Line("- no-solution", EXIT_UNSOLVED)
        yield out  # type: ignore[misc]  # every position is an error or in one group


def _exact_countdown_line(args: argparse.Namespace, line_no: int, item: Any) -> _Line:
    if isinstance(item, ParseError):
        return _error_line(line_no, item)
    from puzzles.countdown import closest, format_steps, solve_countdown

    steps = solve_countdown(item)
    if steps is not None:
        return _verified(args, item, format_steps(steps) or str(item.target))
    if args.closest:
        near = closest(item)
        return _Line(f"{format_steps(near.steps) or near.value} closest={near.value}", EXIT_UNSOLVED)
    return _Line("- no-solution", EXIT_UNSOLVED)


def _verified(args: argparse.Namespace, puzzle: Any, answer: str) -> _Line:
    """The answer with the verifier's verdict on it (the exact path checks itself too)."""
    if args.task == "sudoku":
        from puzzles.sudoku import verify_sudoku

        try:
            valid = verify_sudoku(puzzle, answer).valid
        except PuzzleError:  # a model answer that is not even a grid of the right size
            valid = False
    else:
        from puzzles.countdown import verify_countdown

        valid = verify_countdown(puzzle, answer).valid
    shown = "".join(answer.split()) or "-"  # one field: the line stays "ANSWER VERDICT"
    return _Line(f"{shown} valid", EXIT_OK) if valid else _Line(f"{shown} invalid", EXIT_UNSOLVED)


# ---------------------------------------------------------------- model


class _CannotRun(Exception):
    """The model path cannot run at all (not a property of one puzzle)."""


def _model_lines(args: argparse.Namespace, items: list[tuple[int, Any]]) -> list[_Line]:
    try:
        from solver.inference import solve_instances
    except ImportError as err:
        raise _CannotRun(
            f"the model solver is not available in this installation ({err}); use --method exact"
        ) from None
    puzzles = [item for _, item in items if not isinstance(item, ParseError)]
    try:
        answers = solve_instances(args.task, puzzles, args) if puzzles else []
    except (ImportError, OSError, RuntimeError, ValueError) as err:  # CheckpointError, PuzzleError: ValueErrors
        raise _CannotRun(f"the model could not run: {one_line(err)} (--method exact solves without a model)") from None
    answers_iter = iter(answers)
    lines = []
    for line_no, item in items:
        if isinstance(item, ParseError):
            lines.append(_error_line(line_no, item))
            continue
        result = next(answers_iter)
        if result.error is not None:  # no model can take this line; the others are still solved
            lines.append(_Line(f"error: line {line_no}: {result.error}", EXIT_CANNOT_RUN))
        elif result.answer is None:
            lines.append(_Line("- no-answer", EXIT_UNSOLVED))
        else:  # the model's answer, valid or not: a user sees what it did
            lines.append(_verified(args, item, result.answer))
    return lines
