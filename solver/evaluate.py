"""Batch evaluation: solve rate by the verifier, with its 95% Wilson interval, per difficulty,
next to the compute spent (mean NFE, layer evaluations, loops per step) and the speed.

    data = load_eval_data("data/sudoku9-hard", split="test", limit=500)
    rows = evaluate(loaded, data, sweep(steps=[1, 4, 16], loops=[1, 2, 4]))
    write_results(rows, "runs/eval/sudoku9")

Data is a data_gen directory (manifest.json + Parquet shards) or a raw public file: one-line
Sudoku `.txt`, Countdown `.jsonl` (`{"input": "n1,...,target", ...}`), or one Parquet file.
A sweep runs every combination of steps x loops x policy x decoding (plain, constrained,
search with each NFE budget, and the no-network search baselines search-mrv and
search-uniform); with one sample per puzzle, the retry counts of a sweep come from one run
with the largest (a retry only depends on the attempts before it), each with the time of its
own passes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.files import write_bytes_atomic

from .guided import DECODINGS, Outcome, decoding_options
from .inference import admit, solve_batches
from .sampler import SampleOptions


class EvalError(ValueError):
    """Bad evaluation input: unreadable data, an unknown split, a task the model cannot solve."""


@dataclass
class EvalData:
    task: str  # "sudoku" | "countdown"
    inputs: list[Any]  # Sudoku / CountdownInstance
    groups: list[str]  # difficulty label of each puzzle
    grouping: str  # what the labels are: "level", "clues", "solutions" or "all"
    source: str
    split: str | None = None
    splits: dict[str, int] | None = None  # a data_gen directory's splits and their sizes


@dataclass(frozen=True)
class Setting:
    steps: int | None  # None: one position per step
    loops: int | None  # None: the trained count (adaptive: the cap)
    policy: str = "top_prob"
    retries: int = 0
    samples: int = 1
    adaptive: bool = False
    decoding: str = "plain"  # one of DECODINGS
    search_nfe: int | None = None  # search: the NFE budget per puzzle (None: unbounded)

    def label(self) -> str:
        steps = "all" if self.steps is None else self.steps
        loops = "trained" if self.loops is None else self.loops
        decoding = self.decoding + (f"(nfe<={self.search_nfe})" if self.search_nfe is not None else "")
        return f"steps={steps} loops={loops}{'(adaptive)' if self.adaptive else ''} {self.policy} {decoding} retries={self.retries}"


@dataclass
class EvalRow:
    """One setting's result; `by_group` maps a difficulty label to {puzzles, solved, solve_rate,
    ci_low, ci_high, mean_nfe, mean_layer_evals}."""

    setting: Setting
    puzzles: int
    solved: int
    solve_rate: float
    ci_low: float
    ci_high: float
    mean_nfe: float
    mean_layer_evals: float
    mean_steps: float  # denoising steps per puzzle, all attempts
    loops_per_step: float  # core passes per denoising step actually run (adaptive: fewer than the cap)
    seconds: float
    puzzles_per_s: float
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)
    p95_nfe: float = 0.0  # 95th percentile of the NFE per puzzle
    mean_nodes: float = 0.0  # search: commits per puzzle (0 for the other decodings)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(out.pop("setting"))
        return out


def wilson_interval(solved: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion (sane at 0 and at n)."""
    if total == 0:
        return 0.0, 1.0
    p = solved / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


# Fewer puzzles than this and a solve rate's 95% interval is wider than about 30 points:
# `rmdm eval` warns that the table cannot tell settings apart.
SMALL_SET = 30


def widest_interval(total: int) -> float:
    """The widest 95% Wilson interval any solve count on `total` puzzles can get (1.0 for none)."""
    return max(high - low for low, high in (wilson_interval(k, total) for k in range(total + 1)))


