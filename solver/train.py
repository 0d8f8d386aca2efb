"""Training runs: config + data -> a fresh run directory with Lightning checkpoints, logs and an export.

    rmdm train --config configs/sudoku4-cpu.yaml --data data/sudoku4 --out runs/sudoku4
    rmdm train --resume runs/sudoku4                      # continue from runs/sudoku4/checkpoints/last.ckpt
    rmdm train --resume runs/sudoku4 --max-steps 3000     # ... and train longer (warmup/cosine recomputed for 3000)

A run directory holds run_config.json (the validated config and where the data was),
checkpoints/ (Lightning .ckpt files, for resuming only: last.ckpt and step<N>.ckpt, saved every
train.val_every steps and every train.checkpoint_minutes minutes), logs/ (CSV, and TensorBoard when
installed; the k-th resume writes its CSV to logs/resume-k/, so earlier sessions' metrics stay)
and export/ (model.safetensors + config.json + card.md: what `solver.load` reads).

--resume continues from last.ckpt, or from the newest intact step<N>.ckpt when last.ckpt is
truncated or corrupt (said on stderr); a run stopped before its first checkpoint starts again
from step 0 with its saved config (same seed, so it trains as the first start would have).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
import shlex
import shutil
import sys
import time
import warnings
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from data_gen.files import write_json_atomic

from .config import ConfigError, RunConfig, check_resume_overrides, load_run_config

RUN_DIR_ENV = "RMDM_TRAIN_RUN_DIR"


def process_rank() -> int:
    """This process's global rank from the launcher's environment (0 when not distributed)."""
    from lightning.fabric.utilities.rank_zero import _get_rank

    return _get_rank() or 0


@dataclass
class TrainResult:
    run_dir: Path
    export_dir: Path
    steps: int
    minutes: float
    solve_rate: float | None
    solve_puzzles: int
    hardware: str
    primary: bool = True  # False in the other DDP processes, which neither measure nor export
    sessions: int = 1  # training sessions the totals cover: 1 + the resumes
    session_steps: int | None = None  # steps and minutes of this session alone (None: the same as the totals)
    session_minutes: float | None = None


def hardware_summary(accelerator: str, processes: int = 1) -> str:
    """What trained it: the GPUs in use, or the CPU (with the DDP process count when more than one)."""
    if accelerator == "gpu" and torch.cuda.is_available():
        return f"{processes} x {torch.cuda.get_device_name(0)}"
    cpu = f"CPU ({torch.get_num_threads()} threads, {os.cpu_count()} cores, {platform.machine()})"
    return f"{processes} processes on {cpu}" if processes > 1 else cpu


def set_cpu_threads(threads: int | None) -> None:
    """All cores by default; torch otherwise may take fewer, or oversubscribe with interop threads."""
    count = threads or os.cpu_count() or 1
    torch.set_num_threads(count)


def check_spec(spec: dict[str, Any]) -> None:
    """Validate a data.spec with data_gen's own config before any work; ConfigError names the key."""
    try:
        from data_gen.api import config_from_spec
        from data_gen.errors import DataGenError
    except ImportError as err:
        raise ConfigError(
            f"data.spec needs data_gen's Python API (data_gen.api.build_dataset), not available here ({err}); "
            "build the data with `rmdm gen ... --out DIR` and pass --data DIR"
        ) from None
    try:
        config_from_spec(spec)
    except DataGenError as err:
        raise ConfigError(f"data.spec: {str(err).removeprefix('dataset spec: ')}") from None


def spec_directory(spec: dict[str, Any], cache_dir: str | Path) -> Path:
    """cache_dir/<task>-<hash of the spec>: one directory per distinct spec."""
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    return Path(cache_dir) / f"{spec.get('task', 'data')}-{key}"


def generate_dataset(spec: dict[str, Any], cache_dir: str | Path) -> Path:
    """Build a data_gen dataset from a spec into cache_dir/<task>-<hash>/ once; reuse it afterwards.

    An interrupted build is resumed by data_gen on the next call (manifest.json is written last)."""
    directory = spec_directory(spec, cache_dir)
    if (directory / "manifest.json").is_file():
        return directory
    check_spec(spec)
    from data_gen.api import build_dataset
    from data_gen.errors import DataGenError

    from .data import DataError

    print(f"generating the dataset for data.spec into {directory} (once; cached)", file=sys.stderr)
    try:
        build_dataset(spec, directory)
    except DataGenError as err:
        raise DataError(f"data.spec: {err}") from None
    return directory


