"""Speed of the Countdown core on one CPU core: exact solver, generator and answer parser.

    python -m benchmarks.bench_countdown              # full run, writes benchmarks/results/countdown.json
    python -m benchmarks.bench_countdown --quick      # smaller counts, a few seconds

Solver rows: cd4_test (500 four-number ml instances, skipped when ../shared/benchmarks is
absent) and random six-number tv deals (cards drawn as on the show, target uniform in
100..999, so some have no solution). The solver's per-deal table cache is cleared inside
every timed run, so each instance is solved from scratch. Each solver figure is the best
of --repeat timed runs after one untimed warm-up; each generator figure is one timed
run after an untimed one. The parser rows time what the tests only check refuses or gives
up: hostile answers (up to 10^6 characters, 10^6 open brackets) and steps_to_infix on steps
no reading uses in full. Rates are per wall-clock second and per second of this process's
CPU time (the one-core rate, even when other work shares the machine).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from benchmarks.common import REPO, cli_args, git_commit, machine_info, print_rates, row, shared_dir, timed, write_json
from puzzles.countdown import (
    TV_LARGE,
    CountdownInstance,
    closest,
    count_solutions,
    generate_countdown,
    parse_answer,
    parse_instance,
    solve_countdown,
    steps_to_infix,
    verify_countdown,
)
from puzzles.countdown import solve as countdown_solve
from puzzles.errors import ParseError


def random_tv_deals(count: int, seed: int) -> list[CountdownInstance]:
    """Deals as on the show (0-4 large cards, uniformly), any target in 100..999."""
    rng = np.random.default_rng(seed)
    small_cards = np.repeat(np.arange(1, 11), 2)
    deals = []
    for _ in range(count):
        large = int(rng.integers(0, len(TV_LARGE) + 1))
        numbers = [*rng.choice(TV_LARGE, large, replace=False), *rng.choice(small_cards, 6 - large, replace=False)]
        deals.append(CountdownInstance(tuple(int(n) for n in numbers), int(rng.integers(100, 1000)), "tv"))
    return deals


def cold(fn):
    """`fn` over instances with the solver's table cache emptied first."""

    def run(instances):
        countdown_solve._table.cache_clear()
        return [fn(instance) for instance in instances]

    return run


def solver_rows(name: str, instances: list[CountdownInstance], repeat: int) -> list[dict]:
    answers = cold(solve_countdown)(instances)
    for instance, steps in zip(instances, answers):
        assert steps is None or verify_countdown(instance, steps).valid, f"wrong answer for {instance}"
    solved = sum(steps is not None for steps in answers)
    counts = cold(count_solutions)(instances)
    rows = []
    for what, fn in (
        ("solve (first solution)", solve_countdown),
        ("count all distinct solutions", count_solutions),
        ("closest reachable value", closest),
    ):
        timing = timed(lambda fn=fn: cold(fn)(instances), repeat)
        extra = {"solvable": solved, "mean_solutions": float(np.mean(counts))}
        rows.append(row(f"exact solver, {what}", name, len(instances), timing, "instances/s", **extra))
    return rows


def generator_row(label: str, count: int, seed: int, **kwargs) -> dict:
    def make():
        countdown_solve._table.cache_clear()
        rng = np.random.default_rng(seed)
        return [generate_countdown(rng, **kwargs) for _ in range(count)]

    made = make()  # also the warm-up
    for generated in made:
        assert verify_countdown(generated.instance, generated.answer).valid
    timing = timed(make, 1, warm_up=False)
    extra = {"mean_solutions": float(np.mean([g.solutions for g in made]))}
    return row(f"generator, {label}", f"{count} instances", count, timing, "instances/s", **extra)


HOSTILE_ANSWERS = ["9" * 10**6, "(" * 10**6, str(10**100) + "+1", "+" * 5000, "1" + "+1" * 999]


def parser_rows(repeat: int) -> list[dict]:
    """The answer parser on hostile input (each must be refused), and steps_to_infix giving up on budget."""

    def refuse_all():
        for text in HOSTILE_ANSWERS:
            try:
                parse_answer(text)
            except ParseError:
                continue
            raise AssertionError(f"parse_answer accepted {text[:20]!r}...")

    unreadable = parse_answer(",".join(["1*1=1"] * 63 + ["2+2=4"]))  # no reading uses every result
    assert steps_to_infix(unreadable) == "2+2"
    return [
        row("answer parser, hostile input refused", "5 answers, up to 10^6 characters", len(HOSTILE_ANSWERS),
            timed(refuse_all, repeat), "answers/s"),
        row("steps_to_infix, gives up on budget", "64 steps, none reads in full", 1,
            timed(lambda: steps_to_infix(unreadable), repeat), "answers/s"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", help="folder holding countdown/cd4_test.jsonl (default ../shared/benchmarks)")
    parser.add_argument("--tv", type=int, default=200, help="random six-number tv deals to solve")
    parser.add_argument("--generator", type=int, default=200, help="instances per generator row")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per solver figure (best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a fifth of every count, one timed run")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "countdown.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.tv, args.generator, args.repeat = max(10, args.tv // 5), max(10, args.generator // 5), 1

    load_at_start = os.getloadavg()  # other processes on the machine slow every figure
    rows: list[dict] = []
    shared = shared_dir(args.shared)
    cd4 = shared / "countdown" / "cd4_test.jsonl" if shared is not None else None
    if cd4 is not None and cd4.is_file():
        instances = [parse_instance(json.loads(line)["input"], "ml") for line in cd4.open()]
        rows += solver_rows(f"cd4_test, 4 numbers ml ({len(instances)})", instances, args.repeat)
    else:
        print("cd4_test.jsonl not found: skipping those rows (pass --shared)")
    rows += solver_rows(f"random deals, 6 numbers tv ({args.tv})", random_tv_deals(args.tv, args.seed), args.repeat)

    rows.append(generator_row("4 numbers ml", args.generator, args.seed))
    rows.append(generator_row("4 numbers ml, unique solution", args.generator, args.seed, unique=True))
    rows.append(generator_row("6 numbers ml", args.generator, args.seed, n_numbers=6))
    rows.append(generator_row("6 numbers tv", args.generator, args.seed, rules="tv"))
    rows += parser_rows(args.repeat)

    print_rates(rows, 42, 36, lambda item: f"  ({item['solvable']}/{item['items']} solvable)" if "solvable" in item else "")

    load = {"load_average_at_start": load_at_start, "load_average_at_end": os.getloadavg()}
    report = {
        "command": "python -m benchmarks.bench_countdown" + (" --quick" if args.quick else ""),
        "args": cli_args(args),
        "machine": machine_info(load, numpy=np.__version__),
        "commit": git_commit(),
        "rows": rows,
    }
    write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
