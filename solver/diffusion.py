"""Masked diffusion training objective (MDLM, continuous time), with R-MDM / LoopMDM options.

    t ~ U(eps, 1]                    sample_t (low-discrepancy across the batch)
    x_t = mask each answer token of x_0 with probability t; givens never masked   mask_tokens
    loss = E_t[ (1/t) * sum_{masked i} -log p(x_0^i | x_t) ] / #answer tokens     loss_weight, diffusion_loss

`objective="masked_ce"` drops the 1/t weight: the mean cross-entropy over masked tokens.
Supervision reads logits after the final loop, after every loop (deep supervision), or
after every loop with linearly increasing weights. The loop count is fixed or drawn
uniformly from 1..S_max once per batch; `grad_loops=k` backpropagates through the last k
core passes only. With `segments > 1` (carry_loss) a board stays in the batch for several
steps with its hidden state carried, as TRM's deep supervision does.
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
    segments: int = Field(1, ge=1, description="carried training boards (TRM deep supervision; needs model.carry_state): "
                          "a board stays in the batch for up to this many steps, its hidden state carried, its most "
                          "confident masked cells revealed between steps; 1 = every board fresh. masked_ce only")
    reveal_max: float = Field(0.3, gt=0.0, le=1.0, description="carried boards: the share of the still-masked cells "
                              "revealed between two steps is drawn uniformly in [0, reveal_max)")

    @model_validator(mode="after")
    def _check(self) -> LossConfig:
        if self.t_power != 1.0 and self.objective != "masked_ce":
            raise ValueError(f"t_power={self.t_power} needs objective=masked_ce: mdlm's 1/t weight assumes uniform t")
        if self.segments > 1 and self.objective != "masked_ce":
            raise ValueError(f"segments={self.segments} needs objective=masked_ce: a carried board's t is not drawn")
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
    out, _ = _supervise(model, net_config, noisy, masked, target, answer, t, config, loops)
    return out


def _supervise(model, net_config, noisy: torch.Tensor, masked: torch.Tensor, target: torch.Tensor, answer: torch.Tensor,
               t: torch.Tensor, config: LossConfig, loops: int,
               state: torch.Tensor | None = None) -> tuple[LossOutput, tuple[torch.Tensor, torch.Tensor] | None]:
    """Run the model on noisy (B, T) and weight the per-loop losses on `masked`. With a carried
    `state` (B, T, D) (or zeros), also returns (last hidden state, final logits), both detached."""
    weights = loop_weights(loops, config.supervision)
    first_with_grad = 0 if config.grad_loops is None else max(0, loops - config.grad_loops)
    for index in range(first_with_grad):  # loops without grad carry no loss: renormalise the rest
        weights[index] = 0.0
    total = sum(weights)
    weights = [w / total for w in weights]

    t_model = masked.sum(-1) / answer.sum(-1).clamp(min=1) if net_config.time_conditioning else None
    carry = {} if state is None else {"state": state, "return_state": True}
    out = model(noisy, t_model, loops=loops, all_loops=config.supervision != "final", grad_loops=config.grad_loops,
                **carry)
    per_loop, h = out if state is not None else (out, None)
    if config.supervision == "final":
        per_loop, weights = [per_loop], [1.0]
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
    carried = None if h is None else (h.detach(), per_loop[-1].detach())
    return LossOutput(loss, losses, accuracy, count, loops), carried


@dataclass
class Carry:
    """Training boards carried from one step to the next (loss.segments > 1), TRM-style.

    A row keeps its puzzle for up to `segments` steps: between steps its hidden state is
    carried (detached) and a share of its still-masked cells, the ones the model was most
    sure of, is revealed, as the sampler would commit them; so the network learns to read a
    state left by its previous step on a slightly fuller board. A row is replaced by a fresh
    board once it has run `segments` steps, has nothing left masked, or its last prediction
    of every masked cell was right (TRM's halting, decided here by the target).
    """

    target: torch.Tensor  # (B, T) long
    frozen: torch.Tensor  # (B, T) bool
    noisy: torch.Tensor  # (B, T) long, MASK where still hidden
    state: torch.Tensor  # (B, T, D) detached; zeros for a fresh row
    confidence: torch.Tensor  # (B, T) the last step's top probability per cell (detached)
    done: torch.Tensor  # (B,) bool: replace this row at the next step
    age: torch.Tensor  # (B,) long, steps this row has run


def carried_boards(carry: Carry | None, target: torch.Tensor, frozen: torch.Tensor, config: LossConfig, mask_id: int,
                   d_model: int, generator: torch.Generator | None = None) -> Carry:
    """The boards of this step: the carried rows advanced by one reveal, the finished ones
    replaced by the batch's fresh rows (target, frozen (B, T); masked as diffusion_loss does)."""
    batch = target.shape[0]
    device = target.device
    t = sample_t(batch, t_min=config.t_min, low_discrepancy=config.low_discrepancy, generator=generator,
                 device=device, power=config.t_power)
    fresh_noisy, _ = mask_tokens(target, frozen, t, mask_id, generator=generator)
    if carry is None or carry.target.shape != target.shape:  # first step, or a smaller last batch
        zeros = torch.zeros((*target.shape, d_model), device=device)
        return Carry(target, frozen, fresh_noisy, zeros, torch.zeros(target.shape, device=device),
                     torch.zeros(batch, dtype=torch.bool, device=device), torch.zeros(batch, dtype=torch.long, device=device))
    answer = ~carry.frozen & (carry.target != IGNORE)
    still = (carry.noisy == mask_id) & answer  # (B, T)
    share = torch.rand(batch, generator=generator, device=device) * config.reveal_max
    reveal_count = (share * still.sum(1)).floor().long()  # (B,)
    score = carry.confidence.masked_fill(~still, -1.0)
    rank = torch.empty_like(score, dtype=torch.long)
    rank.scatter_(1, score.argsort(1, descending=True), torch.arange(score.shape[1], device=device).expand_as(score))
    reveal = still & (rank < reveal_count[:, None])  # the most confident masked cells
    noisy = torch.where(reveal, carry.target, carry.noisy)
    left = ((noisy == mask_id) & answer).any(1)
    new = carry.done | (carry.age >= config.segments) | ~left  # (B,)
    row = new[:, None]
    return Carry(
        target=torch.where(row, target, carry.target),
        frozen=torch.where(row, frozen, carry.frozen),
        noisy=torch.where(row, fresh_noisy, noisy),
        state=carry.state.masked_fill(new[:, None, None], 0.0),
        confidence=carry.confidence,
        done=torch.zeros_like(new),
        age=carry.age.masked_fill(new, 0),
    )


def carry_loss(model: torch.nn.Module, carry: Carry | None, target: torch.Tensor, frozen: torch.Tensor,
               config: LossConfig, *, generator: torch.Generator | None = None) -> tuple[LossOutput, Carry]:
    """One training loss on carried boards (loss.segments > 1): (LossOutput, the carry for the next step)."""
    net_config = model.config if hasattr(model, "config") else model._orig_mod.config
    loops = draw_loops(net_config.loops, config.loop_sampling, generator)
    same_device = generator if generator is not None and generator.device == target.device else None
    boards = carried_boards(carry, target, frozen, config, net_config.mask_id, net_config.d_model, same_device)
    answer = ~boards.frozen & (boards.target != IGNORE)
    masked = (boards.noisy == net_config.mask_id) & answer
    t = masked.sum(-1) / answer.sum(-1).clamp(min=1)  # (B,) only for the record: masked_ce ignores it
    out, (state, logits) = _supervise(model, net_config, boards.noisy, masked, boards.target, answer, t, config, loops,
                                      state=boards.state)
    probs = logits.float().softmax(-1)
    confidence, guess = probs.max(-1)  # (B, T)
    solved = ((guess == boards.target) | ~masked).all(1)
    boards.state, boards.confidence, boards.done, boards.age = state, confidence, solved, boards.age + 1
    return out, boards
