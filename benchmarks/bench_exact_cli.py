"""End-to-end speed of `rmdm solve sudoku --method exact`, and what else the time goes to.

    python -m benchmarks.bench_exact_cli              # magictour_top1465 x 10, 5 runs per row
    python -m benchmarks.bench_exact_cli --quick      # x 2, 3 runs per row

Issue 16 item 10. The script writes magictour_top1465 ten times over (14,650 lines) to a
temporary folder and runs `rmdm solve sudoku --method exact -i FILE` on it as a
subprocess --repeat times. Each row is the median run, as puzzles per wall-clock second
and per CPU second (user + system time of the run; on a machine shared with other work
the CPU rate is the steadier figure). Beside it:

- the same command on one puzzle: the fixed cost of every run (Python, NumPy and numba
  imports, loading the compiled solver from numba's cache);
- the same command with SciPy hidden, when SciPy is installed: numba imports
  scipy.linalg the first time it loads a kernel (to look for BLAS), which an install of
  this project without SciPy does not pay;
- in process: the exact solver alone (`solve_batch` on the parsed array) and the whole
  block pipeline (read_sudoku_block, solve_batch, verify_batch, to_lines);
- a peer users could pick instead: the SAT solver CaDiCaL 1.9.5 through PySAT
  (`pip install -e .[bench]`, python-sat), the standard 729-variable encoding loaded
  once, each puzzle's givens passed as assumptions; in process and end to end (a
  subprocess that reads the file, solves and writes one line per puzzle). Skipped,
  with a message, when python-sat is not installed;
- Countdown: `rmdm solve countdown --method exact` end to end on cd4_test x
  --countdown-copies beside its solver alone, to show how much of a run is not the solver;
- with --before REF, the same end-to-end Sudoku command as the code of commit REF runs it
  (its packages from `git archive`, first on sys.path), timed in the same run: the speed-up
  as a ratio measured side by side (e3e703b~1 is the last one-line-at-a-time version).

Every output is checked: each Sudoku line `<81 digits> valid`, the peer's solutions equal
to ours (the puzzles have one solution each). Rows that need ../shared/benchmarks are
skipped with a message when it is absent. Results: benchmarks/results/exact_cli.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import REPO, cli_args, git_commit, machine_info, row, shared_dir, write_json

PEER_SOLVER = "cadical195"
PEER_NAME = "PySAT CaDiCaL 1.9.5"

# Runs the rmdm command line with every `scipy` import refused (numba then finds no BLAS,
# which nothing here needs): how the command runs where SciPy is not installed.
HIDE_SCIPY = """\
import sys
class _HideScipy:
    def find_spec(self, name, path=None, target=None):
        if name == "scipy" or name.startswith("scipy."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, _HideScipy())
