"""Reading a dataset directory: manifest.json plus the Parquet files it lists.

    from data_gen import load_manifest, read_dataset
    table = read_dataset("data/sudoku9-hard", "train")      # a pyarrow.Table
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import DataGenError
from .files import sha256_file

MANIFEST = "manifest.json"
DATA_FILE = re.compile(r"^[A-Za-z0-9_]+-\d{5}\.parquet$")


def is_dataset(path: Path) -> bool:
    return Path(path).is_dir() and (Path(path) / MANIFEST).is_file()


def load_manifest(directory: str | Path) -> dict:
    """The manifest of a dataset directory; DataGenError when missing or unreadable."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise DataGenError(f"{directory}: no {MANIFEST} here (is it a dataset made by `rmdm gen`?)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DataGenError(f"{path}: unreadable ({err}); regenerate the dataset with --overwrite") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("splits"), dict):
        raise DataGenError(f"{path}: not a data_gen manifest (no splits)")
    return manifest


def split_files(directory: str | Path, manifest: dict, split: str) -> list[Path]:
    if split not in manifest["splits"]:
        names = ", ".join(manifest["splits"]) or "none"
        raise DataGenError(f"{directory}: no split {split!r} (splits: {names})")
    return [Path(directory) / entry["path"] for entry in manifest["splits"][split]["files"]]


def verify_files(directory: str | Path, manifest: dict | None = None) -> list[str]:
    """Problems with the files the manifest lists (missing, wrong sha256); [] when sound."""
    manifest = manifest or load_manifest(directory)
    problems = []
    for split in manifest["splits"].values():
        for entry in split["files"]:
            path = Path(directory) / entry["path"]
            if not path.is_file():
                problems.append(f"{path} is missing")
            elif sha256_file(path) != entry["sha256"]:
                problems.append(f"{path} is corrupt (sha256 differs from {MANIFEST})")
    return problems


def read_dataset(directory: str | Path, split: str = "train", *, verify: bool = False, columns: list[str] | None = None):
    """All rows of one split as a `pyarrow.Table`, in dataset order (`verify` checks sha256 first)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    manifest = load_manifest(directory)
    files = split_files(directory, manifest, split)
    if verify:
        problems = verify_files(directory, manifest)
        if problems:
            raise DataGenError(problems[0])
    if not files:
        from . import tasks

        schema = tasks.task_module(manifest.get("task")).SCHEMA
        table = schema.empty_table()
        return table.select(columns) if columns else table
    return pa.concat_tables(pq.read_table(f, columns=columns) for f in files)


def read_any_parquet(path: Path, columns: list[str]):
    """Columns of a dataset directory (every split) or of one Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if is_dataset(path):
            manifest = load_manifest(path)
            tables = [read_dataset(path, split, columns=columns) for split in manifest["splits"]]
            return pa.concat_tables(tables)
        return pq.read_table(path, columns=columns)
    except (OSError, KeyError, pa.ArrowException) as err:
        raise DataGenError(f"cannot read {columns} from {path}: {err}") from None
