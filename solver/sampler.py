"""The sampler: K denoising steps, each running the looped core L times, committing answer tokens.

One pure function, `sample(model, tokens, frozen, options)`, used by the evaluator, the
verifier-guided solver, the app and the tests. Per step, a row's masked positions are
predicted by prelude -> core x loops -> coda, and the planned number of them is committed
(`commit_schedule`), chosen by an unmasking policy. Given (frozen) and already committed
tokens never change. Compute is counted exactly: NFE = prelude + core + coda passes per
row (`model.nfe_per_step`), layer evaluations likewise, summed over the steps a row ran.

    from solver.sampler import SampleOptions, sample
    result = sample(model, tokens, frozen, SampleOptions(steps=8, loops=4, policy="top_prob"))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

Policy = Literal["random", "top_prob", "top_margin", "entropy"]
POLICIES: tuple[str, ...] = ("random", "top_prob", "top_margin", "entropy")


class SampleOptions(BaseModel):
    """How to sample. `steps=None`: one token per step; `loops=None`: as trained.

    With `adaptive`, a row stops looping once the change between successive loops falls
    under `adaptive_threshold`: by default the share of its masked positions whose argmax
    changed ("predictions", a readout after every loop), or the relative norm of its hidden
    state's change ("hidden"). Its loop cap is `max_loops`, else `loops`, else the trained
    loop count: a model trained at a fixed count diverges when looped further. No loop count
    may exceed the model's `config.max_loops`. (Measured in docs/RESULTS.md, scaling study:
    the hidden-state change stays above 0.25 on whole-network R-MDMs, so that criterion never
    stops them early, while "predictions" at 0.01 saved 18% of NFE at the same solve rate.)
    """

    model_config = ConfigDict(extra="forbid")

    steps: int | None = Field(None, ge=1)
    loops: int | None = Field(None, ge=1)
    policy: Policy = "top_prob"
    temperature: float = Field(0.0, ge=0.0)  # 0: argmax; > 0: Gumbel-max sampling at this temperature
    # verifier-guided retries and extra samples (solver.guided) sample at this temperature when
    # `temperature` is 0: at argmax they mostly repeat the rejected answer
    retry_temperature: float = Field(1.0, ge=0.0)
    adaptive: bool = False
    adaptive_on: Literal["hidden", "predictions"] = "predictions"
    adaptive_threshold: float = Field(0.01, ge=0.0)
    min_loops: int = Field(1, ge=1)  # adaptive rows run at least this many loops
    max_loops: int | None = Field(None, ge=1)
    seed: int = 0
    trace: bool = False


@dataclass
class Frame:
    """The state after one loop of one step, for the whole batch (CPU tensors, small dtypes).

    `tokens` (B,T) is the state before this step's commit, except in the last frame of a
    step, which shows it after; `committed` (B,T) marks the positions that frame committed.
    `predictions`/`confidence` (B,T) are the argmax and its probability (a row's latest
    readout; 1.0 at given and committed positions before any). `active` (B,) marks rows that
    ran this loop; `nfe` (B,) is each row's count of network passes so far.
    """

    step: int
    loop: int
    retry: int
    tokens: torch.Tensor
    predictions: torch.Tensor
    confidence: torch.Tensor
    committed: torch.Tensor
    active: torch.Tensor
    nfe: torch.Tensor


@dataclass
class SampleResult:
    """`tokens` (B,T) with every answer position committed, on the input's device.

    `row_nfe`/`row_layer_evals` (B,) are per row (rows differ when their masked counts or
    adaptive loop counts do); `nfe`/`layer_evals` are the largest of them. `loops_used` is
    the mean loop count per executed step over the rows that ran it; `row_loops` (B,) the
    total loops each row ran; `row_steps` (B,) the steps each row ran.
    """

    tokens: torch.Tensor
    nfe: int
    layer_evals: int
    loops_used: list[float]
    row_nfe: torch.Tensor
    row_layer_evals: torch.Tensor
    row_loops: torch.Tensor
    row_steps: torch.Tensor
    trace: list[Frame] | None = None


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


def loop_plan(model: Any, options: SampleOptions) -> int:
    """Loops per step (fixed) or the cap on them (adaptive); checked against config.max_loops."""
    config = model.config
    trained = int(getattr(config, "loops", 1) or 1)
    model_max = int(getattr(config, "max_loops", None) or trained)
    if options.adaptive:
        loops = options.max_loops or options.loops or trained
    else:
        loops = options.loops or trained
    if loops > model_max:
        raise ValueError(f"{loops} loops per step exceeds this model's max_loops = {model_max}")
    return loops


def _model_device(model: Any, fallback: torch.device) -> torch.device:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return fallback


def _per_row(fn: Callable[[int, int], int], loops: torch.Tensor, readouts: torch.Tensor) -> torch.Tensor:
    """fn(loops, readouts) for each row of two (N,) int tensors (few distinct values)."""
    out = torch.empty_like(loops)
    pairs = torch.stack([loops, readouts], 1)
    for pair in torch.unique(pairs, dim=0).tolist():
        hit = (pairs == torch.tensor(pair, device=pairs.device)).all(1)
        out[hit] = int(fn(*pair))
    return out


class _Tracer:
    """Collects frames: full-batch CPU copies, predictions kept per row between readouts."""

    def __init__(self, tokens: torch.Tensor, retry: int, vocab: int):
        self.dtype = torch.int8 if vocab <= 127 else torch.int16
        self.retry = retry
        self.predictions = tokens.cpu().to(self.dtype)
        self.confidence = torch.ones(tokens.shape, dtype=torch.float16)
        self.frames: list[Frame] = []

    def readout(self, rows: torch.Tensor, logits: torch.Tensor) -> None:
        confidence, predictions = logits.float().softmax(-1).max(-1)
        rows = rows.cpu()
        self.predictions[rows] = predictions.cpu().to(self.dtype)
        self.confidence[rows] = confidence.cpu().half()

    def frame(self, step: int, loop: int, tokens, committed, active_rows, nfe) -> None:
        active = torch.zeros(tokens.shape[0], dtype=torch.bool)
        active[active_rows.cpu()] = True
        self.frames.append(
            Frame(
                step=step,
                loop=loop,
                retry=self.retry,
                tokens=tokens.cpu().to(self.dtype),
                predictions=self.predictions.clone(),
                confidence=self.confidence.clone(),
                committed=committed.cpu().clone(),
                active=active,
                nfe=nfe.cpu().int(),
            )
        )


def _run_loops(model, h, cond, loops: int, options: SampleOptions, masked: torch.Tensor, readouts: bool, on_readout):
    """Core passes for one step over N rows. Returns (logits (N,T,V), loops run per row (N,)).

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
    return logits, ran


