"""Resident memory of the web app over many API requests: does it stay flat?

    python -m benchmarks.bench_app_memory                      # 1000 requests, a fresh session each
    python -m benchmarks.bench_app_memory --requests 300       # shorter
    python -m benchmarks.bench_app_memory --sessions one       # one gradio_client session throughout

Issue 16 item 9. The script launches `python app.py` in a subprocess on a free localhost
port, drives it with gradio_client and reads the server process's resident set size
(VmRSS in /proc/PID/status, so Linux only) at the start, every --every requests and at
the end. Most requests are the cheap endpoints (solve_sudoku_exact on 4x4, 6x6 and 9x9
puzzles, solve_countdown_exact, generate_sudoku, generate_countdown), so the model is not
what is measured; one request in --model-every is a model solve (solve_sudoku on a 9x9
puzzle, solve_countdown with the default search, both at the "instant" animation speed).

--sessions each (the default) gives every request a session of its own
(`Client.reset_session()`): what a new Client per call, or a plain HTTP POST to
/gradio_api/call/<api_name> without a session_hash, does. Every session costs the server
Gradio's per-session copy of the page's configuration (about 150 KB for this page) plus
the run the app keeps in gr.State for replay and scrubbing (a model run keeps every frame,
about 1.4 MB for a 9x9 solve), so that is where an unbounded store grows. --sessions one
reuses one session, as one browser tab does.

"Flat" here: after --warm-up requests (default 200: past the app's session cap,
blocks.SESSION_CAPACITY = 100) the RSS grows by less than --flat-mb (default 20 MB) to
the end of the run. What is left to grow is bounded: Gradio's queue keeps a message queue
for each of the last 2000 sessions (about 3.3 KB each, so up to ~6.6 MB while the first
2000 sessions arrive) and the allocator settles over the first model solves (a few MB); with
Gradio's defaults (10,000 sessions, runs kept forever) the same 800 requests grew the RSS by
135 MB. The least-squares slope after the warm-up (KB per request) is printed beside it.
Results: benchmarks/results/app_memory.json.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO, cli_args, git_commit, machine_info, write_json

SUDOKU_PUZZLES = [
    "...3.1..2..11.3.",  # 4x4
    "6..5.........2..1...4...5..3...1...4",  # 6x6 (generate_sudoku, seed 1)
    "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79",  # 9x9 (the classic)
]
COUNTDOWN = [("25, 50, 75, 100", "250", "ml"), ("44, 15, 79", "50", "ml"), ("25, 50, 75, 100, 3, 6", "952", "tv")]
MODEL_SUDOKU = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
MODEL_COUNTDOWN = ("44, 15, 79", "50", "ml")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """The process's resident set size (or another /proc status field given in kB), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_app(log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), GRADIO_ANALYTICS_ENABLED="False")
    env["NO_PROXY"] = "localhost,127.0.0.1,::1"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}/"


def connect(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 240.0):
    from gradio_client import Client

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            return Client(url, verbose=False)
        except Exception:  # noqa: BLE001 - not listening yet
            if time.monotonic() > deadline:
                raise SystemExit(f"the app did not answer within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}") from None
            time.sleep(1.0)


def call(client, api_name: str, *args) -> str:
    """One request; the app's own error message (its handlers turn an exception into one) stops the run."""
    result = client.predict(*args, api_name=api_name)
    if "Something went wrong" in str(result):
        raise SystemExit(f"{api_name}{args}: the app failed: {str(result)[:500]}")
    return api_name


