"""How many correct answers a Countdown instance has: every sequence of steps that reaches the
target, counted by brute force and each one checked by the verifier.

    python -m benchmarks.countdown_ambiguity [--limit 300] [--data FILE.jsonl] [--rules ml]

Training shows the model one stored solution per instance; where an instance has several, the
loss marks the others wrong. This counts them: ordered step sequences (the order independent
steps are written in counts), and sets of steps (order ignored). Default data: the public
cd4_test.jsonl in ../shared/benchmarks (skipped, said, when absent). Prints a summary and one
JSON line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
from pathlib import Path

from benchmarks.common import shared_dir
from puzzles.countdown import verify_countdown


def solutions(numbers: list[int], target: int, rules: str = "ml") -> list[str]:
    """Every answer text (steps `a op b = r`, comma-joined, a commutative step written once) that
    ends at `target` and that verify_countdown accepts under `rules` (ml: every number used once)."""
    found: list[str] = []
    instance = ",".join(map(str, [*numbers, target]))

    def walk(pool: list[int], steps: list[str]) -> None:
        for i, j in itertools.permutations(range(len(pool)), 2):
            a, b = pool[i], pool[j]
            rest = [pool[k] for k in range(len(pool)) if k not in (i, j)]
            results = [("-", a - b)] if a > b or (a == b and i < j) else []  # a zero is a legal result
            if i < j:  # commutative: one order only
                results += [("+", a + b), ("*", a * b)]
            if b > 0 and a % b == 0:
                results.append(("/", a // b))
            for op, r in results:
                step = f"{a}{op}{b}={r}"
                if r == target:
                    answer = ",".join([*steps, step])
                    if verify_countdown(instance, answer, rules).valid:
                        found.append(answer)
                walk([*rest, r], [*steps, step])

    walk(list(numbers), [])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="a Countdown .jsonl ({\"input\": \"n1,...,target\"})")
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--rules", default="ml")
    args = parser.parse_args(argv)
    data = args.data
    if data is None:
        shared = shared_dir(None)
        data = shared / "countdown" / "cd4_test.jsonl" if shared else None
    if data is None or not data.is_file():
        print(f"{data or 'cd4_test.jsonl'} not found: nothing measured")
        return 0
    rows = [json.loads(line) for line in data.read_text().splitlines() if line.strip()][: args.limit]
    ordered, as_sets = [], []
    for row in rows:
        *numbers, target = (int(x) for x in row["input"].split(","))
        found = solutions(numbers, target, args.rules)
        ordered.append(len(found))
        as_sets.append(len({frozenset(answer.split(",")) for answer in found}))
    unique = sum(n == 1 for n in as_sets) / len(rows)
    print(f"{len(rows)} instances of {data.name}: ordered step sequences median {statistics.median(ordered)} "
          f"(mean {statistics.mean(ordered):.1f}, {min(ordered)} to {max(ordered)}); as sets of steps median "
          f"{statistics.median(as_sets)}; exactly one solution: {unique:.0%}")
    print(json.dumps({"data": data.name, "instances": len(rows), "ordered": ordered, "sets": as_sets, "unique_share": unique}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
