"""Scaling study (issue 7): a family of small models, trained and evaluated with the project's own APIs.

    python -m benchmarks.scaling --config cpu --plan                  # the models, steps and planned minutes; runs nothing
    nice -n 19 python -m benchmarks.scaling --config cpu --jobs 2     # 6x6 Sudoku + 3-number Countdown on 2 CPU cores
    python -m benchmarks.scaling --config gpu                         # 9x9 Sudoku + 4-number Countdown on one GPU
    python -m benchmarks.scaling --config smoke --jobs 1              # tiny models, seconds (tests/benchmarks runs it)

Four questions, one table each:

1. Solve rate against parameters for loops 1, 2, 4: does a core of c layers looped L times
   (R-MDM, weights shared) match a plain model of L x c layers, or a wider one?
2. Solve rate against denoising steps x inference loops on the same models, with NFE as the
   sampler counts it (prelude + core passes + coda per step): can loops replace steps at equal NFE?
3. LoopMDM-style selective looping (prelude/core/coda 1/1/1, loops drawn 1..4 in training)
   against looping the whole network (0/3/0, drawn 1..2) and plain 3- and 6-layer models: equal
   parameters (3 blocks) and equal compute (6 layer evaluations per step).
4. Adaptive loops (the sampler stops a row's loops when its hidden state changes by less than a
   threshold): NFE saved against the solve rate lost, next to fixed loops.

Data comes from data_gen (`build_dataset`, the same as `rmdm gen`) into data/scaling/<task>/;
each model trains with `solver.train.train` (what `rmdm train` runs) into
runs/scaling/<config>/<model>/ and is skipped once its export/ exists (an interrupted run
resumes from its last checkpoint); each evaluation (`solver.evaluate.evaluate`, what `rmdm
eval` runs) is cached as results.json under the model's eval/ folder. Rerunning resumes.
Writes benchmarks/results/scaling-<config>.json, scaling-<config>.md (the tables, the command,
the seeds, and the equivalent `rmdm train` / `rmdm eval` commands) and PNGs under
benchmarks/results/scaling-<config>/, and prints the tables. `--jobs N` runs N trainings or
evaluations at a time, each in its own process (train.threads=1 on CPU).

Scaling study: how to run each config, and the time planned for it (a plan from step times
quoted below, not a measurement; `--plan` prints it per model):
- `--config cpu` (run it when both cores are free: `nice -n 19 python -m benchmarks.scaling
  --config cpu --jobs 2`): 14 models. 6x6 Sudoku, 11 models x 600 steps of batch 64: d=128 plain
  with 2, 3, 4, 6 and 8 layers, 2 layers looped 2 and 4 times, d=192 and d=256 with 2 layers,
  LoopMDM 1/1/1 with loops drawn 1..4, 0/3/0 with loops drawn 1..2. 3-number Countdown, 3 models
  x 2000 steps: 2 layers with loops 1 and 2, 4 layers. Planned at 0.04 s + 0.06 s per layer
  evaluation per step on one thread (the sudoku6-cpu preset's ~0.25-0.5 s steps at 6 layer
  evaluations; countdown3-cpu trained 2000 steps in 12.3 min): ~62 min of training and ~17 min
  of evaluation (300 test puzzles per task, 41 sweeps) one job at a time, so ~40 min with
  --jobs 2, plus about a minute of data generation.
- `--config gpu` (`python -m benchmarks.scaling --config gpu --jobs 2`): 17 models, the same
  family at d=256 on 9x9 Sudoku (11 models) and 4-number Countdown (6), 10,000 steps of batch
  256 each, evaluated on 1000 test puzzles. A guess, unmeasured: ~40 min on one H100/H200 if a
  step costs 0.02 s + 0.001 s per layer evaluation (small, launch-bound kernels); a session
  with less device time runs a part with `--only 'sudoku9-d256-0.2.0-*'` and resumes later.
- `--config smoke` (`--jobs 1`): 4 tiny models (4x4 Sudoku, 3-number Countdown), 10 steps
  each, 8 test puzzles: ~10 s; tests/benchmarks/test_scaling.py runs it.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import REPO as ROOT
from benchmarks.common import git_commit, write_json, write_text
from benchmarks.scaling_report import ALL, machine, plot_all, report, tables


# ----------------------------------------------------------------------------- what to train


@dataclass(frozen=True)
class ModelSpec:
    """One Denoiser shape; the rest of its config is the task's preset."""

    task: str
    d_model: int
    prelude: int
    core: int
    coda: int
    loops: int
    uniform: bool = False  # loop count drawn from 1..loops per batch in training (LoopMDM); else fixed
    questions: tuple[str, ...] = ("q1",)

    @property
    def name(self) -> str:
        return f"{self.task}-d{self.d_model}-{self.prelude}.{self.core}.{self.coda}-L{self.loops}{'u' if self.uniform else ''}"

    @property
    def kind(self) -> str:
        if self.loops == 1:
            return "plain"
        kind = "LoopMDM" if self.prelude or self.coda else "R-MDM"
        return kind + (" (loops drawn)" if self.uniform else "")

    def layer_evals(self, loops: float | None = None) -> float:
        """Blocks run per denoising step (one readout)."""
        return self.prelude + (self.loops if loops is None else loops) * self.core + self.coda

    def train_layer_evals(self) -> float:
        """Mean blocks run per training step: uniform sampling averages (loops + 1) / 2."""
        return self.layer_evals((self.loops + 1) / 2 if self.uniform else self.loops)

    def overrides(self) -> list[str]:
        return [f"model.d_model={self.d_model}", f"model.prelude_layers={self.prelude}",
                f"model.core_layers={self.core}", f"model.coda_layers={self.coda}", f"model.loops={self.loops}",
                f"loss.loop_sampling={'uniform' if self.uniform else 'fixed'}"]


