"""`rmdm train`: train a Denoiser from a preset, with overrides, into a fresh run directory.

    rmdm train --config configs/sudoku4-cpu.yaml --data data/sudoku4
    rmdm train --config sudoku9-tiny-cpu --set model.loops=4 --set train.max_steps=2000 --max-minutes 20
    rmdm train --resume runs/sudoku4-20261123-120000
    rmdm train --resume runs/sudoku4-20261123-120000 --max-steps 3000   # train a finished run longer
    rmdm train --resume runs/sudoku4-20261123-120000 --set train.threads=2   # resume on other hardware
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a model from a preset (configs/*.yaml)",
        description="Train a recursive masked diffusion model. The config is validated before any work starts.",
    )
    parser.add_argument("--config", help="a preset file or name (configs/<name>.yaml), e.g. sudoku4-cpu")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, e.g. --set model.loops=4 (repeatable; values read as YAML); with "
                             "--resume only hardware fields such as train.threads or train.accelerator")
    parser.add_argument("--data", help="a data_gen output directory (overrides data.dir / data.spec)")
    parser.add_argument("--out", help="a fresh run directory (default: runs/<preset>-<time>)")
    parser.add_argument("--max-minutes", type=float,
                        help="stop after this many minutes of training in this session (then export as usual)")
    parser.add_argument("--max-steps", type=int, metavar="N",
                        help="train until global step N (train.max_steps); with --resume, how a run trains longer "
                             "(the warmup/cosine LR schedule is recomputed for the new N)")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue a run from RUN_DIR/checkpoints/last.ckpt with its saved config (from the newest "
                             "intact step<N>.ckpt when last.ckpt is damaged); a run stopped before its first checkpoint "
                             "starts again from step 0. Checkpoints are saved every train.val_every steps and every "
                             "train.checkpoint_minutes minutes")
    parser.add_argument("--export", metavar="DIR", help="export the final checkpoint here (default: RUN_DIR/export)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .config import ConfigError, check_resume_overrides, load_run_config, resolve_config_path

    try:  # everything the command line says is checked before the heavy imports and any work
        if args.resume:
            if args.config:
                raise ConfigError("--resume continues with the run's saved config: drop --config "
                                  "(--max-steps N trains it longer)")
            check_resume_overrides(args.overrides)
            config, preset = None, None
        else:
            path = resolve_config_path(args.config) if args.config else None
            config = load_run_config(path, args.overrides)
            preset = Path(path).stem
        if args.max_minutes is not None and args.max_minutes <= 0:
            raise ConfigError(f"--max-minutes must be positive, got {args.max_minutes}")
        if args.max_steps is not None and args.max_steps <= 0:
            raise ConfigError(f"--max-steps must be positive, got {args.max_steps}")
    except ConfigError as err:
        return error(err, 2)

    from .checkpoint import CheckpointError
    from .data import DataError
    from .train import train

    try:
        result = train(config, data_dir=args.data, out=args.out, max_minutes=args.max_minutes, resume=args.resume,
                       export_dir=args.export, max_steps=args.max_steps, preset=preset or "custom",
                       overrides=args.overrides if args.resume else None,
                       progress=not args.no_progress)
    except (ConfigError, FileNotFoundError) as err:
        return error(err, 2)
    except (DataError, CheckpointError) as err:
        return error(err, 1)
    if not result.primary:  # a DDP process: rank 0 reports
        return 0
    print(summary(result))
    print(f"run: {result.run_dir}\nexport: {result.export_dir}  (load with solver.load({str(result.export_dir)!r}))")
    return 0


def summary(result) -> str:
    """The final line: the run's totals, labelled as such when they cover earlier sessions too."""
    rate = "not measured" if result.solve_rate is None else f"{result.solve_rate:.1%} of {result.solve_puzzles}"
    if result.sessions <= 1:
        return f"trained {result.steps} steps in {result.minutes:.1f} min on {result.hardware}; validation solve rate {rate}"
    sessions = "both sessions" if result.sessions == 2 else f"all {result.sessions} sessions"
    return (f"trained {result.steps} steps in {result.minutes:.1f} min, {sessions} together (this session: "
            f"{result.session_steps} steps in {result.session_minutes:.1f} min on {result.hardware}); "
            f"validation solve rate {rate}")


def error(err: Exception, code: int) -> int:
    print(f"rmdm train: error: {err}", file=sys.stderr)
    return code
