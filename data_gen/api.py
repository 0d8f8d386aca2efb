"""Build a dataset from a plain dict: what `solver`'s `data.spec` holds, and scripts use.

    from data_gen.api import build_dataset
    build_dataset({"task": "sudoku", "size": 4, "n": 5000, "seed": 1}, "data/cache/sudoku4")

The keys are those of the task's config (`SudokuConfig`, `CountdownConfig`: the `rmdm gen`
options with `_` for `-`), plus `task`. Ranges may be written as on the command line
(`"clues": "22-30"`, `"split": "train=0.9,val=0.1"`); `exclude` is a list of paths. A
directory that already holds this dataset is returned as is, and an interrupted build in it
is resumed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from .errors import DataGenError


def config_from_spec(spec: dict[str, Any]):
    """(validated config, paths of the sets to exclude) from a spec dict; DataGenError names
    the bad key."""
    from pydantic import ValidationError

    from .config import CountdownConfig, SudokuConfig, parse_split, validation_message
    from .importer import source_of

    if not isinstance(spec, dict):
        raise DataGenError(f"a dataset spec is a dict such as {{'task': 'sudoku', 'n': 1000}}, not {type(spec).__name__}")
    data = dict(spec)
    task = data.pop("task", None)
    models = {"sudoku": SudokuConfig, "countdown": CountdownConfig}
    if task not in models:
        raise DataGenError(f"dataset spec: task must be sudoku or countdown, got {task!r}")
    exclude = data.pop("exclude", None) or []
    exclude_paths = [Path(p) for p in ([exclude] if isinstance(exclude, (str, Path)) else exclude)]
    if isinstance(data.get("split"), str):
        data["split"] = parse_split(data["split"])
    try:
        config = models[task](**data, exclude=tuple(source_of(p) for p in exclude_paths))
    except ValidationError as err:
        raise DataGenError(f"dataset spec: {validation_message(err)}") from None
    return config, exclude_paths


def build_dataset(spec: dict[str, Any], directory: str | Path, *, workers: int | None = None) -> Path:
    """Generate the dataset `spec` describes into `directory` (all cores unless `workers`);
    returns the directory. Says one line on stderr; raises DataGenError for bad specs."""
    from .build import RunOptions, generate
    from .tasks import task_module

    config, exclude_paths = config_from_spec(spec)
    directory = Path(directory)
    clock = time.perf_counter()
    options = RunOptions(workers=workers, quiet=True, resume=True, exclude_paths=exclude_paths)
    manifest = generate(config, directory, options)
    counts = ", ".join(f"{name} {split['count']}" for name, split in manifest["splits"].items())
    what = task_module(config.task).describe(config)
    print(f"data_gen: {what} in {directory}: {counts} ({time.perf_counter() - clock:.1f} s)", file=sys.stderr)
    return directory