@torch.no_grad()
def sample(
    model: Any,
    tokens: torch.Tensor,
    frozen: torch.Tensor,
    options: SampleOptions | None = None,
    *,
    mask_id: int | None = None,
    retry: int = 0,
) -> SampleResult:
    """Fill every MASK at a non-frozen position of `tokens` (B,T); `frozen` (B,T) bool.

    Runs on the model's device; the result comes back on the device of `tokens`. `retry`
    only labels the trace frames (the verifier-guided solver sets it).
    """
    options = options or SampleOptions()
    if tokens.dim() != 2 or frozen.shape != tokens.shape:
        raise ValueError(f"tokens and frozen must both be (B, T); got {tuple(tokens.shape)} and {tuple(frozen.shape)}")
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
    time_conditioned = bool(getattr(model.config, "time_conditioning", False))
    per_loop_readouts = options.trace or (options.adaptive and options.adaptive_on == "predictions")

    batch = tokens.shape[0]
    row_nfe = torch.zeros(batch, dtype=torch.long, device=device)
    row_layers = torch.zeros_like(row_nfe)
    row_loops = torch.zeros_like(row_nfe)
    row_steps = torch.zeros_like(row_nfe)
    loops_used: list[float] = []
    vocab = int(getattr(model.config, "vocab_size", 0) or 0)
    tracer = _Tracer(tokens, retry, vocab) if options.trace else None
    no_commits = torch.zeros(tokens.shape, dtype=torch.bool)

    for step in range(schedule.shape[1]):
        rows = (schedule[:, step] > 0).nonzero().squeeze(1)
        if rows.numel() == 0:
            continue
        current, still = tokens[rows], masked[rows]
        t = still.sum(1).float() / answer_len[rows] if time_conditioned else None
        h, cond = model.begin(current, t)
        on_readout = None
        if tracer is not None:
            def on_readout(index, live, out, rows=rows):
                tracer.readout(rows[live], out)
                partial = row_nfe.clone()
                partial[rows[live]] += int(model.nfe_per_step(index + 1, index + 1))
                tracer.frame(step, index, tokens, no_commits, rows[live], partial)

        logits, ran = _run_loops(model, h, cond, loops, options, still, per_loop_readouts, on_readout)
        readouts = ran if per_loop_readouts else torch.ones_like(ran)
        row_nfe[rows] += _per_row(model.nfe_per_step, ran, readouts)
        row_layers[rows] += _per_row(model.layer_evals_per_step, ran, readouts)
        row_loops[rows] += ran
        row_steps[rows] += 1
        loops_used.append(ran.float().mean().item())

        logits = logits.float()
        logits[..., mask_id] = float("-inf")
        probs = logits.softmax(-1)
        if options.temperature > 0:
            uniform = torch.rand(logits.shape, generator=generator, device=device).clamp_(1e-20, 1.0)
            choice = (logits / options.temperature - (-uniform.log()).log()).argmax(-1)
        else:
            choice = probs.argmax(-1)
        scores = unmask_scores(options.policy, probs, choice, generator).masked_fill(~still, float("-inf"))
        order = scores.argsort(dim=1, descending=True, stable=True)
        rank = torch.empty_like(order).scatter_(1, order, torch.arange(order.shape[1], device=device).expand_as(order))
        commit = (rank < schedule[rows, step, None]) & still
        tokens[rows] = torch.where(commit, choice, current)
        masked[rows] = still & ~commit

        if tracer is not None:  # the step's last frame shows its commit
            last = tracer.frames[-1]
            committed = torch.zeros(tokens.shape, dtype=torch.bool, device=device)
            committed[rows] = commit
            last.tokens = tokens.cpu().to(tracer.dtype)
            last.committed = committed.cpu()
            last.nfe = row_nfe.cpu().int()

    return SampleResult(
        tokens=tokens.to(out_device),
        nfe=int(row_nfe.max()) if batch else 0,
        layer_evals=int(row_layers.max()) if batch else 0,
        loops_used=loops_used,
        row_nfe=row_nfe.cpu(),
        row_layer_evals=row_layers.cpu(),
        row_loops=row_loops.cpu(),
        row_steps=row_steps.cpu(),
        trace=tracer.frames if tracer is not None else None,
    )


