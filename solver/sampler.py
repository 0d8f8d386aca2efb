"""The sampler: K denoising steps, each running the looped core L times, committing answer tokens.

One pure function, `sample(model, tokens, frozen, options)`, used by the evaluator, the
verifier-guided solver, the app and the tests. Per step, a row's masked positions are
predicted by prelude -> core x loops -> coda, and the planned number of them is committed
(`commit_schedule`), chosen by an unmasking policy. Given (frozen) and already committed
tokens never change. A `carry_state` model's rows start each step from their last step's
hidden state (TRM's carried latent). Compute is counted exactly: NFE = prelude + core + coda passes per
row (`model.nfe_per_step`), layer evaluations likewise, summed over the steps a row ran.

    from solver.sampler import SampleOptions, sample
    result = sample(model, tokens, frozen, SampleOptions(steps=8, loops=4, policy="top_prob"))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .options import POLICIES, Policy, SampleOptions  # noqa: F401  (re-exported: solver.sampler.SampleOptions)


@dataclass
class SampleResult:
    """`tokens` (B,T) with every answer position committed, on the input's device.

    `row_nfe`/`row_layer_evals` (B,) are per row (rows differ when their masked counts or
    adaptive loop counts do); `nfe`/`layer_evals` are the largest of them. `loops_used` is
    the mean loop count per executed step over the rows that ran it; `row_loops` (B,) the
    total loops each row ran; `row_steps` (B,) the steps each row ran; `row_dead_end` (B,),
    with a constraint, whether a row met a masked position no legal token could fill.
    """

    tokens: torch.Tensor
    nfe: int
    layer_evals: int
    loops_used: list[float]
    row_nfe: torch.Tensor
    row_layer_evals: torch.Tensor
    row_loops: torch.Tensor
    row_steps: torch.Tensor
    row_dead_end: torch.Tensor | None = None


def commit_schedule(masked_counts: torch.Tensor, steps: int | None) -> torch.Tensor:
    """(B,) masked counts -> (B, K) tokens to commit per step, each row summing to its count.

    Row b commits floor((s+1) m_b / K) - floor(s m_b / K) at step s: an even spread (the
    linear MDLM schedule), so a row with fewer masks than steps skips some steps.
    `steps=None` means K = the largest count (one token per step).
    """
    counts = masked_counts.long()
    k = int(steps) if steps is not None else max(int(counts.max()) if counts.numel() else 0, 1)
    edges = (torch.arange(k + 1, device=counts.device)[None, :] * counts[:, None]) // k  # (B, K+1)
    return edges[:, 1:] - edges[:, :-1]


def unmask_scores(
    policy: str, probs: torch.Tensor, choice: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """(N,T,V) probabilities and (N,T) chosen tokens -> (N,T) scores; highest is committed first."""
    if policy == "random":
        return torch.rand(choice.shape, generator=generator, device=choice.device)
    chosen = probs.gather(-1, choice.unsqueeze(-1)).squeeze(-1)
    if policy == "top_prob":
        return chosen
    if policy == "top_margin":
        top2 = probs.topk(2, dim=-1).values
        best_other = torch.where(chosen >= top2[..., 0], top2[..., 1], top2[..., 0])
        return chosen - best_other
    if policy == "entropy":
        return (probs * probs.clamp_min(1e-20).log()).sum(-1)  # minus the entropy
    raise ValueError(f"unknown unmasking policy {policy!r} (choose one of {', '.join(POLICIES)})")


def resolve_mask_id(model: Any, mask_id: int | None = None) -> int:
    """The MASK token id: given, else the model config's `mask_id`, else the model's."""
    for found in (mask_id, getattr(model.config, "mask_id", None), getattr(model, "mask_id", None)):
        if found is not None:
            return int(found)
    raise ValueError("the sampler needs the MASK token id: pass mask_id= (codec.mask_id)")


def _loop_bounds(config: Any) -> tuple[int, int]:
    """(trained loop count, max_loops) of a model config."""
    trained = int(getattr(config, "loops", 1) or 1)
    return trained, int(getattr(config, "max_loops", None) or trained)


def loop_plan(model: Any, options: SampleOptions) -> int:
    """Loops per step (fixed) or the cap on them (adaptive), checked against what the model
    supports: never past `config.max_loops`, and past the trained count `config.loops` only
    for a model without a loop embedding (every pass the same function) or with
    `options.untrained_loops` (to measure extrapolation): training, fixed or drawn, only ever
    uses the loop-embedding rows 0..loops-1."""
    trained, model_max = _loop_bounds(model.config)
    if options.adaptive:
        loops = options.max_loops or options.loops or trained
    else:
        loops = options.loops or trained
    if loops > model_max:
        raise ValueError(f"{loops} loops per step exceeds this model's max_loops = {model_max}")
    if loops > supported_loops(model) and not options.untrained_loops:
        raise ValueError(
            f"{loops} loops per step: this model was trained at {trained} and its loop embedding has never seen "
            f"loop {trained + 1} or later; ask for at most {trained} (`rmdm eval --untrained-loops` measures it anyway)"
        )
    return loops


def supported_loops(model: Any) -> int:
    """The most loops per step `loop_plan` accepts without `untrained_loops`."""
    trained, model_max = _loop_bounds(model.config)
    return model_max if not getattr(model.config, "loop_embedding", True) else min(trained, model_max)


def _model_device(model: Any, fallback: torch.device) -> torch.device:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return fallback


def _run_loops(model, h, cond, loops: int, options: SampleOptions, masked: torch.Tensor, readouts: bool, on_readout):
    """Core passes for one step over N rows. Returns (logits (N,T,V), loops run per row (N,), h (N,T,D)).

    Adaptive rows drop out of the batch once converged, so they cost nothing more. With
    per-loop `readouts` the coda runs after every loop (then `on_readout(index, live,
    logits)` if given) and the last readout is the step's logits; otherwise it runs once.
    """
    n = h.shape[0]
    ran = torch.zeros(n, dtype=torch.long, device=h.device)
    live = torch.arange(n, device=h.device)
    logits = previous = None
    by_predictions = options.adaptive and options.adaptive_on == "predictions"
    for index in range(loops):
        whole = live.numel() == n
        h_in = h if whole else h[live]
        c_in = None if cond is None else (cond if whole else cond[live])
        h_out = model.loop(h_in, c_in, index)
        ran[live] += 1
        converged = torch.zeros(live.numel(), dtype=torch.bool, device=h.device)
        if options.adaptive and not by_predictions:
            delta = (h_out - h_in).float().flatten(1).norm(dim=1)
            converged = delta / h_in.float().flatten(1).norm(dim=1).clamp_min(1e-12) < options.adaptive_threshold
        if whole:
            h = h_out
        else:
            h[live] = h_out
        if readouts:
            out = model.finish(h_out, c_in)
            if logits is None:
                logits = out.new_zeros((n, *out.shape[1:]))
            logits[live] = out
            if by_predictions:
                predictions = out.argmax(-1)
                if previous is not None:
                    keep = masked[live]
                    changed = ((predictions != previous[live]) & keep).sum(1).float()
                    converged = changed / keep.sum(1).clamp_min(1).float() < options.adaptive_threshold
                else:
                    previous = predictions.new_zeros(masked.shape)
                previous[live] = predictions
            if on_readout is not None:
                on_readout(index, live, out)
        if options.adaptive:
            live = live[~(converged & (ran[live] >= options.min_loops))]
            if live.numel() == 0:
                break
    if not readouts:
        logits = model.finish(h, cond)
    return logits, ran, h



def pass_cost(cost: Callable[[int, int], int], loops: torch.Tensor, readouts: torch.Tensor) -> torch.Tensor:
    """cost(loops, readouts) for (N,) int tensors: the model's per-step counts are affine in both."""
    base = int(cost(0, 0))
    return base + (int(cost(1, 0)) - base) * loops + (int(cost(0, 1)) - base) * readouts


