"""The two tasks, each a module with the same functions: SCHEMA, make_records, probe,
exclude_keys, import_file, Stats, describe, GENERATOR, GENERATOR_VERSION."""

from __future__ import annotations

from types import ModuleType

from .errors import DataGenError


def task_module(task: str | None) -> ModuleType:
    if task == "sudoku":
        from . import sudoku_task

        return sudoku_task
    if task == "countdown":
        from . import countdown_task

        return countdown_task
    raise DataGenError(f"unknown task {task!r} (expected sudoku or countdown)")