def default_run_dir(out: str | Path | None, name: str) -> Path:
    if out is None:
        return Path("runs") / f"{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    return Path(out)


def check_fresh(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if (out / "run_config.json").is_file() and not checkpoint_files(out):
            raise ConfigError(f"{out}: a run stopped before its first checkpoint; `rmdm train --resume {out}` starts "
                              "it again from step 0 with its saved config (or give a fresh --out)")
        raise ConfigError(f"{out}: exists and is not empty; give a fresh --out (or --resume {out} to continue)")


def fresh_run_dir(out: str | Path | None, name: str) -> Path:
    out = default_run_dir(out, name)
    check_fresh(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """run_config.json of a run directory (what --resume continues with); ConfigError when unusable."""
    path = run_dir / "run_config.json"
    if not path.is_file():
        raise ConfigError(f"{path}: missing (not a run directory made by rmdm train?)")
    from pydantic import ValidationError

    from .config import validation_message

    try:
        saved = json.loads(path.read_text())
        saved["config"] = RunConfig.model_validate(saved["config"])
    except ValidationError as err:
        raise ConfigError(f"{path}: not a usable run config ({validation_message(err)})") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"{path}: not a usable run config ({str(err).splitlines()[0]})") from None
    return saved


STEP_CHECKPOINT = re.compile(r"step(\d+)(?:-v\d+)?\.ckpt")


def checkpoint_files(run_dir: Path) -> list[Path]:
    """A run's Lightning checkpoints, newest first: last.ckpt, then step<N>.ckpt by N."""
    folder = run_dir / "checkpoints"
    if not folder.is_dir():
        return []
    steps = [(int(m.group(1)), path) for path in folder.iterdir() if (m := STEP_CHECKPOINT.fullmatch(path.name))]
    last = [folder / "last.ckpt"] if (folder / "last.ckpt").is_file() else []
    return last + [path for _, path in sorted(steps, key=lambda item: (-item[0], item[1].name))]


def checkpoint_problem(path: Path) -> str | None:
    """Why a .ckpt cannot be resumed from (truncated, corrupt, not a torch file), or None when it is
    intact: torch.save writes a zip archive, and every member is checked against its CRC."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            bad = archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as err:
        return f"truncated or corrupt ({str(err).splitlines()[0] if str(err) else type(err).__name__})"
    if bad is not None:
        return f"corrupt ({bad} fails its CRC check)"
    if not any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
        return "not a torch checkpoint (no data.pkl inside)"
    return None


def resume_point(run_dir: Path, say: bool = True) -> Path | None:
    """The checkpoint a resume continues from: last.ckpt, or when that one cannot be read the newest
    intact step<N>.ckpt (said on stderr); None when the run has no checkpoint at all. ConfigError,
    in one line, when it has checkpoints but none is intact."""
    files = checkpoint_files(run_dir)
    if not files:
        return None
    damaged: list[tuple[Path, str]] = []
    for path in files:
        problem = checkpoint_problem(path)
        if problem is None:
            if damaged and say:
                first, why = damaged[0]
                print(f"rmdm train: {first}: {why}; resuming from the intact {path.name} instead", file=sys.stderr)
            return path
        damaged.append((path, problem))
    first, why = damaged[0]
    others = f" (nor is any of the {len(damaged) - 1} earlier ones)" if len(damaged) > 1 else ""
    raise ConfigError(f"{first}: {why}{others}; no intact checkpoint to resume from: remove the damaged files "
                      f"and `rmdm train --resume {run_dir}` starts the run again from step 0")


class _DropLitLoggerTip(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in str(record.msg)


# Lightning's note on a resume whose checkpoint holds callback states this Trainer has no callback
# for, when those are only the per-session callbacks of runs saved before RunCheckpoint and a
# stateless SessionTimer (their intervals were part of the state key): nothing is lost by it.
_OLD_SESSION_CALLBACKS = (r"Be aware that when using `ckpt_path`, callbacks used to create the checkpoint need to be "
                          r"provided during `Trainer` instantiation\. Please add the following callbacks: "
                          r"\[(?:(?:\"ModelCheckpoint\{[^\]\"]*\}\"|'build_trainer\.<locals>\.SessionTimer')(?:, )?)+\]\.$")


def quiet_lightning() -> None:
    """Drop lines of noise from every Trainer: Lightning's advert for its cloud logger (an INFO
    record), torch's deprecation of LeafSpec, which Lightning's own _pytree still constructs (a
    FutureWarning attributed to that one module), ModelCheckpoint's warning that the
    checkpoint directory is not empty, which only a resumed run can meet here (fresh runs
    refuse a non-empty --out), the warning that an epoch has fewer batches than
    log_every_n_steps (these runs count steps, not epochs, and Lightning's logging interval
    counts global steps across epochs, so no log line is lost), and the note on callback
    states of older checkpoints (_OLD_SESSION_CALLBACKS). Other warnings stay."""
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                            category=FutureWarning, module=r"lightning\.pytorch\.utilities\._pytree")
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty",
                            module=r"lightning\.pytorch\.callbacks\.model_checkpoint")
    warnings.filterwarnings("ignore", message=r"The number of training batches \(\d+\) is smaller than the logging "
                            r"interval Trainer\(log_every_n_steps=\d+\)", module=r"lightning\.pytorch\.loops\.fit_loop")
    warnings.filterwarnings("ignore", message=_OLD_SESSION_CALLBACKS, module=r"lightning\.pytorch\.trainer\.call")
    log = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _DropLitLoggerTip) for f in log.filters):
        log.addFilter(_DropLitLoggerTip())


def resolve_accelerator(accelerator: str) -> str:
    """"auto" -> "gpu" when CUDA is available, else "cpu"; anything else as given."""
    if accelerator == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    return accelerator


def resolve_precision(precision: str, accelerator: str, bf16_supported: bool | None = None) -> str:
    """"auto": bf16-mixed on a GPU that has bf16 (16-mixed on older ones), fp32 on CPU."""
    if precision != "auto":
        return precision
    if accelerator not in ("gpu", "cuda"):
        return "32-true"
    if bf16_supported is None:
        bf16_supported = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return "bf16-mixed" if bf16_supported else "16-mixed"


def use_compile(config: RunConfig, accelerator: str) -> bool:
    """torch.compile only on CUDA: on CPU it costs minutes of compiling for little gain."""
    return config.train.compile and accelerator in ("gpu", "cuda")


def progress_bar() -> Any:
    """Lightning's bar without its two artefacts of step-based runs: "Epoch 3/-2" (max_epochs is -1)
    and the logger version as v_num (here the TensorBoard folder name, cut to "oard"); with the
    module's `bar_metrics` (the training loss, read from the device every log_every steps only)."""
    from lightning.pytorch.callbacks import RichProgressBar, TQDMProgressBar
    from lightning.pytorch.utilities.imports import _RICH_AVAILABLE

    base = RichProgressBar if _RICH_AVAILABLE else TQDMProgressBar

    class StepRunProgressBar(base):  # type: ignore[misc, valid-type]
        def get_metrics(self, trainer: Any, pl_module: Any) -> dict[str, Any]:
            items = super().get_metrics(trainer, pl_module)
            items.pop("v_num", None)
            items.update(getattr(pl_module, "bar_metrics", {}))
            return items

        def _get_train_description(self, current_epoch: int) -> str:
            description = f"Epoch {current_epoch}"
            width = len(getattr(self, "validation_description", ""))
            return f"{description:{width}}" if width > len(description) else description

    return StepRunProgressBar()


