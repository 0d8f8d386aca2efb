"""Shared fixtures. Tests that read ../shared/benchmarks skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_benchmarks_dir() -> Path | None:
    """../shared/benchmarks beside the checkout (or $RMDM_SHARED_BENCHMARKS), if present."""
    env = os.environ.get("RMDM_SHARED_BENCHMARKS")
    path = Path(env) if env else REPO.parent / "shared" / "benchmarks"
    return path if path.is_dir() else None


@pytest.fixture
def shared_benchmarks() -> Path:
    path = shared_benchmarks_dir()
    if path is None:
        pytest.skip("../shared/benchmarks is not present beside this checkout")
    return path
