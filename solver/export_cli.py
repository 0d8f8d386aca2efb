"""`rmdm export`: a training run's Lightning checkpoint (last.ckpt, or the snapshot of step N) as a
checkpoint directory that `rmdm eval`, `rmdm solve` and the app load.

    rmdm export runs/cd4-steps --step 2000 --out runs/cd4-steps-2000
    rmdm eval --checkpoint runs/cd4-steps-2000 --data data/countdown4 --decoding plain,constrained

`rmdm train` exports the run's end; this exports any point of it, so runs of an ablation compare at
equal steps (a snapshot is kept every train.val_every steps while the run is the newest checkpoint:
`checkpoints/step<N>.ckpt`). The weights are the EMA weights when the run keeps an EMA, as in
`rmdm train`'s export. The checkpoint is read with `weights_only` (tensors and plain data: a file
holding anything else is refused, never unpickled).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="export a training run's checkpoint (last or step N) for eval/solve/app",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", metavar="RUN_DIR", help="a run directory of rmdm train")
    parser.add_argument("--step", type=int, metavar="N", help="the snapshot checkpoints/step<N>.ckpt (default: last.ckpt)")
    parser.add_argument("--out", required=True, metavar="DIR", help="the checkpoint directory to write (must not exist)")
    parser.set_defaults(func=run)


def checkpoint_path(run_dir: Path, step: int | None) -> Path:
    """The .ckpt to export, checked intact; ConfigError (one line) naming what is missing or damaged."""
    from .config import ConfigError
    from .train import STEP_CHECKPOINT, checkpoint_files, checkpoint_problem

    if step is not None and step < 0:
        raise ConfigError(f"--step must not be negative, got {step}")
    folder = run_dir / "checkpoints"
    path = folder / ("last.ckpt" if step is None else f"step{step}.ckpt")
    if not path.is_file():
        steps = sorted(int(m.group(1)) for p in checkpoint_files(run_dir) if (m := STEP_CHECKPOINT.fullmatch(p.name)))
        have = f"snapshots: steps {', '.join(map(str, steps))}" if steps else "no step snapshots"
        raise ConfigError(f"{path}: no such checkpoint ({have})")
    problem = checkpoint_problem(path)
    if problem:
        raise ConfigError(f"{path}: {problem}")
    return path


def export(run_dir: str | Path, out: str | Path, step: int | None = None) -> Path:
    """Write the checkpoint directory `out` from run `run_dir`'s last.ckpt (or step `step`'s snapshot)."""
    import torch

    from .checkpoint import save_checkpoint
    from .config import ConfigError
    from .data import DataError, read_manifest
    from .lightning_module import SolverModule
    from .train import read_run_config

    run_dir, out = Path(run_dir), Path(out)
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: no such run directory")
    if out.exists():
        raise ConfigError(f"{out}: already exists (choose a new --out)")
    saved = read_run_config(run_dir)
    path = checkpoint_path(run_dir, step)
    try:  # one read; tensors and plain data only, so nothing in the file is unpickled as code
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ConfigError(f"{path}: holds more than tensors and plain data, not read "
                          f"({str(err).splitlines()[0]})") from None
    module = SolverModule(**checkpoint["hyper_parameters"])
    module.load_state_dict(checkpoint["state_dict"])
    module.on_load_checkpoint(checkpoint)  # the EMA weights, when the run keeps them
    steps = int(checkpoint.get("global_step", 0))
    config = saved["config"]
    manifest = None
    if saved.get("data_dir"):
        try:
            manifest = read_manifest(Path(saved["data_dir"]))
        except (DataError, OSError):
            manifest = None  # the data moved: the export says nothing about it
    preset = saved.get("preset", "custom")
    card = (f"# {preset}: snapshot at step {steps}\n\nExported by `rmdm export {run_dir}"
            f"{'' if step is None else f' --step {step}'}` from `{path}` (step {steps} of a "
            f"{config.train.max_steps}-step schedule). Commands of the run:\n\n```bash\n"
            + "\n".join([saved.get("command", ""), *saved.get("resumes", [])]).strip() + "\n```\n")
    return save_checkpoint(out, module.export_net(), module.codec, {"preset": preset, **config.model_dump(mode="json")},
                           card, manifest, extra={"trained": {"steps": steps, "snapshot": str(path)}})


def run(args: argparse.Namespace) -> int:
    from .checkpoint import CheckpointError
    from .config import ConfigError

    try:
        out = export(args.run, args.out, args.step)
    except (ConfigError, CheckpointError) as err:
        print(f"rmdm export: {err}", file=sys.stderr)
        return 2
    print(f"exported {out}")
    return 0