@dataclass(frozen=True)
class TaskSpec:
    """A data set, the preset the models start from, and what the plan assumes about step times."""

    name: str  # also the folder under data/scaling/
    preset: str  # configs/<preset>.yaml: optimiser, batch, loss
    data: dict[str, Any]  # `rmdm gen` options (a data_gen.api spec)
    steps: int  # training steps of every model of this task
    train: tuple[str, ...]  # --set overrides for every model of this task
    eval_puzzles: int  # first N of the test split
    answer_tokens: int  # planning only: typical masked positions (steps=all runs this many)
    base_d: int  # planning only: the width step_seconds refers to
    step_seconds: tuple[float, float]  # planning only: seconds per training step = a + b * layer evals at base_d


@dataclass(frozen=True)
class Study:
    name: str
    tasks: dict[str, TaskSpec]
    models: tuple[ModelSpec, ...]
    q2_steps: tuple[int | None, ...]
    q2_loops: tuple[int, ...]
    q3_loops: tuple[int, ...]  # inference loops tried on the question-3 looped models (steps=all)
    # adaptive loops: (what must settle, threshold): "hidden" = relative change of the hidden state,
    # "predictions" = share of masked positions whose argmax changed between loops
    q4_adaptive: tuple[tuple[str, float], ...]
    jobs: int
    device: str  # evaluation device ("cpu", "auto")
    eval_batch: int
    eval_threads: int | None
    logs: bool  # CSV/TensorBoard training logs
    timing_note: str
    gen_workers: int | None = None  # data generation processes (None: all cores)


