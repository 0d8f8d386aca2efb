"""`rmdm gen import`: public collections into the dataset format, so external sets are
evaluated with the same tools. Sudoku: one puzzle per line ('.' or '0' blanks); the exact
solver supplies the solution and rating. Countdown: cd4-style JSONL
(`{"input": "n1,...,target", "output": "steps"}`) or `n1,...,target` lines; the given
answer is kept when the verifier accepts it, and the exact solver counts solutions.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .build import RunOptions, build_manifest, check_output_dir, _clear
from .config import ExcludeSource, check_split
from .dataset import MANIFEST
from .errors import DataGenError
from .files import sha256_file, write_json_atomic
from .records import with_key_and_split
from .tasks import task_module

GENERATOR = "data_gen.import"
GENERATOR_VERSION = "1"
MAX_NOTES = 20


class ImportConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    task: Literal["sudoku", "countdown"]
    sources: tuple[ExcludeSource, ...]
    split: dict[str, float] = Field(default_factory=lambda: {"test": 1.0})
    rules: Literal["ml", "tv"] = "ml"
    count_limit: int = Field(100_000, ge=2)
    rows_per_file: int = Field(100_000, gt=0)

    @field_validator("split")
    @classmethod
    def _check_split(cls, split: dict[str, float]) -> dict[str, float]:
        return check_split(split)


def guess_task(paths: list[Path]) -> str:
    return "countdown" if all(p.suffix == ".jsonl" for p in paths) else "sudoku"


def source_of(path: Path) -> ExcludeSource:
    if not path.is_file() and not (path / MANIFEST).is_file():
        raise DataGenError(f"{path}: no such file")
    digest = sha256_file(path / MANIFEST if path.is_dir() else path)
    return ExcludeSource(name=path.name, sha256=digest)


def import_sets(config: ImportConfig, paths: list[Path], out: str | Path, options: RunOptions) -> dict:
    """Read, solve, verify and write the sets in `paths` as one dataset in `out`."""
    from .build import write_splits

    out = Path(out)
    clock = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    options.resume = False
    action = check_output_dir(out, config, options)
    task = task_module(config.task)
    tables, keys, sources = [], [], []
    for source, path in zip(config.sources, paths):
        table, file_keys, notes = task.import_file(path, {"rules": config.rules, "count_limit": config.count_limit})
        for note in notes[:MAX_NOTES]:
            options.say(f"{path}: {note}")
        if len(notes) > MAX_NOTES:
            options.say(f"{path}: ... and {len(notes) - MAX_NOTES} more notes")
        skipped = sum("skipped" in note for note in notes)
        sources.append({"name": source.name, "sha256": source.sha256, "records": table.num_rows, "skipped": skipped})
        tables.append(table)
        keys.extend(file_keys)
    records = pa.concat_tables(tables) if tables else task.SCHEMA.empty_table()
    chunk = with_key_and_split(records, keys, config.split)
    if action == "overwrite":
        _clear(out)
    out.mkdir(parents=True, exist_ok=True)
    done = write_splits(out, config.split, config.rows_per_file, [(chunk, {})], task, dedupe=False)
    timing = {"started_at": started_at, "seconds": round(time.perf_counter() - clock, 3)}
    manifest = build_manifest(
        config.model_dump(mode="json"), task, done,
        generator=GENERATOR, generator_version=GENERATOR_VERSION, seed=None,
        extra={"sources": sources}, timing=timing,
    )
    write_json_atomic(out / MANIFEST, manifest)
    return manifest
