"""Masked diffusion training objective (MDLM, continuous time), with R-MDM / LoopMDM options.

    t ~ U(eps, 1]                    sample_t (low-discrepancy across the batch)
    x_t = mask each answer token of x_0 with probability t; givens never masked   mask_tokens
    loss = E_t[ (1/t) * sum_{masked i} -log p(x_0^i | x_t) ] / #answer tokens     loss_weight, diffusion_loss

`objective="masked_ce"` drops the 1/t weight: the mean cross-entropy over masked tokens.
Supervision reads logits after the final loop, after every loop (deep supervision), or
after every loop with linearly increasing weights. The loop count is fixed or drawn
uniformly from 1..S_max once per batch; `grad_loops=k` backpropagates through the last k
core passes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .codecs import IGNORE


class LossConfig(BaseModel):
    """How a training step turns a batch into a loss."""

    model_config = ConfigDict(extra="forbid")

    objective: Literal["mdlm", "masked_ce"] = Field("mdlm", description="mdlm: 1/t-weighted ELBO; masked_ce: plain mean CE on masked tokens")
    supervision: Literal["final", "every", "weighted"] = Field("final", description="which loops' logits carry a loss")
    loop_sampling: Literal["fixed", "uniform"] = Field("fixed", description="fixed: model.loops; uniform: 1..loops per batch")
    grad_loops: int | None = Field(None, ge=1, description="backprop through the last k loops only (None: all)")
    t_min: float = Field(1e-3, gt=0.0, lt=1.0, description="lower end of t: keeps 1/t finite")
    low_discrepancy: bool = Field(True, description="stratified t across the batch (lower-variance loss)")
    t_power: float = Field(1.0, ge=1.0, description="t = u^(1/p): p > 1 draws more heavily masked boards (the hard first "
                           "decisions of a solve; density p t^(p-1)); 1 = uniform. masked_ce only")

    @model_validator(mode="after")
    def _check(self) -> LossConfig:
        if self.t_power != 1.0 and self.objective != "masked_ce":
            raise ValueError(f"t_power={self.t_power} needs objective=masked_ce: mdlm's 1/t weight assumes uniform t")
        return self


@dataclass
class LossOutput:
    """One step's loss and what is logged about it. The statistics stay detached tensors on the
    batch's device: reading one (float(), .item(), a logger) waits for the device, so a training
    step converts them only on the steps it logs them."""

    loss: torch.Tensor  # scalar, what backprop sees
    loss_per_loop: list[torch.Tensor]  # the objective for each supervised loop (detached scalars)
    token_accuracy: torch.Tensor  # argmax == target over masked answer tokens, final loop (detached scalar)
    masked_tokens: torch.Tensor  # how many answer tokens were masked (long scalar)
    loops: int  # loops run this step


def sample_t(batch_size: int, *, t_min: float = 1e-3, low_discrepancy: bool = True,
             generator: torch.Generator | None = None, device: torch.device | str = "cpu",
             power: float = 1.0) -> torch.Tensor:
    """Masking levels t in [t_min, 1], (B,).

    Low-discrepancy (MDLM's antithetic trick): one uniform offset u and t_i = (u + i/B) mod 1,
    so each batch covers [0, 1) evenly and the loss variance drops. `power` p > 1 maps each
    level through u^(1/p), drawing heavily masked boards more often (density p t^(p-1)).
    """
    if low_discrepancy:
        u = torch.rand(1, generator=generator, device=device)
        t = (u + torch.arange(batch_size, device=device) / batch_size) % 1.0
    else:
        t = torch.rand(batch_size, generator=generator, device=device)
    if power != 1.0:
        t = t ** (1.0 / power)
    return t_min + (1.0 - t_min) * t


def mask_tokens(target: torch.Tensor, frozen: torch.Tensor, t: torch.Tensor, mask_id: int,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """x_t: each non-frozen token of target (B, T) becomes MASK with probability t (B,).

    Returns (noisy tokens (B, T), masked (B, T) bool). Frozen positions are never masked.
    """
    draw = torch.rand(target.shape, generator=generator, device=target.device)
    masked = (draw < t[:, None]) & ~frozen & (target != IGNORE)
    return target.masked_fill(masked, mask_id), masked


def loss_weight(t: torch.Tensor) -> torch.Tensor:
    """MDLM continuous-time ELBO weight for the linear schedule alpha_t = 1 - t: exactly 1/t."""
    return 1.0 / t


def loop_weights(loops: int, supervision: str) -> list[float]:
    """Weight of each loop's loss, summing to 1 (final: only the last; weighted: proportional to l)."""
    if supervision == "final":
        return [0.0] * (loops - 1) + [1.0]
    if supervision == "every":
        return [1.0 / loops] * loops
    total = loops * (loops + 1) / 2
    return [(index + 1) / total for index in range(loops)]


def masked_loss(logits: torch.Tensor, target: torch.Tensor, masked: torch.Tensor, t: torch.Tensor,
                objective: str, answer: torch.Tensor) -> torch.Tensor:
    """Scalar loss of logits (B, T, V) against target (B, T) on masked positions (B, T).

    answer (B, T) bool marks the positions that could be masked (non-frozen, known target):
    the MDLM loss is per answer token, so puzzles with fewer givens do not weigh more.
    """
    ce = F.cross_entropy(logits.float().transpose(1, 2), target.masked_fill(~masked, IGNORE),
                         ignore_index=IGNORE, reduction="none")  # (B, T), 0 where not masked
    if objective == "masked_ce":
        return ce.sum() / masked.sum().clamp(min=1)
    per_row = ce.sum(dim=-1) * loss_weight(t) / answer.sum(dim=-1).clamp(min=1)  # per-token ELBO, (B,)
    return per_row.mean()


def draw_loops(max_loops: int, sampling: str, generator: torch.Generator | None = None) -> int:
    """The loop count for one batch (shared by every row): fixed, or uniform in 1..max_loops."""
    if sampling == "fixed":
        return max_loops
    return int(torch.randint(1, max_loops + 1, (1,), generator=generator).item())


def diffusion_loss(model: torch.nn.Module, target: torch.Tensor, frozen: torch.Tensor, config: LossConfig,
                   *, loops: int | None = None, generator: torch.Generator | None = None) -> LossOutput:
    """One training loss: draw t and the loop count, mask, run the model, weight the per-loop losses.

    target (B, T) long (IGNORE where unknown), frozen (B, T) bool. `model` is a Denoiser (or
    a compiled one) with `.config`. `loops` overrides the drawn count (tests, evaluation).
    A time-conditioned model gets the masked fraction of each row's answer, which is what the
    sampler passes at inference (the drawn t is only its expectation).
    """
    net_config = model.config if hasattr(model, "config") else model._orig_mod.config
    if loops is None:
        loops = draw_loops(net_config.loops, config.loop_sampling, generator)
    same_device = generator if generator is not None and generator.device == target.device else None
    t = sample_t(target.shape[0], t_min=config.t_min, low_discrepancy=config.low_discrepancy,
                 generator=same_device, device=target.device, power=config.t_power)
    noisy, masked = mask_tokens(target, frozen, t, net_config.mask_id, generator=same_device)

    answer = ~frozen & (target != IGNORE)  # (B, T) positions that could be masked
    weights = loop_weights(loops, config.supervision)
    first_with_grad = 0 if config.grad_loops is None else max(0, loops - config.grad_loops)
    for index in range(first_with_grad):  # loops without grad carry no loss: renormalise the rest
        weights[index] = 0.0
    total = sum(weights)
    weights = [w / total for w in weights]

    t_model = masked.sum(-1) / answer.sum(-1).clamp(min=1) if net_config.time_conditioning else None
    if config.supervision == "final":
        per_loop = [model(noisy, t_model, loops=loops, grad_loops=config.grad_loops)]
        weights = [1.0]
    else:
        per_loop = model(noisy, t_model, loops=loops, all_loops=True, grad_loops=config.grad_loops)
    loss = torch.zeros((), device=target.device)
    losses = []
    for logits, weight in zip(per_loop, weights):
        value = masked_loss(logits, target, masked, t, config.objective, answer)
        losses.append(value.detach())
        if weight:
            loss = loss + weight * value
    with torch.no_grad():
        hits = (per_loop[-1].argmax(dim=-1) == target) & masked
        count = masked.sum()
        accuracy = hits.sum() / count.clamp(min=1)
    return LossOutput(loss, losses, accuracy, count, loops)