def family(task: str, d: int, widths: Sequence[int], deep: bool = True, q3: bool = True) -> tuple[ModelSpec, ...]:
    """Questions 1-2 on a 2-layer core: loops 1/2 (and 4), plain 4 (and 8) layers, wider plain models;
    with q3, question 3's four models (three blocks looped or not, six plain)."""
    m = lambda p, c, k, loops, q, uniform=False, width=d: ModelSpec(task, width, p, c, k, loops, uniform, q)  # noqa: E731
    models = [m(0, 2, 0, 1, ("q1", "q2")), m(0, 2, 0, 2, ("q1", "q2", "q4")), m(0, 4, 0, 1, ("q1",))]
    if deep:
        models += [m(0, 2, 0, 4, ("q1", "q2", "q4")), m(0, 8, 0, 1, ("q1",))]
    models += [m(0, 2, 0, 1, ("q1",), width=w) for w in widths]
    if q3:
        models += [m(1, 1, 1, 4, ("q3", "q4"), uniform=True), m(0, 3, 0, 2, ("q3", "q4"), uniform=True),
                   m(0, 3, 0, 1, ("q3",)), m(0, 6, 0, 1, ("q3",))]
    return tuple(models)


def _quiet_training(val_every: int, threads: int | None) -> tuple[str, ...]:
    """No solve rates during or after training (the study measures them), a checkpoint every val_every."""
    out = (f"train.val_every={val_every}", "train.solve_puzzles=0", "train.final_solve_puzzles=0", "train.seed=0",
           "model.n_heads=4", "model.max_loops=16")
    return out + ((f"train.threads={threads}",) if threads else ())


Q4_ADAPTIVE = (("hidden", 0.01), ("hidden", 0.25), ("hidden", 0.5), ("hidden", 1.0),
               ("predictions", 0.01), ("predictions", 0.05))


def cpu_study() -> Study:
    cpu_note = ("0.04 s + 0.06 s per layer evaluation per training step at d=128 on one thread (the sudoku6-cpu "
                "preset's ~0.25-0.5 s steps at 6 layer evaluations; countdown3-cpu's 2000 steps in 12.3 min)")
    sudoku = TaskSpec("sudoku6", "sudoku6-cpu", {"task": "sudoku", "size": 6, "n": 12000, "seed": 1,
                                                 "split": "train=0.95,val=0.02,test=0.03"},
                      600, _quiet_training(200, 1) + ("train.warmup_steps=100",), 300, 26, 128, (0.04, 0.06))
    countdown = TaskSpec("countdown3", "countdown3-cpu", {"task": "countdown", "numbers": 3, "rules": "ml", "n": 30000,
                                                          "seed": 1, "split": "train=0.97,val=0.01,test=0.02"},
                         2000, _quiet_training(500, 1), 300, 16, 128, (0.04, 0.06))
    return Study("cpu", {"sudoku6": sudoku, "countdown3": countdown},
                 family("sudoku6", 128, (192, 256)) + family("countdown3", 128, (), deep=False, q3=False),
                 q2_steps=(1, 2, 4, 8, 16, ALL), q2_loops=(1, 2, 4), q3_loops=(1, 2, 4, 8),
                 q4_adaptive=Q4_ADAPTIVE, jobs=2, device="cpu", eval_batch=64, eval_threads=1,
                 logs=True, timing_note=cpu_note)


def gpu_study() -> Study:
    note = ("a guess, not measured: 0.02 s + 0.001 s per layer evaluation per step of batch 256 at d=256 "
            "(small kernels, launch-bound) on one H100/H200")
    common = _quiet_training(1000, 8) + ("train.batch_size=256", "train.warmup_steps=500")
    sudoku = TaskSpec("sudoku9", "sudoku9-gpu", {"task": "sudoku", "size": 9, "n": 200000, "seed": 2,
                                                 "split": "train=0.98,val=0.01,test=0.01"},
                      10000, common, 1000, 55, 256, (0.02, 0.001))
    countdown = TaskSpec("countdown4", "countdown4-gpu", {"task": "countdown", "numbers": 4, "rules": "ml",
                                                          "n": 200000, "seed": 2, "split": "train=0.98,val=0.01,test=0.01"},
                         10000, common, 1000, 24, 256, (0.02, 0.001))
    models = family("sudoku9", 256, (384, 512)) + family("countdown4", 256, (384,), q3=False)
    return Study("gpu", {"sudoku9": sudoku, "countdown4": countdown}, models,
                 q2_steps=(1, 2, 4, 8, 16, 32, ALL), q2_loops=(1, 2, 4), q3_loops=(1, 2, 4, 8),
                 q4_adaptive=Q4_ADAPTIVE, jobs=2, device="auto", eval_batch=256, eval_threads=None,
                 logs=True, timing_note=note)


