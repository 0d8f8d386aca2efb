"""Training configuration: every preset validates; bad keys, values and --set lines are one-line
errors naming the key; `rmdm train` turns them into exit 2 before any work; precision and
compile resolution for GPU runs (checked on CPU)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from solver.config import ConfigError, RunConfig, apply_overrides, load_run_config, preset_dir, resolve_config_path
from solver.train import resolve_precision, use_compile

PRESETS = sorted(preset_dir().glob("*.yaml"))
SUDOKU = {"task": "sudoku"}


def test_presets_exist_for_cpu_and_gpu():
    names = {path.stem for path in PRESETS}
    assert {"sudoku4-cpu", "sudoku9-tiny-cpu", "sudoku9-gpu", "countdown4-gpu"} <= names


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_preset_validates_and_states_time_and_hardware(path):
    config = load_run_config(path)
    assert isinstance(config, RunConfig) and config.description
    header = "".join(line for line in path.read_text().splitlines(keepends=True) if line.startswith("#"))
    stated = "Expected" in header or "Measured" in header  # an estimate, or (better) what a run took
    assert stated and ("CPU" in header or "GPU" in header), "the header states time and hardware"
    assert "rmdm train --config" in header, "the header shows how to train it"
    if path.stem.endswith("-gpu"):
        assert config.train.precision == "auto" and config.train.batch_size >= 256
        assert config.train.ema_decay  # loop sampling is the recipe's choice (the peers preset keeps the CPU ladder's fixed 3)


def test_preset_names_resolve_to_files():
    assert resolve_config_path("sudoku4-cpu") == preset_dir() / "sudoku4-cpu.yaml"
    assert resolve_config_path("configs/x.yaml").name == "x.yaml"  # a path stays a path


def one_line_error(match: str, **kwargs) -> str:
    with pytest.raises(ConfigError, match=match) as caught:
        load_run_config(**kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("overrides,match", [
    (["model.bogus=1"], r"unknown key 'model\.bogus'"),
    (["bogus.key=1"], r"unknown key 'bogus'"),
    (["train.batch_size=0"], r"train\.batch_size: .*greater than 0 \(got 0\)"),
    (["train.batch_size=abc"], r"train\.batch_size: .*integer.*\(got 'abc'\)"),
    (["train.precision=fp8"], r"train\.precision: .*'fp8'"),
    (["loss.objective=elbo"], r"loss\.objective"),
    (["model.dropout=1.5"], r"model\.dropout"),
    (["model.d_model=30", "model.n_heads=4"], r"model\.d_model=30 is not divisible by model\.n_heads=4"),
    (["model.loops=20"], r"model\.max_loops=16 is smaller than model\.loops=20"),
    (["loss.grad_loops=1"], r"loss\.grad_loops=1 < model\.loops=3"),
    (["data.spec={task: countdown}"], r"data\.spec is a countdown dataset but task is sudoku"),
])
def test_bad_values_name_the_key(overrides, match):
    one_line_error(match, raw=SUDOKU, overrides=overrides)


@pytest.mark.parametrize("item,match", [
    ("model.loops", r"--set 'model\.loops': expected KEY=VALUE"),
    ("=3", r"expected KEY=VALUE"),
    ("task.x=1", r"'task' is not a section"),
])
def test_bad_set_syntax(item, match):
    one_line_error(match, raw=SUDOKU, overrides=[item])


def test_truncated_backprop_with_fixed_loops_is_allowed_with_input_injection():
    # the embeddings get gradient through every pass that has it, so TRM's recipe is valid
    config = load_run_config(raw=SUDOKU, overrides=["loss.grad_loops=1", "model.input_injection=true"])
    assert config.loss.grad_loops == 1 and config.model.input_injection


def test_file_errors(tmp_path):
    message = one_line_error(r"no such config file \(presets: .*sudoku4-cpu", path=tmp_path / "nope.yaml")
    assert str(tmp_path) in message
    (tmp_path / "bad.yaml").write_text("task: [sudoku\n")
    one_line_error(r"bad\.yaml: not valid YAML", path=tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- task\n")
    one_line_error(r"expected a mapping", path=tmp_path / "list.yaml")
    (tmp_path / "unknown.yaml").write_text("task: sudoku\nmodle: {loops: 2}\n")
    one_line_error(r"unknown\.yaml: unknown key 'modle'", path=tmp_path / "unknown.yaml")
    one_line_error(r"task: .*'chess'", raw={"task": "chess"})
    one_line_error(r"no config", path=None)


def test_overrides_are_yaml_and_leave_the_input_alone():
    raw = {"task": "sudoku", "model": {"loops": 3}}
    config = load_run_config(raw=raw, overrides=["model.loops=4", "train.ema_decay=0.99", "train.grad_clip=null",
                                                 "data.spec={size: 4, n: 10}", "train.betas=[0.9, 0.95]"])
    assert config.model.loops == 4 and config.train.ema_decay == 0.99 and config.train.grad_clip is None
    assert config.data.spec == {"size": 4, "n": 10} and config.train.betas == (0.9, 0.95)
    assert raw == {"task": "sudoku", "model": {"loops": 3}}  # nested sections are copied, not mutated
    assert apply_overrides(raw, ["model.loops=5"])["model"]["loops"] == 5 and raw["model"]["loops"] == 3


def test_precision_auto_is_bf16_on_gpu_and_fp32_on_cpu():
    assert resolve_precision("auto", "gpu", bf16_supported=True) == "bf16-mixed"
    assert resolve_precision("auto", "cuda", bf16_supported=True) == "bf16-mixed"
    assert resolve_precision("auto", "gpu", bf16_supported=False) == "16-mixed"  # pre-Ampere GPUs
    assert resolve_precision("auto", "cpu") == "32-true"
    assert resolve_precision("bf16-mixed", "cpu") == "bf16-mixed"  # an explicit choice is kept
    assert resolve_precision("32-true", "gpu", bf16_supported=True) == "32-true"


def test_compile_only_on_cuda():
    config = load_run_config(raw=SUDOKU, overrides=["train.compile=true"])
    assert use_compile(config, "gpu") and not use_compile(config, "cpu")
    assert not use_compile(load_run_config(raw=SUDOKU), "gpu")


def test_trainer_on_cpu_uses_fp32(tmp_path):
    from solver.train import build_trainer

    trainer = build_trainer(load_run_config(raw=SUDOKU, overrides=["train.accelerator=cpu"]), tmp_path, None,
                            progress=False, logger=False)
    assert trainer.precision == "32-true" and type(trainer.accelerator).__name__ == "CPUAccelerator"


# ----------------------------------------------------------------------------- rmdm train


@pytest.fixture
def rmdm_train(capsys):
    from rmdm.cli import main

    def run(*args: str) -> tuple[int, str]:
        code = main(["train", *args])
        return code, capsys.readouterr().err

    return run


@pytest.mark.parametrize("args,match", [
    (["--config", "sudoku4-cpu", "--set", "model.n_heads=5"], "model.d_model=64 is not divisible by model.n_heads=5"),
    (["--config", "sudoku4-cpu", "--set", "model.bogus=1"], "unknown key 'model.bogus'"),
    (["--config", "sudoku4-cpu", "--set", "loops"], "--set 'loops': expected KEY=VALUE"),
    (["--config", "no-such-preset"], "no such config file"),
    (["--set", "model.loops=2"], "no config: pass --config"),
    (["--config", "sudoku4-cpu", "--max-minutes", "0"], "--max-minutes must be positive"),
    (["--config", "sudoku4-cpu", "--max-steps", "-1"], "--max-steps must be positive"),
    (["--resume", "runs/x", "--config", "sudoku4-cpu"], "--resume continues with the run's saved config"),
    (["--resume", "runs/x", "--set", "model.loops=2"], "a resumed run continues with its saved config; only train.threads"),
    (["--config", "sudoku4-cpu", "--set", "data.spec.size=5"], "data.spec: no standard box layout"),
    (["--config", "sudoku4-cpu", "--set", "data.spec.bogus=5"], "data.spec: bogus"),
])
def test_cli_errors_exit_2_before_any_work(rmdm_train, tmp_path, monkeypatch, args, match):
    monkeypatch.chdir(tmp_path)  # a run directory or data cache would appear here
    code, err = rmdm_train(*args, "--out", str(tmp_path / "run"))
    assert code == 2
    assert err.startswith("rmdm train: error: ") and match in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_a_non_empty_out_before_generating_data(rmdm_train, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "something").write_text("x")
    code, err = rmdm_train("--config", "sudoku4-cpu", "--out", "run", "--set", f"data.cache_dir={tmp_path}/cache")
    assert code == 2 and "run: exists and is not empty" in err
    assert not (tmp_path / "cache").exists()  # sudoku4-cpu's data.spec was not generated


def test_resume_errors(rmdm_train, tmp_path):
    code, err = rmdm_train("--resume", str(tmp_path / "nope"))
    assert code == 2 and "nope: no such run directory" in err
    code, err = rmdm_train("--resume", str(tmp_path))
    assert code == 2 and "run_config.json: missing" in err
    (tmp_path / "run_config.json").write_text('{"config": {"task": "chess"}}')
    code, err = rmdm_train("--resume", str(tmp_path))
    assert code == 2 and "run_config.json: not a usable run config" in err


def test_real_process_prints_one_line_and_no_traceback(tmp_path):
    preset = tmp_path / "bad.yaml"
    preset.write_text(yaml.safe_dump({"task": "sudoku", "model": {"d_model": 60, "n_heads": 8}}))
    proc = subprocess.run([sys.executable, "-m", "rmdm", "train", "--config", str(preset), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (f"rmdm train: error: {preset}: model.d_model=60 is not divisible by "
                                   "model.n_heads=8")
    assert "Traceback" not in proc.stderr and not (tmp_path / "r").exists()


@pytest.mark.parametrize("overrides", [
    ["model.carry_state=true", "model.input_injection=true"],
    ["loss.segments=4", "loss.objective=masked_ce"],
])
def test_a_carried_state_and_carried_boards_come_together(overrides):
    one_line_error(r"model\.carry_state=.* with loss\.segments=", raw=SUDOKU, overrides=overrides)
    config = load_run_config(raw=SUDOKU, overrides=["model.carry_state=true", "model.input_injection=true",
                                                    "loss.segments=4", "loss.objective=masked_ce"])
    assert config.model.carry_state and config.loss.segments == 4
