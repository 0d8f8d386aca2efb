"""Sudoku symmetry augmentation on token tensors, batched, in torch.

Every grid has (n!) * (bands! * rows-per-band!^bands) * (stacks! * cols-per-stack!^stacks)
(* 2 for square boxes) equivalent grids: relabel the digits, permute bands and the rows
inside each band, permute stacks and the columns inside each stack, transpose. Applying
one random symmetry per row to tokens, frozen and target keeps every (puzzle, solution)
pair valid and multiplies the data for free.

Every random draw and every index is made on the batch's device with the generator given
(which must live on that device: a CUDA batch takes a CUDA generator), so a GPU batch is
augmented where it is, in a few kernels, without a host round trip. On the CPU the draws
are those of earlier versions; a CUDA generator draws other numbers from the same
distribution (deterministic for its seed).
"""

from __future__ import annotations

from typing import Any

import torch


Device = torch.device | str | None


def _device(generator: torch.Generator | None, device: Device) -> torch.device:
    """Where draws are made: `device`, else the generator's, else the CPU."""
    if device is not None:
        return torch.device(device)
    return generator.device if generator is not None else torch.device("cpu")


def _rand(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    return torch.rand(shape, generator=generator, device=device)


def _randperms(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Independent random permutations of range(shape[-1]), one per leading index: argsort of uniform keys."""
    return _rand(shape, generator, device).argsort(dim=-1)


def _block_permutations(batch: int, blocks: int, size: int, generator: torch.Generator | None,
                        device: torch.device) -> torch.Tensor:
    """(B, blocks*size) line orders that move whole blocks and lines within blocks."""
    order = _randperms((batch, blocks), generator, device)  # (B, blocks) which block goes where
    inner = _randperms((batch, blocks, size), generator, device)  # (B, blocks, size) lines inside each block
    return (order[:, :, None] * size + inner).reshape(batch, blocks * size)


def random_cell_permutations(batch: int, box_rows: int, box_cols: int, generator: torch.Generator | None = None,
                             transpose: bool = True, device: Device = None) -> torch.Tensor:
    """(B, T) indices of random grid symmetries (new_cells = old_cells[perm]), digits unchanged."""
    device = _device(generator, device)
    n = box_rows * box_cols
    rows = _block_permutations(batch, n // box_rows, box_rows, generator, device)  # bands of box_rows rows
    cols = _block_permutations(batch, n // box_cols, box_cols, generator, device)  # stacks of box_cols columns
    index = rows[:, :, None] * n + cols[:, None, :]  # (B, n, n)
    if transpose and box_rows == box_cols:
        flip = _rand((batch,), generator, device) < 0.5
        index = torch.where(flip[:, None, None], index.transpose(1, 2), index)
    return index.reshape(batch, n * n)


def random_digit_permutations(batch: int, n: int, generator: torch.Generator | None = None,
                              device: Device = None) -> torch.Tensor:
    """(B, n+1) lookup tables: 0 (MASK) stays 0, digits 1..n are relabelled."""
    device = _device(generator, device)
    return torch.cat([torch.zeros(batch, 1, dtype=torch.long, device=device),
                      _randperms((batch, n), generator, device) + 1], dim=1)


def augment_sudoku(tokens: torch.Tensor, frozen: torch.Tensor, target: torch.Tensor, box_rows: int, box_cols: int,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One random symmetry per row of tokens/frozen/target (B, T); returns the three (B, T) tensors.
    Drawn and applied on the tokens' device (`generator`, when given, must be on it)."""
    n = box_rows * box_cols
    B = tokens.shape[0]
    cells = random_cell_permutations(B, box_rows, box_cols, generator, device=tokens.device)  # (B, T)
    digits = random_digit_permutations(B, n, generator, device=tokens.device)  # (B, n+1)

    def relabel(ids: torch.Tensor) -> torch.Tensor:
        moved = ids.gather(1, cells)
        known = (moved >= 0) & (moved <= n)
        return torch.where(known, digits.gather(1, moved.clamp(0, n)), moved)

    return relabel(tokens), frozen.gather(1, cells), relabel(target)  # IGNORE (-100) stays IGNORE


def augment_countdown_steps(tokens: torch.Tensor, frozen: torch.Tensor, target: torch.Tensor, codec: Any,
                            generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The step codec's symmetries, one random draw per row: the order of the instance's numbers
    (their prompt fields move, the references n1..nN follow) and the order of the two operands
    of each + and * step. Every (instance, answer) pair stays valid. (B, T) tensors in and out,
    drawn and applied on the tokens' device (`generator`, when given, must be on it)."""
    from .countdown_steps import OP0, REF0

    batch, n, width, device = tokens.shape[0], codec.n_numbers, codec.number_digits, tokens.device
    perm = _randperms((batch, n), generator, device)  # (B, N): new field i holds old field perm[i]
    inverse = perm.argsort(dim=-1)  # (B, N): old number j is now number inverse[j]
    source = torch.arange(codec.seq_len, device=device).repeat(batch, 1)  # (B, T) where each position's token comes from
    place = torch.arange(width, device=device)
    source[:, : n * width] = (perm[:, :, None] * width + place).reshape(batch, n * width)
    starts = codec.step_start(0) + codec.step_len * torch.arange(codec.n_steps, device=device)  # (S,)
    ops = target[:, starts + 1]  # (B, S) the reference answer's operators
    swap = ((ops == OP0) | (ops == OP0 + 2)) & (_rand(ops.shape, generator, device) < 0.5)  # (B, S)
    a_pos, b_pos = starts[None].expand_as(swap), (starts + 2)[None].expand_as(swap)
    source.scatter_(1, a_pos, torch.where(swap, b_pos, a_pos))
    source.scatter_(1, b_pos, torch.where(swap, a_pos, b_pos))
    ref_map = torch.arange(codec.vocab_size, device=device).repeat(batch, 1)  # (B, V) token relabelling
    ref_map[:, REF0 : REF0 + n] = REF0 + inverse

    def move(ids: torch.Tensor) -> torch.Tensor:
        ids = ids.gather(1, source)
        known = ids >= 0  # -100 (unknown target) stays
        return torch.where(known, ref_map.gather(1, ids.clamp_min(0)), ids)

    return move(tokens), frozen.gather(1, source), move(target)
