"""Training runs: config + data -> a fresh run directory with Lightning checkpoints, logs and an export.

    rmdm train --config configs/sudoku4-cpu.yaml --data data/sudoku4 --out runs/sudoku4
    rmdm train --resume runs/sudoku4                      # continue from runs/sudoku4/checkpoints/last.ckpt

A run directory holds run_config.json (the validated config and where the data was),
checkpoints/ (Lightning .ckpt files, for resuming only), logs/ (CSV, and TensorBoard when
installed) and export/ (model.safetensors + config.json + card.md: what `solver.load` reads).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from .config import ConfigError, RunConfig


@dataclass
class TrainResult:
    run_dir: Path
    export_dir: Path
    steps: int
    minutes: float
    solve_rate: float | None
    solve_puzzles: int
    hardware: str


def hardware_summary(accelerator: str) -> str:
    if accelerator == "gpu" and torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    return f"CPU ({torch.get_num_threads()} threads, {os.cpu_count()} cores, {platform.machine()})"


def set_cpu_threads(threads: int | None) -> None:
    """All cores by default; torch otherwise may take fewer, or oversubscribe with interop threads."""
    count = threads or os.cpu_count() or 1
    torch.set_num_threads(count)


def generate_dataset(spec: dict[str, Any], cache_dir: str | Path) -> Path:
    """Build a data_gen dataset from a spec into cache_dir/<task>-<hash>/ once; reuse it afterwards."""
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    directory = Path(cache_dir) / f"{spec.get('task', 'data')}-{key}"
    if (directory / "manifest.json").is_file():
        return directory
    try:
        from data_gen.api import build_dataset  # type: ignore[import-not-found]
    except ImportError as err:
        raise ConfigError(
            f"data.spec needs data_gen's Python API (data_gen.api.build_dataset), not available here ({err}); "
            "build the data with `rmdm gen ... --out DIR` and pass --data DIR"
        ) from None
    print(f"generating the dataset for data.spec into {directory} (once; cached)", file=sys.stderr)
    build_dataset(spec, directory)
    return directory


def fresh_run_dir(out: str | Path | None, name: str) -> Path:
    if out is None:
        out = Path("runs") / f"{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out}: exists and is not empty; give a fresh --out (or --resume {out} to continue)")
    out.mkdir(parents=True, exist_ok=True)
    return out


def build_trainer(config: RunConfig, run_dir: Path, max_minutes: float | None, progress: bool,
                  logger: bool = True) -> Any:
    import lightning as L
    from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint

    train = config.train
    accelerator = train.accelerator
    if accelerator == "auto":
        accelerator = "gpu" if torch.cuda.is_available() else "cpu"
    precision = train.precision if train.precision != "auto" else ("bf16-mixed" if accelerator == "gpu" else "32-true")
    loggers: list[Any] = []
    if logger:
        from lightning.pytorch.loggers import CSVLogger

        loggers.append(CSVLogger(run_dir, name="logs", version=""))
        try:
            import tensorboard  # noqa: F401
            from lightning.pytorch.loggers import TensorBoardLogger

            loggers.append(TensorBoardLogger(run_dir, name="logs", version="tensorboard"))
        except ImportError:
            pass
    callbacks = [ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="step{step}", auto_insert_metric_name=False,
                                 save_last=True, save_top_k=1, monitor=None, every_n_train_steps=train.val_every)]
    if loggers:
        callbacks.append(LearningRateMonitor(logging_interval="step"))
    return L.Trainer(
        accelerator=accelerator, devices=train.devices, strategy=train.strategy, precision=precision,
        max_steps=train.max_steps, max_epochs=-1,
        max_time={"minutes": max_minutes} if max_minutes else None,
        val_check_interval=train.val_every, check_val_every_n_epoch=None, limit_val_batches=train.val_batches,
        num_sanity_val_steps=0, gradient_clip_val=train.grad_clip, log_every_n_steps=train.log_every,
        logger=loggers or False, callbacks=callbacks, enable_progress_bar=progress, enable_model_summary=False,
        deterministic=train.deterministic, default_root_dir=run_dir,
    )


def train(config: RunConfig, *, data_dir: str | Path | None = None, out: str | Path | None = None,
          max_minutes: float | None = None, resume: str | Path | None = None, export_dir: str | Path | None = None,
          preset: str = "custom", command: str | None = None, progress: bool = True, logger: bool = True) -> TrainResult:
    """Run one training (or resume one) and export a checkpoint directory; see the module docstring."""
    import lightning as L

    from .checkpoint import save_checkpoint
    from .data import PuzzleDataModule
    from .lightning_module import SolverModule

    started = time.time()
    command = command or "rmdm train " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if resume is not None:
        run_dir = Path(resume)
        last = run_dir / "checkpoints" / "last.ckpt"
        if not last.is_file():
            raise ConfigError(f"{last}: no checkpoint to resume from")
        saved = json.loads((run_dir / "run_config.json").read_text())
        config = RunConfig.model_validate(saved["config"])
        data_dir = data_dir or saved["data_dir"]
        preset = saved.get("preset", preset)
    else:
        last = None
    if data_dir is None:
        data_dir = config.data.dir
    if data_dir is None:
        if config.data.spec is None:
            raise ConfigError("no training data: pass --data DIR, or set data.dir or data.spec in the config")
        data_dir = generate_dataset({"task": config.task, **config.data.spec}, config.data.cache_dir)

    set_cpu_threads(config.train.threads)
    L.seed_everything(config.train.seed, workers=True, verbose=False)
    datamodule = PuzzleDataModule(
        data_dir, config.train.batch_size, train_split=config.data.train_split, val_split=config.data.val_split,
        augment=config.data.augment, max_train_records=config.data.max_train_records,
        max_val_records=config.data.max_val_records, num_workers=config.train.num_workers, seed=config.train.seed,
    )
    codec = datamodule.codec
    if codec.task != config.task:
        raise ConfigError(f"{data_dir}: a {codec.task} dataset, but the config trains {config.task}")
    if resume is None:
        run_dir = fresh_run_dir(out, preset)
        (run_dir / "run_config.json").write_text(json.dumps(
            {"config": config.model_dump(mode="json"), "data_dir": str(Path(data_dir).resolve()), "preset": preset,
             "command": command}, indent=2) + "\n")
    module = SolverModule(model_config(config, codec), config.loss.model_dump(mode="json"),
                          config.train.model_dump(mode="json"), codec.to_config())
    trainer = build_trainer(config, run_dir, max_minutes, progress, logger)
    if config.train.compile and trainer.accelerator.__class__.__name__.lower().startswith("cuda"):
        module.compile_net()
    trainer.fit(module, datamodule=datamodule, ckpt_path=str(last) if last else None)

    datamodule.setup()
    net = module.export_net()
    solve, puzzles = final_solve_rate(net, codec, datamodule, config.train.final_solve_puzzles, config.train.solve_steps)
    minutes = (time.time() - started) / 60
    hardware = hardware_summary("gpu" if trainer.accelerator.__class__.__name__.lower().startswith("cuda") else "cpu")
    export = Path(export_dir) if export_dir else run_dir / "export"
    card = model_card(config, preset, data_dir, datamodule, net, trainer.global_step, minutes, hardware, solve, puzzles,
                      command)
    save_checkpoint(export, net, codec, {"preset": preset, **config.model_dump(mode="json")}, card, datamodule.manifest,
                    extra={"trained": {"steps": trainer.global_step, "minutes": round(minutes, 2), "hardware": hardware,
                                       "val_solve_rate": solve, "val_puzzles": puzzles}})
    return TrainResult(run_dir, export, trainer.global_step, minutes, solve, puzzles, hardware)


def model_config(config: RunConfig, codec: Any) -> dict[str, Any]:
    """The DenoiserConfig for this run: the preset's shape + the codec's vocabulary, length and positions."""
    extra: dict[str, Any] = {"vocab_size": codec.vocab_size, "seq_len": codec.seq_len, "mask_id": codec.mask_id}
    if codec.task == "sudoku":
        extra.update(positions="grid", box_rows=codec.shape.box_rows, box_cols=codec.shape.box_cols)
    else:
        extra.update(positions="sequence")
    return {**config.model.model_dump(mode="json"), **extra}


def final_solve_rate(net: Any, codec: Any, datamodule: Any, puzzles: int, steps: int | None) -> tuple[float | None, int]:
    """Solve rate of the exported network on up to `puzzles` validation puzzles (one token per step by default)."""
    from .lightning_module import solve_rate

    if puzzles <= 0:
        return None, 0
    tokens, frozen, _ = datamodule.val_set.tensors
    tokens, frozen = tokens[:puzzles], frozen[:puzzles]
    rates = []
    for start in range(0, len(tokens), 256):
        chunk = slice(start, start + 256)
        rates.append(solve_rate(net, codec, tokens[chunk], frozen[chunk], steps=steps) * len(tokens[chunk]))
    return sum(rates) / len(tokens), len(tokens)


def model_card(config: RunConfig, preset: str, data_dir: Any, datamodule: Any, net: Any, steps: int, minutes: float,
               hardware: str, solve: float | None, puzzles: int, command: str) -> str:
    manifest = datamodule.manifest
    c = net.config
    kind = "plain MDM" if c.loops == 1 else ("R-MDM" if not (c.prelude_layers or c.coda_layers) else "LoopMDM")
    rate = f"{solve:.1%} of {puzzles} validation puzzles" if solve is not None else "not measured"
    return f"""# {preset}: {config.task} {kind}

{config.description.strip()}

- **Model**: {kind}, d_model={c.d_model}, heads={c.n_heads}, prelude/core/coda layers =
  {c.prelude_layers}/{c.core_layers}/{c.coda_layers}, loops={c.loops} (max {c.max_loops}),
  {c.positions} positions, {net.num_parameters():,} parameters.
- **Objective**: {config.loss.objective}, supervision={config.loss.supervision},
  loop sampling={config.loss.loop_sampling}, grad_loops={config.loss.grad_loops}.
- **Data**: `{data_dir}` ({manifest.get('generator', '?')} {manifest.get('generator_version', '')}, seed
  {manifest.get('seed', '?')}; {datamodule.stats['train']} training / {datamodule.stats['val']} validation records;
  symmetry augmentation {'on' if datamodule.augment else 'off'}).
- **Training**: {steps} steps of batch {config.train.batch_size}, {minutes:.1f} min on {hardware}.
- **Solve rate** (sampler defaults: one cell committed per step, most confident first, {c.loops} loops):
  {rate}, measured at the end of training.

Trained with:

```bash
{command}
```
"""