def smoke_study() -> Study:
    tiny = ("train.batch_size=8", "train.warmup_steps=2", "train.val_batches=1", "train.log_every=5",
            "data.augment=false") + _quiet_training(10, 1)
    split = "train=0.8,val=0.1,test=0.1"
    sudoku = TaskSpec("sudoku4", "sudoku4-cpu", {"task": "sudoku", "size": 4, "n": 80, "seed": 1, "dedupe": False,
                                                 "split": split}, 10, tiny, 8, 10, 32, (0.01, 0.005))
    countdown = TaskSpec("countdown3", "countdown3-cpu", {"task": "countdown", "numbers": 3, "rules": "ml", "n": 60,
                                                          "seed": 1, "split": split}, 10, tiny, 8, 16, 32, (0.01, 0.005))
    models = (ModelSpec("sudoku4", 32, 0, 1, 0, 1, questions=("q1", "q2")),
              ModelSpec("sudoku4", 32, 0, 1, 0, 2, questions=("q1", "q2", "q4")),
              ModelSpec("sudoku4", 32, 1, 1, 1, 2, uniform=True, questions=("q3", "q4")),
              ModelSpec("countdown3", 32, 0, 1, 0, 1, questions=("q1",)))
    return Study("smoke", {"sudoku4": sudoku, "countdown3": countdown}, models, q2_steps=(1, ALL), q2_loops=(1, 2),
                 q3_loops=(1, 2), q4_adaptive=(("hidden", 0.5), ("predictions", 0.01)), jobs=1, device="cpu", eval_batch=64, eval_threads=1,
                 logs=False, timing_note="tiny", gen_workers=1)


STUDIES: dict[str, Callable[[], Study]] = {"cpu": cpu_study, "gpu": gpu_study, "smoke": smoke_study}


# ----------------------------------------------------------------------------- commands and the plan


def gen_command(spec: dict[str, Any], out: Path) -> str:
    """The `rmdm gen` line that builds the same data set as build_dataset(spec)."""
    args = ["rmdm", "gen", spec["task"]]
    for key, value in spec.items():
        if key == "task":
            continue
        if value is False:
            args.append(f"--no-{key}")
        elif value is True:
            args.append(f"--{key}")
        else:
            args += [f"--{key.replace('_', '-')}", str(value)]
    return shlex.join(args + ["--out", shown(out)])


