"""Validated generation configs: one pydantic model per task, checked before any work starts.

The config is the dataset's identity: the same config (and so the same seed) gives
byte-identical Parquet files, whatever the number of workers or machines. Run-time knobs
that do not change the output (workers, progress bar, the shard a machine takes) are not
part of it.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import DataGenError

DEFAULT_SPLIT = "train=0.98,val=0.01,test=0.01"  # (also in cli.py)
SPLIT_NAME = re.compile(r"^[A-Za-z0-9_]+$")
LEVEL_CHOICES = ("easy", "medium", "hard", "extreme", "any")


def parse_split(text: str) -> dict[str, float]:
    """`train=0.98,val=0.01,test=0.01` -> {"train": 0.98, ...} (order kept)."""
    split: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        name = name.strip()
        if not sep or not name:
            raise DataGenError(f"--split: expected NAME=FRACTION pairs like {DEFAULT_SPLIT}, got {part.strip()!r}")
        try:
            fraction = float(value)
        except ValueError:
            raise DataGenError(f"--split: {value.strip()!r} is not a number (in {part.strip()!r})") from None
        if name in split:
            raise DataGenError(f"--split: split {name!r} is named twice")
        split[name] = fraction
    return split


def parse_shard(text: str) -> tuple[int, int]:
    """`i/n` -> (i, n) with 0 <= i < n."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise DataGenError(f"--shard: expected i/n such as 0/4, got {text!r}")
    index, count = int(match[1]), int(match[2])
    if count < 1 or index >= count:
        raise DataGenError(f"--shard {text}: need 0 <= i < n (shards are numbered from 0)")
    return index, count


def check_split(split: dict[str, float]) -> dict[str, float]:
    """Names of letters, digits and _; fractions in [0, 1] adding up to 1."""
    if not split:
        raise ValueError("at least one split is needed")
    for name, fraction in split.items():
        if not SPLIT_NAME.match(name):
            raise ValueError(f"split name {name!r} may use only letters, digits and _")
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"split {name}={fraction} is not a fraction in [0, 1]")
    total = sum(split.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"split fractions add up to {total:g}, not 1")
    return split


