"""Imported by the worker pool's fork server only: run a tiny chunk of each task there
(compiled puzzle kernels, pyarrow's lazy import of pandas, the Parquet writer), so that every
worker forked from it starts warm instead of each paying ~0.3 s of CPU on its first chunk."""

from __future__ import annotations


def warm() -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from . import countdown_task, sudoku_task
    from .config import CountdownConfig, SudokuConfig
    from .files import PARQUET_OPTIONS

    rng = np.random.default_rng(0)
    for task, config in ((sudoku_task, SudokuConfig(size=4, n=2, seed=0)), (countdown_task, CountdownConfig(numbers=3, n=2, seed=0))):
        table, keys = task.make_records(config, rng, 2, 0)
        task.Stats().add(table)
        pq.write_table(table, pa.BufferOutputStream(), **PARQUET_OPTIONS)


try:
    warm()
except Exception:  # noqa: BLE001 - a warm-up failure must not break the pool; workers compile lazily
    pass