def shown(path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def train_overrides(model: ModelSpec, task: TaskSpec) -> list[str]:
    return [*task.train, f"train.max_steps={task.steps}", *model.overrides()]


def train_command(model: ModelSpec, task: TaskSpec, data_dir: Path, run_dir: Path) -> str:
    sets = [part for item in train_overrides(model, task) for part in ("--set", item)]
    return shlex.join(["rmdm", "train", "--config", task.preset, "--data", shown(data_dir), "--out", shown(run_dir),
                       *sets, "--no-progress"])


def train_seconds(model: ModelSpec, task: TaskSpec) -> float:
    a, b = task.step_seconds
    return task.steps * (a + b * model.train_layer_evals() * (model.d_model / task.base_d) ** 2)


def eval_seconds(job: EvalJob, task: TaskSpec) -> float:
    """Planning only: a sampler step of one batch costs about a third of a training step's per-layer time."""
    b = task.step_seconds[1]
    width = (job.model.d_model / task.base_d) ** 2
    batches = math.ceil(task.eval_puzzles / job.batch_size)
    total = 0.0
    for steps in job.steps:
        for loops in job.loops:
            k = task.answer_tokens if steps is None else min(steps, task.answer_tokens)
            total += batches * k * (0.003 + b / 3 * job.model.layer_evals(loops) * width)
    return total


def print_plan(study: Study, models: Sequence[ModelSpec], jobs: list[EvalJob], workers: int) -> None:
    print(f"scaling study --config {study.name}: {len(models)} models; step times: {study.timing_note}")
    print(f"{'model':34} {'kind':22} {'steps':>6} {'layer evals/step':>16} {'est. min':>9}")
    train_total = 0.0
    longest = 0.0
    for model in models:
        task = study.tasks[model.task]
        seconds = train_seconds(model, task)
        train_total += seconds
        longest = max(longest, seconds)
        print(f"{model.name:34} {model.kind:22} {task.steps:>6} {model.train_layer_evals():>16.1f} {seconds / 60:>9.1f}")
    evals = sum(eval_seconds(job, study.tasks[job.model.task]) for job in jobs)
    wall = max((train_total + evals) / workers, longest)
    print(f"training {train_total / 60:.0f} min and {len(jobs)} evaluations ~{evals / 60:.0f} min, one job at a time; "
          f"~{wall / 60:.0f} min wall with --jobs {workers} (plus data generation)")


# ----------------------------------------------------------------------------- jobs


def _checked_run_dir(run_dir: Path, config: Any) -> Path | None:
    """The run directory to resume, or None for a fresh start (a run stopped before its first
    checkpoint is removed); a run trained with another config than planned is a ConfigError."""
    from solver.config import ConfigError
    from solver.train import read_run_config

    if not run_dir.exists():
        return None
    if (run_dir / "run_config.json").is_file() and read_run_config(run_dir)["config"] != config:
        raise ConfigError(f"{run_dir}: trained with another config than this study plans; remove it to retrain")
    if (run_dir / "checkpoints" / "last.ckpt").is_file():
        return run_dir
    shutil.rmtree(run_dir)
    return None


@dataclass(frozen=True)
class TrainJob:
    model: ModelSpec
    task: TaskSpec
    run_dir: Path
    data_dir: Path
    logs: bool

    @property
    def label(self) -> str:
        return f"train {self.model.name}"

    def config(self) -> Any:
        from solver.config import load_run_config, resolve_config_path

        return load_run_config(resolve_config_path(self.task.preset), train_overrides(self.model, self.task))

    def done(self) -> bool:
        """Exported already (with the planned config: anything else is a ConfigError)."""
        if not (self.run_dir / "export" / "config.json").is_file():
            return False
        _checked_run_dir(self.run_dir, self.config())
        return True

    def run(self) -> str:
        from solver.train import train

        config = self.config()
        command = train_command(self.model, self.task, self.data_dir, self.run_dir) + "  # via benchmarks/scaling.py"
        resume = _checked_run_dir(self.run_dir, config)
        if resume is not None:
            command = shlex.join(["rmdm", "train", "--resume", shown(resume), "--no-progress"]) + "  # via benchmarks/scaling.py"
            result = train(None, resume=resume, progress=False, logger=self.logs, command=command)
        else:
            result = train(config, data_dir=self.data_dir, out=self.run_dir, preset=self.task.preset,
                           command=command, progress=False, logger=self.logs)
        return f"{result.steps} steps in {result.minutes:.1f} min" + (" (resumed)" if resume else "")


@dataclass(frozen=True)
class EvalJob:
    """One evaluation sweep of one model, cached as run_dir/eval/<name>/results.json."""

    model: ModelSpec
    name: str
    steps: tuple[int | None, ...]
    loops: tuple[int, ...]
    run_dir: Path
    data_dir: Path
    limit: int
    device: str
    batch_size: int
    threads: int | None
    adaptive: bool = False
    threshold: float | None = None
    adaptive_on: str = "hidden"

    @property
    def label(self) -> str:
        return f"eval {self.model.name} {self.name}"

    @property
    def out(self) -> Path:
        return self.run_dir / "eval" / self.name

    def key(self) -> dict[str, Any] | None:
        """What the cached result must match: the sweep, the data, and the exported weights."""
        export = self.run_dir / "export" / "config.json"
        if not export.is_file():
            return None
        return {"steps": list(self.steps), "loops": list(self.loops), "adaptive": self.adaptive,
                "threshold": self.threshold, "data": str(self.data_dir.resolve()), "split": "test",
                "limit": self.limit, "seed": 0, "weights_sha256": json.loads(export.read_text()).get("weights_sha256"),
                # "hidden" results predate the field: their cached key stays valid
                **({"adaptive_on": self.adaptive_on} if self.adaptive_on != "hidden" else {})}

    def cached(self) -> dict[str, Any] | None:
        path = self.out / "results.json"
        if not path.is_file():
            return None
        try:
            result = json.loads(path.read_text())
        except ValueError:
            return None
        return result if result.get("key") == self.key() else None

    def done(self) -> bool:
        return self.cached() is not None

    def command(self) -> str:
        text = lambda values: ",".join("all" if v is None else str(v) for v in values)  # noqa: E731
        args = ["rmdm", "eval", "--checkpoint", shown(self.run_dir / "export"), "--data", shown(self.data_dir),
                "--split", "test", "--limit", str(self.limit), "--steps", text(self.steps), "--loops", text(self.loops)]
        if self.adaptive:
            args += ["--adaptive", "--adaptive-on", self.adaptive_on, "--adaptive-threshold", str(self.threshold)]
        return shlex.join(args + ["--seed", "0", "--batch-size", str(self.batch_size), "--out", shown(self.out), "--quiet"])

    def run(self) -> str:
        import torch

        from solver.checkpoint import load
        from solver.evaluate import evaluate, load_eval_data, sweep, write_results
        from solver.inference import resolve_device

        if self.threads:
            torch.set_num_threads(self.threads)
        data = load_eval_data(self.data_dir, split="test", limit=self.limit)
        device = resolve_device(self.device)
        loaded = load(self.run_dir / "export", device=device)
        started = time.perf_counter()
        rows = evaluate(loaded, data, sweep(self.steps, self.loops, adaptive=self.adaptive), batch_size=self.batch_size,
                        seed=0, adaptive_threshold=self.threshold, adaptive_on=self.adaptive_on,
                        untrained_loops=True)  # question 2 loops models past their trained count on purpose
        meta = {"key": self.key(), "command": self.command(), "device": device, "puzzles": len(data.inputs),
                "wall_seconds": time.perf_counter() - started}
        write_results(rows, self.out, meta)
        return f"{len(rows)} settings on {len(data.inputs)} puzzles in {meta['wall_seconds']:.0f} s"


def eval_jobs(study: Study, model: ModelSpec, run_dir: Path, data_dir: Path) -> list[EvalJob]:
    task = study.tasks[model.task]
    make = lambda name, steps, loops, **kw: EvalJob(model, name, tuple(steps), tuple(loops), run_dir, data_dir,  # noqa: E731
                                                    task.eval_puzzles, study.device, study.eval_batch,
                                                    study.eval_threads, **kw)
    jobs = [make("main", (ALL,), (model.loops,))]
    if "q2" in model.questions:
        jobs.append(make("q2", study.q2_steps, study.q2_loops))
    if "q3" in model.questions and model.loops > 1:
        jobs.append(make("q3", (ALL,), study.q3_loops))
    if "q4" in model.questions:
        jobs += [make(f"q4-{q4_name(on)}-{t:g}", (ALL,), (model.loops,), adaptive=True, threshold=t, adaptive_on=on)
                 for on, t in study.q4_adaptive]
    return jobs


def q4_name(on: str) -> str:
    """A question-4 evaluation's folder prefix: "adaptive" for the hidden-state criterion (the first one)."""
    return "adaptive" if on == "hidden" else on


def _run_job(job: TrainJob | EvalJob) -> str:
    return job.run()


@dataclass
class Tally:
    """What this invocation did: for the closing line, the exit status and the test."""

    trained: int = 0
    evaluated: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)

    def pending(self, jobs: Sequence[TrainJob | EvalJob]) -> list[TrainJob | EvalJob]:
        """The jobs not done yet; the others count as skipped."""
        todo = [job for job in jobs if not job.done()]
        self.skipped += len(jobs) - len(todo)
        return todo

    def finished(self, job: TrainJob | EvalJob, outcome: str | BaseException) -> None:
        if isinstance(outcome, BaseException):
            self.failed.append(f"{job.label}: {type(outcome).__name__}: {outcome}")
            print(f"FAILED {job.label}: {type(outcome).__name__}: {outcome}", flush=True)
            return
        print(f"done   {job.label}: {outcome}", flush=True)
        if isinstance(job, TrainJob):
            self.trained += 1
        else:
            self.evaluated += 1


