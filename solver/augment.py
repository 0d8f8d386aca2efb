"""Sudoku symmetry augmentation on token tensors, batched, in torch.

Every grid has (n!) * (bands! * rows-per-band!^bands) * (stacks! * cols-per-stack!^stacks)
(* 2 for square boxes) equivalent grids: relabel the digits, permute bands and the rows
inside each band, permute stacks and the columns inside each stack, transpose. Applying
one random symmetry per row to tokens, frozen and target keeps every (puzzle, solution)
pair valid and multiplies the data for free.
"""

from __future__ import annotations

import torch

from .codecs import IGNORE


def _block_permutation(blocks: int, size: int, generator: torch.Generator | None) -> torch.Tensor:
    """A permutation of blocks*size lines that moves whole blocks and lines within blocks: (blocks*size,)."""
    order = torch.randperm(blocks, generator=generator)
    inner = [torch.randperm(size, generator=generator) for _ in range(blocks)]
    return torch.cat([order[b] * size + inner[b] for b in range(blocks)])


def random_cell_permutation(box_rows: int, box_cols: int, generator: torch.Generator | None = None,
                            transpose: bool = True) -> torch.Tensor:
    """new_cells = old_cells[perm]: a (T,) index of a random grid symmetry (no digit change)."""
    n = box_rows * box_cols
    rows = _block_permutation(n // box_rows, box_rows, generator)  # bands of box_rows rows
    cols = _block_permutation(n // box_cols, box_cols, generator)  # stacks of box_cols columns
    index = torch.arange(n * n).view(n, n)[rows][:, cols]
    if transpose and box_rows == box_cols and bool(torch.randint(2, (1,), generator=generator)):
        index = index.T
    return index.reshape(-1)


def random_digit_permutation(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A (n+1,) lookup table: 0 (MASK) stays 0, digits 1..n are relabelled."""
    return torch.cat([torch.zeros(1, dtype=torch.long), torch.randperm(n, generator=generator) + 1])


def augment_sudoku(tokens: torch.Tensor, frozen: torch.Tensor, target: torch.Tensor, box_rows: int, box_cols: int,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One random symmetry per row of tokens/frozen/target (B, T); returns the three (B, T) tensors."""
    n = box_rows * box_cols
    B = tokens.shape[0]
    cells = torch.stack([random_cell_permutation(box_rows, box_cols, generator) for _ in range(B)])  # (B, T)
    digits = torch.stack([random_digit_permutation(n, generator) for _ in range(B)])  # (B, n+1)
    cells, digits = cells.to(tokens.device), digits.to(tokens.device)

    def relabel(ids: torch.Tensor) -> torch.Tensor:
        moved = ids.gather(1, cells)
        known = moved.clamp(0, n)
        return torch.where((moved >= 0) & (moved <= n), digits.gather(1, known), moved)

    return relabel(tokens), frozen.gather(1, cells), relabel(target)  # IGNORE (-100) stays IGNORE