def build_trainer(config: RunConfig, run_dir: Path, max_minutes: float | None, progress: bool,
                  logger: bool = True, session: int = 0) -> Any:
    """`session`: 0 for a fresh run, k for its k-th resume (the CSV logger's folder: Lightning's
    CSVLogger would otherwise delete the metrics.csv an earlier session wrote)."""
    import lightning as L
    from lightning.pytorch.callbacks import Callback, LearningRateMonitor, ModelCheckpoint, Timer

    class SessionTimer(Timer):
        """--max-minutes counts this session: a resumed run does not inherit the elapsed time, and
        the timer keeps no state in the checkpoint (a resume without --max-minutes has no timer
        to hand it to, and Lightning would say so)."""

        def state_dict(self) -> dict[str, Any]:
            return {}

        def load_state_dict(self, state_dict: dict[str, Any]) -> None:
            pass

    class RunCheckpoint(ModelCheckpoint):
        """ModelCheckpoint saving every `every_n_train_steps` steps and also every `minutes` minutes
        of training (its batch-end check honours both triggers; only its constructor refuses the
        pair, so the interval is set after it), under one state key whatever the intervals: a
        resume that changes them (--max-steps, train.val_every) finds its state without a warning."""

        def __init__(self, minutes: float, **kwargs: Any):
            super().__init__(**kwargs)
            from datetime import timedelta

            self._train_time_interval = timedelta(minutes=minutes)

        @property
        def state_key(self) -> str:
            return "RunCheckpoint"

    class SessionStart(Callback):
        """The global step this session starts from (after a resume's checkpoint is restored)."""

        step = 0

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            self.step = trainer.global_step

    train = config.train
    accelerator = resolve_accelerator(train.accelerator)
    precision = resolve_precision(train.precision, accelerator)
    loggers: list[Any] = []
    if logger:
        from lightning.pytorch.loggers import CSVLogger

        loggers.append(CSVLogger(run_dir, name="logs", version=f"resume-{session}" if session else ""))
        try:
            import tensorboard  # noqa: F401
            from lightning.pytorch.loggers import TensorBoardLogger

            loggers.append(TensorBoardLogger(run_dir, name="logs", version="tensorboard"))
        except ImportError:
            pass
    # every val_every steps (at max_steps when that comes first: a short run still saves before its
    # end) and every checkpoint_minutes, so a run killed before its first validation loses little
    callbacks = [RunCheckpoint(train.checkpoint_minutes, dirpath=run_dir / "checkpoints", filename="step{step}",
                               auto_insert_metric_name=False, save_last=True, save_top_k=1, monitor=None,
                               enable_version_counter=False,  # overwrite last.ckpt, never last-v1.ckpt: resume reads last.ckpt
                               every_n_train_steps=min(train.val_every, train.max_steps)),
                 SessionStart()]
    if loggers:
        callbacks.append(LearningRateMonitor(logging_interval="step"))
    if max_minutes:
        callbacks.append(SessionTimer(duration={"minutes": max_minutes}, interval="step"))
    if progress:
        callbacks.append(progress_bar())
    return L.Trainer(
        accelerator=accelerator, devices=train.devices, strategy=train.strategy, precision=precision,
        max_steps=train.max_steps, max_epochs=-1,
        val_check_interval=train.val_every, check_val_every_n_epoch=None, limit_val_batches=train.val_batches,
        num_sanity_val_steps=0, gradient_clip_val=train.grad_clip, log_every_n_steps=train.log_every,
        logger=loggers or False, callbacks=callbacks, enable_progress_bar=progress, enable_model_summary=False,
        deterministic=train.deterministic, default_root_dir=run_dir,
    )


