"""Seconds per training step of candidate 9x9 Sudoku recipes on one CPU thread (batch 64).

    python -m benchmarks.bench_train_step

Times forward + backward + AdamW for random 9x9 token batches (the cost does not depend on
the data), so recipes can be matched at equal CPU time before training them: the issue-13
ladder compares them at equal wall time, and a step's price decides how many steps fit.
Validation and data loading are not included.
"""

from __future__ import annotations

import time

import torch

from solver.diffusion import LossConfig, diffusion_loss
from solver.model import Denoiser, DenoiserConfig

RECIPES = {
    "sudoku9-tiny-cpu (d192, 2 blocks x 3)": (dict(d_model=192, n_heads=6, core_layers=2, loops=3), dict()),
    "+ input injection": (dict(d_model=192, n_heads=6, core_layers=2, loops=3, input_injection=True), dict()),
    "+ peer attention": (dict(d_model=192, n_heads=6, core_layers=2, loops=3, attention="peers"), dict()),
    "+ input injection + peer attention": (
        dict(d_model=192, n_heads=6, core_layers=2, loops=3, input_injection=True, attention="peers"), dict()),
    "deep narrow d128, 1 x 16, weighted, all grad": (
        dict(d_model=128, n_heads=4, core_layers=1, loops=16, input_injection=True, loop_embedding=False),
        dict(supervision="weighted")),
    "sudoku9-deep-cpu (d128, 1 x 16, weighted, grad 8)": (
        dict(d_model=128, n_heads=4, core_layers=1, loops=16, input_injection=True, loop_embedding=False),
        dict(supervision="weighted", grad_loops=8)),
}


def step_seconds(model_fields: dict, loss_fields: dict, steps: int = 4, batch: int = 64) -> tuple[float, int]:
    model = Denoiser(DenoiserConfig(vocab_size=10, seq_len=81, box_rows=3, box_cols=3, **model_fields))
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(1, 10, (batch, 81), generator=generator)
    frozen = torch.rand(batch, 81, generator=generator) < 0.3
    loss_config = LossConfig(objective="masked_ce", **loss_fields)
    for index in range(steps + 1):  # the first step is a warm-up
        if index == 1:
            started = time.perf_counter()
        out = diffusion_loss(model, target, frozen, loss_config)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    return (time.perf_counter() - started) / steps, model.num_parameters()


def main() -> None:
    torch.set_num_threads(1)
    print(f"{'recipe':52} {'s/step':>7} {'params':>9}")
    for name, (model_fields, loss_fields) in RECIPES.items():
        seconds, params = step_seconds(model_fields, loss_fields)
        print(f"{name:52} {seconds:7.3f} {params:9,}", flush=True)


if __name__ == "__main__":
    main()