def run_jobs(trains: list[TrainJob], evals: dict[str, list[EvalJob]], workers: int, tally: Tally) -> None:
    """Trainings longest first; a model's evaluations as soon as it is trained. workers > 1: spawned processes."""
    queue: list[TrainJob | EvalJob] = []
    for job in trains:
        queue += tally.pending([job]) or tally.pending(evals[job.model.name])

    def follow(job: TrainJob | EvalJob, outcome: str | BaseException) -> list[TrainJob | EvalJob]:
        tally.finished(job, outcome)
        trained = isinstance(job, TrainJob) and not isinstance(outcome, BaseException)
        return tally.pending(evals[job.model.name]) if trained else []

    if workers <= 1:
        while queue:
            job = queue.pop(0)
            print(f"start  {job.label}", flush=True)
            try:
                outcome: str | BaseException = job.run()
            except Exception as err:  # one failed model does not stop the study
                outcome = err
            queue += follow(job, outcome)
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = {pool.submit(_run_job, job): job for job in queue}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                error = future.exception()
                for item in follow(job, error if error is not None else future.result()):
                    running[pool.submit(_run_job, item)] = item


# ----------------------------------------------------------------------------- results


def collect(study: Study, models: Sequence[ModelSpec], paths: Paths) -> list[dict[str, Any]]:
    """Every model of the study with its training record and cached evaluations (missing ones empty)."""
    out = []
    for model in models:
        task = study.tasks[model.task]
        run_dir, data_dir = paths.run_dir(model), paths.data_dir(task)
        record: dict[str, Any] = {
            "name": model.name, "task": model.task, "kind": model.kind, "d_model": model.d_model,
            "prelude": model.prelude, "core": model.core, "coda": model.coda, "loops": model.loops,
            "loop_sampling": "uniform" if model.uniform else "fixed", "questions": list(model.questions),
            "train_steps": task.steps, "train_layer_evals_per_step": model.train_layer_evals(),
            "train_command": train_command(model, task, data_dir, run_dir), "params": None, "train_minutes": None,
            "hardware": None, "evals": {},
        }
        export = run_dir / "export" / "config.json"
        if export.is_file():
            saved = json.loads(export.read_text())
            trained = saved.get("trained", {})
            record.update(params=_parameters(run_dir / "export"), train_minutes=trained.get("minutes"),
                          hardware=trained.get("hardware"), train_steps=trained.get("steps", task.steps))
        for job in eval_jobs(study, model, run_dir, data_dir):
            result = job.cached()
            if result is not None:
                rows = [{**row, "adaptive_threshold": job.threshold, "adaptive_on": job.adaptive_on}
                        for row in result["rows"]]
                record["evals"][job.name] = {"command": job.command(), "device": result.get("device"), "rows": rows}
        out.append(record)
    return out