def predict(
    model: Any,
    current: torch.Tensor,
    still: torch.Tensor,
    answer_len: torch.Tensor,
    loops: int,
    options: SampleOptions,
    on_readout: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
    readouts: bool = False,
    mask_id: int | None = None,
    state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One denoising step's network evaluation for N rows: `current` (N,T) ids, `still` (N,T)
    their masked answer positions, `answer_len` (N,) float, `state` (N,T,D) the carried hidden
    state of a carry_state model (None: a fresh start). Returns (logits (N,T,V) float with
    MASK at -inf, loops run (N,), NFE (N,), layer evaluations (N,), last hidden state (N,T,D))."""
    time_conditioned = bool(getattr(model.config, "time_conditioning", False))
    t = still.sum(1).float() / answer_len if time_conditioned else None
    h, cond = model.begin(current, t) if state is None else model.begin(current, t, state=state)
    per_loop = readouts or on_readout is not None or (options.adaptive and options.adaptive_on == "predictions")
    logits, ran, h = _run_loops(model, h, cond, loops, options, still, per_loop, on_readout)
    read = ran if per_loop else torch.ones_like(ran)
    logits = logits.float()
    logits[..., resolve_mask_id(model, mask_id)] = float("-inf")
    return logits, ran, pass_cost(model.nfe_per_step, ran, read), pass_cost(model.layer_evals_per_step, ran, read), h


class Ledger:
    """Each row's compute over a run, counted exactly: NFE, layer evaluations, loops, steps."""

    def __init__(self, batch: int, device: torch.device, carry: bool = False):
        self.carry = carry  # keep each row's last hidden state for its next step (carry_state models)
        self.state: torch.Tensor | None = None  # (B, T, D) once a step has run, zeros for rows not yet run
        self.nfe = torch.zeros(batch, dtype=torch.long, device=device)
        self.layers = torch.zeros_like(self.nfe)
        self.loops = torch.zeros_like(self.nfe)
        self.steps = torch.zeros_like(self.nfe)
        self.loops_used: list[float] = []

    def denoise(self, model, tokens, rows, still, answer_len, loops, options, step, observer=None, mask_id=None) -> torch.Tensor:
        """`predict` for batch rows `rows` (N,) of `tokens` (B,T), counted; `observer.on_loop` after
        every loop's readout when given. Returns the logits (N,T,V)."""
        on_readout = None
        if observer is not None:
            def on_readout(index, live, out):
                partial = self.nfe.clone()
                partial[rows[live]] += int(model.nfe_per_step(index + 1, index + 1))
                observer.on_loop(step, index, tokens, rows[live], out, partial)

        state = None if self.state is None else self.state[rows]
        logits, ran, nfe, layers, h = predict(model, tokens[rows], still, answer_len[rows], loops, options, on_readout,
                                              mask_id=mask_id, state=state)
        if self.carry:
            if self.state is None:
                self.state = h.new_zeros((tokens.shape[0], *h.shape[1:]))
            self.state[rows] = h
        self.nfe[rows] += nfe
        self.layers[rows] += layers
        self.loops[rows] += ran
        self.steps[rows] += 1
        self.loops_used.append(ran.float().mean().item())
        return logits

    def fields(self) -> dict[str, Any]:
        """The compute fields of a SampleResult."""
        any_rows = self.nfe.numel() > 0
        return {
            "nfe": int(self.nfe.max()) if any_rows else 0,
            "layer_evals": int(self.layers.max()) if any_rows else 0,
            "loops_used": self.loops_used,
            "row_nfe": self.nfe.cpu(),
            "row_layer_evals": self.layers.cpu(),
            "row_loops": self.loops.cpu(),
            "row_steps": self.steps.cpu(),
        }


def perturbed(logits: torch.Tensor, options: SampleOptions, generator: torch.Generator) -> torch.Tensor:
    """(N,T,V) logits as ranked: unchanged at temperature 0, else Gumbel-perturbed at `options.temperature`."""
    if options.temperature > 0:
        uniform = torch.rand(logits.shape, generator=generator, device=logits.device).clamp_(1e-20, 1.0)
        return logits / options.temperature - (-uniform.log()).log()
    return logits


def choose(logits: torch.Tensor, options: SampleOptions, generator: torch.Generator) -> torch.Tensor:
    """(N,T,V) logits -> (N,T) token per position: argmax, or Gumbel-max at `options.temperature`."""
    return perturbed(logits, options, generator).argmax(-1)


def commit_ranked(
    logits: torch.Tensor, current: torch.Tensor, still: torch.Tensor, counts: torch.Tensor, options: SampleOptions, generator
) -> torch.Tensor:
    """Commit `counts` (N,) tokens per row at once, the policy's best-ranked masked positions.
    Returns the new (N,T) tokens."""
    probs = logits.softmax(-1)
    choice = choose(logits, options, generator)
    scores = unmask_scores(options.policy, probs, choice, generator).masked_fill(~still, float("-inf"))
    order = scores.argsort(dim=1, descending=True, stable=True)
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(order.shape[1], device=order.device).expand_as(order))
    commit = (rank < counts[:, None]) & still
    return torch.where(commit, choice, current)


