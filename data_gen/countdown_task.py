"""Countdown records: generate, verify, key by the multiset of numbers, import JSONL, statistics.

Row columns (docs/ARCHITECTURE.md): id, numbers (list<int>), target, rules, answer (step
form), solutions (distinct solutions, counted up to the config's `count_limit`).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa

from .config import CountdownConfig
from .errors import DataGenError
from .records import log2_bucket, sorted_histogram

TASK = "countdown"
GENERATOR = "puzzles.countdown.generate_countdown"
GENERATOR_VERSION = "1"
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("numbers", pa.list_(pa.int32())),
        ("target", pa.int64()),
        ("rules", pa.string()),
        ("answer", pa.string()),
        ("solutions", pa.int64()),
    ]
)
TARGET_BINS = 20


def instance_key(numbers, target) -> str:
    """Instances that differ only in the order of their numbers are the same puzzle."""
    return ",".join(str(v) for v in sorted(numbers)) + f"={target}"


def _generator_kwargs(config: CountdownConfig) -> dict:
    return dict(
        n_numbers=config.numbers,
        rules=config.rules,
        number_range=config.number_range,
        target_range=config.target_range,
        large=config.large,
        unique=config.unique,
        min_solutions=config.min_solutions,
        count_limit=config.count_limit,
    )


def _generate_one(config: CountdownConfig, rng: np.random.Generator):
    from puzzles.countdown import generate_countdown
    from puzzles.errors import PuzzleError

    try:
        return generate_countdown(rng, **_generator_kwargs(config))
    except PuzzleError as err:
        raise DataGenError(f"the generator cannot meet this config: {err}") from None


def probe(config: CountdownConfig) -> None:
    """Generate one instance outside the dataset, so impossible configs fail before work."""
    _generate_one(config, np.random.default_rng([config.seed, 0, 1]))


def _table(ids, instances, answers, solutions) -> pa.Table:
    return pa.Table.from_arrays(
        [
            pa.array(ids, pa.string()),
            pa.array([list(i.numbers) for i in instances], pa.list_(pa.int32())),
            pa.array([i.target for i in instances], pa.int64()),
            pa.array([i.rules for i in instances], pa.string()),
            pa.array(answers, pa.string()),
            pa.array(solutions, pa.int64()),
        ],
        schema=SCHEMA,
    )


def _verify(instances, answers, where: str) -> None:
    from puzzles.countdown import verify_countdown

    for j, (instance, answer) in enumerate(zip(instances, answers)):
        verdict = verify_countdown(instance, answer)
        if not verdict.valid:
            raise DataGenError(f"{where}: the verifier rejected record {j} ({verdict.error}); a bug, please report it")


def make_records(config: CountdownConfig, rng: np.random.Generator, count: int, first_index: int) -> tuple[pa.Table, list[str]]:
    """`count` verified records numbered from `first_index`, and their keys."""
    made = [_generate_one(config, rng) for _ in range(count)]
    instances = [g.instance for g in made]
    answers = [g.answer for g in made]
    _verify(instances, answers, f"records {first_index}..")
    ids = [f"{config.seed}-{first_index + j}" for j in range(count)]
    keys = [instance_key(i.numbers, i.target) for i in instances]
    return _table(ids, instances, answers, [g.solutions for g in made]), keys


# ----------------------------------------------------------------------------- reading sets


def read_instances(path: Path, rules: str) -> list[tuple[int, object, str | None]]:
    """(line number, instance, given answer or None) from cd4-style JSONL
    (`{"input": "n1,...,target", "output": "steps"}`), plain `n1,...,target` lines, or the
    numbers/target columns of a dataset."""
    from puzzles.countdown import CountdownInstance, parse_instance
    from puzzles.errors import PuzzleError

    from .dataset import is_dataset, read_any_parquet

    if is_dataset(path) or path.suffix == ".parquet":
        table = read_any_parquet(path, ["numbers", "target"])
        rows = zip(table.column("numbers").to_pylist(), table.column("target").to_pylist())
        try:
            return [(i + 1, CountdownInstance(tuple(n), t, rules), None) for i, (n, t) in enumerate(rows)]
        except PuzzleError as err:
            raise DataGenError(f"{path}: {err}") from None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataGenError(f"cannot read {path}: {err}") from None
    out = []
    for line_no, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        answer = None
        if text.startswith("{"):
            try:
                record = json.loads(text)
                text, answer = record["input"], record.get("output")
            except (ValueError, KeyError, TypeError):
                raise DataGenError(f"{path}: line {line_no}: expected a JSON object with an \"input\" field") from None
        try:
            out.append((line_no, parse_instance(str(text), rules, line_no=line_no), answer))
        except PuzzleError as err:
            raise DataGenError(f"{path}: {err}") from None
    return out


def exclude_keys(path: Path, config: CountdownConfig) -> tuple[set[str], int]:
    """Keys of the instances in an external set, and how many it holds."""
    items = read_instances(path, config.rules)
    return {instance_key(inst.numbers, inst.target) for _, inst, _ in items}, len(items)


def import_file(path: Path, options: dict) -> tuple[pa.Table, list[str], list[str]]:
    """Records for a JSONL/text set: the given answer when the verifier accepts it, else
    the exact solver's; the solution count from the exact solver; unsolvable ones skipped."""
    from puzzles.countdown import count_solutions, format_steps, solve_countdown, verify_countdown

    rules = options.get("rules", "ml")
    limit = options.get("count_limit", 100_000)
    ids, instances, answers, solutions, keys, notes = [], [], [], [], [], []
    for line_no, instance, given in read_instances(path, rules):
        answer = given if given is not None and verify_countdown(instance, given).valid else None
        if answer is None:
            steps = solve_countdown(instance)
            if steps is None:
                notes.append(f"line {line_no}: skipped, {instance.to_line()} has no solution under {rules} rules")
                continue
            if given is not None:
                notes.append(f"line {line_no}: the given answer is invalid; the solver's answer is stored")
            answer = format_steps(steps)
        ids.append(f"{path.stem}:{line_no}")
        instances.append(instance)
        answers.append(answer)
        solutions.append(count_solutions(instance, limit=limit))
        keys.append(instance_key(instance.numbers, instance.target))
    _verify(instances, answers, str(path))
    return _table(ids, instances, answers, solutions), keys, notes


