"""A run that is killed, or whose files are damaged, can be carried on (issue 16 items 7 and 14):
checkpoints come every val_every steps (at max_steps when that is sooner) and every
train.checkpoint_minutes; a run killed before its first checkpoint starts again with --resume;
a damaged last.ckpt falls back to an intact step<N>.ckpt, or is one line; a corrupt dataset file
is one line naming it; Lightning's per-run warnings are gone; a resumed run's summary says its
totals cover every session."""

from __future__ import annotations

import csv
import json
import warnings

import pytest
import torch

from rmdm.cli import main
from solver.lightning_module import SolverModule
from solver.train import train
from tests.solver.test_train import tiny_config

QUICK = {"max_steps": 4, "val_every": 100, "log_every": 1, "solve_puzzles": 0, "final_solve_puzzles": 0}


@pytest.fixture(scope="module")
def sudoku8(tmp_path_factory):
    from data_gen.api import build_dataset

    spec = {"task": "sudoku", "size": 4, "n": 8, "seed": 3, "split": "train=1.0", "dedupe": False}
    return build_dataset(spec, tmp_path_factory.mktemp("data") / "sudoku8", workers=1)


@pytest.fixture
def rmdm_train(capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["train", "--no-progress", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


class Killed(Exception):
    """Stands for a SIGKILL: the run stops at a step without any chance to save."""


def kill_at(monkeypatch, step: int) -> None:
    original = SolverModule.training_step

    def training_step(self, batch, batch_idx):
        if self.global_step == step:
            raise Killed(f"killed at step {step}")
        return original(self, batch, batch_idx)

    monkeypatch.setattr(SolverModule, "training_step", training_step)


def saved_step(path) -> int:
    return torch.load(path, map_location="cpu", weights_only=False)["global_step"]


def preset(tmp_path, **train_fields) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(json.dumps(tiny_config(train={**QUICK, **train_fields}).model_dump(mode="json")))
    return str(path)


def test_a_timed_checkpoint_keeps_the_steps_of_a_run_killed_before_val_every(sudoku8, tmp_path, monkeypatch):
    config = tiny_config(train={**QUICK, "max_steps": 6, "checkpoint_minutes": 1e-6})  # a timer that fires every step
    kill_at(monkeypatch, 3)
    with pytest.raises(Killed):
        train(config, data_dir=sudoku8, out=tmp_path / "run", progress=False, logger=False)
    monkeypatch.undo()
    assert saved_step(tmp_path / "run" / "checkpoints" / "last.ckpt") == 3  # val_every = 100 never came
    result = train(None, resume=tmp_path / "run", progress=False, logger=False)
    assert (result.steps, result.session_steps, result.sessions) == (6, 3, 2)


def test_a_run_shorter_than_val_every_still_saves_a_step_checkpoint(sudoku8, tmp_path):
    train(tiny_config(train=QUICK), data_dir=sudoku8, out=tmp_path / "run", progress=False, logger=False)
    assert saved_step(tmp_path / "run" / "checkpoints" / "step4.ckpt") == 4  # at min(val_every, max_steps)


def test_a_run_killed_before_its_first_checkpoint_starts_again_with_resume(sudoku8, tmp_path, monkeypatch, rmdm_train):
    run_dir = tmp_path / "run"
    args = ["--config", preset(tmp_path), "--data", str(sudoku8), "--out", str(run_dir)]
    kill_at(monkeypatch, 2)
    with pytest.raises(Killed):
        rmdm_train(*args)
    monkeypatch.undo()
    assert (run_dir / "run_config.json").is_file() and not list(run_dir.glob("checkpoints/*.ckpt"))

    code, _, err = rmdm_train(*args)  # the same command again: the directory is not fresh, and says what to do
    assert code == 2 and err.count("\n") == 1
    assert "stopped before its first checkpoint" in err and f"--resume {run_dir}" in err

    code, out, err = rmdm_train("--resume", str(run_dir))
    assert code == 0, err
    assert "has no checkpoint yet" in err and "starting it again from step 0" in err
    assert out.startswith("trained 4 steps in ") and "sessions" not in out  # one session: the killed one is gone
    saved = json.loads((run_dir / "run_config.json").read_text())
    assert saved["resumes"] == [] and len(saved["restarts"]) == 1  # a fresh start, noted as a restart
    assert (run_dir / "logs" / "metrics.csv").is_file() and not (run_dir / "logs" / "resume-1").exists()

    fresh = tmp_path / "fresh"  # the same seed as an unkilled run: the restart trains the same model
    assert rmdm_train(*args[:-1], str(fresh))[0] == 0
    from safetensors.torch import load_file

    a, b = load_file(run_dir / "export" / "model.safetensors"), load_file(fresh / "export" / "model.safetensors")
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_a_truncated_last_ckpt_resumes_from_the_intact_step_checkpoint(sudoku8, tmp_path, rmdm_train):
    run_dir = tmp_path / "run"
    assert rmdm_train("--config", preset(tmp_path, val_every=2), "--data", str(sudoku8), "--out", str(run_dir))[0] == 0
    last = run_dir / "checkpoints" / "last.ckpt"
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 2])

    code, out, err = rmdm_train("--resume", str(run_dir), "--max-steps", "6")
    assert code == 0, err
    assert f"{last}: truncated or corrupt" in err and "resuming from the intact step4.ckpt instead" in err
    assert "Traceback" not in err and "PytorchStreamReader" not in err
    assert out.startswith("trained 6 steps in ") and "both sessions together (this session: 2 steps in " in out

    for path in run_dir.glob("checkpoints/*.ckpt"):  # now every checkpoint is damaged
        path.write_bytes(path.read_bytes()[:100])
    code, _, err = rmdm_train("--resume", str(run_dir), "--max-steps", "8")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{last}: truncated or corrupt" in err and "no intact checkpoint to resume from" in err


def test_a_truncated_parquet_file_is_one_line_naming_it(sudoku8, tmp_path, rmdm_train):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(sudoku8, data)
    (parquet,) = data.glob("train-*.parquet")
    parquet.write_bytes(parquet.read_bytes()[:200])
    code, _, err = rmdm_train("--config", preset(tmp_path), "--data", str(data), "--out", str(tmp_path / "run"))
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{parquet}: truncated or corrupt" in err and "manifest.json" in err
    assert not (tmp_path / "run").exists()  # refused before the run directory was made


def test_a_resume_prints_none_of_lightnings_warnings(sudoku8, tmp_path):
    """The log interval is longer than the one-batch epochs here; the first session had a timer
    (--max-minutes) and other checkpoint intervals than the resume: Lightning used to warn of both."""
    config = tiny_config(train={**QUICK, "val_every": 2, "log_every": 3})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = train(config, data_dir=sudoku8, out=tmp_path / "run", progress=False, max_minutes=5)
        train(None, resume=first.run_dir, max_steps=6, progress=False, overrides=["train.val_every=3"])
    lightning = [str(w.message) for w in caught if "lightning" in w.filename]
    assert lightning == []

    def logged_steps(path) -> list[int]:
        with open(path, newline="") as handle:
            return sorted({int(row["step"]) for row in csv.DictReader(handle) if row.get("train/loss")})

    # the warning silenced was about epochs: the interval counts global steps across them, so no log is lost
    logs = first.run_dir / "logs"
    assert logged_steps(logs / "metrics.csv") == [2] and logged_steps(logs / "resume-1" / "metrics.csv") == [5]
