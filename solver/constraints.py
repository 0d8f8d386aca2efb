"""Task constraints for decoding: which tokens are legal at each position of a partial answer.

A constraint is one small object per task with one method,

    legal, conflict = constraint.check(tokens)   # (B,T) ids -> (B,T,V) bool, (B,T) bool

`legal[b, t, v]`: token v may be placed at position t given the tokens already placed in row
b (MASK is never legal); `conflict[b, t]`: the token placed at t already breaks a rule. The
sampler's constraint-masked decoding (`SampleOptions.constrain`) gives illegal tokens zero
probability before the unmasking policy ranks positions, and the search (`solver.search`)
backtracks from a dead end: a masked position with no legal token, or a conflict.

Sudoku: a digit placed in a cell's row, column or box (its 20 peers on 9x9) is not legal
there. Countdown (the step codec, `solver.countdown_steps`, ml rules): the calculator
constraint, `CalculatorConstraint`; the character codec has none, and `constraint_for` says so.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch


class Constraint(Protocol):
    def check(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


class SudokuConstraint:
    """Row, column and box uniqueness on a SudokuCodec's tokens (MASK 0, digit d = id d)."""

    def __init__(self, codec: Any):
        from puzzles.sudoku.shape import unit_tables

        _, peers = unit_tables(codec.shape)  # (T, P) flat indices of each cell's peers
        t = codec.seq_len
        matrix = np.zeros((t, t), dtype=np.float32)
        matrix[np.repeat(np.arange(t), peers.shape[1]), peers.ravel()] = 1.0
        self.peers = torch.from_numpy(matrix)  # (T,T) 1 where two cells share a unit
        self.vocab_size = codec.vocab_size
        self.mask_id = codec.mask_id

    def check(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,T) ids -> legal (B,T,V), conflict (B,T)."""
        placed = torch.nn.functional.one_hot(tokens.long(), self.vocab_size).float()  # (B,T,V)
        placed[..., self.mask_id] = 0.0
        peers = self.peers.to(tokens.device)
        seen = torch.einsum("st,btv->bsv", peers, placed) > 0  # (B,T,V) digit v is in a peer of s
        legal = ~seen
        legal[..., self.mask_id] = False
        conflict = (seen & (placed > 0)).any(-1)  # (B,T) the placed digit is also in a peer
        return legal, conflict


class ConstraintError(ValueError):
    """The task has no decoding constraint."""


def constraint_for(codec: Any) -> Constraint:
    """The decoding constraint of a codec's task; ConstraintError where there is none."""
    if getattr(codec, "task", None) == "sudoku":
        return SudokuConstraint(codec)
    if getattr(codec, "format", None) == "steps":
        if codec.rules != "ml":
            raise ConstraintError(f"the calculator constraint knows the ml rules only; this model plays {codec.rules}")
        from .calculator import CalculatorConstraint

        return CalculatorConstraint(codec)
    raise ConstraintError(
        "constraint-masked decoding and search need a model with a decoding constraint: Sudoku, or Countdown "
        "with the step codec; this Countdown model reads characters and has none"
    )


def dead_ends(legal: torch.Tensor, conflict: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
    """(B,) bool: rows with a conflict, or a masked position that no token can fill."""
    return conflict.any(1) | (masked & ~legal.any(-1)).any(1)
