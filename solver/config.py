"""Training configuration: one pydantic model per concern, validated once before any work starts.

A preset (configs/*.yaml) is a RunConfig; `--set section.key=value` overrides any field
(the value is read as YAML, so `--set model.loops=4 --set train.ema_decay=null` work).
An unknown key or a bad value is a `ConfigError` with a one-line message.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from .diffusion import LossConfig
from .model import DenoiserConfig, shape_error


class ConfigError(ValueError):
    """A configuration that cannot be used; the message is one line naming the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The Denoiser's shape as a preset writes it: DenoiserConfig's fields (the same types, defaults and
# descriptions) less those the dataset's codec supplies; checked as a whole in RunConfig.
ModelSection = create_model(
    "ModelSection",
    __config__=ConfigDict(extra="forbid"),
    __doc__="The Denoiser's shape; vocabulary, length and positions come from the dataset's codec.",
    **{name: (field.annotation, field) for name, field in DenoiserConfig.model_fields.items()
       if name not in DenoiserConfig.CODEC_FIELDS},
)


class DataSection(_Strict):
    """Where the training data comes from: a data_gen directory, or a spec generated into a cache."""

    dir: str | None = Field(None, description="a data_gen output directory (overridden by --data)")
    spec: dict[str, Any] | None = Field(None, description="a data_gen config (task, n, seed, ...) built on the fly")
    cache_dir: str = Field("data/cache", description="where specs are generated (one subdirectory per spec hash)")
    train_split: str = "train"
    val_split: str = Field("val", description="falls back to a slice of train when the dataset has no such split")
    augment: bool = Field(True, description="augmentation on the fly: Sudoku symmetries; Countdown (steps codec) number order")
    codec: Literal["chars", "steps"] = Field("chars", description="Countdown: the character codec, or step slots with reference operands")
    max_train_records: int | None = Field(None, gt=0)
    max_val_records: int = Field(2048, gt=0)


class TrainSection(_Strict):
    """Optimisation and the Lightning Trainer."""

    seed: int = 0
    batch_size: int = Field(128, gt=0)
    lr: float = Field(1e-3, gt=0)
    min_lr_ratio: float = Field(0.1, ge=0.0, le=1.0, description="cosine decays to lr * min_lr_ratio")
    weight_decay: float = Field(0.01, ge=0.0)
    betas: tuple[float, float] = (0.9, 0.98)
    warmup_steps: int = Field(200, ge=0)
    max_steps: int = Field(5000, gt=0)
    grad_clip: float | None = Field(1.0, gt=0)
    ema_decay: float | None = Field(None, gt=0.0, lt=1.0, description="EMA of weights, swapped in to validate and save")
    val_every: int = Field(500, gt=0, description="validate (loss, token accuracy, solve rate) every N steps")
    val_batches: int = Field(4, gt=0)
    solve_puzzles: int = Field(128, ge=0, description="validation puzzles solved through the sampler (0: skip)")
    solve_steps: int | None = Field(None, ge=1, description="sampler steps for the solve rate (None: one token per step)")
    final_solve_puzzles: int = Field(512, ge=0, description="puzzles solved at the end for the card")
    log_every: int = Field(25, gt=0)
    checkpoint_minutes: float = Field(5.0, gt=0, description="also save a checkpoint (for --resume) every N minutes of "
                                      "training, besides every val_every steps: a killed run loses at most that")
    accelerator: str = "auto"
    devices: int | str = "auto"
    strategy: str = "auto"
    precision: Literal["auto", "32-true", "bf16-mixed", "16-mixed"] = Field("auto", description="auto: bf16-mixed on CUDA, fp32 on CPU")
    compile: bool = Field(False, description="torch.compile the Denoiser (CUDA only; never the LightningModule)")
    threads: int | None = Field(None, gt=0, description="CPU threads (None: all cores)")
    num_workers: int = Field(0, ge=0)
    deterministic: bool = False


class RunConfig(_Strict):
    """A whole training run: what a preset file holds."""

    task: Literal["sudoku", "countdown"]
    description: str = ""
    data: DataSection = DataSection()
    model: ModelSection = ModelSection()
    loss: LossConfig = LossConfig()
    train: TrainSection = TrainSection()

    @model_validator(mode="after")
    def _check(self) -> RunConfig:
        m = self.model
        problem = shape_error(m.d_model, m.n_heads, m.loops, m.max_loops, prefix="model.")
        if problem:
            raise ValueError(problem)
        if self.model.attention == "peers" and self.task != "sudoku":
            raise ValueError(f"model.attention=peers is for grid tasks (a cell's row, column and box), not {self.task}")
        if self.model.carry_state != (self.loss.segments > 1):
            raise ValueError(
                f"model.carry_state={self.model.carry_state} with loss.segments={self.loss.segments}: a carried state is "
                "trained on carried boards, so set both (carry_state true and segments > 1) or neither")
        grad_loops = self.loss.grad_loops
        if (grad_loops is not None and grad_loops < self.model.loops and self.loss.loop_sampling == "fixed"
                and not self.model.input_injection):
            raise ValueError(
                f"loss.grad_loops={grad_loops} < model.loops={self.model.loops} with fixed loops never trains the "
                "embeddings (no gradient reaches them): set loss.loop_sampling=uniform, model.input_injection=true "
                "or raise grad_loops"
            )
        if self.data.spec is not None and self.data.spec.get("task", self.task) != self.task:
            raise ValueError(f"data.spec is a {self.data.spec.get('task')} dataset but task is {self.task}")
        return self


def validation_message(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return f"unknown key {where!r}"
    value = first.get("input")
    shown = f" (got {value!r})" if where and not isinstance(value, dict) else ""
    more = f" (and {len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"{where + ': ' if where else ''}{msg}{shown}{more}"


# Fields a resumed run may change (--resume with --set): where and how fast it runs, never what
# it learns, so the checkpoint it continues from stays the same model and optimiser.
RESUME_OVERRIDES = ("train.threads", "train.num_workers", "train.accelerator", "train.devices", "train.strategy",
                    "train.precision", "train.compile", "train.deterministic", "train.val_every", "train.log_every",
                    "train.checkpoint_minutes")


def check_resume_overrides(overrides: list[str]) -> None:
    """ConfigError unless every `KEY=VALUE` names a field in RESUME_OVERRIDES."""
    for item in overrides:
        key = item.partition("=")[0].strip()
        if key not in RESUME_OVERRIDES:
            raise ConfigError(f"--set {item!r}: a resumed run continues with its saved config; only "
                              f"{', '.join(RESUME_OVERRIDES)} may change (--max-steps N trains it longer)")


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """`section.key=value` strings onto a copy of a raw config dict (values parsed as YAML)."""
    raw = copy.deepcopy(raw)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. model.loops=4")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        node = raw
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {item!r}: {part!r} is not a section")
            node = child
        node[parts[-1]] = value
    return raw


def load_run_config(path: str | Path | None = None, overrides: list[str] | None = None,
                    raw: dict[str, Any] | None = None) -> RunConfig:
    """Read a YAML preset (or a raw dict), apply overrides, validate. Raises ConfigError (one line)."""
    if raw is None:
        if path is None:
            raise ConfigError("no config: pass --config configs/<preset>.yaml")
        path = Path(path)
        if not path.is_file():
            presets = sorted(p.stem for p in preset_dir().glob("*.yaml")) if preset_dir().is_dir() else []
            hint = f" (presets: {', '.join(presets)})" if presets else ""
            raise ConfigError(f"{path}: no such config file{hint}")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {str(err).splitlines()[0]}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    raw = apply_overrides(raw, overrides or [])
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as err:
        where = f"{path}: " if path else ""
        raise ConfigError(f"{where}{validation_message(err)}") from None


def preset_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "configs"


def resolve_config_path(text: str) -> Path:
    """A file path, or a preset name such as `sudoku4-cpu` (looked up in configs/)."""
    path = Path(text)
    if path.is_file() or path.suffix:
        return path
    return preset_dir() / f"{text}.yaml"
