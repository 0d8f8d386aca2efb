"""Checkpoints: a directory with model.safetensors + config.json + card.md. Never pickle.

    save_checkpoint("runs/x/export", model, codec, train_config, card_text, manifest)
    loaded = load("sudoku4")                  # bundled: solver/checkpoints/sudoku4/
    loaded = load("runs/x/export")            # any directory
    loaded.model(tokens)                      # eval mode, on the requested device

config.json records the model config, the codec, the training config, the sha256 of the
weights and of the data manifest, the git commit and the package version. Loading checks
every file and names the one that is missing, corrupt or inconsistent.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError

from data_gen.files import sha256_file

from .codecs import Codec, CodecError, codec_from_config
from .model import Denoiser, DenoiserConfig

FORMAT = "rmdm-checkpoint"
FORMAT_VERSION = 1
WEIGHTS, CONFIG, CARD = "model.safetensors", "config.json", "card.md"
SOLVE_RATES = "solve_rates.json"  # measured solve rates, as data beside the card (benchmarks/evaluate_bundled.py)
SOLVE_RATES_HEADING = "## Measured solve rates"


class CheckpointError(ValueError):
    """A checkpoint that cannot be found or loaded; the message names the file and the reason.

    A ValueError, so every command that reports bad input in one line (`except ValueError`)
    reports this one too, instead of a traceback."""


@dataclass
class LoadedModel:
    model: Denoiser  # eval mode
    codec: Codec
    config: dict[str, Any]  # the whole config.json
    card: str
    path: Path
    name: str

    @property
    def task(self) -> str:
        return self.codec.task


def manifest_sha256(manifest: dict[str, Any] | None) -> str | None:
    """sha256 of the manifest's canonical JSON (sorted keys), or None without a manifest."""
    if manifest is None:
        return None
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def package_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rmdm-puzzles")
    except PackageNotFoundError:
        return None


def _readable(folder: Path) -> None:
    """mkdtemp makes a 0700 directory (and safetensors a 0600 file): give the checkpoint the
    permissions of any file written under the umask, so others (and installed copies) can read it."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for path in folder.iterdir():
        os.chmod(path, 0o666 & ~umask)


def save_checkpoint(directory: str | os.PathLike, model: Denoiser, codec: Codec, train_config: dict[str, Any],
                    card_text: str, data_manifest: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write model.safetensors, config.json and card.md into `directory`, atomically (temp dir + rename)."""
    from safetensors.torch import save_model

    inner = getattr(model, "_orig_mod", model)  # a torch.compile'd network saves its original module
    if inner.config.vocab_size != codec.vocab_size or inner.config.seq_len != codec.seq_len:
        raise CheckpointError("the model's vocab_size/seq_len do not match the codec's")
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        save_model(inner, str(tmp / WEIGHTS), metadata={"format": FORMAT})  # copies to CPU as it writes
        config = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": inner.config.model_dump(mode="json"),
            "codec": codec.to_config(),
            "training": train_config,
            "data_manifest_sha256": manifest_sha256(data_manifest),
            "data": _manifest_summary(data_manifest),
            "weights_sha256": sha256_file(tmp / WEIGHTS),
            "parameters": inner.num_parameters(),
            "git_commit": git_commit(),
            "package_version": package_version(),
            **(extra or {}),
        }
        (tmp / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=False) + "\n")
        (tmp / CARD).write_text(card_text if card_text.endswith("\n") else card_text + "\n")
        _readable(tmp)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}-old-{os.getpid()}")
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _manifest_summary(manifest: dict[str, Any] | None) -> dict[str, Any] | None:
    if manifest is None:
        return None
    keys = ("task", "generator", "generator_version", "seed", "created_with")
    summary = {key: manifest[key] for key in keys if key in manifest}
    splits = manifest.get("splits")
    if isinstance(splits, dict):
        summary["splits"] = {name: split.get("count") for name, split in splits.items() if isinstance(split, dict)}
    return summary


# ----------------------------------------------------------------------------- measured solve rates


def read_solve_rates(directory: str | os.PathLike) -> dict[str, Any] | None:
    """A checkpoint's measured solve rates (its solve_rates.json), or None when it has none:
    {"machine": str, "sets": [{"set": label, "command": the `rmdm eval` command, "rows": [{"retries",
    "solved", "puzzles", "solve_rate", "ci_low", "ci_high", "mean_nfe", "by_group": {level:
    {"solved", "puzzles", "solve_rate"}}}]}]}."""
    path = Path(directory) / SOLVE_RATES
    if not path.is_file():
        return None
    try:
        rates = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(rates, dict) or not isinstance(rates.get("sets"), list):
        raise CheckpointError(f"{path}: no \"sets\" list of measured sets")
    return rates


def decoding_label(row: dict[str, Any]) -> str:
    """How a row of solve_rates.json decoded: 'plain', 'constrained', 'search', with ', best of N'."""
    label = row.get("decoding") or "plain"
    samples = int(row.get("samples") or 1)
    return f"{label}, best of {samples}" if samples > 1 else label


