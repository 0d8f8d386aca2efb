"""Measure every bundled checkpoint with `rmdm eval` and write the figures into its card.

    python -m benchmarks.evaluate_bundled                 # all bundled models
    python -m benchmarks.evaluate_bundled sudoku9 --limit 200   # a quick look: cards are not rewritten
    python -m benchmarks.evaluate_bundled --reuse               # cards from results already in runs/eval/bundled

For each model: held-out test sets (a data_gen test split, or a set generated with another
seed and `--exclude` of the training data; built first when missing) and, where they exist,
the public collections in ../shared/benchmarks (evaluation only, never training). Each set is
solved single-sample and with verifier-guided retries. The card's "Measured solve rates"
section is replaced with a table and the exact commands; the rows also go to
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

SHARED = default_shared()
CHECKPOINTS = ROOT / "solver" / "checkpoints"
SECTION = "## Measured solve rates"


@dataclass
class EvalSet:
    label: str
    data: str  # relative to the repository root, or an absolute path
    split: str = "test"
    build: list[str] = field(default_factory=list)  # `rmdm gen ...` arguments that make `data` when missing
    flags: list[str] = field(default_factory=list)  # extra `rmdm eval` flags
    limit: int | None = None  # the first N puzzles only (a large set on CPU); the card shows the count


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
        "countdown3": [EvalSet("data/countdown3 test split", "data/countdown3")],
        "countdown4": [
            EvalSet("data/countdown4 test split, first 500", "data/countdown4", limit=500),
            EvalSet("cd4_test.jsonl (public 4-number test set)", str(bench / "countdown" / "cd4_test.jsonl")),
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
    data = Path(item.data) if Path(item.data).is_absolute() else ROOT / item.data
    if not data.exists():
        if not item.build:
            print(f"skip {name} on {item.label}: {data} missing", file=sys.stderr)
            return None
        run(["rmdm", "gen", *item.build, "--out", item.data, "--quiet"])
    out = ROOT / "runs" / "eval" / "bundled" / f"{name}-{data.stem}"
    command = ["rmdm", "eval", "--checkpoint", name, "--data", item.data,
               "--split", item.split, "--retries", retries, "--out", str(out.relative_to(ROOT)), "--quiet", *item.flags]
    limit = limit or item.limit
    if limit:
        command += ["--limit", str(limit)]
    if reuse and (out / "results.json").is_file():
        print(f"reusing {out.relative_to(ROOT)}/results.json (--reuse)", file=sys.stderr)
    else:
        run(command)
    result = json.loads((out / "results.json").read_text())
    shown_command = " ".join(shlex.quote(shown(c)) for c in command)
    return {"model": name, "set": item.label, "command": shown_command, "rows": result["rows"],
            "wall_seconds": result["wall_seconds"], "device": result["device"]}


def card_section(results: list[dict], machine: str) -> str:
    lines = [SECTION, "", f"Measured by `python -m benchmarks.evaluate_bundled` on {machine}; one sample per puzzle,",
             "temperature 0, one cell/character committed per step (most confident first), the trained loop count.",
             "'retries' = verifier-guided retries (remask what the verifier rejects and continue, sampling",
             "at temperature 1.0: `--retry-temperature`).", "",
             "| set | retries | solved | solve rate [95% CI] | mean NFE |", "|---|---|---|---|---|"]
    for res in results:
        for row in res["rows"]:
            lines.append(f"| {res['set']} | {row['retries']} | {row['solved']}/{row['puzzles']} | "
                         f"{row['solve_rate']:.1%} [{row['ci_low']:.1%}, {row['ci_high']:.1%}] | {row['mean_nfe']:.1f} |")
    groups = [(res, row) for res in results for row in res["rows"] if len(row.get("by_group") or {}) > 1]
    if groups:
        lines += ["", "By difficulty level:", "", "| set | retries | level | solved | solve rate |", "|---|---|---|---|---|"]
        for res, row in groups:
            for level, g in row["by_group"].items():
                lines.append(f"| {res['set']} | {row['retries']} | {level} | {g['solved']}/{g['puzzles']} | "
                             f"{g['solve_rate']:.1%} |")
    lines += ["", "Commands:", "", "```bash", *[res["command"] for res in results], "```", ""]
    return "\n".join(lines)


def write_card(name: str, section: str) -> None:
    card = CHECKPOINTS / name / "card.md"
    text = card.read_text()
    head = text.split(SECTION)[0].rstrip() + "\n\n"
    write_text(card, head + section)


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
            write_card(name, card_section(results, args.machine))
            summary[name] = results
    write_json(summary_path, summary, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
