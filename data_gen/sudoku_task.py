"""Sudoku records: generate, verify, canonicalise, import one-line collections, statistics.

Row columns (docs/ARCHITECTURE.md): id, puzzle, solution (one-line strings, '.' blanks),
size, box_rows, box_cols, clues, guesses, singles_only, level.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa

from .config import SudokuConfig
from .errors import DataGenError
from .records import log2_bucket, sorted_histogram

TASK = "sudoku"
GENERATOR = "puzzles.sudoku.generate_sudoku"
GENERATOR_VERSION = "1"
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("puzzle", pa.string()),
        ("solution", pa.string()),
        ("size", pa.int16()),
        ("box_rows", pa.int16()),
        ("box_cols", pa.int16()),
        ("clues", pa.int16()),
        ("guesses", pa.int32()),
        ("singles_only", pa.bool_()),
        ("level", pa.string()),
    ]
)
_CHARS = np.frombuffer(b".123456789ABCDEFG", dtype=np.uint8)
GIVE_UP_AFTER = 5  # consecutive generator failures before the run stops


def _shape(config: SudokuConfig):
    from puzzles.sudoku import SudokuShape

    return SudokuShape(config.box_rows, config.box_cols)


def grid_lines(grids: np.ndarray) -> list[str]:
    """(B, n, n) int grids -> one-line strings ('.' blanks), vectorised."""
    flat = _CHARS[np.asarray(grids, dtype=np.int64).reshape(len(grids), -1)]
    width = flat.shape[1]
    raw = np.ascontiguousarray(flat).tobytes()
    return [raw[i * width : (i + 1) * width].decode("ascii") for i in range(len(grids))]


def canonical_keys(grids: np.ndarray, shape) -> list[str]:
    """The canonical form of each puzzle (equal exactly for symmetric copies)."""
    from puzzles.sudoku import canonical_batch

    if len(grids) == 0:
        return []
    return grid_lines(canonical_batch(np.asarray(grids, dtype=np.int8), shape))


def _generate_one(config: SudokuConfig, shape, rng: np.random.Generator, clues: int | None):
    from puzzles.errors import PuzzleError
    from puzzles.sudoku import generate_sudoku

    for failure in range(1, GIVE_UP_AFTER + 1):
        try:
            return generate_sudoku(shape, rng, level=config.level, clues=clues, symmetric=config.symmetric)
        except PuzzleError as err:
            if failure == GIVE_UP_AFTER:
                raise DataGenError(f"the generator cannot meet this config: {err}") from None
    raise AssertionError("unreachable")


def clue_targets(config: SudokuConfig, rng: np.random.Generator, count: int) -> list[int | None]:
    """Each record's clue count: None (free), the exact --clues N, or one drawn uniformly
    from --clues LO-HI with the chunk's generator (so it follows from the seed)."""
    if config.clues is None:
        return [None] * count
    if isinstance(config.clues, int):
        return [config.clues] * count
    choices = np.array(config.clue_choices())
    return [int(c) for c in rng.choice(choices, size=count)]


def probe(config: SudokuConfig) -> None:
    """Generate one puzzle outside the dataset: an impossible combination fails here,
    before any file is written (and the compiled code is warm for the workers). With a
    clue range, the fewest clues are probed: the hardest target to meet."""
    low = None if config.clue_range is None else config.clue_choices()[0]
    _generate_one(config, _shape(config), np.random.default_rng([config.seed, 0, 1]), low)


def _table(ids, puzzles: np.ndarray, solutions: np.ndarray, ratings, shape) -> pa.Table:
    count = len(ids)
    return pa.Table.from_arrays(
        [
            pa.array(ids, pa.string()),
            pa.array(grid_lines(puzzles), pa.string()),
            pa.array(grid_lines(solutions), pa.string()),
            pa.array([shape.n] * count, pa.int16()),
            pa.array([shape.box_rows] * count, pa.int16()),
            pa.array([shape.box_cols] * count, pa.int16()),
            pa.array([r.clues for r in ratings], pa.int16()),
            pa.array([r.guesses for r in ratings], pa.int32()),
            pa.array([r.singles_only for r in ratings], pa.bool_()),
            pa.array([r.level for r in ratings], pa.string()),
        ],
        schema=SCHEMA,
    )


def _verify(puzzles: np.ndarray, solutions: np.ndarray, shape, ratings, where: str) -> None:
    from puzzles.sudoku import verify_batch

    valid = verify_batch(puzzles, solutions, shape)
    unique = np.array([r.solutions == 1 for r in ratings], dtype=bool)
    bad = np.flatnonzero(~(valid & unique))
    if len(bad):
        raise DataGenError(f"{where}: the verifier rejected record {int(bad[0])} (a bug in the generator; please report it)")


def make_records(config: SudokuConfig, rng: np.random.Generator, count: int, first_index: int) -> tuple[pa.Table, list[str]]:
    """`count` verified records numbered from `first_index`, and their canonical keys."""
    shape = _shape(config)
    made = [_generate_one(config, shape, rng, clues) for clues in clue_targets(config, rng, count)]
    puzzles = np.stack([g.puzzle.grid for g in made]).astype(np.int8)
    solutions = np.stack([g.solution.grid for g in made]).astype(np.int8)
    ratings = [g.rating for g in made]
    _verify(puzzles, solutions, shape, ratings, f"records {first_index}..")
    ids = [f"{config.seed}-{first_index + j}" for j in range(count)]
    return _table(ids, puzzles, solutions, ratings, shape), canonical_keys(puzzles, shape)