def commit_constrained(
    logits: torch.Tensor,
    current: torch.Tensor,
    still: torch.Tensor,
    counts: torch.Tensor,
    options: SampleOptions,
    generator,
    constraint: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Commit `counts` (N,) tokens per row one at a time, each from the step's logits with the
    tokens illegal after the commits before it at zero probability (renormalised per position),
    so no two commits of a step contradict each other. A masked position with no legal token
    left is a dead end: it keeps the model's own distribution and is ranked after every
    position that has one. Returns (new tokens (N,T), dead end (N,) bool)."""
    tokens, still = current.clone(), still.clone()
    dead = torch.zeros(tokens.shape[0], dtype=torch.bool, device=tokens.device)
    for j in range(int(counts.max()) if counts.numel() else 0):
        want = ((counts > j) & still.any(1)).nonzero().squeeze(1)  # (W,)
        if want.numel() == 0:
            break
        legal, conflict = constraint.check(tokens[want])  # (W,T,V), (W,T)
        none_legal = still[want] & ~legal.any(-1)  # (W,T)
        dead[want] |= conflict.any(1) | none_legal.any(1)
        masked_logits = logits[want].masked_fill(~(legal | none_legal[..., None]), float("-inf"))
        probs = masked_logits.softmax(-1)
        choice = choose(masked_logits, options, generator)
        scores = unmask_scores(options.policy, probs, choice, generator)
        scores = torch.where(none_legal, torch.full_like(scores, -1e30), scores).masked_fill(~still[want], float("-inf"))
        position = scores.argmax(1)  # (W,)
        tokens[want, position] = choice.gather(1, position[:, None]).squeeze(1)
        still[want, position] = False
    return tokens, dead


def propagate_forced(
    tokens: torch.Tensor, masked: torch.Tensor, rows: torch.Tensor, constraint: Any, step: int,
    nfe: torch.Tensor, observer: Any = None,
) -> torch.Tensor:
    """Commit, in place and without the network, every masked position of batch rows `rows` (N,)
    that has one legal token left, until none has; `masked` (B,T) is updated. A row at a dead end
    stops there. Returns (N,) bool: the rows at a dead end."""
    dead = torch.zeros(rows.shape[0], dtype=torch.bool, device=tokens.device)
    live = torch.arange(rows.shape[0], device=tokens.device)
    while live.numel():
        index = rows[live]
        legal, conflict = constraint.check(tokens[index])  # (L,T,V), (L,T)
        legal = legal.to(tokens.device)
        still = masked[index]
        stuck = conflict.to(tokens.device).any(1) | (still & ~legal.any(-1)).any(1)  # (L,)
        dead[live] |= stuck
        forced = still & (legal.sum(-1) == 1) & ~stuck[:, None]  # (L,T)
        moved = forced.any(1)
        if not bool(moved.any()):
            break
        tokens[index] = torch.where(forced, legal.float().argmax(-1), tokens[index])
        masked[index] = still & ~forced
        if observer is not None:
            for k in moved.nonzero().squeeze(1).tolist():
                observer.on_propagate(step, int(index[k]), tokens, forced[k], nfe)
        live = live[moved]
    return dead


@torch.no_grad()
def sample(
    model: Any,
    tokens: torch.Tensor,
    frozen: torch.Tensor,
    options: SampleOptions | None = None,
    *,
    mask_id: int | None = None,
    constraint: Any = None,
    observer: Any = None,
) -> SampleResult:
    """Fill every MASK at a non-frozen position of `tokens` (B,T); `frozen` (B,T) bool.

    Runs on the model's device; the result comes back on the device of `tokens`. With
    `options.constrain`, `constraint` (solver.constraints) masks illegal tokens before each
    commit. `observer` (e.g. solver.trace.Tracer) gets `on_loop` after every loop's readout
    and `on_commit` after every step.
    """
    options = options or SampleOptions()
    if tokens.dim() != 2 or frozen.shape != tokens.shape:
        raise ValueError(f"tokens and frozen must both be (B, T); got {tuple(tokens.shape)} and {tuple(frozen.shape)}")
    if options.constrain and constraint is None:
        raise ValueError("constrained decoding needs the task's constraint: pass constraint= (solver.constraints.constraint_for(codec))")
    out_device = tokens.device
    device = _model_device(model, tokens.device)
    mask_id = resolve_mask_id(model, mask_id)
    loops = loop_plan(model, options)
    tokens = tokens.to(device=device, dtype=torch.long).clone()
    frozen = frozen.to(device=device, dtype=torch.bool)
    masked = (tokens == mask_id) & ~frozen
    answer_len = (~frozen).sum(1).clamp_min(1).float()
    schedule = commit_schedule(masked.sum(1), options.steps)  # (B, K)
    generator = torch.Generator(device=device).manual_seed(options.seed)

    batch = tokens.shape[0]
    ledger = Ledger(batch, device, carry=bool(getattr(model.config, "carry_state", False)))
    dead = torch.zeros(batch, dtype=torch.bool, device=device)

    forcing = options.constrain and options.propagate
    if forcing:
        dead |= propagate_forced(tokens, masked, torch.arange(batch, device=device), constraint, 0, ledger.nfe, observer)

    for step in range(schedule.shape[1]):
        rows = ((schedule[:, step] > 0) & masked.any(1)).nonzero().squeeze(1)
        if rows.numel() == 0:
            continue
        current, still = tokens[rows], masked[rows]
        logits = ledger.denoise(model, tokens, rows, still, answer_len, loops, options, step, observer, mask_id)
        if options.constrain:
            new, stuck = commit_constrained(logits, current, still, schedule[rows, step], options, generator, constraint)
            dead[rows] |= stuck
        else:
            new = commit_ranked(logits, current, still, schedule[rows, step], options, generator)
        tokens[rows] = new
        masked[rows] = still & (new == mask_id)
        if observer is not None:
            committed = torch.zeros(tokens.shape, dtype=torch.bool, device=device)
            committed[rows] = still & (new != mask_id)
            observer.on_commit(step, tokens, committed, ledger.nfe)
        if forcing:
            dead[rows] |= propagate_forced(tokens, masked, rows, constraint, step, ledger.nfe, observer)

    return SampleResult(tokens=tokens.to(out_device), row_dead_end=dead.cpu(), **ledger.fields())