def solve_rates_markdown(rates: dict[str, Any]) -> str:
    """The card's "## Measured solve rates" section, drawn from solve_rates.json: a table per
    set and retry count (and decoding mode, where a set has more than plain decoding), one per
    difficulty level where a set has several, and the commands."""
    sets = rates["sets"]
    decodings = any(decoding_label(row) != "plain" for item in sets for row in item["rows"])
    mode = " decoding |" if decodings else ""
    lines = [SOLVE_RATES_HEADING, "",
             f"Measured by `python -m benchmarks.evaluate_bundled` on {rates['machine']}; one sample per puzzle,",
             "temperature 0, one cell/character committed per step (most confident first), the trained loop count.",
             "'retries' = verifier-guided retries (remask what the verifier rejects and continue, sampling",
             "at temperature 1.0: `--retry-temperature`)."]
    if decodings:
        lines += ["'decoding': plain; constrained = the task's constraint masks illegal tokens (Countdown: the",
                  "calculator fills each result exactly and the last step must reach the target); search =",
                  "backtracking over the constrained commits, ordered by the model (one network pass unless said);",
                  "best of N = N samples at temperature 1.0, the first the verifier accepts counts."]
    lines += ["", f"| set |{mode} retries | solved | solve rate [95% CI] | mean NFE |",
              "|---|" + ("---|" if decodings else "") + "---|---|---|---|"]
    for item in sets:
        for row in item["rows"]:
            cell = f" {decoding_label(row)} |" if decodings else ""
            lines.append(f"| {item['set']} |{cell} {row['retries']} | {row['solved']}/{row['puzzles']} | "
                         f"{row['solve_rate']:.1%} [{row['ci_low']:.1%}, {row['ci_high']:.1%}] | {row['mean_nfe']:.1f} |")
    groups = [(item, row) for item in sets for row in item["rows"] if len(row.get("by_group") or {}) > 1]
    if groups:
        lines += ["", "By difficulty level:", "", f"| set |{mode} retries | level | solved | solve rate |",
                  "|---|" + ("---|" if decodings else "") + "---|---|---|---|"]
        for item, row in groups:
            cell = f" {decoding_label(row)} |" if decodings else ""
            for level, g in row["by_group"].items():
                lines.append(f"| {item['set']} |{cell} {row['retries']} | {level} | {g['solved']}/{g['puzzles']} | "
                             f"{g['solve_rate']:.1%} |")
    lines += ["", "Commands:", "", "```bash", *[item["command"] for item in sets], "```", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- loading


def bundled_dir() -> Path:
    return Path(str(resources.files("solver").joinpath("checkpoints")))


def list_checkpoints() -> list[str]:
    """Names of the bundled checkpoints (directories under solver/checkpoints/ with a config.json)."""
    root = bundled_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / CONFIG).is_file())


def resolve(name_or_path: str | os.PathLike) -> tuple[Path, str]:
    """A bundled name (no path separator) or a directory -> (directory, display name)."""
    text = os.fspath(name_or_path)
    is_bare = os.sep not in text and "/" not in text and not text.startswith(".")
    if is_bare and (bundled_dir() / text / CONFIG).is_file():
        return bundled_dir() / text, text
    path = Path(text).expanduser()
    if path.is_dir():
        return path, path.name
    hint = f"; bundled: {', '.join(list_checkpoints()) or 'none'}" if is_bare else ""
    raise CheckpointError(f"no checkpoint named or at {text!r}{hint}")


def read_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (a checkpoint needs {WEIGHTS}, {CONFIG} and {CARD})")
    try:
        config = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an {FORMAT} config (no \"format\": \"{FORMAT}\")")
    if config.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format_version {config.get('format_version')!r}, this code reads {FORMAT_VERSION}")
    return config


def load(name_or_path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a checkpoint directory (or bundled name) into an eval-mode Denoiser + its codec."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    directory, name = resolve(name_or_path)
    config = read_config(directory)
    try:
        model_config = DenoiserConfig.model_validate(config.get("model"))
    except ValidationError as err:
        first = err.errors()[0]
        raise CheckpointError(f"{directory / CONFIG}: bad model config: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    try:
        codec = codec_from_config(config.get("codec") or {})
    except (CodecError, ValueError) as err:
        raise CheckpointError(f"{directory / CONFIG}: bad codec config: {err}") from None
    if (codec.vocab_size, codec.seq_len, codec.mask_id) != (model_config.vocab_size, model_config.seq_len, model_config.mask_id):
        raise CheckpointError(f"{directory / CONFIG}: the codec ({codec.vocab_size} tokens, length {codec.seq_len}) "
                              f"does not match the model ({model_config.vocab_size}, {model_config.seq_len})")
    weights = directory / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{weights}: missing")
    expected = config.get("weights_sha256")
    if expected and sha256_file(weights) != expected:
        raise CheckpointError(f"{weights}: sha256 differs from config.json's weights_sha256 (corrupt or replaced)")
    model = Denoiser(model_config)
    try:
        missing, unexpected = load_model(model, str(weights), strict=False)
    except (SafetensorError, RuntimeError, ValueError, OSError) as err:
        raise CheckpointError(f"{weights}: cannot be loaded into this model: {str(err).splitlines()[0]}") from None
    if missing or unexpected:
        raise CheckpointError(f"{weights}: tensors do not match the model config "
                              f"(missing: {sorted(missing)[:3]}, unexpected: {sorted(unexpected)[:3]})")
    card_path = directory / CARD
    card = card_path.read_text() if card_path.is_file() else ""
    model.to(device).eval()
    return LoadedModel(model=model, codec=codec, config=config, card=card, path=directory, name=name)