@dataclass
class Run:
    """A run before its Trainer: what to train, where, from which checkpoint, on which data."""

    config: RunConfig
    run_dir: Path
    preset: str
    saved: dict[str, Any]  # run_config.json's contents (config as a RunConfig)
    last: Path | None  # the checkpoint a resumed run continues from
    data_dir: str | Path | None
    spec: dict[str, Any] | None  # a data.spec still to build (when no data_dir)
    launched: bool  # a DDP process Lightning started: rank 0 owns the run directory
    seed: int  # train.seed + resumes so far: a resumed run does not replay the first run's batches and masks
    restart: bool = False  # --resume of a run stopped before its first checkpoint: from step 0 in its directory


def plan_run(config: RunConfig | None, resume: str | Path | None, out: str | Path | None,
             data_dir: str | Path | None, max_steps: int | None, preset: str,
             overrides: list[str] | None = None) -> Run:
    """Everything the arguments say, checked before any data generation or heavy import.
    `overrides` (KEY=VALUE, RESUME_OVERRIDES only) change a resumed run's hardware fields."""
    if max_steps is not None and max_steps <= 0:
        raise ConfigError(f"max_steps must be positive, got {max_steps}")
    launched, saved, last, restart = process_rank() > 0, {}, None, False
    if resume is not None:
        run_dir = Path(resume)
        if not run_dir.is_dir():
            raise ConfigError(f"{run_dir}: no such run directory")
        saved = read_run_config(run_dir)
        last = resume_point(run_dir, say=not launched)
        if last is None:  # stopped before its first checkpoint: nothing to continue, so start it again
            if (run_dir / "export").exists():
                raise ConfigError(f"{run_dir / 'checkpoints'}: no checkpoint to resume from (the run was exported, "
                                  "and its checkpoints are gone)")
            restart = True
            if not launched:
                print(f"rmdm train: {run_dir} has no checkpoint yet (stopped before its first one): starting it "
                      "again from step 0 with its saved config", file=sys.stderr)
        config, preset = saved["config"], saved.get("preset", preset)
        if overrides:
            check_resume_overrides(overrides)
            config = load_run_config(raw=config.model_dump(mode="json"), overrides=overrides)
        data_dir = data_dir or saved.get("data_dir")
    elif config is None:
        raise ConfigError("no config: pass a RunConfig (or resume a run directory)")
    else:
        run_dir = default_run_dir(out, preset)
        if launched:  # the default name holds the time: take rank 0's
            run_dir = Path(os.environ.get(RUN_DIR_ENV) or run_dir)
        else:
            check_fresh(run_dir)
    if max_steps is not None:
        config = config.model_copy(update={"train": config.train.model_copy(update={"max_steps": max_steps})})
    data_dir, spec = data_dir or config.data.dir, None
    if data_dir is None:
        if config.data.spec is None:
            raise ConfigError("no training data: pass --data DIR, or set data.dir or data.spec in the config")
        spec = {"task": config.task, **config.data.spec}
        if not (spec_directory(spec, config.data.cache_dir) / "manifest.json").is_file():
            check_spec(spec)
    seed = config.train.seed if restart else config.train.seed + len(saved.get("resumes", [])) + (last is not None)
    return Run(config, run_dir, preset, saved, last, data_dir, spec, launched, seed, restart)