def cheap_request(client, i: int) -> str:
    """The i-th cheap request (round robin over the exact solvers and the generators); its endpoint."""
    kind = i % 6
    if kind < 3:
        return call(client, "/solve_sudoku_exact", SUDOKU_PUZZLES[kind])
    if kind == 3:
        return call(client, "/solve_countdown_exact", *COUNTDOWN[(i // 6) % len(COUNTDOWN)])
    if kind == 4:
        return call(client, "/generate_sudoku", 9, "easy")
    return call(client, "/generate_countdown", 4, "ml")


def model_request(client, i: int) -> str:
    """A model solve at the instant animation speed, the rest of the settings the page's defaults."""
    if i % 2 == 0:
        return call(client, "/solve_sudoku", MODEL_SUDOKU, "instant")
    return call(client, "/solve_countdown", *MODEL_COUNTDOWN, "instant")


def slope_kb(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of (request, MB) points, in KB per request (0 with fewer than 2 points)."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return 1024 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests to send (default 1000)")
    parser.add_argument("--every", type=int, default=100, help="sample the RSS every this many requests")
    parser.add_argument("--model-every", type=int, default=100, help="one model solve per this many requests (0: none)")
    parser.add_argument("--sessions", choices=["each", "one"], default="each",
                        help="each: a fresh session per request (default); one: one session throughout")
    parser.add_argument("--warm-up", type=int, default=200, help="requests before the growth that counts")
    parser.add_argument("--flat-mb", type=float, default=20.0, help="'flat': less growth than this after the warm-up")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "app_memory.json")
    args = parser.parse_args(argv)

    commit = git_commit()  # the code the app runs: read now, as others may commit during the run
    app_dirty = bool(subprocess.run(["git", "status", "--porcelain", "rmdm/app", "app.py"], cwd=REPO,
                                    capture_output=True, text=True).stdout.strip())
    log_path = Path(tempfile.mkstemp(prefix="rmdm-app-", suffix=".log")[1])
    load_before = os.getloadavg()
    proc, url = launch_app(log_path)
    samples: list[dict] = []
    counts: dict[str, int] = {}
    try:
        client = connect(url, proc, log_path)
        ready = rss_mb(proc.pid)
        # first use: numba's kernels and the models load here, not inside the measured requests
        client.predict(SUDOKU_PUZZLES[0], api_name="/solve_sudoku_exact")
        if args.model_every:
            model_request(client, 0)
            model_request(client, 1)
        client.reset_session()
        started = time.perf_counter()

        def sample(done: int) -> None:
            item = {"requests": done, "rss_mb": round(rss_mb(proc.pid), 1), "seconds": round(time.perf_counter() - started, 1)}
            samples.append(item)
            print(f"{done:>8} {item['rss_mb']:>10.1f} {item['seconds']:>9.1f}", flush=True)

        print(f"server ready at {ready:.1f} MB; after the first exact and model solves:")
        print(f"{'requests':>8} {'RSS (MB)':>10} {'seconds':>9}")
        sample(0)
        model_i = 0
        for i in range(args.requests):
            if args.sessions == "each":
                client.reset_session()
            if args.model_every and (i + 1) % args.model_every == 0:
                name = model_request(client, model_i)
                model_i += 1
            else:
                name = cheap_request(client, i)
            counts[name] = counts.get(name, 0) + 1
            if (i + 1) % args.every == 0 or i + 1 == args.requests:
                sample(i + 1)
        peak = rss_mb(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    after = [(s["requests"], s["rss_mb"]) for s in samples if s["requests"] >= args.warm_up]
    at_warm = after[0][1] if after else None
    growth = after[-1][1] - at_warm if after else None
    slope = slope_kb(after)
    total = samples[-1]["rss_mb"] - samples[0]["rss_mb"]
    flat = growth is not None and growth < args.flat_mb
    print(f"start {samples[0]['rss_mb']:.1f} MB, end {samples[-1]['rss_mb']:.1f} MB (+{total:.1f} MB over {args.requests} "
          f"requests), peak {peak:.1f} MB")
    if growth is None:
        print(f"fewer than --warm-up {args.warm_up} requests: no verdict")
    else:
        print(f"after the warm-up of {args.warm_up}: +{growth:.1f} MB, slope {slope:.1f} KB/request -> "
              f"{'flat' if flat else 'NOT flat'} (threshold {args.flat_mb:g} MB)")
    report = {
        "benchmark": "app_memory",
        "commit": commit,
        "app_uncommitted_changes": app_dirty,
        "args": cli_args(args),
        "endpoints": counts,
        "server_ready_mb": round(ready, 1),
        "samples": samples,
        "peak_mb": round(peak, 1),
        "growth_mb": round(total, 1),
        "growth_after_warm_up_mb": None if growth is None else round(growth, 1),
        "slope_after_warm_up_kb_per_request": round(slope, 2),
        "flat": flat,
        "machine": machine_info({"load_average_before": load_before, "load_average_after": os.getloadavg()}),
    }
    write_json(args.out, report)
    print(f"wrote {args.out}")
    log_path.unlink(missing_ok=True)
    return 0 if flat or growth is None else 1


if __name__ == "__main__":
    raise SystemExit(main())
