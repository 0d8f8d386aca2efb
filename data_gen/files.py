"""File primitives: atomic writes (temp file + rename), sha256, deterministic Parquet.

Every file data_gen writes appears under its final name only when complete, so a run
killed at any moment leaves either the old file, the new file, or a `.tmp-*` file that
the next run removes. These are the project's only atomic writer and file hash: `solver`
(run configs, checkpoints, dataset checks) and the benchmarks use them too, so this module
imports pyarrow only when it writes Parquet.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

TMP_PREFIX = ".tmp-"
# Fixed writer options: the same table always gives the same bytes.
PARQUET_OPTIONS = dict(compression="zstd", compression_level=3, use_dictionary=True, write_statistics=True)
ROW_GROUP_SIZE = 65_536


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tmp_path(path: Path) -> Path:
    return path.with_name(f"{TMP_PREFIX}{os.getpid()}-{path.name}")


def _commit(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """`path` holds `data` or what it held before, never a torn file; a failed write removes its temp file."""
    path = Path(path)
    tmp = _tmp_path(path)
    try:
        tmp.write_bytes(data)
        _commit(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: dict) -> None:
    """`data` as indented JSON and a newline, atomically."""
    write_bytes_atomic(path, (json.dumps(data, indent=2, sort_keys=False) + "\n").encode("utf-8"))


def write_parquet_atomic(path: Path, table: pa.Table) -> str:
    """Write `table` to `path` atomically; returns the file's sha256."""
    import pyarrow.parquet as pq

    tmp = _tmp_path(path)
    pq.write_table(table.combine_chunks(), tmp, row_group_size=ROW_GROUP_SIZE, **PARQUET_OPTIONS)
    sha = sha256_file(tmp)
    _commit(tmp, path)
    return sha


def remove_tmp_files(directory: Path) -> None:
    """Delete the temp files an interrupted run left behind (only ours, by prefix)."""
    if directory.is_dir():
        for entry in directory.iterdir():
            if entry.name.startswith(TMP_PREFIX) and entry.is_file():
                entry.unlink()