from rmdm.cli import main
sys.exit(main(sys.argv[1:]))
"""


# ---------------------------------------------------------------- timing


def median_run(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """(median wall seconds, median CPU seconds, last result) of `repeat` runs after one warm-up.

    CPU is this process's time plus that of the children it waited for (a subprocess's
    user + system time)."""
    result = fn()
    walls, cpus = [], []
    for _ in range(repeat):
        before = _cpu()
        wall = time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - before)
    return statistics.median(walls), statistics.median(cpus), result


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def rate_row(benchmark: str, data: str, items: int, timing: tuple[float, float], **extra) -> dict:
    """benchmarks.common.row in puzzles per second."""
    return row(benchmark, data, items, timing, "puzzles/s", **extra)


def rmdm_command() -> list[str]:
    """The `rmdm` console script beside this Python (what a user runs), else `python -m rmdm`."""
    script = Path(sys.executable).with_name("rmdm")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "rmdm"]


def run_cli(argv: list[str], expect_lines: int) -> list[str]:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    lines = done.stdout.splitlines()
    if done.returncode not in (0, 1) or len(lines) != expect_lines:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode} with {len(lines)} lines: {done.stderr[-500:]}")
    return lines


# ---------------------------------------------------------------- the peer


def peer_available() -> bool:
    return importlib.util.find_spec("pysat") is not None


def _var(r: int, c: int, d: int) -> int:
    return 81 * r + 9 * c + d + 1


def sudoku_cnf() -> list[list[int]]:
    """9x9 Sudoku as CNF: variable (r, c, d) true when cell (r, c) holds d + 1; every cell
    exactly one digit, every unit each digit exactly once (11,988 clauses)."""
    clauses = []
    units = (
        [[(r, c) for c in range(9)] for r in range(9)]
        + [[(r, c) for r in range(9)] for c in range(9)]
        + [[(3 * (b // 3) + i, 3 * (b % 3) + j) for i in range(3) for j in range(3)] for b in range(9)]
    )
    for r, c in itertools.product(range(9), range(9)):
        clauses.append([_var(r, c, d) for d in range(9)])
        clauses += [[-_var(r, c, a), -_var(r, c, b)] for a, b in itertools.combinations(range(9), 2)]
    for unit, d in itertools.product(units, range(9)):
        clauses.append([_var(r, c, d) for r, c in unit])
        clauses += [[-_var(*p, d), -_var(*q, d)] for p, q in itertools.combinations(unit, 2)]
    return clauses


def peer_givens(line: str) -> list[int]:
    return [_var(i // 9, i % 9, int(ch) - 1) for i, ch in enumerate(line) if ch not in ".0"]


def peer_solve(givens: list[list[int]]) -> list[str | None]:
    """Each puzzle's solution as 81 digits (None when unsatisfiable), one solver for all."""
    from pysat.solvers import Solver

    out: list[str | None] = []
    with Solver(name=PEER_SOLVER, bootstrap_with=sudoku_cnf()) as solver:
        for assumptions in givens:
            if solver.solve(assumptions=assumptions):
                out.append("".join(str((v - 1) % 9 + 1) for v in solver.get_model() if v > 0))
            else:
                out.append(None)
    return out


def peer_cli(path: str) -> int:
    """The peer end to end: read the file, solve, one line per puzzle ('-' when none)."""
    lines = [line.strip() for line in open(path, encoding="utf-8")]
    solved = peer_solve([peer_givens(line) for line in lines if line])
    sys.stdout.write("".join(f"{s or '-'}\n" for s in solved))
    return 0


# ---------------------------------------------------------------- rows


def code_at(ref: str, folder: Path) -> Path:
    """The packages as commit `ref` had them (no checkpoints), unpacked under `folder`."""
    target = folder / "before"
    target.mkdir()
    paths = ["puzzles", "rmdm", "data_gen", "solver", ":(exclude)solver/checkpoints"]
    archive = subprocess.run(["git", "archive", ref, "--", *paths], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def before_command(code: Path) -> list[str]:
    run = f"import sys; sys.path.insert(0, {str(code)!r}); from rmdm.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", run]