def record_run(run: Run, command: str) -> None:
    """Create a fresh run directory (rank 0) and write run_config.json: the config, data and commands."""
    if run.restart:  # the first command still describes the run; this one is noted as a restart
        run.saved = {**run.saved, "data_dir": str(Path(run.data_dir).resolve()), "resumes": [],
                     "restarts": [*run.saved.get("restarts", []), command]}
        run.saved.pop("trained_minutes", None)
    elif run.last is None:
        run.saved = {"data_dir": str(Path(run.data_dir).resolve()), "preset": run.preset, "command": command,
                     "resumes": []}
    else:
        run.saved["resumes"] = [*run.saved.get("resumes", []), command]
    run.saved["config"] = run.config
    if not run.launched:
        if run.restart:  # the killed start's logs cover steps that are trained again now
            shutil.rmtree(run.run_dir / "logs", ignore_errors=True)
        elif run.last is None:
            run.run_dir = fresh_run_dir(run.run_dir, run.preset)
        write_json_atomic(run.run_dir / "run_config.json", {**run.saved, "config": run.config.model_dump(mode="json")})
        os.environ[RUN_DIR_ENV] = str(run.run_dir.resolve())  # what the DDP processes Lightning starts will use


def train(config: RunConfig | None, *, data_dir: str | Path | None = None, out: str | Path | None = None,
          max_minutes: float | None = None, resume: str | Path | None = None, export_dir: str | Path | None = None,
          max_steps: int | None = None, preset: str = "custom", command: str | None = None, progress: bool = True,
          logger: bool = True, overrides: list[str] | None = None) -> TrainResult:
    """Run one training (or resume one) and export a checkpoint directory; see the module docstring.

    `max_steps` overrides train.max_steps; with `resume` it is how a finished run trains longer
    (the warmup/cosine schedule is recomputed for the new total, and run_config.json records it);
    `overrides` change a resumed run's hardware fields (config.RESUME_OVERRIDES), e.g.
    ["train.threads=2"] or ["train.accelerator=gpu"].
    """
    started = time.time()
    if command is None:  # the rmdm command line, or a note that Python called this
        from_cli = sys.argv[1:2] == ["train"]
        command = "rmdm " + shlex.join(sys.argv[1:]) if from_cli else "# solver.train.train() from Python"
    run = plan_run(config, resume, out, data_dir, max_steps, preset, overrides)
    config = run.config

    import lightning as L

    quiet_lightning()
    if run.spec is not None:
        run.data_dir = generate_dataset(run.spec, config.data.cache_dir)
    set_cpu_threads(config.train.threads)
    L.seed_everything(run.seed, workers=True, verbose=False)
    datamodule, module = build_module(config, run.data_dir, run.seed)
    record_run(run, command)
    trainer = build_trainer(config, run.run_dir, max_minutes, progress, logger, session=len(run.saved["resumes"]))
    if use_compile(config, "gpu" if on_cuda(trainer) else "cpu"):
        module.compile_net()
    elif config.train.compile:
        print("train.compile: skipped (torch.compile is used on CUDA only)", file=sys.stderr)
    trainer.fit(module, datamodule=datamodule, ckpt_path=str(run.last) if run.last else None)
    final = run.run_dir / "checkpoints" / "last.ckpt"  # ModelCheckpoint saved at multiples of val_every only
    if trainer.is_global_zero and final.is_symlink():
        final.unlink()
    trainer.save_checkpoint(final, weights_only=False)  # the last step: --resume continues exactly from here
    if trainer.global_rank != 0:  # one process measures and exports
        return TrainResult(run.run_dir, run.run_dir / "export", trainer.global_step, 0.0, None, 0, "", primary=False)
    start = next((cb.step for cb in trainer.callbacks if type(cb).__name__ == "SessionStart"), 0)
    return export_run(run, module, trainer, datamodule, (time.time() - started) / 60, export_dir, start)


