"""`rmdm eval`: solve rate of a checkpoint on a data set, over a sweep of sampler settings.

    rmdm eval --checkpoint sudoku9 --data data/sudoku9-hard --steps 1,4,16 --loops 1,2,4 --plot
    rmdm eval --checkpoint sudoku9 --data ../shared/benchmarks/sudoku/norvig_top95.txt --retries 0,1,4

Prints a table (solve rate with its 95% Wilson interval, mean NFE and layer evaluations,
loops per step, puzzles/s; then the solve rate per difficulty), writes results.json and
results.csv to --out (atomically), and with --plot the solve rate against NFE, steps and
loops as PNGs. A bad numeric flag is refused while the command line is parsed (argparse's
error, exit status 2); other bad input (data, checkpoint, device) is one line on stderr and
exit status 2. A set of fewer than 30 puzzles gets a warning on stderr: its 95% intervals
are too wide to tell settings apart. torch is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from puzzles.errors import one_line

from .argtypes import int_list, positive_int
from .options import POLICIES, add_sampler_flags


class UsageError(ValueError):
    """A flag value that cannot be used (exit 2)."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval",
        help="solve rate of a checkpoint on a data set, over a sweep of steps/loops/policies/retries",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Comma lists sweep every combination. Data: a `rmdm gen` directory (manifest.json + Parquet), "
        "a one-line Sudoku .txt, a Countdown .jsonl ({\"input\": \"n1,...,target\"}) or a .parquet file.",
    )
    p.add_argument("--checkpoint", required=True, metavar="NAME|DIR", help="a bundled checkpoint name or a directory")
    p.add_argument("--data", required=True, metavar="DIR|FILE", help="data_gen directory or raw puzzle file")
    p.add_argument("--split", default="test", help="split of a data_gen directory (default: test)")
    p.add_argument("--retries", type=int_list(minimum=0), default="0", metavar="LIST", help="verifier-guided retries, e.g. 0,1,4 (default: 0)")
    p.add_argument("--samples", type=positive_int, default=1, metavar="N", help="best-of-N samples per puzzle (default: 1)")
    p.add_argument("--decoding", default="plain", metavar="LIST",
                   help="decoding modes: plain, constrained (illegal tokens masked), search (backtracking, budget --search-nfe), "
                        "search-mrv / search-uniform (the search without the network, for node counts) (default: plain); "
                        "a search makes --steps network passes along its path: --steps 1 orders it by one pass")
    add_sampler_flags(p, sweep=True)  # --steps --loops --policy --search-nfe (lists), --adaptive ... --seed
    p.add_argument("--limit", type=positive_int, default=None, metavar="N", help="evaluate the first N puzzles only")
    p.add_argument("--batch-size", type=positive_int, default=64, metavar="N", help="puzzles per batch (default: 64)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default: auto)")
    p.add_argument("--out", default=None, metavar="DIR", help="where results.json/.csv (and plots) go (default: runs/eval/<checkpoint>-<data>)")
    p.add_argument("--plot", action="store_true", help="also draw solve rate vs NFE, steps and loops (PNG)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def parse_policies(text: str) -> list[str]:
    policies = [p.strip() for p in str(text).split(",")]
    for p in policies:
        if p not in POLICIES:
            raise UsageError(f"--policy: unknown policy {p!r} (choose from {', '.join(POLICIES)})")
    return policies


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def default_out(checkpoint: str, data: str, split: str | None) -> Path:
    name = Path(checkpoint).name or "model"
    data_name = Path(data).stem or "data"
    return Path("runs") / "eval" / (f"{name}-{data_name}" + (f"-{split}" if split else ""))


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except Exception as err:  # bad input of any kind: one line, exit 2
        if not _is_input_error(err):
            raise
        message = one_line(err)
        print(f"rmdm eval: error: {message}", file=sys.stderr)
        return 2


def _say_refused(refused: list[tuple[int, str]]) -> None:
    index, why = refused[0]
    print(f"note: the model cannot take {len(refused)} of the puzzles; they count as unsolved "
          f"(first: puzzle {index + 1}: {why})", file=sys.stderr)


def _is_input_error(err: Exception) -> bool:
    """Errors about what the user gave (flags, files, checkpoints), not bugs (CheckpointError and
    CodecError are ValueErrors)."""
    return isinstance(err, (ValueError, OSError, KeyError))


def _run(args: argparse.Namespace) -> int:
    # the numeric flags were checked by argparse (solver.argtypes): the lists arrive parsed
    steps, loops, budgets = args.steps, args.loops, args.search_nfe
    retries = [int(r) for r in args.retries]
    policies = parse_policies(args.policy)
    decodings = [d.strip() for d in args.decoding.split(",") if d.strip()]

    from .evaluate import DECODINGS, evaluate, load_eval_data, small_set_warning, sweep, write_results

    unknown = [d for d in decodings if d not in DECODINGS]
    if unknown or not decodings:
        raise UsageError(f"--decoding: unknown mode {unknown[0] if unknown else args.decoding!r} (choose from {', '.join(DECODINGS)})")

    data = load_eval_data(args.data, split=args.split, limit=args.limit)

    from .checkpoint import load
    from .inference import resolve_device

    device = resolve_device(args.device)
    loaded = load(args.checkpoint, device=device)
    config = loaded.model.config
    model_max = int(getattr(config, "max_loops", None) or getattr(config, "loops", 1))
    too_many = [lp for lp in loops if lp is not None and lp > model_max]
    if too_many:
        raise UsageError(f"--loops: {too_many[0]} exceeds this model's max_loops = {model_max}")
    from .sampler import supported_loops

    untrained = [lp for lp in loops if lp is not None and lp > supported_loops(loaded.model)]
    if untrained and not args.untrained_loops:
        raise UsageError(
            f"--loops: {untrained[0]} is past the {config.loops} loops this model was trained at (its loop embedding never "
            "saw them); add --untrained-loops to measure it anyway"
        )

    warning = small_set_warning(data, args.limit)  # once the run is sure to start: after any error
    if warning:
        print(f"rmdm eval: warning: {warning}", file=sys.stderr)
    settings = sweep(steps, loops, policies, retries, samples=args.samples, adaptive=args.adaptive,
                     decodings=decodings, search_budgets=budgets)
    runs = len({(s.steps, s.loops, s.policy, s.decoding, s.search_nfe, s.retries if s.samples > 1 else None) for s in settings})
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        # one unit = one puzzle solved under one run's setting (the retry counts of a sweep share a run)
        bar = tqdm(total=runs * len(data.inputs), unit="solve", desc=f"rmdm eval: {_plural(len(data.inputs), 'puzzle')} × "
                   f"{_plural(runs, 'run')}", file=sys.stderr, dynamic_ncols=True)
    started = time.perf_counter()
    try:
        rows = evaluate(
            loaded, data, settings, batch_size=args.batch_size, temperature=args.temperature,
            retry_temperature=args.retry_temperature, seed=args.seed, adaptive_threshold=args.adaptive_threshold,
            adaptive_on=args.adaptive_on, search_nodes=args.search_nodes, untrained_loops=args.untrained_loops, progress=bar.update if bar is not None else None,
            on_refused=_say_refused,
        )
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - started

    name = getattr(loaded, "name", None) or str(args.checkpoint)
    print_tables(rows, data, title=f"{name} on {data.source}" + (f" [{data.split}]" if data.split else ""))
    out = Path(args.out) if args.out else default_out(str(args.checkpoint), args.data, data.split)
    meta = {
        "command": "rmdm eval " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["eval"] else "rmdm eval",
        "checkpoint": name,
        "checkpoint_path": str(getattr(loaded, "path", "")),
        "data": data.source,
        "split": data.split,
        "task": data.task,
        "puzzles": len(data.inputs),
        "grouping": data.grouping,
        "device": device,
        "batch_size": args.batch_size,
        "temperature": args.temperature,
        "retry_temperature": args.retry_temperature,
        "seed": args.seed,
        "adaptive_threshold": args.adaptive_threshold,
        "adaptive_on": args.adaptive_on,
        "search_nodes": args.search_nodes,
        "wall_seconds": wall,
        "versions": _versions(),
    }
    json_path, csv_path = write_results(rows, out, meta)
    print(f"wrote {json_path} and {csv_path}")
    if args.plot:
        from .plots import plot_sweep

        for path in plot_sweep(rows, out, title=meta["checkpoint"] + " on " + Path(data.source).name):
            print(f"wrote {path}")
    return 0


def _versions() -> dict[str, str]:
    import platform

    import torch

    try:
        from importlib.metadata import version

        package = version("rmdm-puzzles")
    except Exception:  # not installed (running from a checkout)
        package = "checkout"
    return {"python": platform.python_version(), "torch": torch.__version__, "rmdm-puzzles": package}


def print_tables(rows: list, data: Any, title: str) -> None:
    """The sweep as a rich table, then the solve rate per difficulty group."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # a pipe or a file: no need to squeeze into 80 columns
        console = Console(width=160)
    table = Table(title=title, title_justify="left")
    for column in ("steps", "loops", "policy", "decoding", "retries", "solved", "solve rate [95% CI]", "NFE", "p95 NFE",
                   "nodes", "layer evals", "loops/step", "puzzles/s"):
        table.add_column(column, justify="left" if column in ("policy", "decoding") else "right")
    for row in rows:
        s = row.setting
        loops = "trained" if s.loops is None else str(s.loops)
        table.add_row(
            "all" if s.steps is None else str(s.steps),
            f"≤{loops} adapt." if s.adaptive else loops,
            s.policy + (f" ×{s.samples}" if s.samples > 1 else ""),
            s.decoding + (f" ≤{s.search_nfe}" if s.search_nfe is not None else ""),
            str(s.retries),
            f"{row.solved}/{row.puzzles}",
            f"{100 * row.solve_rate:.1f}% [{100 * row.ci_low:.1f}, {100 * row.ci_high:.1f}]",
            f"{row.mean_nfe:.1f}",
            f"{row.p95_nfe:.0f}",
            f"{row.mean_nodes:.0f}" if s.decoding.startswith("search") else "",
            f"{row.mean_layer_evals:.1f}",
            f"{row.loops_per_step:.2f}",
            f"{row.puzzles_per_s:.1f}",
        )
    console.print(table)
    labels = list(rows[0].by_group) if rows else []
    if len(labels) > 1:
        groups = Table(title=f"solve rate by {data.grouping}", title_justify="left")
        groups.add_column("setting")
        for label in labels:
            groups.add_column(f"{label} (n={rows[0].by_group[label]['puzzles']})", justify="right")
        for row in rows:
            groups.add_row(row.setting.label(), *(f"{100 * row.by_group[g]['solve_rate']:.1f}%" for g in labels))
        console.print(groups)
