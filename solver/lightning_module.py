"""Thin Lightning glue: the Denoiser + the diffusion loss + AdamW/warmup-cosine + EMA + solve rate.

Everything that matters is in model.py and diffusion.py (testable without a Trainer); this
module only wires them to Lightning: logging, the optimiser, EMA swapped in for validation
and saving, and a whole-puzzle solve rate on a validation subset through the real sampler
and the puzzle verifiers.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch

from .codecs import Codec, codec_from_config
from .diffusion import Carry, LossConfig, carry_loss, diffusion_loss
from .model import Denoiser, DenoiserConfig


class EMA:
    """Exponential moving average of a module's floating-point parameters."""

    def __init__(self, module: torch.nn.Module, decay: float):
        self.decay = decay
        self.shadow = {name: p.detach().clone() for name, p in module.named_parameters()}
        self._backup: dict[str, torch.Tensor] | None = None

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        for name, p in module.named_parameters():
            shadow = self.shadow[name]
            if shadow.device != p.device:
                self.shadow[name] = shadow = shadow.to(p.device)
            shadow.lerp_(p.detach(), 1.0 - self.decay)

    @torch.no_grad()
    def swap_in(self, module: torch.nn.Module) -> None:
        """Put the averaged weights into `module`, keeping the live ones to restore."""
        if self._backup is not None:
            return
        self._backup = {}
        for name, p in module.named_parameters():
            self._backup[name] = p.detach().clone()
            p.copy_(self.shadow[name])

    @torch.no_grad()
    def swap_out(self, module: torch.nn.Module) -> None:
        if self._backup is None:
            return
        for name, p in module.named_parameters():
            p.copy_(self._backup[name])
        self._backup = None

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {name: t.cpu() for name, t in self.shadow.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.shadow = {name: t.clone() for name, t in state.items()}


def warmup_cosine(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """LR multiplier: linear warmup to 1, then cosine down to min_ratio at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def solve_rate(model: Any, codec: Codec, tokens: torch.Tensor, frozen: torch.Tensor, *, loops: int | None = None,
               steps: int | None = None) -> float:
    """Fraction of puzzles (tokens (B, T), MASK at the answer) the model solves, by the verifier."""
    from .sampler import SampleOptions, sample

    answers = sample(model, tokens, frozen, SampleOptions(loops=loops, steps=steps), mask_id=codec.mask_id).tokens
    from .guided import check_batch

    return float(check_batch(codec, tokens.cpu(), answers.cpu()).mean())


class SolverModule(L.LightningModule):
    """LightningModule over a Denoiser. Hyperparameters are plain dicts (checkpoints load without pickled objects)."""

    def __init__(self, model_config: dict[str, Any], loss_config: dict[str, Any], train_config: dict[str, Any],
                 codec_config: dict[str, Any]):
        super().__init__()
        self.save_hyperparameters()
        self.net = Denoiser(DenoiserConfig.model_validate(model_config))
        self.loss_config = LossConfig.model_validate(loss_config)
        self.train_config = train_config
        self.codec = codec_from_config(codec_config)
        decay = train_config.get("ema_decay")
        self.ema = EMA(self.net, decay) if decay else None
        self.__dict__["_compiled"] = None  # not a submodule: keeps state_dict keys free of _orig_mod
        self.last_solve_rate: float | None = None
        self.carry: Carry | None = None  # carried training boards (loss.segments > 1); a resumed run starts fresh ones
        self.bar_metrics: dict[str, float] = {}  # what the progress bar shows besides Lightning's (solver.train.progress_bar)

    def compile_net(self) -> None:
        self.__dict__["_compiled"] = torch.compile(self.net)

    @property
    def train_net(self) -> Any:
        return self.__dict__["_compiled"] or self.net

    def forward(self, tokens: torch.Tensor, loops: int | None = None) -> torch.Tensor:
        return self.net(tokens, loops=loops)

    # ------------------------------------------------------------------ steps
    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        _, frozen, target = batch
        if self.loss_config.segments > 1:
            out, self.carry = carry_loss(self.train_net, self.carry, target, frozen, self.loss_config)
        else:
            out = diffusion_loss(self.train_net, target, frozen, self.loss_config)
        log_every = self.train_config.get("log_every", 25)
        # Nothing here reads a value back from the device (that would wait for the step's kernels):
        # the logged values stay tensors, which the loggers read only at their log steps. Not on the
        # progress bar either, whose metrics Lightning converts to numbers after every batch: the bar
        # shows `bar_metrics`, read back here once every log_every steps.
        self.log("train/loss", out.loss, batch_size=target.shape[0])
        if batch_idx % log_every == 0:
            self.log_dict({"train/token_acc": out.token_accuracy, "train/loops": float(out.loops)},
                          batch_size=target.shape[0])
            self.bar_metrics["train/loss"] = float(out.loss.detach())
        return out.loss

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.ema is not None:
            self.ema.update(self.net)

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        tokens, frozen, target = batch
        generator = torch.Generator(device=target.device).manual_seed(1234 + batch_idx)  # same masks every time
        out = diffusion_loss(self.net, target, frozen, self.loss_config, loops=self.net.config.loops, generator=generator)
        self.log_dict({"val/loss": out.loss, "val/token_acc": out.token_accuracy}, batch_size=target.shape[0],
                      sync_dist=True)  # averaged over DDP processes (each validates its own shard)
        budget = self.train_config.get("solve_puzzles", 0) - batch_idx * target.shape[0]
        if budget > 0:
            n = min(budget, target.shape[0])
            rate = solve_rate(self.net, self.codec, tokens[:n], frozen[:n], steps=self.train_config.get("solve_steps"))
            self.log("val/solve_rate", rate, prog_bar=True, batch_size=n, sync_dist=True)

    def on_validation_epoch_start(self) -> None:
        if self.ema is not None:
            self.ema.swap_in(self.net)

    def on_validation_epoch_end(self) -> None:
        if self.ema is not None:
            self.ema.swap_out(self.net)
        rate = self.trainer.callback_metrics.get("val/solve_rate")
        self.last_solve_rate = float(rate) if rate is not None else None

    # ------------------------------------------------------------------ optimiser
    def configure_optimizers(self) -> Any:
        cfg = self.train_config
        decay, no_decay = [], []
        for name, p in self.net.named_parameters():
            (decay if p.dim() >= 2 and "emb" not in name else no_decay).append(p)
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
            lr=cfg["lr"], betas=tuple(cfg["betas"]),
        )
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, cfg["warmup_steps"], cfg["max_steps"], cfg["min_lr_ratio"])
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.ema is not None:
            checkpoint["ema"] = self.ema.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.ema is not None and "ema" in checkpoint:
            self.ema.load_state_dict(checkpoint["ema"])

    def export_net(self) -> Denoiser:
        """The network to export: a copy holding the EMA weights when EMA is on."""
        import copy

        net = copy.deepcopy(self.net).cpu()
        if self.ema is not None:
            with torch.no_grad():
                for name, p in net.named_parameters():
                    p.copy_(self.ema.shadow[name].cpu())
        return net.eval()