def small_set_warning(data: EvalData, limit: int | None = None) -> str | None:
    """One line for stderr when `data` is too small to say anything (fewer than SMALL_SET
    puzzles): how wide the intervals get and how to evaluate more; None otherwise."""
    n = len(data.inputs)
    if n >= SMALL_SET:
        return None
    where = f"the {data.split!r} split of {data.source}" if data.split else data.source
    more = []
    if limit is not None and n >= limit:
        more.append(f"a larger --limit (now {limit})")
    others = sorted((count, name) for name, count in (data.splits or {}).items() if name != data.split and count > n)
    if others:
        more.append("another split: " + ", ".join(f"--split {name} ({count} puzzles)" for count, name in reversed(others)))
    if not more:
        more.append("a larger data set (--data)")
    return (
        f"only {n} puzzle{'' if n == 1 else 's'} in {where}: each solve rate's 95% interval is up to "
        f"{100 * widest_interval(n):.0f} points wide, too wide to tell settings apart; "
        f"for at least {SMALL_SET}, use " + " or ".join(more)
    )


# ----------------------------------------------------------------------------- data


def clue_bucket(clues: int, width: int = 5) -> str:
    low = clues // width * width
    return f"clues {low}-{low + width - 1}"


def _sudoku_data(puzzles: list[Any], levels: list[str] | None, source: str, split: str | None) -> EvalData:
    if levels is not None:
        return EvalData("sudoku", puzzles, levels, "level", source, split)
    return EvalData("sudoku", puzzles, [clue_bucket(p.clues) for p in puzzles], "clues", source, split)


def _countdown_data(instances: list[Any], solutions: list[int] | None, source: str, split: str | None) -> EvalData:
    if solutions is None:
        return EvalData("countdown", instances, ["all"] * len(instances), "all", source, split)
    labels = ["1 solution" if s == 1 else "2-9 solutions" if s < 10 else "10+ solutions" for s in solutions]
    return EvalData("countdown", instances, labels, "solutions", source, split)


def _records_data(records: list[dict[str, Any]], source: str, split: str | None, task: str | None) -> EvalData:
    """Rows of a data_gen table (Parquet) -> EvalData."""
    from puzzles.countdown import CountdownInstance
    from puzzles.sudoku import SudokuShape, parse_sudoku

    if not records:
        raise EvalError(f"{source}: no rows")
    columns = set(records[0])
    task = task or ("sudoku" if "puzzle" in columns else "countdown" if "numbers" in columns else None)
    try:
        if task == "sudoku":
            puzzles = []
            for row in records:
                shape = SudokuShape(int(row["box_rows"]), int(row["box_cols"])) if "box_rows" in row else None
                puzzles.append(parse_sudoku(str(row["puzzle"]), shape))
            levels = [str(row["level"]) for row in records] if "level" in columns else None
            return _sudoku_data(puzzles, levels, source, split)
        if task == "countdown":
            instances = [
                CountdownInstance(tuple(int(n) for n in row["numbers"]), int(row["target"]), str(row.get("rules") or "ml"))
                for row in records
            ]
            solutions = [int(row["solutions"]) for row in records] if "solutions" in columns else None
            return _countdown_data(instances, solutions, source, split)
    except (KeyError, ValueError, TypeError) as err:
        raise EvalError(f"{source}: bad row ({type(err).__name__}: {err})") from None
    raise EvalError(f"{source}: cannot tell the task from the columns {sorted(columns)}")


def _read_rows(path: Path, limit: int | None) -> list[dict[str, Any]]:
    """The first `limit` rows of one Parquet file, through data_gen's one reader."""
    from data_gen.dataset import read_rows
    from data_gen.errors import DataGenError

    try:
        rows = read_rows(path)
    except DataGenError as err:
        raise EvalError(str(err)) from None
    return rows[:limit] if limit is not None else rows


def _read_text_lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise EvalError(f"{path}: cannot read ({err})") from None
    return list(enumerate(text.splitlines(), start=1))


