"""What every benchmark script shares: timing, result rows, the rate table, machine facts and the JSON report.

Each script measures its own thing; these helpers keep the figures and the files they
write in one format (rows with wall and CPU rates, a `machine` block naming the load the
run saw, the commit, written atomically so an interrupted run leaves the old file).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(fn, repeat: int, warm_up: bool = True) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process), each the best of `repeat` runs.

    CPU time is what one core spent, whatever else the machine was doing meanwhile.
    """
    if warm_up:
        fn()  # compile / load kernels, fill caches
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def row(benchmark: str, data: str, items: int, timing: tuple[float, float], unit: str, **extra) -> dict:
    wall, cpu = timing
    return {
        "benchmark": benchmark,
        "data": data,
        "items": items,
        "seconds": wall,
        "cpu_seconds": cpu,
        "per_second": items / wall,
        "per_cpu_second": items / cpu if cpu > 0 else float("inf"),
        "unit": unit,
        **extra,
    }


def print_rates(rows: list[dict], benchmark_width: int, data_width: int, note: Callable[[dict], str] = lambda r: "") -> None:
    """The wall and CPU rate of each row, one line each; `note` adds text after the unit."""
    print(f"{'benchmark':{benchmark_width}} {'data':{data_width}} {'rate (wall)':>12} {'rate (CPU)':>12}")
    for item in rows:
        print(
            f"{item['benchmark']:{benchmark_width}} {item['data']:{data_width}} {item['per_second']:>12,.0f} "
            f"{item['per_cpu_second']:>12,.0f} {item['unit']}{note(item)}"
        )


def default_shared() -> Path:
    """The public benchmark sets: $RMDM_SHARED_BENCHMARKS, else ../shared/benchmarks beside the checkout."""
    return Path(os.environ.get("RMDM_SHARED_BENCHMARKS", REPO.parent / "shared" / "benchmarks"))


def shared_dir(arg: str | Path | None) -> Path | None:
    """`arg` (or the default above) when it is a folder, else None (the script skips those rows)."""
    path = Path(arg) if arg else default_shared()
    return path if path.is_dir() else None


def git_commit() -> str:
    """HEAD of this checkout, or '' when git cannot say."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine_info(conditions: dict, **versions: str) -> dict:
    """Platform and core count, then the run's `conditions` (load averages, threads, device), then versions."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        **conditions,
        "python": platform.python_version(),
        **versions,
    }


def cli_args(args: argparse.Namespace) -> dict:
    """The parsed arguments as JSON values (paths as strings)."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}


def write_text(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file (data_gen's atomic write), so a failed run
    leaves the old file whole."""
    from data_gen.files import write_bytes_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json(path: Path, data: dict, indent: int = 2) -> None:
    write_text(path, json.dumps(data, indent=indent) + "\n")
