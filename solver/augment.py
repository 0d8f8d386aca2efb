"""Sudoku symmetry augmentation on token tensors, batched, in torch.

Every grid has (n!) * (bands! * rows-per-band!^bands) * (stacks! * cols-per-stack!^stacks)
(* 2 for square boxes) equivalent grids: relabel the digits, permute bands and the rows
inside each band, permute stacks and the columns inside each stack, transpose. Applying
one random symmetry per row to tokens, frozen and target keeps every (puzzle, solution)
pair valid and multiplies the data for free.
"""

from __future__ import annotations

from typing import Any

import torch


def _randperms(shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    """Independent random permutations of range(shape[-1]), one per leading index: argsort of uniform keys."""
    return torch.rand(shape, generator=generator).argsort(dim=-1)


def _block_permutations(batch: int, blocks: int, size: int, generator: torch.Generator | None) -> torch.Tensor:
    """(B, blocks*size) line orders that move whole blocks and lines within blocks."""
    order = _randperms((batch, blocks), generator)  # (B, blocks) which block goes where
    inner = _randperms((batch, blocks, size), generator)  # (B, blocks, size) lines inside each block
    return (order[:, :, None] * size + inner).reshape(batch, blocks * size)


def random_cell_permutations(batch: int, box_rows: int, box_cols: int, generator: torch.Generator | None = None,
                             transpose: bool = True) -> torch.Tensor:
    """(B, T) indices of random grid symmetries (new_cells = old_cells[perm]), digits unchanged."""
    n = box_rows * box_cols
    rows = _block_permutations(batch, n // box_rows, box_rows, generator)  # bands of box_rows rows
    cols = _block_permutations(batch, n // box_cols, box_cols, generator)  # stacks of box_cols columns
    index = rows[:, :, None] * n + cols[:, None, :]  # (B, n, n)
    if transpose and box_rows == box_cols:
        flip = torch.rand(batch, generator=generator) < 0.5
        index = torch.where(flip[:, None, None], index.transpose(1, 2), index)
    return index.reshape(batch, n * n)


def random_digit_permutations(batch: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, n+1) lookup tables: 0 (MASK) stays 0, digits 1..n are relabelled."""
    return torch.cat([torch.zeros(batch, 1, dtype=torch.long), _randperms((batch, n), generator) + 1], dim=1)


def augment_sudoku(tokens: torch.Tensor, frozen: torch.Tensor, target: torch.Tensor, box_rows: int, box_cols: int,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One random symmetry per row of tokens/frozen/target (B, T); returns the three (B, T) tensors."""
    n = box_rows * box_cols
    B = tokens.shape[0]
    cells = random_cell_permutations(B, box_rows, box_cols, generator).to(tokens.device)  # (B, T)
    digits = random_digit_permutations(B, n, generator).to(tokens.device)  # (B, n+1)

    def relabel(ids: torch.Tensor) -> torch.Tensor:
        moved = ids.gather(1, cells)
        known = (moved >= 0) & (moved <= n)
        return torch.where(known, digits.gather(1, moved.clamp(0, n)), moved)

    return relabel(tokens), frozen.gather(1, cells), relabel(target)  # IGNORE (-100) stays IGNORE


def augment_countdown_steps(tokens: torch.Tensor, frozen: torch.Tensor, target: torch.Tensor, codec: Any,
                            generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The step codec's symmetries, one random draw per row: the order of the instance's numbers
    (their prompt fields move, the references n1..nN follow) and the order of the two operands
    of each + and * step. Every (instance, answer) pair stays valid. (B, T) tensors in and out."""
    from .countdown_steps import OP0, REF0

    batch, n, width = tokens.shape[0], codec.n_numbers, codec.number_digits
    perm = _randperms((batch, n), generator)  # (B, N): new field i holds old field perm[i]
    inverse = perm.argsort(dim=-1)  # (B, N): old number j is now number inverse[j]
    source = torch.arange(codec.seq_len).repeat(batch, 1)  # (B, T) where each position's token comes from
    place = torch.arange(width)
    source[:, : n * width] = (perm[:, :, None] * width + place).reshape(batch, n * width)
    starts = torch.tensor([codec.step_start(k) for k in range(codec.n_steps)])  # (S,)
    ops = target[:, starts + 1]  # (B, S) the reference answer's operators
    swap = ((ops == OP0) | (ops == OP0 + 2)) & (torch.rand(ops.shape, generator=generator) < 0.5)  # (B, S)
    a_pos, b_pos = starts[None].expand_as(swap), (starts + 2)[None].expand_as(swap)
    source.scatter_(1, a_pos, torch.where(swap, b_pos, a_pos))
    source.scatter_(1, b_pos, torch.where(swap, a_pos, b_pos))
    ref_map = torch.arange(codec.vocab_size).repeat(batch, 1)  # (B, V) token relabelling
    ref_map[:, REF0 : REF0 + n] = REF0 + inverse

    def move(ids: torch.Tensor) -> torch.Tensor:
        ids = ids.gather(1, source)
        known = ids >= 0  # -100 (unknown target) stays
        return torch.where(known, ref_map.gather(1, ids.clamp_min(0)), ids)

    return move(tokens), frozen.gather(1, source), move(target)
