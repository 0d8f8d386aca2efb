"""Lightning glue: EMA swap in/out, the warmup/cosine schedule, the optimiser groups (without a
Trainer), and what a few training steps log (with one)."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
import torch

from puzzles.sudoku import SudokuShape
from solver.codecs import SudokuCodec
from solver.lightning_module import EMA, SolverModule, warmup_cosine


def small_module(ema_decay: float | None = 0.5, **train) -> SolverModule:
    codec = SudokuCodec(SudokuShape(2, 2))
    model = {"vocab_size": codec.vocab_size, "seq_len": codec.seq_len, "mask_id": codec.mask_id, "positions": "grid",
             "box_rows": 2, "box_cols": 2, "d_model": 16, "n_heads": 2, "core_layers": 1, "loops": 2}
    train_config = dict(lr=1e-3, weight_decay=0.01, betas=[0.9, 0.98], warmup_steps=10, max_steps=100,
                        min_lr_ratio=0.1, ema_decay=ema_decay, **train)
    torch.manual_seed(0)
    return SolverModule(model, {"objective": "masked_ce"}, train_config, codec.to_config())


def params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def nudge(module: torch.nn.Module, amount: float) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.add_(amount)


def test_ema_update_is_the_exponential_average():
    net = torch.nn.Linear(3, 2)
    ema = EMA(net, decay=0.75)
    start = params(net)
    nudge(net, 1.0)
    ema.update(net)
    for name, value in start.items():  # shadow = 0.75 * old + 0.25 * new
        assert torch.allclose(ema.shadow[name], value + 0.25)


def test_ema_swap_in_then_out_restores_the_live_weights_exactly():
    net = torch.nn.Linear(3, 2)
    ema = EMA(net, decay=0.9)
    nudge(net, 0.3)
    ema.update(net)
    live = params(net)
    ema.swap_in(net)
    assert all(torch.equal(p, ema.shadow[name]) for name, p in net.named_parameters())
    assert not torch.equal(net.weight, live["weight"])
    ema.swap_in(net)  # a second swap_in keeps the first backup (does not back up the EMA weights)
    ema.swap_out(net)
    assert all(torch.equal(p, live[name]) for name, p in net.named_parameters())
    ema.swap_out(net)  # idempotent
    assert all(torch.equal(p, live[name]) for name, p in net.named_parameters())


def test_ema_state_round_trip():
    net = torch.nn.Linear(3, 2)
    ema = EMA(net, decay=0.9)
    nudge(net, 1.0)
    ema.update(net)
    other = EMA(torch.nn.Linear(3, 2), decay=0.9)
    other.load_state_dict(ema.state_dict())
    assert all(torch.equal(other.shadow[k], ema.shadow[k]) for k in ema.shadow)


def test_module_hooks_swap_ema_for_validation_and_export_holds_it():
    module = small_module(ema_decay=0.5)
    nudge(module.net, 0.2)
    module.on_train_batch_end(None, None, 0)  # one EMA update
    live = params(module.net)
    module.on_validation_epoch_start()
    assert all(torch.equal(p, module.ema.shadow[n]) for n, p in module.net.named_parameters())
    module.ema.swap_out(module.net)  # what on_validation_epoch_end does (it also reads trainer metrics)
    assert all(torch.equal(p, live[n]) for n, p in module.net.named_parameters())
    exported = module.export_net()
    assert all(torch.equal(p, module.ema.shadow[n]) for n, p in exported.named_parameters())
    assert all(torch.equal(p, live[n]) for n, p in module.net.named_parameters())  # live weights untouched
    assert not exported.training
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    fresh = small_module(ema_decay=0.5)
    fresh.on_load_checkpoint(checkpoint)
    assert all(torch.equal(fresh.ema.shadow[k], module.ema.shadow[k]) for k in checkpoint["ema"])


def test_export_without_ema_is_the_live_network():
    module = small_module(ema_decay=None)
    assert module.ema is None
    exported = module.export_net()
    assert all(torch.equal(p, dict(module.net.named_parameters())[n]) for n, p in exported.named_parameters())


@pytest.mark.parametrize("warmup,total,floor", [(10, 100, 0.1), (1, 50, 0.0), (200, 1500, 0.05)])
def test_warmup_cosine_endpoints(warmup, total, floor):
    assert warmup_cosine(0, warmup, total, floor) == pytest.approx(1 / warmup)
    assert warmup_cosine(warmup - 1, warmup, total, floor) == pytest.approx(1.0)  # warmup ends at the peak
    assert warmup_cosine(warmup, warmup, total, floor) == pytest.approx(1.0)  # cosine starts at the peak
    middle = (warmup + total) // 2
    expected = floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * (middle - warmup) / (total - warmup)))
    assert warmup_cosine(middle, warmup, total, floor) == pytest.approx(expected)
    assert warmup_cosine(total, warmup, total, floor) == pytest.approx(floor)
    assert warmup_cosine(total + 1000, warmup, total, floor) == pytest.approx(floor)  # held, not rising again
    values = [warmup_cosine(s, warmup, total, floor) for s in range(total + 1)]
    assert all(a <= b for a, b in pairwise(values[:warmup]))  # rises during warmup
    assert all(a >= b for a, b in pairwise(values[warmup:]))  # then only falls


def test_no_warmup_starts_at_the_peak():
    assert warmup_cosine(0, 0, 100, 0.1) == pytest.approx(1.0)


# The parameters of small_module's network (grid positions, one core layer, no prelude or coda), by group.
DECAYED = [  # the weight matrices of attention, MLP and head
    "core.0.attn.qkv.weight", "core.0.attn.proj.weight", "core.0.mlp.0.weight", "core.0.mlp.2.weight", "head.weight",
]
NOT_DECAYED = [  # embeddings (tokens, positions, loops), biases, LayerNorm weights and biases
    "tok_emb.weight", "pos_emb.box.weight", "pos_emb.col.weight", "pos_emb.row.weight",
    "core.0.ln1.weight", "core.0.ln1.bias", "core.0.attn.qkv.bias", "core.0.attn.proj.bias",
    "core.0.ln2.weight", "core.0.ln2.bias", "core.0.mlp.0.bias", "core.0.mlp.2.bias",
    "loop_emb.weight", "loop_norm.weight", "loop_norm.bias", "final_norm.weight", "final_norm.bias", "head.bias",
]


def test_optimizer_schedule_and_decay_groups():
    module = small_module(ema_decay=None)
    setup = module.configure_optimizers()
    optimizer, schedule = setup["optimizer"], setup["lr_scheduler"]["scheduler"]
    assert setup["lr_scheduler"]["interval"] == "step"
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 / 10)  # step 0 of a 10-step warmup
    names = {id(p): name for name, p in module.net.named_parameters()}
    groups = [(group["weight_decay"], sorted(names[id(p)] for p in group["params"])) for group in optimizer.param_groups]
    assert groups == [(0.01, sorted(DECAYED)), (0.0, sorted(NOT_DECAYED))]
    for _ in range(100):
        optimizer.step()
        schedule.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.1)


@pytest.mark.filterwarnings("ignore:You defined a `validation_step`", "ignore:.*LeafSpec")
def test_training_logs_without_reading_the_device_every_step(tmp_path):
    """The step's statistics stay tensors until a log step: Lightning's CSV logger still writes
    them, and the progress bar's training loss is a number read every log_every steps."""
    import csv

    import lightning as L
    from lightning.pytorch.loggers import CSVLogger
    from torch.utils.data import DataLoader, TensorDataset

    from solver.diffusion import LossConfig, diffusion_loss
    from solver.train import progress_bar

    module = small_module(ema_decay=None, log_every=2)
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(1, 5, (32, 16), generator=generator)
    frozen = torch.rand(32, 16, generator=generator) < 0.3
    out = diffusion_loss(module.net, target, frozen, LossConfig())
    assert all(isinstance(v, torch.Tensor) for v in (out.token_accuracy, out.masked_tokens, *out.loss_per_loop))
    assert not out.token_accuracy.requires_grad and out.masked_tokens.dtype == torch.long

    bar = progress_bar()
    trainer = L.Trainer(accelerator="cpu", max_steps=6, logger=CSVLogger(tmp_path, name="logs", version=""),
                        log_every_n_steps=2, enable_progress_bar=True, callbacks=[bar], enable_checkpointing=False,
                        enable_model_summary=False, limit_val_batches=0)
    trainer.fit(module, DataLoader(TensorDataset(target.masked_fill(~frozen, 0), frozen, target), batch_size=8))
    with open(tmp_path / "logs" / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    losses = {int(row["step"]): float(row["train/loss"]) for row in rows if row.get("train/loss")}
    accuracies = [float(row["train/token_acc"]) for row in rows if row.get("train/token_acc")]
    assert sorted(losses) == [1, 3, 5] and all(math.isfinite(v) for v in losses.values())
    assert accuracies and all(0.0 <= v <= 1.0 for v in accuracies)
    assert isinstance(module.bar_metrics["train/loss"], float)  # read at batch 4, the last log step
    assert "train/loss" not in trainer.progress_bar_metrics  # Lightning no longer converts it every batch
    assert bar.get_metrics(trainer, module)["train/loss"] == module.bar_metrics["train/loss"]


def test_training_steps_carry_their_boards_with_loss_segments():
    codec = SudokuCodec(SudokuShape(2, 2))
    model = {"vocab_size": codec.vocab_size, "seq_len": codec.seq_len, "mask_id": codec.mask_id, "positions": "grid",
             "box_rows": 2, "box_cols": 2, "d_model": 16, "n_heads": 2, "core_layers": 1, "loops": 2,
             "input_injection": True, "carry_state": True}
    train_config = dict(lr=1e-3, weight_decay=0.01, betas=[0.9, 0.98], warmup_steps=10, max_steps=100, min_lr_ratio=0.1)
    module = SolverModule(model, {"objective": "masked_ce", "segments": 3}, train_config, codec.to_config())
    module.log = module.log_dict = lambda *a, **k: None  # no Trainer here
    g = torch.Generator().manual_seed(0)
    batch = lambda: [None, torch.rand(4, 16, generator=g) < 0.3, torch.randint(1, 5, (4, 16), generator=g)]  # noqa: E731
    assert module.carry is None
    module.training_step(batch(), 0).backward()
    first = module.carry.target.clone()
    module.training_step(batch(), 1)
    carried = module.carry.age == 2
    assert carried.any()  # an untrained network gets its boards wrong: they are carried
    assert torch.equal(module.carry.target[carried], first[carried])  # carried rows keep their puzzle
    assert module.carry.state.shape == (4, 16, 16) and not module.carry.state.requires_grad
