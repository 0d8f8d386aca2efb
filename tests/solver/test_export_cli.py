"""`rmdm export`: a run's last checkpoint exports to the same weights as rmdm train's export, a
step snapshot exports as that step, and a missing run, step or damaged file is one line, exit 2."""

from __future__ import annotations

import pytest
import torch

from rmdm.cli import main
from solver.checkpoint import load
from solver.config import load_run_config
from solver.train import train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from data_gen.api import build_dataset

    spec = {"task": "sudoku", "size": 4, "n": 16, "seed": 2, "split": "train=1.0", "dedupe": False}
    data = build_dataset(spec, tmp_path_factory.mktemp("data") / "s4", workers=1)
    config = load_run_config(raw={
        "task": "sudoku", "data": {"augment": False, "val_split": "train"},
        "model": {"d_model": 32, "n_heads": 2, "core_layers": 1, "loops": 2},
        "loss": {"objective": "masked_ce"},
        "train": {"batch_size": 8, "lr": 3e-3, "warmup_steps": 1, "max_steps": 6, "val_every": 3, "val_batches": 1,
                  "solve_puzzles": 4, "final_solve_puzzles": 4, "log_every": 1, "threads": 1, "ema_decay": 0.9}})
    return train(config, data_dir=data, out=tmp_path_factory.mktemp("runs") / "r", progress=False, logger=False,
                 preset="tiny")


class Payload:
    """An object a weights_only load refuses (a checkpoint could carry code this way)."""


def weights(path):
    return load(path).model.state_dict()


def test_last_checkpoint_exports_the_same_weights_as_train(run, tmp_path, capsys):
    assert main(["export", str(run.run_dir), "--out", str(tmp_path / "last")]) == 0
    assert "exported" in capsys.readouterr().out
    ours, trains = weights(tmp_path / "last"), weights(run.export_dir)
    assert ours.keys() == trains.keys() and all(torch.equal(ours[k], trains[k]) for k in ours)  # EMA weights both
    assert load(tmp_path / "last").config["trained"]["steps"] == 6


def test_a_step_snapshot_exports_as_that_step(run, tmp_path):
    snapshots = sorted((run.run_dir / "checkpoints").glob("step*.ckpt"))
    assert snapshots, "the run keeps a step snapshot"
    step = int(snapshots[0].stem.removeprefix("step"))
    assert main(["export", str(run.run_dir), "--step", str(step), "--out", str(tmp_path / "snap")]) == 0
    loaded = load(tmp_path / "snap")
    assert loaded.config["trained"]["steps"] == step
    assert f"snapshot at step {step}" in (tmp_path / "snap" / "card.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["--step", "999"], "step999.ckpt: no such checkpoint (snapshots: steps "),
    (["--out", "EXISTING"], "already exists"),
])
def test_bad_requests_are_one_line_and_exit_2(run, tmp_path, capsys, args, message):
    (tmp_path / "EXISTING").mkdir()
    args = [a.replace("EXISTING", str(tmp_path / "EXISTING")) for a in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "new")]
    assert main(["export", str(run.run_dir), *args, *out]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_missing_run_and_a_damaged_checkpoint_are_named(run, tmp_path, capsys):
    assert main(["export", str(tmp_path / "absent"), "--out", str(tmp_path / "x")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    damaged = tmp_path / "damaged"
    (damaged / "checkpoints").mkdir(parents=True)
    (damaged / "run_config.json").write_text((run.run_dir / "run_config.json").read_text())
    (damaged / "checkpoints" / "last.ckpt").write_bytes(b"not a zip")
    assert main(["export", str(damaged), "--out", str(tmp_path / "y")]) == 2
    assert "truncated or corrupt" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()
    torch.save({"global_step": 1, "payload": Payload()}, damaged / "checkpoints" / "last.ckpt")
    assert main(["export", str(damaged), "--out", str(tmp_path / "z")]) == 2
    assert "holds more than tensors and plain data" in capsys.readouterr().err
    assert not (tmp_path / "z").exists()