def _sudoku_text(path: Path, limit: int | None) -> EvalData:
    from puzzles.sudoku import iter_sudoku_lines

    puzzles = []
    for _, item in iter_sudoku_lines(line for _, line in _read_text_lines(path)):
        if isinstance(item, Exception):  # a ParseError naming its line and column
            raise EvalError(f"{path}: {item}")
        puzzles.append(item)
        if limit is not None and len(puzzles) >= limit:
            break
    if not puzzles:
        raise EvalError(f"{path}: no puzzles")
    return _sudoku_data(puzzles, None, str(path), None)


def _countdown_jsonl(path: Path, limit: int | None) -> EvalData:
    from puzzles.countdown import CountdownInstance, parse_instance

    instances, solutions = [], []
    for line_no, line in _read_text_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if "input" in record:
                instances.append(parse_instance(str(record["input"]), rules=str(record.get("rules", "ml"))))
            else:
                numbers = tuple(int(n) for n in record["numbers"])
                instances.append(CountdownInstance(numbers, int(record["target"]), str(record.get("rules", "ml"))))
            solutions.append(record.get("solutions"))
        except (ValueError, KeyError, TypeError) as err:
            raise EvalError(f"{path}: line {line_no}: {err}") from None
        if limit is not None and len(instances) >= limit:
            break
    if not instances:
        raise EvalError(f"{path}: no instances")
    counts = [int(s) for s in solutions] if all(s is not None for s in solutions) else None
    return _countdown_data(instances, counts, str(path), None)


def load_eval_data(path: str | Path, split: str = "test", limit: int | None = None) -> EvalData:
    """Puzzles to evaluate on, from a data_gen directory or a raw file (see the module docstring)."""
    path = Path(path)
    if limit is not None and limit < 1:
        raise EvalError(f"--limit must be at least 1, got {limit}")
    if path.is_dir():  # a data_gen directory, read (and sha256-checked) by data_gen's one reader
        from data_gen.dataset import load_manifest, read_records
        from data_gen.errors import DataGenError

        try:
            manifest = load_manifest(path)
            records = read_records(path, manifest, split, limit)
        except DataGenError as err:
            raise EvalError(str(err)) from None
        splits = manifest["splits"]
        if records is None:
            raise EvalError(f"{path}: no split {split!r} (splits: {', '.join(splits) or 'none'})")
        data = _records_data(records, str(path), split, manifest.get("task"))
        data.splits = {name: int(entry.get("count", 0)) for name, entry in splits.items() if isinstance(entry, dict)}
        return data
    if not path.exists():
        raise EvalError(f"{path}: no such file or directory")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return _sudoku_text(path, limit)
    if suffix == ".jsonl":
        return _countdown_jsonl(path, limit)
    if suffix == ".parquet":
        return _records_data(_read_rows(path, limit), str(path), None, None)
    raise EvalError(f"{path}: unknown data format (expected a data_gen directory, .txt, .jsonl or .parquet)")


# ----------------------------------------------------------------------------- the sweep


def sweep(
    steps: Sequence[int | None] = (None,),
    loops: Sequence[int | None] = (None,),
    policies: Sequence[str] = ("top_prob",),
    retries: Sequence[int] = (0,),
    samples: int = 1,
    adaptive: bool = False,
    decodings: Sequence[str] = ("plain",),
    search_budgets: Sequence[int | None] = (None,),
) -> list[Setting]:
    """Every combination, in the order given (steps outermost, retries innermost); the NFE
    budgets apply to "search" only (the baselines run no network: bound them by nodes). A
    search backtracks instead of retrying, so it gets one row, at the first retry count."""
    unknown = [d for d in decodings if d not in DECODINGS]
    if unknown:
        raise EvalError(f"unknown decoding {unknown[0]!r} (choose from {', '.join(DECODINGS)})")
    return [
        Setting(s, lp, p, r, samples, adaptive, d, b)
        for s in steps
        for lp in loops
        for p in policies
        for d in decodings
        for b in (search_budgets if d == "search" else (None,))
        for r in (retries if d in ("plain", "constrained") else retries[:1])
    ]