# ----------------------------------------------------------------------------- reading sets


def _lines_of(path: Path) -> list[str]:
    """The lines of a one-line collection, or the puzzle column of a dataset (row = line)."""
    from .dataset import is_dataset, read_any_parquet

    if is_dataset(path) or path.suffix == ".parquet":
        table = read_any_parquet(path, ["puzzle"])
        return table.column("puzzle").to_pylist()
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataGenError(f"cannot read {path}: {err}") from None


def read_puzzles(path: Path, shape=None) -> tuple[list[int], np.ndarray, list[str]]:
    """Parse a collection: (line numbers, (B, n, n) grids, notes on skipped lines).

    With `shape`, puzzles of another size are skipped (noted); without it, all must share
    the first puzzle's shape. A malformed line is an error naming its line and column.
    """
    from puzzles.errors import ParseError
    from puzzles.sudoku import iter_sudoku_lines

    numbers, grids, notes = [], [], []
    for line_no, item in iter_sudoku_lines(_lines_of(path)):
        if isinstance(item, ParseError):
            raise DataGenError(f"{path}: {item}")
        if shape is None:
            shape = item.shape
        if item.shape != shape:
            notes.append(f"line {line_no}: a {item.shape.n}x{item.shape.n} puzzle, not {shape.n}x{shape.n}")
            continue
        numbers.append(line_no)
        grids.append(item.grid)
    if not grids:
        return numbers, np.zeros((0, 0, 0), np.int8), notes
    return numbers, np.stack(grids).astype(np.int8), notes


def exclude_keys(path: Path, config: SudokuConfig) -> tuple[set[str], int]:
    """Canonical forms of the puzzles in an external set (of this grid shape), and how many."""
    shape = _shape(config)
    _, grids, _ = read_puzzles(path, shape)
    return set(canonical_keys(grids, shape)), len(grids)


def import_file(path: Path, options: dict) -> tuple[pa.Table, list[str], list[str]]:
    """Records for a one-line collection: solutions and ratings from the exact solver,
    verified; puzzles without exactly one solution are skipped (noted)."""
    from puzzles.sudoku import SudokuShape, rate_batch, solve_batch

    line_numbers, grids, notes = read_puzzles(path)
    if len(grids) == 0:
        return SCHEMA.empty_table(), [], notes + ["no puzzles"]
    shape = SudokuShape.for_size(grids.shape[1])
    ratings = rate_batch(grids, shape)
    solved = solve_batch(grids, shape, limit=2)
    keep = [i for i, r in enumerate(ratings) if r.solutions == 1 and solved.counts[i] == 1]
    for i in sorted(set(range(len(ratings))) - set(keep)):
        what = "no solution" if solved.counts[i] == 0 else "more than one solution"
        notes.append(f"line {line_numbers[i]}: skipped, the puzzle has {what}")
    puzzles, solutions = grids[keep], solved.solutions[keep]
    kept_ratings = [ratings[i] for i in keep]
    _verify(puzzles, solutions, shape, kept_ratings, str(path))
    ids = [f"{path.stem}:{line_numbers[i]}" for i in keep]
    return _table(ids, puzzles, solutions, kept_ratings, shape), canonical_keys(puzzles, shape), notes


# ----------------------------------------------------------------------------- statistics


class Stats:
    """Histograms of the records written: clue counts, levels, search guesses."""

    def __init__(self) -> None:
        self.clues: Counter = Counter()
        self.levels: Counter = Counter()
        self.guesses: Counter = Counter()
        self.singles_only = 0
        self.shape: tuple[int, int, int] | None = None

    def add(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self.clues.update(table.column("clues").to_pylist())
        self.levels.update(table.column("level").to_pylist())
        self.guesses.update(log2_bucket(g) for g in table.column("guesses").to_pylist())
        self.singles_only += sum(table.column("singles_only").to_pylist())
        self.shape = tuple(table.column(c)[0].as_py() for c in ("size", "box_rows", "box_cols"))

    def result(self) -> dict:
        from puzzles.sudoku import LEVELS

        levels = {lv: int(self.levels[lv]) for lv in LEVELS if self.levels[lv]}
        return {
            "size": self.shape[0] if self.shape else None,
            "box_rows": self.shape[1] if self.shape else None,
            "box_cols": self.shape[2] if self.shape else None,
            "clues_min": min(self.clues) if self.clues else None,
            "clues_max": max(self.clues) if self.clues else None,
            "singles_only": self.singles_only,
            "clues_histogram": sorted_histogram(self.clues),
            "level_histogram": levels,
            "guesses_histogram": sorted_histogram(self.guesses),
        }


def describe(config: SudokuConfig) -> str:
    what = f"{config.size}x{config.size} {config.difficulty}"
    if config.clue_range is None:
        return what
    low, high = config.clue_range
    return what + (f", {low} clues" if low == high else f", {low}-{high} clues")

