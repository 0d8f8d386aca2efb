"""The Denoiser: one transformer family for plain MDM, R-MDM and LoopMDM.

    e = embed(tokens) + positions (+ time)          begin()
    h = prelude(e)                                   once
    for l in range(loops):                           loop(), weights shared
        h = core(norm(h + loop_emb[l] + c))          c = time, or e + time with input injection
    logits = head(norm(coda(h)))                     finish(), the MASK logit is -inf

Input injection (`input_injection`, as in the Recurrent Relational Network and TRM) feeds
the embedded input back into every core pass, so the puzzle is not forgotten as the
hidden state is rewritten, and the embeddings get gradient from every pass (also under
truncated backprop). Without a loop embedding (`loop_embedding=False`) every pass is the
same function, so a model may be looped past its trained count (up to `max_loops`).

A carried state (`carry_state`, TRM's latent carried across supervision steps) starts each
denoising step from the last one's hidden state, h_0 = prelude(e) + g * s (g a learned
per-channel gate, zero at init), so the depth that
reasons about a board grows with the steps of a solve instead of restarting at every step.

Plain MDM: loops=1. R-MDM: prelude_layers = coda_layers = 0, loops > 1. LoopMDM: a prelude,
a looped core and a coda. Blocks are pre-norm, attention is bidirectional
(`scaled_dot_product_attention` without a causal mask). With `attention="peers"` (grid tasks)
a cell attends only to the 20 cells that share its row, column or box and itself: the
Recurrent Relational Network's constraint graph as an attention mask.

Grid tasks sum a row, a column and a box embedding per cell ("factored positions"): this
is what lets a small model learn Sudoku in minutes on a CPU. The Countdown step codec factors
its positions the same way (segment, field, digit place: `positions: steps`); the character
codec uses learned 1D positions.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from .positions import grid_positions, index_positions, step_positions


def shape_error(d_model: int, n_heads: int, loops: int, max_loops: int, prefix: str = "") -> str | None:
    """What is wrong with a network shape, or None; `prefix` names the fields ("model." in a preset)."""
    if d_model % n_heads:
        return f"{prefix}d_model={d_model} is not divisible by {prefix}n_heads={n_heads}"
    if max_loops < loops:
        return f"{prefix}max_loops={max_loops} is smaller than {prefix}loops={loops}"
    return None


class DenoiserConfig(BaseModel):
    """Shape of the network. vocab_size/seq_len/mask_id come from the codec, never invented."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vocab_size: int = Field(gt=1)
    seq_len: int = Field(gt=0)
    mask_id: int = Field(0, ge=0)
    d_model: int = Field(128, gt=0)
    n_heads: int = Field(4, gt=0)
    prelude_layers: int = Field(0, ge=0)
    core_layers: int = Field(2, ge=1)
    coda_layers: int = Field(0, ge=0)
    loops: int = Field(3, ge=1, description="core passes per step in training (S_max when drawn)")
    max_loops: int = Field(16, ge=1, description="the most loops inference may use (also the rows of the loop-embedding table)")
    time_conditioning: bool = Field(False, description="add an embedding of t (masked fraction) to the input of each pass")
    input_injection: bool = Field(False, description="add the embedded input (tokens + positions) to the input of every core pass")
    loop_embedding: bool = Field(True, description="a learned embedding per loop index; without it every pass is the same function")
    carry_state: bool = Field(False, description="the hidden state of one denoising step starts the next (TRM's carried "
                              "latent): h_0 = prelude(e) + g * s, g a learned gate (zero at init); needs input_injection")
    positions: Literal["grid", "sequence", "steps"] = "grid"
    attention: Literal["full", "peers"] = Field(
        "full", description="full: every position attends to all; peers (grid only): a cell attends to its row, column and box"
    )
    box_rows: int | None = Field(None, ge=1, description="grid positions: box height")
    box_cols: int | None = Field(None, ge=1, description="grid positions: box width")
    n_numbers: int | None = Field(None, ge=2, description="step positions: the Countdown numbers")
    number_digits: int | None = Field(None, ge=1, description="step positions: digit slots of a prompt number")
    value_digits: int | None = Field(None, ge=1, description="step positions: digit slots of a step's result")
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    mlp_ratio: float = Field(4.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> DenoiserConfig:
        problem = shape_error(self.d_model, self.n_heads, self.loops, self.max_loops)
        if problem:
            raise ValueError(problem)
        if self.mask_id >= self.vocab_size:
            raise ValueError(f"mask_id={self.mask_id} is outside the vocabulary of {self.vocab_size}")
        if self.positions == "grid":
            if self.box_rows is None or self.box_cols is None:
                raise ValueError("grid positions need box_rows and box_cols")
            n = self.box_rows * self.box_cols
            if n * n != self.seq_len:
                raise ValueError(f"a {n}x{n} grid has {n * n} cells, not seq_len={self.seq_len}")
        if self.carry_state and not self.input_injection:
            raise ValueError("carry_state needs input_injection: a carried state must be told the board it now reads")
        if self.attention == "peers" and self.positions != "grid":
            raise ValueError(f"attention='peers' needs grid positions (row, column, box), not positions={self.positions!r}")
        if self.positions == "steps":
            if None in (self.n_numbers, self.number_digits, self.value_digits):
                raise ValueError("step positions need n_numbers, number_digits and value_digits")
            length = (self.n_numbers + 1) * self.number_digits + (self.n_numbers - 1) * (3 + self.value_digits)
            if length != self.seq_len:
                raise ValueError(f"the step layout has {length} positions, not seq_len={self.seq_len}")
        return self

    # given by the task's codec (vocabulary, length, position layout), not chosen in a preset
    CODEC_FIELDS: ClassVar[frozenset[str]] = frozenset({"vocab_size", "seq_len", "mask_id", "positions", "box_rows", "box_cols",
                              "n_numbers", "number_digits", "value_digits"})

    @property
    def grid_size(self) -> int:
        return (self.box_rows or 0) * (self.box_cols or 0)


class Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, D), mask (T, T) bool (True: may attend) or None -> (B, T, D)."""
        B, T, D = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(B, T, D))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, d_model: int, n_heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        hidden = int(d_model * mlp_ratio)
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = Attention(d_model, n_heads, dropout)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, hidden), nn.GELU(), nn.Linear(hidden, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x), mask))
        return x + self.drop(self.mlp(self.ln2(x)))


def peer_mask(positions: dict[str, torch.Tensor]) -> torch.Tensor:
    """Constraint-graph attention (the RRN's graph): (T, T) bool, True where two cells share a row,
    a column or a box (each cell is its own peer). positions: grid ids {"row", "col", "box"}, (T,) each."""
    missing = {"row", "col", "box"} - set(positions)
    if missing:
        raise ValueError(f"peer attention needs row, column and box position ids; missing {sorted(missing)}")
    same = [positions[name].long()[:, None] == positions[name].long()[None, :] for name in ("row", "col", "box")]
    return same[0] | same[1] | same[2]


def timestep_features(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of t in [0, 1]: (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = 1000.0 * t.float()[:, None] * freqs[None]  # t is a fraction: scale to diffusion-step units
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class Denoiser(nn.Module):
    """tokens (B, T) -> logits (B, T, V); see the module docstring for the recursion."""

    def __init__(self, config: DenoiserConfig, positions: dict[str, torch.Tensor] | None = None):
        super().__init__()
        self.config = config
        c = config
        self.tok_emb = nn.Embedding(c.vocab_size, c.d_model)
        if positions is None:
            if c.positions == "grid":
                positions = grid_positions(c.box_rows, c.box_cols)
            elif c.positions == "steps":
                positions = step_positions(c.n_numbers, c.number_digits, c.value_digits)
            else:
                positions = index_positions(c.seq_len)
        self.pos_names = sorted(positions)
        self.pos_emb = nn.ModuleDict()
        for name in self.pos_names:
            ids = positions[name].long()
            if ids.shape != (c.seq_len,):
                raise ValueError(f"position ids {name!r} have shape {tuple(ids.shape)}, expected ({c.seq_len},)")
            self.register_buffer(f"pos_{name}", ids, persistent=False)  # rebuilt from the config on load
            self.pos_emb[name] = nn.Embedding(int(ids.max()) + 1, c.d_model)
        # (T, T) bool with peer attention, else None; rebuilt from the config on load
        self.register_buffer("attn_mask", peer_mask(positions) if c.attention == "peers" else None, persistent=False)
        self.time_mlp = (
            nn.Sequential(nn.Linear(c.d_model, c.d_model), nn.SiLU(), nn.Linear(c.d_model, c.d_model))
            if c.time_conditioning
            else None
        )
        self.drop = nn.Dropout(c.dropout)

        def stack(n: int) -> nn.ModuleList:
            return nn.ModuleList(Block(c.d_model, c.n_heads, c.mlp_ratio, c.dropout) for _ in range(n))

        self.prelude = stack(c.prelude_layers)
        self.core = stack(c.core_layers)
        self.coda = stack(c.coda_layers)
        self.loop_emb = nn.Embedding(c.max_loops, c.d_model) if c.loop_embedding else None
        # carry_state: a per-channel gate on the carried state, zero at init (ReZero-style), so training starts as
        # if every step were fresh; an ungated state (unit scale) drowns the embedded input (std ~0.02 at init)
        self.state_gate = nn.Parameter(torch.zeros(c.d_model)) if c.carry_state else None
        self.loop_norm = nn.LayerNorm(c.d_model)
        self.final_norm = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab_size)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    # ------------------------------------------------------------------ the three stages
    def begin(
        self, tokens: torch.Tensor, t: torch.Tensor | None = None, frozen: torch.Tensor | None = None,
        state: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Embeddings + prelude. tokens (B, T), t (B,) or None -> h (B, T, D), cond or None.

        `state` (B, T, D), the last hidden state of the previous denoising step (carry_state
        models; zeros on a fresh board), is added to the prelude's output.

        `cond` is what every core pass adds to its input: (B, 1, D) time conditioning,
        (B, T, D) with input injection, None for neither. Without t, a time-conditioned
        model uses the masked fraction of the answer positions: those not `frozen` (B, T)
        bool, as training and the sampler do; without frozen either, of the whole sequence.
        """
        e, cond = self._embed(tokens, t, frozen)
        return self._carry_in(self._prelude(e), state), cond

    def _carry_in(self, h: torch.Tensor, state: torch.Tensor | None) -> torch.Tensor:
        """h_0 = prelude(e) + gate * s for a carried state s (B, T, D); h unchanged without one."""
        if state is None:
            return h
        if self.state_gate is None:
            raise ValueError("this model was not trained with a carried state (carry_state=False)")
        return h + self.state_gate * state.to(h.dtype)

    def _embed(self, tokens, t, frozen) -> tuple[torch.Tensor, torch.Tensor | None]:
        """tokens (B, T) -> e (B, T, D) = token + positions (+ time), and cond (see begin)."""
        e = self.tok_emb(tokens)  # (B, T, D)
        for name in self.pos_names:
            e = e + self.pos_emb[name](getattr(self, f"pos_{name}"))[None]
        cond = None
        if self.time_mlp is not None:
            if t is None:
                masked = tokens == self.config.mask_id
                if frozen is None:
                    t = masked.float().mean(dim=-1)
                else:
                    t = (masked & ~frozen).sum(-1).float() / (~frozen).sum(-1).clamp_min(1).float()
            cond = self.time_mlp(timestep_features(t, self.config.d_model).to(e.dtype))[:, None]  # (B, 1, D)
            e = e + cond
        e = self.drop(e)
        if self.config.input_injection:
            cond = e  # (B, T, D): embeddings (+ time), re-added at every core pass
        return e, cond

    def _prelude(self, h: torch.Tensor) -> torch.Tensor:
        for block in self.prelude:
            h = block(h, self.attn_mask)
        return h

    def loop(self, h: torch.Tensor, cond: torch.Tensor | None, index: int) -> torch.Tensor:
        """One pass of the shared core with loop embedding `index` (0-based): (B, T, D) -> (B, T, D)."""
        if not 0 <= index < self.config.max_loops:
            raise ValueError(f"loop index {index} outside 0..{self.config.max_loops - 1} (max_loops)")
        x = h if self.loop_emb is None else h + self.loop_emb.weight[index]
        if cond is not None:
            x = x + cond  # (B, 1 or T, D)
        x = self.loop_norm(x)
        for block in self.core:
            x = block(x, self.attn_mask)
        return x

    def finish(self, h: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Coda + final norm + head: (B, T, D) -> logits (B, T, V), MASK logit -inf (never predicted)."""
        for block in self.coda:
            h = block(h, self.attn_mask)
        logits = self.head(self.final_norm(h))
        mask_col = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
        mask_col[self.config.mask_id] = True
        return logits.masked_fill(mask_col, float("-inf"))

    def forward(
        self,
        tokens: torch.Tensor,
        t: torch.Tensor | None = None,
        loops: int | None = None,
        all_loops: bool = False,
        grad_loops: int | None = None,
        frozen: torch.Tensor | None = None,
        state: torch.Tensor | None = None,
        return_state: bool = False,
    ) -> torch.Tensor | list[torch.Tensor] | tuple[torch.Tensor | list[torch.Tensor], torch.Tensor]:
        """tokens (B, T) -> logits (B, T, V), or per-loop logits (a list of `loops`) with all_loops.

        `state` (B, T, D) is a carried hidden state (see begin); with return_state the result is
        (logits, h) where h (B, T, D) is the last core pass's output, the next step's state.

        grad_loops=k runs all but the last k core passes under no_grad (TRM-style truncated
        backprop); the prelude then runs without grad too (with input injection the
        embeddings still get gradient through the passes that have it). Loops without grad still read out
        when all_loops is set, but their logits carry no gradient.
        """
        loops = self.config.loops if loops is None else loops
        if loops < 1:
            raise ValueError(f"loops must be >= 1, got {loops}")
        free = 0 if grad_loops is None else max(0, loops - grad_loops)  # passes without grad
        grad = torch.is_grad_enabled()
        # the embeddings keep grad when every pass re-adds them (injection); the prelude only without truncation
        with torch.set_grad_enabled(grad and (free == 0 or self.config.input_injection)):
            e, cond = self._embed(tokens, t, frozen)
        with torch.set_grad_enabled(grad and free == 0):
            h = self._carry_in(self._prelude(e), state)
        outputs: list[torch.Tensor] = []
        for index in range(loops):
            with torch.set_grad_enabled(grad and index >= free):
                h = self.loop(h, cond, index)
                if all_loops or index == loops - 1:
                    outputs.append(self.finish(h, cond))
        result = outputs if all_loops else outputs[-1]
        return (result, h) if return_state else result

    # ------------------------------------------------------------------ compute accounting
    def nfe_per_step(self, loops: int, readouts: int = 1) -> int:
        """Network passes for one denoising step: prelude + loops core passes + coda per readout."""
        c = self.config
        return (1 if c.prelude_layers else 0) + loops + readouts * (1 if c.coda_layers else 0)

    def layer_evals_per_step(self, loops: int, readouts: int = 1) -> int:
        c = self.config
        return c.prelude_layers + loops * c.core_layers + readouts * c.coda_layers

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