# ----------------------------------------------------------------------------- statistics


class Stats:
    """Ranges of numbers and targets, solution-count and step histograms, and the longest
    prompt (`n1,...,target`) and answer in characters (the codec's lengths)."""

    def __init__(self) -> None:
        self.targets: Counter = Counter()
        self.solutions: Counter = Counter()
        self.steps: Counter = Counter()
        self.number_min: int | None = None
        self.number_max: int | None = None
        self.max_prompt_chars = 0
        self.max_answer_chars = 0
        self.n_numbers: Counter = Counter()

    def add(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        numbers = table.column("numbers").to_pylist()
        targets = table.column("target").to_pylist()
        answers = table.column("answer").to_pylist()
        flat = [v for row in numbers for v in row]
        self.number_min = min(flat + ([self.number_min] if self.number_min is not None else []))
        self.number_max = max(flat + ([self.number_max] if self.number_max is not None else []))
        self.targets.update(targets)
        self.n_numbers.update(len(row) for row in numbers)
        self.solutions.update(log2_bucket(s) for s in table.column("solutions").to_pylist())
        self.steps.update(a.count("=") for a in answers)
        prompts = (len(",".join(map(str, (*row, t)))) for row, t in zip(numbers, targets))
        self.max_prompt_chars = max(self.max_prompt_chars, *prompts)
        self.max_answer_chars = max(self.max_answer_chars, *(len(a) for a in answers))

    def _target_histogram(self) -> dict[str, int]:
        if not self.targets:
            return {}
        low, high = min(self.targets), max(self.targets)
        width = max(1, -(-(high - low + 1) // TARGET_BINS))
        bins: Counter = Counter()
        for value, count in self.targets.items():
            start = low + (value - low) // width * width
            bins[start] += count
        starts = range(low, high + 1, width)  # empty bins too, so the axis is linear
        return {(str(s) if width == 1 else f"{s}-{s + width - 1}"): int(bins[s]) for s in starts}

    def result(self) -> dict:
        return {
            "n_numbers": sorted_histogram(self.n_numbers),
            "number_min": self.number_min,
            "number_max": self.number_max,
            "target_min": min(self.targets) if self.targets else None,
            "target_max": max(self.targets) if self.targets else None,
            "max_prompt_chars": self.max_prompt_chars,
            "max_answer_chars": self.max_answer_chars,
            "target_histogram": self._target_histogram(),
            "solutions_histogram": sorted_histogram(self.solutions),
            "steps_histogram": sorted_histogram(self.steps),
        }


def describe(config: CountdownConfig) -> str:
    return f"{config.numbers}-number {config.rules} Countdown"
