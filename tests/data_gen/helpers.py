"""Helpers for the data_gen tests: small in-process runs, `rmdm` as a real process, file
fingerprints. Every dataset in these tests has at most a few hundred records."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from data_gen.build import RunOptions, generate
from data_gen.dataset import MANIFEST

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"


def gen(config, out: Path, **options) -> dict | None:
    """`rmdm gen` in this process (quiet); options are RunOptions fields."""
    return generate(config, out, RunOptions(quiet=True, **options))


def data_files(directory: Path) -> dict[str, str]:
    """sha256 of every Parquet file in a dataset directory, by name."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(directory).glob("*.parquet"))}


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` with its bytes: to check that nothing was lost or changed."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(Path(directory).rglob("*")) if p.is_file()}


def without_timing(manifest: dict) -> dict:
    """The manifest less what depends on when and how it ran (timing, library versions)."""
    return {k: v for k, v in manifest.items() if k not in ("timing", "libraries", "created_with")}


def rmdm_process(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m rmdm ARGS` as a real process."""
    return subprocess.run([sys.executable, "-m", "rmdm", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(code: int, err: list[str], *words: str) -> None:
    assert code == 2, err
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    for word in words:
        assert word in err[0], err[0]