def build_module(config: RunConfig, data_dir: str | Path, seed: int) -> tuple[Any, Any]:
    """The data module (its files checked: a truncated or corrupt one is one line now, before the
    run directory is made) and the untrained SolverModule a config describes."""
    from .data import PuzzleDataModule
    from .lightning_module import SolverModule

    datamodule = PuzzleDataModule(
        data_dir, config.train.batch_size, train_split=config.data.train_split, val_split=config.data.val_split,
        augment=config.data.augment, max_train_records=config.data.max_train_records,
        max_val_records=config.data.max_val_records, num_workers=config.train.num_workers, seed=seed,
        codec_format=config.data.codec,
    )
    codec = datamodule.codec
    if codec.task != config.task:
        raise ConfigError(f"{data_dir}: a {codec.task} dataset, but the config trains {config.task}")
    datamodule.check_files()
    module = SolverModule(model_config(config, codec), config.loss.model_dump(mode="json"),
                          config.train.model_dump(mode="json"), codec.to_config())
    return datamodule, module


def on_cuda(trainer: Any) -> bool:
    return type(trainer.accelerator).__name__.lower().startswith("cuda")


def export_run(run: Run, module: Any, trainer: Any, datamodule: Any, minutes: float,
               export_dir: str | Path | None, start_step: int = 0) -> TrainResult:
    """Final solve rate, model card and checkpoint directory; run_config.json keeps the total minutes.
    `minutes` and the steps from `start_step` are this session's; the result holds the totals too."""
    from .checkpoint import save_checkpoint

    config, codec = run.config, datamodule.codec
    datamodule.setup()
    # measured on the training device: a GPU preset's 2000 final puzzles would take hours on the CPU
    net = module.export_net().to(trainer.strategy.root_device)
    solve, puzzles = final_solve_rate(net, codec, datamodule, config.train.final_solve_puzzles, config.train.solve_steps)
    net = net.cpu()
    session_minutes = minutes
    minutes += run.saved.get("trained_minutes", 0.0)
    run.saved["trained_minutes"] = round(minutes, 3)
    write_json_atomic(run.run_dir / "run_config.json", {**run.saved, "config": config.model_dump(mode="json")})
    hardware = hardware_summary("gpu" if on_cuda(trainer) else "cpu", trainer.world_size)
    export = Path(export_dir) if export_dir else run.run_dir / "export"
    commands = "\n".join([run.saved.get("command", ""), *run.saved["resumes"]]).strip()
    sessions = 1 + len(run.saved["resumes"])
    card = model_card(config, run.preset, run.data_dir, datamodule, net, trainer.global_step, minutes, hardware, solve,
                      puzzles, commands, sessions)
    save_checkpoint(export, net, codec, {"preset": run.preset, **config.model_dump(mode="json")}, card,
                    datamodule.manifest, extra={"trained": {
                        "steps": trainer.global_step, "minutes": round(minutes, 2), "hardware": hardware,
                        "val_solve_rate": solve, "val_puzzles": puzzles}})
    return TrainResult(run.run_dir, export, trainer.global_step, minutes, solve, puzzles, hardware, sessions=sessions,
                       session_steps=trainer.global_step - start_step, session_minutes=session_minutes)


