"""`rmdm gen`: sharded, deterministic, resumable dataset building (Parquet + manifest.json).

    from data_gen import read_dataset, load_manifest
    manifest = load_manifest("data/sudoku9-hard")
    train = read_dataset("data/sudoku9-hard", "train")     # pyarrow.Table
    build_dataset({"task": "sudoku", "size": 4, "n": 5000, "seed": 1}, "data/sudoku4")

The on-disk format is described in docs/ARCHITECTURE.md ("Dataset on disk"). Imports are
lazy so that `rmdm` starts without loading pyarrow.
"""

from __future__ import annotations

from .errors import DataGenError

__all__ = ["DataGenError", "build_dataset", "load_manifest", "read_dataset", "verify_files"]


def __getattr__(name: str):
    if name == "build_dataset":
        from .api import build_dataset

        return build_dataset
    if name in ("load_manifest", "read_dataset", "verify_files"):
        from . import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module 'data_gen' has no attribute {name!r}")
