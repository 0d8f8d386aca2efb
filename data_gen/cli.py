"""`rmdm gen`: build, import, merge and inspect datasets.

    rmdm gen sudoku --size 9 --difficulty hard --n 100000 --seed 7 --out data/sudoku9-hard
    rmdm gen sudoku --size 9 --clues 22-30 --n 100000 --seed 7 --out data/sudoku9-mixed
    rmdm gen countdown --numbers 4 --rules ml --n 100000 --seed 7 --out data/cd4
    rmdm gen sudoku ... --shard 0/4 --out part0      # one of four machines; then:
    rmdm gen merge part0 part1 part2 part3 --out data/sudoku9-hard
    rmdm gen import ../shared/benchmarks/sudoku/norvig_top95.txt --out data/top95
    rmdm gen stats data/sudoku9-hard --plot stats.png

Every problem the user can fix is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import DataGenError

# Kept here (also in config.py) so that building the parser imports no pydantic.
DEFAULT_SPLIT = "train=0.98,val=0.01,test=0.01"
LEVEL_CHOICES = ("easy", "medium", "hard", "extreme", "any")
INCOMPLETE = "interrupted before manifest.json was written, so --out is incomplete: run the command again with --overwrite"


class _OneLineParser(argparse.ArgumentParser):
    """Usage mistakes as one line on stderr (exit 2), like every other `rmdm gen` error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_parser(subparsers) -> None:
    gen = subparsers.add_parser("gen", help="build datasets (Parquet + manifest.json)", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = gen.add_subparsers(dest="gen_command", metavar="WHAT", required=True, parser_class=_OneLineParser)

    sudoku = sub.add_parser("sudoku", help="generate Sudoku puzzles with unique solutions")
    sudoku.add_argument("--size", type=int, default=9, help="grid side: 4, 6, 8, 9, 12 or 16 (default 9)")
    sudoku.add_argument("--difficulty", default="any", help=f"one of {', '.join(LEVEL_CHOICES)} (default any)")
    sudoku.add_argument("--clues", type=_clues, default=None, metavar="N|LO-HI",
                        help="exact number of givens, or a range: each puzzle's count drawn uniformly from LO..HI")
    sudoku.add_argument("--symmetric", action="store_true", help="180-degree symmetric clue pattern")
    _common(sudoku)
    sudoku.set_defaults(func=_gen_sudoku)

    countdown = sub.add_parser("countdown", help="generate solvable Countdown instances")
    countdown.add_argument("--numbers", type=int, default=4, help="numbers per instance (ml: 3..6; tv: 6)")
    countdown.add_argument("--rules", default="ml", help="ml (use every number once) or tv (the show)")
    countdown.add_argument("--number-range", type=_range, default=None, metavar="LO-HI", help="ml: numbers drawn from LO..HI (default 1-99)")
    countdown.add_argument("--target-range", type=_range, default=None, metavar="LO-HI", help="targets drawn from LO..HI (ml default 10-99, tv 100-999)")
    countdown.add_argument("--large", type=int, default=None, help="tv: how many large cards (default: drawn)")
    countdown.add_argument("--unique", action="store_true", help="only instances with exactly one solution")
    countdown.add_argument("--min-solutions", type=int, default=1, help="only instances with at least this many solutions")
    countdown.add_argument("--count-limit", type=int, default=100_000, help="stop counting solutions here (default 100000)")
    _common(countdown)
    countdown.set_defaults(func=_gen_countdown)

    imp = sub.add_parser("import", help="convert public sets (one-line Sudoku, cd4 JSONL) to the dataset format")
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.add_argument("--out", required=True, type=Path)
    imp.add_argument("--task", choices=("auto", "sudoku", "countdown"), default="auto", help="default: countdown for .jsonl, else sudoku")
    imp.add_argument("--rules", default="ml", help="Countdown rules of the set (default ml)")
    imp.add_argument("--split", default="test=1", help="splits by canonical hash (default test=1: everything in test)")
    imp.add_argument("--count-limit", type=int, default=100_000)
    imp.add_argument("--overwrite", action="store_true", help="replace a dataset already in --out")
    imp.add_argument("--quiet", "-q", action="store_true")
    imp.set_defaults(func=_import)

    merge = sub.add_parser("merge", help="combine the shards of one dataset made with --shard i/n")
    merge.add_argument("shards", nargs="+", type=Path, metavar="SHARD_DIR")
    merge.add_argument("--out", required=True, type=Path)
    merge.add_argument("--overwrite", action="store_true")
    merge.add_argument("--quiet", "-q", action="store_true")
    merge.set_defaults(func=_merge)

    stats = sub.add_parser("stats", help="print a dataset's statistics and check its files (sha256); --plot draws the histograms")
    stats.add_argument("directory", type=Path, metavar="DIR")
    stats.add_argument("--plot", type=Path, default=None, metavar="FILE.png")
    stats.add_argument("--verify", action="store_true",
                       help="(kept for old scripts: every file is always checked against its sha256)")
    stats.set_defaults(func=_stats)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, required=True, help="records to generate (duplicates and excluded ones are then dropped)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="output directory (empty, or use --resume / --overwrite)")
    parser.add_argument("--split", default=DEFAULT_SPLIT, help=f"NAME=FRACTION,... (default {DEFAULT_SPLIT})")
    parser.add_argument("--exclude", nargs="+", type=Path, default=[], metavar="FILE",
                        help="keep these sets out (one-line Sudoku, JSONL, Parquet or dataset dirs), up to symmetry")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--shard", default="0/1", metavar="i/n", help="make only chunks k = i mod n (combine with `gen merge`)")
    parser.add_argument("--chunk-size", type=int, default=500, help="records per chunk: part of the dataset's identity")
    parser.add_argument("--rows-per-file", type=int, default=100_000)
    parser.add_argument("--no-dedupe", dest="dedupe", action="store_false", help="keep records whose canonical form repeats")
    parser.add_argument("--keep-chunks", action="store_true", help="keep DIR/chunks after finishing")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    mode.add_argument("--overwrite", action="store_true", help="replace what rmdm gen wrote in --out")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar or messages")


def _range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    try:
        return (int(low), int(high)) if sep else (int(text), int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO-HI such as 1-99, got {text!r}") from None


def _clues(text: str):
    from .config import parse_clues

    try:
        return parse_clues(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _fail(message: str) -> int:
    print(f"rmdm gen: error: {message}", file=sys.stderr)
    return 2


def _guarded(run, interrupted: str = "interrupted") -> int:
    """Run a command; every expected failure becomes one line and exit code 2 (130 for Ctrl-C)."""
    from pydantic import ValidationError

    from puzzles.errors import PuzzleError

    from .config import validation_message

    try:
        return run()
    except KeyboardInterrupt:
        _fail(interrupted)
        return 130
    except ValidationError as err:
        return _fail(f"invalid options: {validation_message(err)}")
    except (DataGenError, PuzzleError) as err:
        return _fail(str(err))
    except OSError as err:
        return _fail(f"{err.filename or ''}: {err.strerror or err}".lstrip(": "))


def _options(args, exclude_paths=()):
    from .build import RunOptions
    from .config import parse_shard

    if getattr(args, "workers", None) is not None and args.workers < 1:
        raise DataGenError("--workers must be at least 1")
    return RunOptions(
        workers=getattr(args, "workers", None),
        quiet=args.quiet,
        resume=getattr(args, "resume", False),
        overwrite=args.overwrite,
        shard=parse_shard(getattr(args, "shard", "0/1")),
        keep_chunks=getattr(args, "keep_chunks", False),
        exclude_paths=list(exclude_paths),
    )


def _shared_config(args) -> dict:
    from .config import parse_split
    from .importer import source_of

    return dict(
        n=args.n,
        seed=args.seed,
        split=parse_split(args.split),
        chunk_size=args.chunk_size,
        rows_per_file=args.rows_per_file,
        dedupe=args.dedupe,
        exclude=tuple(source_of(p) for p in args.exclude),
    )


def _run_generate(args, make_config) -> int:
    def run() -> int:
        from .build import generate

        options = _options(args, args.exclude)  # checks --shard before the config
        config = make_config()
        manifest = generate(config, args.out, options)
        if manifest is not None:
            counts = ", ".join(f"{name} {s['count']}" for name, s in manifest["splits"].items())
            options.say(f"wrote {args.out}: {counts}")
        return 0

    return _guarded(run, "interrupted; the chunks finished so far are kept: run the same command with --resume to continue")


def _gen_sudoku(args) -> int:
    from .config import SudokuConfig

    return _run_generate(args, lambda: SudokuConfig(
        **_shared_config(args), size=args.size, difficulty=args.difficulty, clues=args.clues, symmetric=args.symmetric,
    ))


def _gen_countdown(args) -> int:
    from .config import CountdownConfig

    return _run_generate(args, lambda: CountdownConfig(
        **_shared_config(args), numbers=args.numbers, rules=args.rules, number_range=args.number_range,
        target_range=args.target_range, large=args.large, unique=args.unique,
        min_solutions=args.min_solutions, count_limit=args.count_limit,
    ))


def _import(args) -> int:
    def run() -> int:
        from .config import parse_split
        from .importer import ImportConfig, guess_task, import_sets, source_of

        task = guess_task(args.files) if args.task == "auto" else args.task
        config = ImportConfig(
            task=task, sources=tuple(source_of(p) for p in args.files), split=parse_split(args.split),
            rules=args.rules, count_limit=args.count_limit,
        )
        options = _options(args)
        manifest = import_sets(config, args.files, args.out, options)
        counts = ", ".join(f"{name} {s['count']}" for name, s in manifest["splits"].items())
        options.say(f"wrote {args.out}: {counts}")
        return 0

    return _guarded(run, INCOMPLETE)


def _merge(args) -> int:
    def run() -> int:
        from .build import merge

        options = _options(args)
        manifest = merge(args.shards, args.out, options)
        counts = ", ".join(f"{name} {s['count']}" for name, s in manifest["splits"].items())
        options.say(f"wrote {args.out}: {counts}")
        return 0

    return _guarded(run, INCOMPLETE)


def _stats(args) -> int:
    def run() -> int:
        from .dataset import load_manifest, verify_files
        from .stats_view import plot_histograms, stats_table

        manifest = load_manifest(args.directory)
        print(stats_table(manifest))
        # the table is the manifest's; the files must still be there and whole for it to describe them
        problems = verify_files(args.directory, manifest)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise DataGenError(f"{problems[0]}{more}; regenerate the dataset with --overwrite")
        print("every file matches its sha256")
        if args.plot:
            print(f"histograms written to {plot_histograms(manifest, args.plot)}")
        return 0

    return _guarded(run)