def sudoku_rows(
    top: Path, copies: int, repeat: int, folder: Path, before: str | None = None
) -> tuple[list[dict], dict]:
    import numpy as np

    from puzzles.sudoku import read_sudoku_block, solve_batch, to_lines, verify_batch

    text = top.read_text(encoding="utf-8")
    lines = text.splitlines()
    count = len(lines) * copies
    data = f"{top.stem} x {copies} ({count:,} lines)"
    path = folder / f"{top.stem}-x{copies}.txt"
    path.write_text(text * copies, encoding="utf-8")
    one = folder / "one.txt"
    one.write_text(lines[0] + "\n", encoding="utf-8")
    rows, ours = [], {}

    command = [*rmdm_command(), "solve", "sudoku", "--method", "exact", "-i"]
    wall, cpu, out = median_run(lambda: run_cli([*command, str(path)], count), repeat)
    assert all(len(line) == 87 and line.endswith(" valid") for line in out), "a puzzle was not solved and verified"
    rows.append(rate_row("rmdm solve sudoku --method exact (end to end)", data, count, (wall, cpu)))
    ours["end_to_end"] = rows[-1]
    solutions = [line.split()[0] for line in out]

    wall, cpu, _ = median_run(lambda: run_cli([*command, str(one)], 1), repeat)
    rows.append(rate_row("  the same on one puzzle: the fixed cost", "1 line", 1, (wall, cpu), fixed_seconds=wall))

    if before:
        old = [*before_command(code_at(before, folder)), "solve", "sudoku", "--method", "exact", "-i", str(path)]
        wall, cpu, out = median_run(lambda: run_cli(old, count), repeat)
        assert [line.split()[0] for line in out] == solutions
        rows.append(rate_row(f"  the same as commit {before} runs it", data, count, (wall, cpu), commit=before))
        ours["before"] = rows[-1]

    if importlib.util.find_spec("scipy") is not None:
        hidden = [sys.executable, "-c", HIDE_SCIPY, "solve", "sudoku", "--method", "exact", "-i"]
        wall, cpu, out = median_run(lambda: run_cli([*hidden, str(path)], count), repeat)
        assert [line.split()[0] for line in out] == solutions
        rows.append(rate_row("  the same with SciPy hidden (an install without it)", data, count, (wall, cpu)))
        wall, cpu, _ = median_run(lambda: run_cli([*hidden, str(one)], 1), repeat)
        rows.append(rate_row("  ... its fixed cost", "1 line", 1, (wall, cpu), fixed_seconds=wall))
    else:
        print("SciPy is not installed: no 'SciPy hidden' rows (the plain rows already run without it)")

    file_lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    grids = read_sudoku_block(file_lines).groups[0].grids
    wall, cpu, result = median_run(lambda: solve_batch(grids), repeat)
    assert to_lines(result.solutions) == solutions
    rows.append(rate_row("exact solver alone in process (solve_batch)", data, count, (wall, cpu)))
    ours["in_process"] = rows[-1]

    def pipeline():
        group = read_sudoku_block(file_lines).groups[0]
        result = solve_batch(group.grids, group.shape)
        valid = verify_batch(group.grids, result.solutions, group.shape)
        return np.asarray(valid).all(), to_lines(result.solutions)

    wall, cpu, (valid, _) = median_run(pipeline, repeat)
    assert valid
    rows.append(rate_row("  in process: read + solve + verify + text", data, count, (wall, cpu)))

    if not peer_available():
        print(f"python-sat is not installed: no peer rows (pip install -e '.[bench]' adds {PEER_NAME})")
        return rows, ours
    givens = [peer_givens(line) for line in lines * copies]
    wall, cpu, peer_out = median_run(lambda: peer_solve(givens), repeat)
    assert peer_out == solutions, "the peer's solutions differ from ours"
    rows.append(rate_row(f"peer: {PEER_NAME}, in process", data, count, (wall, cpu)))
    ours["peer_in_process"] = rows[-1]
    peer = [sys.executable, "-m", "benchmarks.bench_exact_cli", "--peer-cli"]
    wall, cpu, peer_out = median_run(lambda: run_cli([*peer, str(path)], count), repeat)
    assert peer_out == solutions
    rows.append(rate_row(f"peer: {PEER_NAME}, end to end (read, solve, write)", data, count, (wall, cpu)))
    ours["peer_end_to_end"] = rows[-1]
    return rows, ours


def countdown_rows(cd4: Path, copies: int, repeat: int, folder: Path) -> list[dict]:
    import json

    from puzzles.countdown import iter_countdown_lines, solve_countdown
    from puzzles.countdown import solve as countdown_solve

    lines = [json.loads(line)["input"] for line in cd4.read_text(encoding="utf-8").splitlines() if line.strip()]
    count = len(lines) * copies
    data = f"{cd4.stem} x {copies} ({count:,} lines)"
    path = folder / f"{cd4.stem}-x{copies}.txt"
    path.write_text("".join(f"{line}\n" for line in lines) * copies, encoding="utf-8")
    one = folder / "one-countdown.txt"
    one.write_text(f"{lines[0]}\n", encoding="utf-8")
    command = [*rmdm_command(), "solve", "countdown", "--method", "exact", "-i"]
    wall, cpu, _ = median_run(lambda: run_cli([*command, str(path)], count), repeat)
    rows = [rate_row("rmdm solve countdown --method exact (end to end)", data, count, (wall, cpu))]
    wall, cpu, _ = median_run(lambda: run_cli([*command, str(one)], 1), repeat)
    rows.append(rate_row("  the same on one instance: the fixed cost", "1 line", 1, (wall, cpu), fixed_seconds=wall))
    items = [item for _, item in iter_countdown_lines(lines * copies)]

    def solve_all():
        countdown_solve._table.cache_clear()  # each run from scratch, as a fresh process is
        return [solve_countdown(item) for item in items]

    wall, cpu, _ = median_run(solve_all, repeat)
    rows.append(rate_row("  its solver alone in process (solve_countdown)", data, count, (wall, cpu)))
    return rows


