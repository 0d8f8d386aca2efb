"""Measure every bundled checkpoint with `rmdm eval`; write the figures beside its card (solve_rates.json) and into it.

    python -m benchmarks.evaluate_bundled                 # all bundled models
    python -m benchmarks.evaluate_bundled sudoku9 --limit 200   # a quick look: cards are not rewritten
    python -m benchmarks.evaluate_bundled --reuse               # cards from results already in runs/eval/bundled

For each model: held-out test sets (a data_gen test split, or a set generated with another
seed and `--exclude` of the training data; built first when missing) and, where they exist,
the public collections in ../shared/benchmarks (evaluation only, never training). Each set is
solved single-sample and with verifier-guided retries. The figures go to the checkpoint's
solve_rates.json (what the app shows), the card's "Measured solve rates" section is redrawn
from them (a table and the exact commands), and the full rows go to
benchmarks/results/bundled.json for docs/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import REPO as ROOT
from benchmarks.common import default_shared, write_json, write_text
from solver.checkpoint import SOLVE_RATES, SOLVE_RATES_HEADING, solve_rates_markdown

SHARED = default_shared()
CHECKPOINTS = ROOT / "solver" / "checkpoints"


@dataclass
class EvalSet:
    label: str
    data: str  # relative to the repository root, or an absolute path
    split: str = "test"
    build: list[str] = field(default_factory=list)  # `rmdm gen ...` arguments that make `data` when missing
    flags: list[str] = field(default_factory=list)  # extra `rmdm eval` flags
    runs: list[list[str]] = field(default_factory=lambda: [[]])  # one `rmdm eval` per entry, with these flags too
    limit: int | None = None  # the first N puzzles only (a large set on CPU); the card shows the count


# Countdown step models (issue 14's targets): plain decoding, the calculator constraint (with
# retries), the search as `rmdm solve --search` and the app run it (one network pass orders it),
# and best-of-8 constrained samples at temperature 1 on the first 200 (8 samples cost 8x).
COUNTDOWN_RUNS = [["--decoding", "plain", "--retries", "0"],
                  ["--decoding", "constrained"],
                  ["--decoding", "search", "--steps", "1", "--retries", "0"],
                  ["--decoding", "constrained", "--samples", "8", "--retries", "0", "--limit", "200"]]


def plans() -> dict[str, list[EvalSet]]:
    bench = SHARED
    return {
        "sudoku4": [EvalSet("generated 4x4 (seed 99; 4x4 has so few symmetry classes that every one is also in training)",
                            "data/eval/sudoku4-seed99", build=["sudoku", "--size", "4", "--n", "500", "--seed", "99",
                                                               "--no-dedupe", "--split", "test=1"])],
        "sudoku6": [EvalSet("data/sudoku6 test split (held out up to symmetry)", "data/sudoku6")],
        "sudoku9": [
            EvalSet("generated easy 9x9 (seed 11, excluding the training set up to symmetry)", "data/eval/sudoku9-easy",
                    build=["sudoku", "--size", "9", "--difficulty", "easy", "--n", "500", "--seed", "11",
                           "--split", "test=1", "--exclude", "data/sudoku9"]),
            EvalSet("data/sudoku9 test split, first 500 (held out up to symmetry; medium/hard/extreme mix)",
                    "data/sudoku9", limit=500),
            EvalSet("norvig_top95", str(bench / "sudoku" / "norvig_top95.txt")),
            EvalSet("norvig_hardest", str(bench / "sudoku" / "norvig_hardest.txt")),
            EvalSet("magictour_top1465, first 200", str(bench / "sudoku" / "magictour_top1465.txt"), limit=200),
        ],
        "countdown3": [EvalSet("data/countdown3 test split", "data/countdown3", runs=COUNTDOWN_RUNS)],
        "countdown4": [
            EvalSet("data/countdown4 test split, first 500", "data/countdown4", limit=500, runs=COUNTDOWN_RUNS),
            EvalSet("cd4_test.jsonl (public 4-number test set)", str(bench / "countdown" / "cd4_test.jsonl"),
                    runs=COUNTDOWN_RUNS),
        ],
    }


def run(command: list[str]) -> None:
    print("$", " ".join(shlex.quote(c) for c in command), file=sys.stderr, flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def shown(path: str) -> str:
    """A path as the card shows it: relative to the repository, and ../shared for the public sets."""
    p = Path(path)
    if p.is_absolute() and SHARED in p.parents:
        return "../shared/benchmarks/" + str(p.relative_to(SHARED))
    return path


def evaluate(name: str, item: EvalSet, retries: str, limit: int | None, reuse: bool = False) -> dict | None:
    """The set's `rmdm eval` runs (one per entry of item.runs), their rows in one result."""
    data = Path(item.data) if Path(item.data).is_absolute() else ROOT / item.data
    if not data.exists():
        if not item.build:
            print(f"skip {name} on {item.label}: {data} missing", file=sys.stderr)
            return None
        run(["rmdm", "gen", *item.build, "--out", item.data, "--quiet"])
    rows, commands, wall, device = [], [], 0.0, None
    for k, extra in enumerate(item.runs):
        out = ROOT / "runs" / "eval" / "bundled" / f"{name}-{data.stem}{f'-{k}' if k else ''}"
        command = ["rmdm", "eval", "--checkpoint", name, "--data", item.data, "--split", item.split,
                   "--retries", retries, "--out", str(out.relative_to(ROOT)), "--quiet", *item.flags]
        if limit or item.limit:
            command += ["--limit", str(limit or item.limit)]
        command += extra  # last: a run's own flags (its --limit, --retries) win
        if reuse and (out / "results.json").is_file():
            print(f"reusing {out.relative_to(ROOT)}/results.json (--reuse)", file=sys.stderr)
        else:
            run(command)
        result = json.loads((out / "results.json").read_text())
        rows += result["rows"]
        wall += result["wall_seconds"]
        device = result["device"]
        commands.append(" ".join(shlex.quote(shown(c)) for c in command))
    return {"model": name, "set": item.label, "command": "\n".join(commands), "rows": rows,
            "wall_seconds": wall, "device": device}


