"""Example puzzles for the app: the few shipped in rmdm/app/examples/, plus a handful from the
public benchmark files in ../shared/benchmarks when that folder is beside the checkout."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

SHARED_PER_FILE = 5  # puzzles taken from each public benchmark file
# A shipped Sudoku example whose label says this is one plain decoding fails and the search
# solves (tests/app/test_examples_solved.py holds every shipped example to its label).
SEARCH_HINT = "try Decoding: search"


def _shipped(name: str) -> list[tuple[str, str]]:
    """(label, text) for each line 'text  # label' of a shipped examples file."""
    text = resources.files("rmdm.app").joinpath("examples", name).read_text(encoding="utf-8")
    found = []
    for line in text.splitlines():
        body, _, label = line.partition("#")
        if body.strip():
            found.append((label.strip() or body.strip(), body.strip()))
    return found


def shared_benchmarks() -> Path | None:
    env = os.environ.get("RMDM_SHARED_BENCHMARKS")
    path = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "benchmarks"
    return path if path.is_dir() else None


def shipped_sudoku_examples() -> dict[str, str]:
    """label -> puzzle text, the shipped ones only."""
    return dict(_shipped("sudoku.txt"))


def promised_decoding(label: str) -> str | None:
    """The decoding a shipped example's label asks for ("search" for SEARCH_HINT), or None: the app's default."""
    return "search" if SEARCH_HINT in label else None


def sudoku_examples() -> dict[str, str]:
    """label -> puzzle text."""
    examples = shipped_sudoku_examples()
    shared = shared_benchmarks()
    for path in sorted(shared.glob("sudoku/*.txt")) if shared else []:
        try:
            lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        except OSError:
            continue
        puzzles = [ln for ln in lines if ln and not ln.startswith("#")][:SHARED_PER_FILE]
        for i, line in enumerate(puzzles, 1):
            examples[f"9x9 {path.stem} #{i} (public benchmark)"] = line
    return examples


def shipped_countdown_examples() -> dict[str, tuple[str, str, str]]:
    """label -> (numbers text, target text, rules), the shipped ones only."""
    examples = {}
    for label, body in _shipped("countdown.txt"):
        values, _, rules = body.partition(" ")
        *numbers, target = values.split(",")
        examples[label] = (",".join(numbers), target, rules.strip() or "ml")
    return examples


def countdown_examples() -> dict[str, tuple[str, str, str]]:
    """label -> (numbers text, target text, rules)."""
    examples = shipped_countdown_examples()
    shared = shared_benchmarks()
    path = shared / "countdown" / "cd4_test.jsonl" if shared else None
    if path is not None and path.is_file():
        try:
            with path.open(encoding="utf-8") as handle:
                rows = [json.loads(next(handle)) for _ in range(SHARED_PER_FILE)]
        except (OSError, StopIteration, ValueError):
            rows = []
        for i, row in enumerate(rows, 1):
            *numbers, target = str(row.get("input", "")).split(",")
            if numbers:
                examples[f"{len(numbers)} numbers, target {target}: cd4_test #{i} (public benchmark)"] = (
                    ",".join(numbers), target, "ml")
    return examples
