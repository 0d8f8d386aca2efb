"""Where a Countdown step model goes wrong: its plan, or its arithmetic.

For each instance, plain decoding (one position per step, greedy), then two checks of the
answer: as written (the solve rate `rmdm eval` reports), and with every result recomputed
exactly from the model's operands and operators (is the *plan* a solution?). The gap between
the two is what the calculator constraint (`--decoding constrained`) can recover.

    python -m benchmarks.countdown_plans --checkpoint runs/cd3-steps/export --data data/countdown3 --limit 300
"""

from __future__ import annotations

import argparse
import json
import sys


def plan_text(codec, ids: list[int]) -> str | None:
    """The model's operands and operators with exact results, in step form; None if a slot does not read."""
    from puzzles.countdown import apply_op
    from solver.countdown_steps import OP0, OPS

    numbers, _ = codec.prompt_values(ids)
    results: list[int | None] = []
    steps = []
    for k in range(codec.n_steps):
        a, op, b, _ = codec.step_slots(ids, k)
        va, vb = codec.ref_value(a, numbers, results), codec.ref_value(b, numbers, results)
        if va is None or vb is None or not OP0 <= op < OP0 + 4:
            return None
        value = apply_op(va, OPS[op - OP0], vb)
        if value is None:
            return None
        results.append(value)
        steps.append(f"{va}{OPS[op - OP0]}{vb}={value}")
    return ",".join(steps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a step-codec Countdown checkpoint (name or directory)")
    parser.add_argument("--data", required=True, help="a data_gen directory or a .jsonl of instances")
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    import torch

    from puzzles.countdown import verify_countdown
    from solver.checkpoint import load
    from solver.evaluate import load_eval_data
    from solver.sampler import SampleOptions, sample

    torch.set_num_threads(args.threads)
    loaded = load(args.checkpoint, device="cpu")
    codec = loaded.codec
    if getattr(codec, "format", None) != "steps":
        print("error: this benchmark reads step-codec models only", file=sys.stderr)
        return 2
    data = load_eval_data(args.data, limit=args.limit)
    tokens, frozen, _ = codec.encode_batch(data.inputs)
    out = sample(loaded.model, tokens, frozen, SampleOptions()).tokens
    written = planned = 0
    for instance, row in zip(data.inputs, out.tolist()):
        written += verify_countdown(instance, codec.decode(row)).valid
        plan = plan_text(codec, row)
        planned += plan is not None and verify_countdown(instance, plan).valid
    n = len(data.inputs)
    print(json.dumps({"checkpoint": args.checkpoint, "data": args.data, "instances": n,
                      "solved_as_written": written, "plan_solves": planned}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