ROW_FIGURES = ("decoding", "samples", "retries", "solved", "puzzles", "solve_rate", "ci_low", "ci_high", "mean_nfe")
GROUP_FIGURES = ("solved", "puzzles", "solve_rate")


def solve_rates(results: list[dict], machine: str) -> dict:
    """What goes to the checkpoint's solve_rates.json: the figures its card shows, per set."""
    return {"machine": machine, "sets": [
        {"set": res["set"], "command": res["command"], "rows": [
            {**{key: row[key] for key in ROW_FIGURES},
             "by_group": {level: {key: g[key] for key in GROUP_FIGURES} for level, g in (row.get("by_group") or {}).items()}}
            for row in res["rows"]]}
        for res in results]}


def write_solve_rates(name: str, rates: dict) -> None:
    """solve_rates.json beside the card, and the card's section drawn from it."""
    folder = CHECKPOINTS / name
    write_json(folder / SOLVE_RATES, rates)
    card = folder / "card.md"
    head = card.read_text().split(SOLVE_RATES_HEADING)[0].rstrip() + "\n\n"
    write_text(card, head + solve_rates_markdown(rates))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="bundled checkpoint names (default: all that exist)")
    parser.add_argument("--retries", default="0,4", help="retry counts to measure (default 0,4)")
    parser.add_argument("--limit", type=int, help="first N puzzles of each set only (a quick look; cards need all)")
    parser.add_argument("--reuse", action="store_true",
                        help="take a set's results from runs/eval/bundled/ when present instead of evaluating again")
    parser.add_argument("--machine", default=f"CPU ({os.cpu_count()} cores)", help="what to call this machine on the cards")
    args = parser.parse_args(argv)
    wanted = args.models or [n for n in plans() if (CHECKPOINTS / n / "config.json").is_file()]
    summary_path = ROOT / "benchmarks" / "results" / "bundled.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    for name in wanted:
        if name not in plans():
            parser.error(f"{name!r} has no evaluation plan (known: {', '.join(plans())})")
        results = [r for item in plans()[name] if (r := evaluate(name, item, args.retries, args.limit, args.reuse))]
        if not args.limit:
            write_solve_rates(name, solve_rates(results, args.machine))
            summary[name] = results
    write_json(summary_path, summary, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