# ---------------------------------------------------------------- report


def print_rows(rows: list[dict]) -> None:
    print(f"{'benchmark':58} {'data':34} {'wall s':>7} {'CPU s':>7} {'rate (wall)':>12} {'rate (CPU)':>11}")
    for item in rows:
        fixed = "fixed_seconds" in item  # one puzzle: its time is the point, not a rate
        wall_rate = "-" if fixed else f"{item['per_second']:,.0f}"
        cpu_rate = "-" if fixed else f"{item['per_cpu_second']:,.0f}"
        print(
            f"{item['benchmark']:58} {item['data']:34} {item['seconds']:7.3f} {item['cpu_seconds']:7.3f} "
            f"{wall_rate:>12} {cpu_rate:>11}"
        )


def ratios(ours: dict) -> dict:
    """Our in-process and end-to-end rates over the peer's (wall and CPU), and over --before's."""
    out = {}
    pairs = (
        ("in_process", "peer_in_process"),
        ("end_to_end", "peer_end_to_end"),
        ("end_to_end", "peer_in_process"),
        ("end_to_end", "before"),
    )
    for mine, theirs in pairs:
        if mine in ours and theirs in ours:
            a, b = ours[mine], ours[theirs]
            out[f"{mine} / {theirs}"] = {
                "wall": a["per_second"] / b["per_second"],
                "cpu": a["per_cpu_second"] / b["per_cpu_second"],
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", help="folder holding sudoku/ and countdown/ (default ../shared/benchmarks)")
    parser.add_argument("--copies", type=int, default=10, help="copies of magictour_top1465 in the input file")
    parser.add_argument("--countdown-copies", type=int, default=4, help="copies of cd4_test (0: no Countdown rows)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per row (the median is kept)")
    parser.add_argument("--quick", action="store_true", help="2 copies, 1 of cd4_test, 3 runs per row")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "exact_cli.json")
    parser.add_argument("--before", metavar="REF", help="also time the command as commit REF runs it (e.g. e3e703b~1)")
    parser.add_argument("--peer-cli", metavar="FILE", help=argparse.SUPPRESS)  # the peer's end-to-end run
    args = parser.parse_args(argv)
    if args.peer_cli:
        return peer_cli(args.peer_cli)
    if args.quick:
        args.copies, args.countdown_copies, args.repeat = 2, min(args.countdown_copies, 1), 3

    shared = shared_dir(args.shared)
    top = shared / "sudoku" / "magictour_top1465.txt" if shared else None
    if top is None or not top.is_file():
        print("magictour_top1465 not found (../shared/benchmarks is not beside the checkout; pass --shared):", end=" ")
        print("nothing to measure")
        return 0
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        rows, ours = sudoku_rows(top, args.copies, args.repeat, Path(tmp), args.before)
        cd4 = shared / "countdown" / "cd4_test.jsonl"
        if args.countdown_copies > 0 and cd4.is_file():
            rows += countdown_rows(cd4, args.countdown_copies, args.repeat, Path(tmp))
    print_rows(rows)
    found = ratios(ours)
    for name, value in found.items():
        print(f"{name}: {value['wall']:.1f}x (wall), {value['cpu']:.1f}x (CPU)")

    import numba
    import numpy as np

    versions = {"numpy": np.__version__, "numba": numba.__version__}
    if peer_available():
        from importlib.metadata import version

        versions["python-sat"] = version("python-sat")
    conditions = {"load_average_before": load_before, "load_average_after": os.getloadavg()}
    report = {
        "command": "python -m benchmarks.bench_exact_cli" + (" --quick" if args.quick else "")
        + (f" --before {args.before}" if args.before else ""),
        "args": cli_args(args),
        "machine": machine_info(conditions, **versions),
        "commit": git_commit(),
        "rows": rows,
        "ratios": found,
    }
    write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
