"""Reading a dataset directory: manifest.json plus the Parquet files it lists.

    from data_gen import load_manifest, read_dataset
    table = read_dataset("data/sudoku9-hard", "train")      # a pyarrow.Table
    rows = read_records("data/sudoku9-hard", load_manifest("data/sudoku9-hard"), "train", limit=1000)  # dicts

The one reader of dataset directories: `solver` (training data) reads through it too.
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


def split_entries(directory: str | Path, manifest: dict, split: str) -> list[tuple[Path, str | None]]:
    """(path, the sha256 the manifest lists or None) for each file of one split; [] for a split it does not name."""
    splits = manifest.get("splits", {})
    if split not in splits:
        return []
    return [(Path(directory) / entry["path"], entry.get("sha256")) for entry in splits[split].get("files", [])]


def split_files(directory: str | Path, manifest: dict, split: str) -> list[Path]:
    if split not in manifest["splits"]:
        names = ", ".join(manifest["splits"]) or "none"
        raise DataGenError(f"{directory}: no split {split!r} (splits: {names})")
    return [path for path, _ in split_entries(directory, manifest, split)]


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


def check_file(path: Path, sha256: str | None) -> None:
    """DataGenError naming the file when it is missing or its sha256 is not `sha256` (None: only that it exists)."""
    if not path.is_file():
        raise DataGenError(f"{path}: listed in the manifest but missing")
    if sha256 is not None and sha256_file(path) != sha256:
        raise DataGenError(f"{path}: truncated or corrupt (its sha256 differs from {MANIFEST}'s); "
                           "rebuild the dataset (`rmdm gen ... --overwrite`)")


def read_rows(path: Path) -> list[dict]:
    """The rows of one data file as dicts: Parquet, or JSON lines (any other suffix); a DataGenError
    naming the file when it cannot be read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if path.suffix == ".parquet":
            return pq.read_table(path).to_pylist()
        with open(path) as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except (pa.ArrowException, OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataGenError(f"{path}: unreadable ({reason}); rebuild the dataset (`rmdm gen ... --overwrite`)") from None


def read_records(directory: str | Path, manifest: dict, split: str, limit: int | None = None,
                 verify: bool = True) -> list[dict] | None:
    """The first `limit` rows (all by default) of one split as dicts, in dataset order; None when the
    manifest names no such split. Each file is checked against the manifest's sha256 just before it is
    read (`verify`), and files past `limit` are not read; a DataGenError names a missing, corrupt or
    unreadable file."""
    splits = manifest.get("splits", {})
    if split not in splits:
        return None
    rows: list[dict] = []
    for path, sha256 in split_entries(directory, manifest, split):
        check_file(path, sha256 if verify else None)
        rows.extend(read_rows(path))
        if limit is not None and len(rows) >= limit:
            return rows[:limit]
    return rows


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
