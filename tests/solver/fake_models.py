"""Deterministic stand-ins for the Denoiser, for testing the sampler's schedule logic.

`FakeDenoiser` has the Denoiser's interface (begin / loop / finish / config /
nfe_per_step / layer_evals_per_step) without a network: the hidden state carries the
current tokens and the answer, each loop moves it halfway towards the answer (so it
converges geometrically, for adaptive loops), and the logits favour the answer with a
per-position sharpness (so unmasking policies have an order to follow). It counts every
pass it makes, row by row, so NFE accounting can be checked exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace

import torch


def position_answer(tokens: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """(N,T) -> (N,T): a fixed answer per position, never the MASK id 0."""
    positions = torch.arange(tokens.shape[1], device=tokens.device)
    return (1 + (positions * 7 + 3) % (vocab_size - 1)).expand_as(tokens)


class FakeDenoiser:
    def __init__(
        self,
        vocab_size: int = 10,
        seq_len: int = 16,
        *,
        answer: Callable[[torch.Tensor], torch.Tensor] | None = None,
        loops: int = 2,
        max_loops: int = 8,
        prelude_layers: int = 1,
        core_layers: int = 2,
        coda_layers: int = 1,
        time_conditioning: bool = False,
        rate: float = 0.5,
        sharpness: torch.Tensor | None = None,
    ):
        self.config = SimpleNamespace(
            vocab_size=vocab_size, seq_len=seq_len, mask_id=0, loops=loops, max_loops=max_loops,
            prelude_layers=prelude_layers, core_layers=core_layers, coda_layers=coda_layers,
            time_conditioning=time_conditioning,
            loop_embedding=False,  # every pass is the same function, as a model without a loop embedding
        )
        self.answer = answer or (lambda tokens: position_answer(tokens, vocab_size))
        self.rate = rate
        self.sharpness = sharpness if sharpness is not None else 1.0 + torch.arange(seq_len, dtype=torch.float32) % 5
        self.calls: Counter[str] = Counter()  # row passes per stage
        self.loop_indices: list[int] = []
        self.times: list[torch.Tensor] = []

    def parameters(self):
        return iter(())

    def begin(self, tokens: torch.Tensor, t: torch.Tensor | None = None):
        self.calls["begin"] += tokens.shape[0]
        if t is not None:
            self.times.append(t.clone())
        v = self.config.vocab_size
        state = torch.nn.functional.one_hot(tokens, v).float()
        state[..., 0] = 0.0  # MASK carries no information
        target = torch.nn.functional.one_hot(self.answer(tokens), v).float()
        return torch.cat([state, target], -1), None  # (N, T, 2V)

    def loop(self, h: torch.Tensor, cond, index: int) -> torch.Tensor:
        assert 0 <= index < self.config.max_loops
        self.calls["loop"] += h.shape[0]
        self.loop_indices.append(index)
        v = self.config.vocab_size
        state, target = h[..., :v], h[..., v:]
        return torch.cat([state + self.rate * (target - state), target], -1)

    def finish(self, h: torch.Tensor, cond=None) -> torch.Tensor:
        self.calls["finish"] += h.shape[0]
        v = self.config.vocab_size
        logits = 4.0 * self.sharpness[None, :, None] * h[..., :v]
        logits[..., 0] = float("-inf")
        return logits

    def nfe_per_step(self, loops: int, readouts: int = 1) -> int:
        c = self.config
        return (1 if c.prelude_layers else 0) + loops + readouts * (1 if c.coda_layers else 0)

    def layer_evals_per_step(self, loops: int, readouts: int = 1) -> int:
        c = self.config
        return c.prelude_layers + loops * c.core_layers + readouts * c.coda_layers

    def row_passes(self) -> int:
        """Network passes actually made, summed over rows (what the row NFEs must add up to)."""
        c = self.config
        return (self.calls["begin"] if c.prelude_layers else 0) + self.calls["loop"] + (
            self.calls["finish"] if c.coda_layers else 0
        )

    def row_layer_evals(self) -> int:
        c = self.config
        return self.calls["begin"] * c.prelude_layers + self.calls["loop"] * c.core_layers + self.calls["finish"] * c.coda_layers


def masked_batch(batch: int, seq_len: int, seed: int = 0, vocab_size: int = 10):
    """(tokens, frozen): some positions given (random digits, unlike the fake's answer), the rest MASK;
    rows have different numbers of blanks."""
    g = torch.Generator().manual_seed(seed)
    frozen = torch.rand(batch, seq_len, generator=g) < torch.linspace(0.1, 0.6, batch)[:, None]
    givens = torch.randint(1, vocab_size, (batch, seq_len), generator=g)
    tokens = torch.where(frozen, givens, torch.zeros_like(givens))
    return tokens, frozen


class SudokuOracle(FakeDenoiser):
    """Knows the solutions of the given Sudoku puzzles (token tensors), but while more than
    `context` of a row's blanks are masked it is confidently wrong at `wrong_cell`: the
    first attempt commits a mistake there, a retry with the conflicts remasked fixes it."""

    def __init__(self, puzzles: torch.Tensor, solutions: torch.Tensor, wrong_cell: int, context: float = 0.9, **kw):
        n = int(round(puzzles.shape[1] ** 0.5))
        sharpness = torch.ones(puzzles.shape[1])
        sharpness[wrong_cell] = 3.0  # the most confident cell: committed first
        super().__init__(vocab_size=n + 1, seq_len=puzzles.shape[1], answer=self._answer, sharpness=sharpness, **kw)
        self.puzzles, self.solutions = puzzles, solutions
        self.n, self.wrong_cell, self.context = n, wrong_cell, context

    def _answer(self, tokens: torch.Tensor) -> torch.Tensor:
        out = []
        for row in tokens:
            given = self.puzzles != 0
            match = ((self.puzzles == row) | ~given).all(1).nonzero()
            k = int(match[0])
            answer = self.solutions[k].clone()
            blanks = int((~given[k]).sum())
            if int((row == 0).sum()) > self.context * blanks:
                answer[self.wrong_cell] = answer[self.wrong_cell] % self.n + 1
            out.append(answer)
        return torch.stack(out)