def model_config(config: RunConfig, codec: Any) -> dict[str, Any]:
    """The DenoiserConfig for this run: the preset's shape + the codec's vocabulary, length and positions."""
    extra: dict[str, Any] = {"vocab_size": codec.vocab_size, "seq_len": codec.seq_len, "mask_id": codec.mask_id}
    if codec.task == "sudoku":
        extra.update(positions="grid", box_rows=codec.shape.box_rows, box_cols=codec.shape.box_cols)
    elif getattr(codec, "format", None) == "steps":
        extra.update(positions="steps", n_numbers=codec.n_numbers, number_digits=codec.number_digits,
                     value_digits=codec.value_digits)
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


def shown_path(path: Any) -> str:
    """A path as a card shows it: relative to the working directory when inside it (a resumed
    run's saved data_dir is absolute), else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def model_card(config: RunConfig, preset: str, data_dir: Any, datamodule: Any, net: Any, steps: int, minutes: float,
               hardware: str, solve: float | None, puzzles: int, command: str, sessions: int = 1) -> str:
    manifest = datamodule.manifest
    c = net.config
    kind = "plain MDM" if c.loops == 1 else ("R-MDM" if not (c.prelude_layers or c.coda_layers) else "LoopMDM")
    rate = f"{solve:.1%} of {puzzles} validation puzzles" if solve is not None else "not measured"
    where = f"in {sessions} sessions (the last on {hardware})" if sessions > 1 else f"on {hardware}"
    features = "".join(
        f", {text}" for on, text in ((c.input_injection, "input injection"), (not c.loop_embedding, "no loop embedding"),
                                     (c.attention == "peers", "peer attention (row, column, box)"),
                                     (c.carry_state, "hidden state carried across denoising steps")) if on)
    skew = f", t drawn as u^(1/{config.loss.t_power:g})" if config.loss.t_power != 1.0 else ""
    if config.loss.segments > 1:
        skew += f", boards carried up to {config.loss.segments} steps (reveal < {config.loss.reveal_max:g} a step)"
    return f"""# {preset}: {config.task} {kind}

{config.description.strip()}

- **Model**: {kind}, d_model={c.d_model}, heads={c.n_heads}, prelude/core/coda layers =
  {c.prelude_layers}/{c.core_layers}/{c.coda_layers}, loops={c.loops} (max {c.max_loops}),
  {c.positions} positions{features}, {net.num_parameters():,} parameters.
- **Objective**: {config.loss.objective}, supervision={config.loss.supervision},
  loop sampling={config.loss.loop_sampling}, grad_loops={config.loss.grad_loops}{skew}.
- **Data**: `{shown_path(data_dir)}` ({manifest.get('generator', '?')} {manifest.get('generator_version', '')}, seed
  {manifest.get('seed', '?')}; {datamodule.stats['train']} training / {datamodule.stats['val']} validation records;
  symmetry augmentation {'on' if datamodule.augment else 'off'}).
- **Training**: {steps} steps of batch {config.train.batch_size}, {minutes:.1f} min {where}.
- **Solve rate** (sampler defaults: one cell committed per step, most confident first, {c.loops} loops):
  {rate}, measured at the end of training.

Trained with:

```bash
{command}
```
"""