def row_frames(frames: list[Frame], row: int) -> list[dict]:
    """One row's frames as plain dicts (step, loop, retry, tokens, predictions, confidence,
    committed as (T,) lists; nfe an int), keeping only the loops that row ran; each step's
    commit is shown in that row's last frame of the step."""
    out: list[dict] = []
    for i, frame in enumerate(frames):
        step_ends = i + 1 == len(frames) or (frames[i + 1].step, frames[i + 1].retry) != (frame.step, frame.retry)
        if not bool(frame.active[row]) and not step_ends:
            continue
        record = {
            "step": frame.step,
            "loop": frame.loop,
            "retry": frame.retry,
            "tokens": frame.tokens[row].tolist(),
            "predictions": frame.predictions[row].tolist(),
            "confidence": [round(float(c), 4) for c in frame.confidence[row]],
            "committed": frame.committed[row].tolist(),
            "nfe": int(frame.nfe[row]),
        }
        if step_ends:
            if not any(record["committed"]) and not bool(frame.active[row]):
                continue  # the row did not run this step
            if not bool(frame.active[row]) and out and (out[-1]["step"], out[-1]["retry"]) == (frame.step, frame.retry):
                record["loop"] = out.pop()["loop"]  # the row stopped looping early: its last loop commits
        out.append(record)
    return out
