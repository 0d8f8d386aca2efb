"""benchmarks/scaling.py: the smoke study end to end (4 tiny models, about 10 s) writes its JSON, report
and plots with a row per model; a rerun trains and evaluates nothing, and a run stopped before its
export resumes from its checkpoint; every model of the CPU and GPU studies is a valid training config
(checked now, not an hour into a run)."""

from __future__ import annotations

import json
import shutil

import pytest

from benchmarks import scaling
from solver.config import load_run_config, resolve_config_path


def test_smoke_study_reports_every_model_and_a_rerun_skips_finished_work(tmp_path, capsys):
    args = ["--config", "smoke", "--jobs", "1", "--data-dir", str(tmp_path / "data"),
            "--runs-dir", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "results")]
    assert scaling.main(args) == 0
    first = capsys.readouterr().out
    names = [m.name for m in scaling.smoke_study().models]
    assert "4 models trained, 11 evaluations run, 0 done before" in first

    results = tmp_path / "results"
    payload = json.loads((results / "scaling-smoke.json").read_text())
    assert [m["name"] for m in payload["models"]] == names
    for model in payload["models"]:
        assert model["params"] > 0 and model["train_steps"] == 10
        (row,) = model["evals"]["main"]["rows"]
        assert row["loops"] == model["loops"] and row["steps"] is None and 0 <= row["solve_rate"] <= 1
    looped = next(m for m in payload["models"] if m["name"] == "sudoku4-d32-0.1.0-L2")
    assert len(looped["evals"]["q2"]["rows"]) == 4  # steps {1, all} x loops {1, 2}
    assert looped["evals"]["q4-adaptive-0.5"]["rows"][0]["adaptive"] is True
    predictions = looped["evals"]["q4-predictions-0.01"]
    assert predictions["rows"][0]["adaptive_on"] == "predictions" and "--adaptive-on predictions" in predictions["command"]

    report = (results / "scaling-smoke.md").read_text()
    for heading in ("## 1. ", "## 2. ", "## 2b. ", "## 3. ", "## 4. "):
        assert heading in report
    assert report.count("Command: `python -m benchmarks.scaling --config smoke") == 5
    q1 = report.split("## 1. ")[1].split("## 2. ")[0]
    assert all(f"| {name} |" in q1 for name in names if name != "sudoku4-d32-1.1.1-L2u")  # question 3's model
    assert "| sudoku4-d32-1.1.1-L2u |" in report.split("## 3. ")[1]
    plots = {p.name for p in (results / "scaling-smoke").glob("*.png")}
    assert {"q1-sudoku4-params.png", "q2-sudoku4-nfe.png", "q3-sudoku4-compute.png",
            "q4-sudoku4-adaptive.png"} <= plots
    assert all((results / "scaling-smoke" / name).stat().st_size > 1000 for name in plots)

    runs = tmp_path / "runs" / "smoke"
    stamps = {p: p.stat().st_mtime_ns for p in runs.glob("*/export/model.safetensors")}
    stamps |= {p: p.stat().st_mtime_ns for p in runs.glob("*/eval/*/results.json")}
    assert len(stamps) == 4 + 11
    assert scaling.main(args) == 0
    second = capsys.readouterr().out
    assert "0 models trained, 0 evaluations run, 15 done before" in second and "start " not in second
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert json.loads((results / "scaling-smoke.json").read_text())["models"] == payload["models"]

    shutil.rmtree(runs / "sudoku4-d32-0.1.0-L2" / "export")  # stopped after training, before the export
    assert scaling.main(args) == 0
    third = capsys.readouterr().out
    assert "10 steps" in third and "(resumed)" in third  # from last.ckpt, not from scratch
    assert "1 models trained, 0 evaluations run, 14 done before" in third  # same weights: evaluations still valid


@pytest.mark.parametrize("config", ["cpu", "gpu"])
def test_every_planned_model_is_a_valid_training_config(config, capsys):
    study = scaling.STUDIES[config]()
    assert len({m.name for m in study.models}) == len(study.models)
    for model in study.models:
        task = study.tasks[model.task]
        run = load_run_config(resolve_config_path(task.preset), scaling.train_overrides(model, task))
        assert (run.model.d_model, run.model.loops, run.train.max_steps) == (model.d_model, model.loops, task.steps)
        assert run.loss.loop_sampling == ("uniform" if model.uniform else "fixed")
    assert scaling.main(["--config", config, "--plan"]) == 0
    plan = capsys.readouterr().out
    assert all(m.name in plan for m in study.models) and "min wall" in plan