def _row(setting: Setting, data: EvalData, results: list[tuple[bool, int, int, int, int, int]], seconds: float) -> EvalRow:
    """results: per puzzle (solved, nfe, layer_evals, loops, steps, nodes)."""
    total = len(results)
    solved = sum(r[0] for r in results)
    low, high = wilson_interval(solved, total)
    steps = sum(r[4] for r in results)
    by_group: dict[str, dict[str, float]] = {}
    for label in sorted(set(data.groups), key=_group_order):
        members = [r for r, g in zip(results, data.groups) if g == label]
        hits = sum(r[0] for r in members)
        g_low, g_high = wilson_interval(hits, len(members))
        by_group[label] = {
            "puzzles": len(members),
            "solved": hits,
            "solve_rate": hits / len(members),
            "ci_low": g_low,
            "ci_high": g_high,
            "mean_nfe": sum(r[1] for r in members) / len(members),
            "mean_layer_evals": sum(r[2] for r in members) / len(members),
        }
    return EvalRow(
        setting=setting,
        puzzles=total,
        solved=solved,
        solve_rate=solved / total if total else 0.0,
        ci_low=low,
        ci_high=high,
        mean_nfe=sum(r[1] for r in results) / max(total, 1),
        mean_layer_evals=sum(r[2] for r in results) / max(total, 1),
        mean_steps=steps / max(total, 1),
        loops_per_step=sum(r[3] for r in results) / max(steps, 1),
        seconds=seconds,
        puzzles_per_s=total / seconds if seconds > 0 else float("inf"),
        by_group=by_group,
        p95_nfe=float(np.percentile([r[1] for r in results], 95)) if results else 0.0,
        mean_nodes=sum(r[5] for r in results) / max(total, 1),
    )


def _group_order(label: str) -> tuple:
    levels = ("easy", "medium", "hard", "extreme")
    if label in levels:
        return (0, levels.index(label), label)
    digits = "".join(ch if ch.isdigit() else " " for ch in label).split()
    return (1, int(digits[0]) if digits else 0, label)


def evaluate(
    loaded: Any,
    data: EvalData,
    settings: Sequence[Setting],
    *,
    batch_size: int = 64,
    temperature: float = 0.0,
    retry_temperature: float | None = None,
    seed: int = 0,
    adaptive_threshold: float | None = None,
    adaptive_on: str | None = None,
    search_nodes: int | None = None,
    untrained_loops: bool = False,
    progress: Callable[[int], None] | None = None,
    on_row: Callable[[EvalRow], None] | None = None,
    on_refused: Callable[[list[tuple[int, str]]], None] | None = None,
) -> list[EvalRow]:
    """Solve `data` under each setting; rows in the order of `settings`. `progress(n)` is
    called as puzzles finish (n at a time); `on_row(row)` as each row is ready. An instance
    the model cannot take (another size, over its codec's limits) is counted as unsolved,
    never dropped from the denominator; `on_refused([(index, reason), ...])` hears of them
    first. When the model can take none of them, EvalError."""
    if not data.inputs:
        raise EvalError("no puzzles to evaluate")
    refused = [(i, why) for i, item in enumerate(data.inputs) if (why := admit(loaded, data.task, item)) is not None]
    if len(refused) == len(data.inputs):
        raise EvalError(f"the model can take none of the {len(data.inputs)} puzzles (first: {refused[0][1]})")
    if refused and on_refused is not None:
        on_refused(refused)
    skip = {i for i, _ in refused}
    taken = [item for i, item in enumerate(data.inputs) if i not in skip]
    rows: dict[Setting, EvalRow] = {}
    given = {
        "retry_temperature": retry_temperature, "adaptive_threshold": adaptive_threshold, "adaptive_on": adaptive_on,
        "search_nodes": search_nodes, "untrained_loops": untrained_loops or None,
    }
    defaults_overridden = {name: value for name, value in given.items() if value is not None}  # else the sampler's
    for run, budgets in _runs(settings):
        options = SampleOptions(
            steps=run.steps,
            loops=run.loops,
            policy=run.policy,
            temperature=temperature,
            adaptive=run.adaptive,
            seed=seed,
            **defaults_overridden,
            **decoding_options(run.decoding, run.search_nfe),
        )
        timings: list[tuple[int, int, float]] = []
        outcomes = solve_batches(
            loaded, taken, options, run.retries, run.samples, batch_size, on_batch=progress, timings=timings
        )
        if skip and progress is not None:
            progress(len(skip))  # the refused ones are done too
        for budget in budgets:
            setting = Setting(run.steps, run.loops, run.policy, budget, run.samples, run.adaptive, run.decoding, run.search_nfe)
            if run.samples == 1:
                solved = iter([_within(o, budget) for o in outcomes])
                seconds = sum(t for s, r, t in timings if r <= budget)
            else:
                solved = iter([(o.valid, o.nfe, o.layer_evals, o.attempts[-1].loops, o.attempts[-1].steps, o.nodes) for o in outcomes])
                seconds = sum(t for _, _, t in timings)
            results = [REFUSED if i in skip else next(solved) for i in range(len(data.inputs))]
            rows[setting] = _row(setting, data, results, seconds)
            if on_row is not None:
                on_row(rows[setting])
    return [rows[s] for s in settings]