def _parameters(export: Path) -> int:
    from safetensors import safe_open

    total = 0
    with safe_open(str(export / "model.safetensors"), framework="pt") as weights:
        for name in weights.keys():
            total += math.prod(weights.get_slice(name).get_shape())
    return total


# ----------------------------------------------------------------------------- paths, data, the command line


@dataclass(frozen=True)
class Paths:
    data: Path  # data/scaling
    runs: Path  # runs/scaling/<config>
    results: Path  # benchmarks/results

    def data_dir(self, task: TaskSpec) -> Path:
        return self.data / task.name

    def run_dir(self, model: ModelSpec) -> Path:
        return self.runs / model.name


def select(study: Study, only: str | None) -> list[ModelSpec]:
    if not only:
        return list(study.models)
    patterns = [p.strip() for p in only.split(",") if p.strip()]
    return [m for m in study.models if any(fnmatch.fnmatch(m.name, p) for p in patterns)]


def build_data(study: Study, paths: Paths) -> None:
    from data_gen.api import build_dataset

    for task in study.tasks.values():
        directory = paths.data_dir(task)
        if not (directory / "manifest.json").is_file():
            print(f"$ {gen_command(task.data, directory)}", flush=True)
        build_dataset(task.data, directory, workers=study.gen_workers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=sorted(STUDIES), default="cpu", help="which study (default cpu)")
    parser.add_argument("--jobs", type=int, default=None, help="trainings/evaluations at a time (default: the study's)")
    parser.add_argument("--only", metavar="GLOB[,GLOB]", help="train and evaluate only these models (the report covers all)")
    parser.add_argument("--plan", action="store_true", help="print the models and planned minutes; run nothing")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "scaling")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "scaling", help="runs go to RUNS_DIR/<config>/")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    study = STUDIES[args.config]()
    workers = args.jobs or study.jobs
    if workers < 1:
        parser.error(f"--jobs must be at least 1, got {workers}")
    paths = Paths(args.data_dir, args.runs_dir / study.name, args.results_dir)
    models = select(study, args.only)
    if not models:
        parser.error(f"--only {args.only!r} matches none of: {', '.join(m.name for m in study.models)}")
    evals = {m.name: eval_jobs(study, m, paths.run_dir(m), paths.data_dir(study.tasks[m.task])) for m in models}
    if args.plan:
        print_plan(study, models, [job for jobs in evals.values() for job in jobs], workers)
        return 0

    from solver.config import ConfigError

    started = time.time()
    build_data(study, paths)
    trains = [TrainJob(m, study.tasks[m.task], paths.run_dir(m), paths.data_dir(study.tasks[m.task]), study.logs)
              for m in models]
    trains.sort(key=lambda job: -train_seconds(job.model, job.task))
    tally = Tally()
    try:
        run_jobs(trains, evals, workers, tally)
    except ConfigError as err:  # a run directory trained with another plan
        print(f"benchmarks.scaling: error: {err}", file=sys.stderr)
        return 2

    command = shlex.join(["python", "-m", "benchmarks.scaling", *(sys.argv[1:] if argv is None else argv)])
    records = collect(study, study.models, paths)
    plots = [shown(p) for p in plot_all(records, study, paths.results / f"scaling-{study.name}")]
    data_commands = [gen_command(task.data, paths.data_dir(task)) for task in study.tasks.values()]
    text = report(study, records, command, data_commands, plots)
    write_text(paths.results / f"scaling-{study.name}.md", text)
    payload = {"config": study.name, "command": command, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "commit": git_commit(), "machine": machine(), "timing_note": study.timing_note,
               "tasks": {name: {"data": shown(paths.data_dir(t)), "gen_command": gen_command(t.data, paths.data_dir(t)),
                                "train_steps": t.steps, "eval_puzzles": t.eval_puzzles, "preset": t.preset}
                         for name, t in study.tasks.items()},
               "models": records, "plots": plots,
               "tables": {key: {"title": title, "columns": columns, "rows": rows}
                          for key, title, _, (columns, rows) in tables(records, study)}}
    write_json(paths.results / f"scaling-{study.name}.json", payload, indent=1)
    print(text.split("## Data, models")[0])
    print(f"{tally.trained} models trained, {tally.evaluated} evaluations run, {tally.skipped} done before (skipped); "
          f"{(time.time() - started) / 60:.1f} min; wrote {shown(paths.results / f'scaling-{study.name}.md')}")
    if tally.failed:
        print("failed:\n  " + "\n  ".join(tally.failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