class ExcludeSource(BaseModel):
    """A set kept out of the dataset, named by its file name and content hash (not its
    path, so machines with different paths agree on the config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    sha256: str


class GenConfig(BaseModel):
    """What every task shares: how many records, the seed, the splits, the chunking."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = Field(gt=0, le=10**10, description="records generated before duplicates and excluded ones are dropped")
    seed: int = Field(ge=0, lt=2**63)
    split: dict[str, float] = Field(default_factory=lambda: parse_split(DEFAULT_SPLIT))
    chunk_size: int = Field(500, gt=0, le=10**6, description="records per chunk (the unit of work, seeding and resume)")
    rows_per_file: int = Field(100_000, gt=0, description="rows per Parquet file of a split")
    dedupe: bool = Field(True, description="drop records whose canonical form appeared earlier")
    exclude: tuple[ExcludeSource, ...] = ()

    @field_validator("split")
    @classmethod
    def _check_split(cls, split: dict[str, float]) -> dict[str, float]:
        return check_split(split)

    @property
    def n_chunks(self) -> int:
        return -(-self.n // self.chunk_size)

    def chunk_records(self, k: int) -> int:
        """How many records chunk k generates (the last chunk may be short)."""
        return min(self.chunk_size, self.n - k * self.chunk_size)


class SudokuConfig(GenConfig):
    task: Literal["sudoku"] = "sudoku"
    size: int = 9
    box_rows: int = 0  # 0: the standard layout for `size`
    box_cols: int = 0
    difficulty: str = "any"
    clues: int | tuple[int, int] | None = Field(
        None, description="exact givens N, or (LO, HI): each record draws its target uniformly in LO..HI"
    )
    symmetric: bool = False

    @field_validator("clues", mode="before")
    @classmethod
    def _read_clues(cls, value):
        """`"25"` or `"20-30"` (as on the command line) as well as 25 or [20, 30]; a range
        LO-LO is the exact count LO (the same dataset as `clues=LO`)."""
        if isinstance(value, str):
            value = parse_clues(value)
        if isinstance(value, (list, tuple)) and len(value) == 2 and value[0] == value[1]:
            value = value[0]
        return value

    @model_validator(mode="after")
    def _check_puzzle(self) -> SudokuConfig:
        from puzzles.errors import PuzzleError
        from puzzles.sudoku import SudokuShape, min_clues

        if self.difficulty not in LEVEL_CHOICES:
            raise ValueError(f"unknown difficulty {self.difficulty!r}; choose one of {', '.join(LEVEL_CHOICES)}")
        try:
            if self.box_rows or self.box_cols:
                shape = SudokuShape(self.box_rows, self.box_cols)
                if shape.n != self.size:
                    raise ValueError(f"boxes of {self.box_rows}x{self.box_cols} make a {shape.n}x{shape.n} grid, not {self.size}x{self.size}")
            else:
                shape = SudokuShape.for_size(self.size)
        except PuzzleError as err:
            raise ValueError(str(err)) from None
        object.__setattr__(self, "box_rows", shape.box_rows)
        object.__setattr__(self, "box_cols", shape.box_cols)
        if self.clues is not None:
            _check_clues(self.clues, shape.n, min_clues(shape), shape.cells, self.symmetric)
        return self

    @property
    def clue_range(self) -> tuple[int, int] | None:
        """(LO, HI) of the clue targets, None when the generator chooses freely."""
        if self.clues is None:
            return None
        return (self.clues, self.clues) if isinstance(self.clues, int) else tuple(self.clues)

    def clue_choices(self) -> list[int]:
        """The clue counts a record may be given: LO..HI, only even ones for a symmetric
        puzzle on an even-sided grid (its centre is no cell)."""
        low, high = self.clue_range
        even_only = self.symmetric and self.size % 2 == 0
        return [c for c in range(low, high + 1) if not (even_only and c % 2)]

    @property
    def level(self) -> str | None:
        return None if self.difficulty == "any" else self.difficulty


class CountdownConfig(GenConfig):
    task: Literal["countdown"] = "countdown"
    numbers: int = 4
    rules: Literal["ml", "tv"] = "ml"
    number_range: tuple[int, int] | None = None
    target_range: tuple[int, int] | None = None
    large: int | None = None
    unique: bool = False
    min_solutions: int = Field(1, ge=1)
    count_limit: int = Field(100_000, ge=2)

    @field_validator("number_range", "target_range", mode="before")
    @classmethod
    def _read_range(cls, value):
        """`"1-99"` as on the command line, as well as [1, 99]."""
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", value)
            if not match:
                raise ValueError(f"expected LO-HI such as 1-99, got {value!r}")
            value = (int(match[1]), int(match[2]))
        return value

    @model_validator(mode="after")
    def _check_generator(self) -> CountdownConfig:
        from puzzles import countdown as cd

        if self.rules == "ml":
            if not cd.ML_MIN_NUMBERS <= self.numbers <= cd.ML_MAX_NUMBERS:
                raise ValueError(f"ml rules take {cd.ML_MIN_NUMBERS} to {cd.ML_MAX_NUMBERS} numbers, not {self.numbers}")
            if self.large is not None:
                raise ValueError("--large applies to tv rules only")
            _check_range("number_range", self.number_range, 1, cd.ML_MAX_NUMBER)
            _check_range("target_range", self.target_range, 0, cd.ML_MAX_TARGET)
        else:
            if self.numbers != cd.TV_NUMBERS:
                raise ValueError(f"tv rules take exactly {cd.TV_NUMBERS} numbers, not {self.numbers}")
            if self.number_range is not None:
                raise ValueError("tv numbers come from the show's cards: --number-range does not apply (use --large)")
            if self.large is not None and not 0 <= self.large <= len(cd.TV_LARGE):
                raise ValueError(f"--large must lie in 0..{len(cd.TV_LARGE)}, not {self.large}")
            _check_range("target_range", self.target_range, cd.TV_MIN_TARGET, cd.TV_MAX_TARGET)
        if self.unique and self.min_solutions > 1:
            raise ValueError("--unique and --min-solutions > 1 contradict each other")
        if self.count_limit < self.min_solutions:
            raise ValueError("--count-limit must be at least --min-solutions")
        return self


def parse_clues(text: str) -> int | tuple[int, int]:
    """`25` -> 25, `20-30` -> (20, 30)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if not match:
        raise ValueError(f"expected N or LO-HI such as 25 or 22-30, got {text!r}")
    return int(match[1]) if match[2] is None else (int(match[1]), int(match[2]))


def _check_clues(clues: int | tuple[int, int], n: int, lowest: int, cells: int, symmetric: bool) -> None:
    low, high = (clues, clues) if isinstance(clues, int) else clues
    if low > high:
        raise ValueError(f"--clues {low}-{high}: LO must not exceed HI")
    allowed = f"choose --clues between {lowest} and {cells}, or a range LO-HI within that"
    if low < lowest:
        raise ValueError(f"no {n}x{n} puzzle with {low} clues has a unique solution ({allowed})")
    if high > cells:
        raise ValueError(f"a {n}x{n} grid has only {cells} cells, not {high} ({allowed})")
    if symmetric and n % 2 == 0 and not any(c % 2 == 0 for c in range(low, high + 1)):
        what = str(low) if low == high else f"any of {low}-{high}"
        raise ValueError(f"a symmetric {n}x{n} puzzle has an even number of clues, not {what}")


def _check_range(name: str, value: tuple[int, int] | None, lowest: int, highest: int) -> None:
    if value is not None and not lowest <= value[0] <= value[1] <= highest:
        raise ValueError(f"{name} must satisfy {lowest} <= low <= high <= {highest}, got {value[0]}..{value[1]}")


TaskConfig = SudokuConfig | CountdownConfig


def config_from_dict(data: dict) -> TaskConfig:
    """Rebuild a config from its JSON form (manifest or run state)."""
    task = data.get("task")
    if task == "sudoku":
        return SudokuConfig.model_validate(data)
    if task == "countdown":
        return CountdownConfig.model_validate(data)
    raise DataGenError(f"unknown task {task!r} in a saved config")


def validation_message(err) -> str:
    """One line from a pydantic ValidationError: `field: reason; field: reason`."""
    parts = []
    for item in err.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "__root__")
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
