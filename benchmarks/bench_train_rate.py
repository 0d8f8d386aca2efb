"""Training steps a second of a preset on this machine, under the real Trainer, and the schedule
that fits a time budget.

    python -m benchmarks.bench_train_rate sudoku9-hardt-gpu --data data/sudoku9 [--steps 120] [--budget 420]

bench_train_step.py prices a bare forward + backward + AdamW step; this one runs the preset as
`rmdm train` would (its data module, augmentation, precision, gradient clipping, Lightning's
per-step work) for `--warmup` + `--steps` steps without validation or checkpoints, and times the
last `--steps`. With `--budget SECONDS` it also prints the max_steps a run of that many training
seconds can finish, so a time-boxed run (a lent GPU's short calls) gets a learning-rate schedule
that ends when its time does, rather than one cut off half-way by `--max-minutes`:

    steps=$(python -m benchmarks.bench_train_rate PRESET --data DIR --budget 400 --print-steps)
    rmdm train --config PRESET --data DIR --max-steps "$steps" --max-minutes 8

Validation (every train.val_every steps) is priced apart, as `--val-seconds` per validation,
and taken off the budget before the steps are counted. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def measure(preset: str, data: str, steps: int, warmup: int, overrides: list[str]) -> dict[str, Any]:
    """Seconds per training step of `preset` on `data` (mean of the `steps` after `warmup`)."""
    import lightning as L
    from lightning.pytorch.callbacks import Callback

    from solver.config import load_run_config, resolve_config_path
    from solver.train import build_module, quiet_lightning, resolve_accelerator, resolve_precision, set_cpu_threads

    config = load_run_config(resolve_config_path(preset), overrides)
    quiet_lightning()
    set_cpu_threads(config.train.threads)
    L.seed_everything(0, verbose=False)
    datamodule, module = build_module(config, data, seed=0)

    class Clock(Callback):
        started = ended = 0.0

        def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
            if trainer.global_step == warmup:
                self._sync(trainer)
                self.started = time.perf_counter()
            elif trainer.global_step == warmup + steps:
                self._sync(trainer)
                self.ended = time.perf_counter()

        @staticmethod
        def _sync(trainer: Any) -> None:
            import torch

            if torch.cuda.is_available() and trainer.strategy.root_device.type == "cuda":
                torch.cuda.synchronize()

    accelerator = resolve_accelerator(config.train.accelerator)
    precision = resolve_precision(config.train.precision, accelerator)
    clock = Clock()
    trainer = L.Trainer(accelerator=accelerator, devices=1, precision=precision, max_steps=warmup + steps, max_epochs=-1,
                        limit_val_batches=0, num_sanity_val_steps=0, gradient_clip_val=config.train.grad_clip,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[clock])
    trainer.fit(module, datamodule=datamodule)
    seconds = (clock.ended - clock.started) / steps
    return {"preset": preset, "accelerator": accelerator, "precision": precision,
            "batch_size": config.train.batch_size, "val_every": config.train.val_every,
            "steps_timed": steps, "seconds_per_step": seconds, "steps_per_second": 1.0 / seconds}


def steps_for_budget(seconds_per_step: float, budget: float, val_every: int, val_seconds: float,
                     margin: float = 0.9) -> int:
    """The most steps whose training and validations fit `margin` of `budget` seconds."""
    usable = budget * margin
    per_step = seconds_per_step + val_seconds / val_every
    return max(1, int(usable / per_step))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", help="a preset name or file, as rmdm train --config takes")
    parser.add_argument("--data", required=True, help="a data_gen directory")
    parser.add_argument("--steps", type=int, default=120, help="timed steps (default 120)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first (default 20)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--budget", type=float, default=None, help="training seconds to fit a schedule into")
    parser.add_argument("--val-seconds", type=float, default=5.0, help="seconds one validation takes (default 5)")
    parser.add_argument("--print-steps", action="store_true", help="print only the max_steps for --budget")
    args = parser.parse_args(argv)
    if args.steps <= 0 or args.warmup < 0:
        parser.error("--steps must be positive and --warmup not negative")
    if args.print_steps and args.budget is None:
        parser.error("--print-steps needs --budget")
    result = measure(args.preset, args.data, args.steps, args.warmup, args.overrides)
    if args.budget is not None:
        result["budget_seconds"] = args.budget
        result["max_steps"] = steps_for_budget(result["seconds_per_step"], args.budget, result["val_every"],
                                               args.val_seconds)
    if args.print_steps:
        print(json.dumps(result), file=sys.stderr)
        print(result["max_steps"])
    else:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