def _runs(settings: Sequence[Setting]) -> list[tuple[Setting, list[int]]]:
    """Group settings that one run serves: one sample, same everything but retries."""
    runs: dict[Setting, list[int]] = {}
    for s in settings:
        key = Setting(s.steps, s.loops, s.policy, -1 if s.samples == 1 else s.retries, s.samples, s.adaptive, s.decoding, s.search_nfe)
        runs.setdefault(key, [])
        if s.retries not in runs[key]:
            runs[key].append(s.retries)
    return [
        (Setting(k.steps, k.loops, k.policy, max(budgets), k.samples, k.adaptive, k.decoding, k.search_nfe), budgets)
        for k, budgets in runs.items()
    ]


REFUSED = (False, 0, 0, 0, 0, 0)  # an instance the model cannot take: unsolved, no compute


def _within(outcome: Outcome, retries: int) -> tuple[bool, int, int, int, int, int]:
    a = outcome.within(retries)
    return a.valid, a.nfe, a.layer_evals, a.loops, a.steps, a.nodes


# ----------------------------------------------------------------------------- output


CSV_FIELDS = [
    "steps", "loops", "adaptive", "policy", "retries", "samples", "decoding", "search_nfe", "group", "puzzles", "solved",
    "solve_rate", "ci_low", "ci_high", "mean_nfe", "p95_nfe", "mean_nodes", "mean_layer_evals", "mean_steps",
    "loops_per_step", "seconds", "puzzles_per_s",
]


def results_csv(rows: Sequence[EvalRow]) -> str:
    """Long format: per setting one row for group 'all', then one per difficulty group (timing
    columns are left empty there: batches mix groups)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        flat = row.to_dict()
        flat.pop("by_group")
        base = {k: flat[k] for k in CSV_FIELDS if k in flat}
        base["steps"] = "all" if row.setting.steps is None else row.setting.steps
        base["loops"] = "trained" if row.setting.loops is None else row.setting.loops
        writer.writerow({**base, "group": "all"})
        timing = dict.fromkeys(("p95_nfe", "mean_nodes", "mean_steps", "loops_per_step", "seconds", "puzzles_per_s"), "")
        for label, group in row.by_group.items():
            writer.writerow({**base, **timing, "group": label, **group})
    return out.getvalue()


def write_results(rows: Sequence[EvalRow], out_dir: str | Path, meta: dict[str, Any]) -> tuple[Path, Path]:
    """results.json (meta + rows) and results.csv in `out_dir`, each written atomically."""
    out_dir = Path(out_dir)
    json_path, csv_path = out_dir / "results.json", out_dir / "results.csv"
    payload = {**meta, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rows": [r.to_dict() for r in rows]}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(json_path, (json.dumps(payload, indent=2) + "\n").encode("utf-8"))
    write_bytes_atomic(csv_path, results_csv(rows).encode("utf-8"))
    return json_path, csv_path
