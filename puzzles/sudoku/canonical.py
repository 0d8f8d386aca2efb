"""Sudoku symmetries: random ones for augmentation, and an exact canonical form.

The group: relabel the digits, permute rows within a band and the bands, permute columns
within a stack and the stacks, and transpose (only when boxes are square). Every member
of a class has the same solutions up to that map, so the canonical form (the
lexicographically smallest one-line string over the group, blanks first) names the class.

For a fixed placement of rows and columns the smallest relabelling is "number digits by
first appearance", so the search runs over placements only: a depth-first search that
picks output row 0, then each output column, then output rows 1.., and prunes a branch as
soon as its prefix is larger than the best grid found so far (the best grid's unknown
tail is kept as +infinity, so a smaller prefix simply replaces it). Only source rows
whose clue pattern can give the smallest first row are tried as row 0.

When every row is complete, row 0 always reads 1..n and prunes nothing, so the column
levels bound row 1 instead (`_row1_bound`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from puzzles.errors import PuzzleError

from .shape import DIGIT_CHARS, Sudoku, SudokuShape, batch_shape
from .verify import as_sudoku

_INF = 127


@dataclass(frozen=True, eq=False)
class Symmetry:
    """out = digits[transpose?(grid)[rows][:, cols]]; `digits[0]` is 0 (blanks stay blank)."""

    transpose: bool
    rows: np.ndarray  # (n,) source row of each output row
    cols: np.ndarray  # (n,) source column of each output column
    digits: np.ndarray  # (n + 1,) new label of each digit


def _block_permutation(rng: np.random.Generator, blocks: int, size: int) -> np.ndarray:
    order = rng.permutation(blocks)
    return np.concatenate([block * size + rng.permutation(size) for block in order])


def random_symmetry(shape: SudokuShape, rng: np.random.Generator) -> Symmetry:
    """A uniformly random member of the symmetry group of `shape`."""
    n = shape.n
    return Symmetry(
        transpose=bool(shape.box_rows == shape.box_cols and rng.random() < 0.5),
        rows=_block_permutation(rng, n // shape.box_rows, shape.box_rows),
        cols=_block_permutation(rng, n // shape.box_cols, shape.box_cols),
        digits=np.concatenate([[0], 1 + rng.permutation(n)]).astype(np.int8),
    )


def apply_symmetry(grid: Sudoku | np.ndarray, sym: Symmetry) -> Sudoku | np.ndarray:
    """The image of a Sudoku, an (n, n) grid or a (..., n, n) batch of grids under `sym`."""
    if isinstance(grid, Sudoku):
        if sym.transpose and grid.shape.box_rows != grid.shape.box_cols:
            raise PuzzleError(f"a {grid.shape} grid cannot be transposed")
        return Sudoku(grid.shape, apply_symmetry(grid.grid, sym))
    grid = np.asarray(grid)
    n = len(sym.rows)
    if grid.shape[-2:] != (n, n):
        raise PuzzleError(f"grid has shape {grid.shape}, the symmetry is for {n}x{n}")
    if sym.transpose:
        grid = np.swapaxes(grid, -1, -2)
    out = grid[..., sym.rows, :][..., :, sym.cols]
    return sym.digits[out].astype(grid.dtype)


@njit(cache=True, no_cpython_wrapper=True)
def _row1_bound(g, br, r0, colperm, pos, c, labels, best):
    """1 when no second row can keep a complete grid's image from exceeding `best`, else 0.

    When every row is a permutation of 1..n, row 0 always reads 1..n, so the column
    placement is judged by row 1, which comes from r0's band. Its label at output column
    k is known once the digit's column in r0 is placed; otherwise that column will be
    placed after `pos`, so the label is > pos + 1.
    """
    n = g.shape[0]
    band = r0 // br
    for r1 in range(band * br, band * br + br):
        if r1 == r0:
            continue
        can_win = True
        for k in range(pos + 1):
            label = labels[g[r1, colperm[k] if k < pos else c]]
            target = best[n + k]
            if label == 0:  # unknown, at least pos + 2
                can_win = target >= pos + 2
                break
            if label != target:
                can_win = label < target
                break
        if can_win:
            return 0
    return 1


@njit(cache=True, no_cpython_wrapper=True)
def _minimal_placement(g, br, bc, first_rows, best):
    """Lower `best` (flat n*n, +inf = _INF) to the smallest relabelled image of g (n, n)
    over row and column placements (no transpose) whose output row 0 is in `first_rows`
    (bitmask of source rows)."""
    n = g.shape[0]
    # every row a permutation of 1..n: then any first row relabels to 1..n, and row 1 decides
    complete = True
    for r in range(n):
        seen = 0
        for c in range(n):
            seen |= 1 << g[r, c]
        if seen != (1 << (n + 1)) - 2:
            complete = False
    levels = 2 * n  # row 0, columns 0..n-1, rows 1..n-1
    choice = np.full(levels, -1, dtype=np.int64)
    # First-appearance labels; the digits each level labelled, to undo on backtracking.
    labels = np.zeros(n + 1, dtype=np.int64)
    next_label = 1
    new_digits = np.zeros((levels, n), dtype=np.int64)
    new_count = np.zeros(levels, dtype=np.int64)
    colperm = np.zeros(n, dtype=np.int64)
    band_slot = np.zeros(n, dtype=np.int64)
    stack_slot = np.zeros(n, dtype=np.int64)
    row_out = np.zeros(n, dtype=np.int64)
    used_rows = 0
    used_cols = 0
    used_bands = 0
    used_stacks = 0
    level = 0
    while level >= 0:
        is_col = 1 <= level <= n
        pos = level - 1 if is_col else (0 if level == 0 else level - n)  # output col / row
        size = bc if is_col else br
        start = pos % size == 0
        # candidates: a row/column of an unused band/stack at a band/stack start, else an
        # unused one of the current band/stack
        end = n
        c = choice[level] + 1
        if not start:
            lo = (stack_slot[pos // size] if is_col else band_slot[pos // size]) * size
            end = lo + size
            c = max(c, lo)
        while c < end:
            if level == 0:
                ok = (first_rows >> c) & 1 == 1
            elif start:
                ok = ((used_stacks if is_col else used_bands) >> (c // size)) & 1 == 0
            else:
                ok = ((used_cols if is_col else used_rows) >> c) & 1 == 0
            if ok:
                for k in range(new_count[level]):  # forget the previous candidate's labels
                    labels[new_digits[level, k]] = 0
                next_label -= new_count[level]
                new_count[level] = 0
                # relabel this choice's cells (row 0 goes cell by cell at the column levels)
                first, count = 0, 0
                if is_col:
                    first, count = pos, 1
                elif level > 0:
                    first, count = pos * n, n
                for k in range(count):
                    value = g[choice[0], c] if is_col else g[c, colperm[k]]
                    if value != 0 and labels[value] == 0:
                        labels[value] = next_label
                        next_label += 1
                        new_digits[level, new_count[level]] = value
                        new_count[level] += 1
                    row_out[k] = labels[value]
                verdict = 0
                for k in range(count):
                    if row_out[k] != best[first + k]:
                        verdict = 1 if row_out[k] > best[first + k] else -1
                        break
                if verdict == 0 and is_col and complete and best[n - 1] == n:
                    verdict = _row1_bound(g, br, choice[0], colperm, pos, c, labels, best)
                if verdict <= 0:
                    if verdict < 0:
                        for k in range(count):
                            best[first + k] = row_out[k]
                        for k in range(first + count, n * n):
                            best[k] = _INF
                    break
            c += 1
        choice[level] = c
        if c >= end:
            for k in range(new_count[level]):
                labels[new_digits[level, k]] = 0
            next_label -= new_count[level]
            new_count[level] = 0
            level -= 1
            if level >= 0:  # undo the parent's marks
                c = choice[level]
                is_col = 1 <= level <= n
                pos = level - 1 if is_col else (0 if level == 0 else level - n)
                if is_col:
                    used_cols &= ~(1 << c)
                    if pos % bc == 0:
                        used_stacks &= ~(1 << (c // bc))
                else:
                    used_rows &= ~(1 << c)
                    if pos % br == 0:
                        used_bands &= ~(1 << (c // br))
            continue
        if level == levels - 1:
            continue  # a full placement; best already equals it
        if is_col:
            used_cols |= 1 << c
            colperm[pos] = c
            if start:
                used_stacks |= 1 << (c // bc)
                stack_slot[pos // bc] = c // bc
        else:
            used_rows |= 1 << c
            if start:
                used_bands |= 1 << (c // br)
                band_slot[pos // br] = c // br
        level += 1
        choice[level] = -1


@njit(cache=True, no_cpython_wrapper=True)
def _row_keys(g, bc):
    """Per row, a number that orders the smallest first rows it can give: its clue counts per
    stack, sorted ascending, read as digits (fewer clues early = more leading blanks)."""
    n = g.shape[0]
    stacks = n // bc
    keys = np.zeros(n, dtype=np.int64)
    counts = np.zeros(stacks, dtype=np.int64)
    for r in range(n):
        for s in range(stacks):
            counts[s] = 0
            for j in range(bc):
                if g[r, s * bc + j] != 0:
                    counts[s] += 1
        counts.sort()
        key = 0
        for s in range(stacks):
            key = key * (bc + 1) + counts[s]
        keys[r] = key
    return keys


@njit(cache=True)
def canonical_batch_kernel(grids, br, bc, out):
    """out[b] (flat n*n) = canonical image of grids[b] (n, n)."""
    n = grids.shape[1]
    for b in range(grids.shape[0]):
        g = grids[b]
        gt = g.T.copy()
        keys = _row_keys(g, bc)
        keys_t = _row_keys(gt, bc) if br == bc else keys
        least = min(keys.min(), keys_t.min())
        rows = 0
        rows_t = 0
        for r in range(n):
            if keys[r] == least:
                rows |= 1 << r
            if keys_t[r] == least:
                rows_t |= 1 << r
        out[b, :] = _INF
        _minimal_placement(g, br, bc, rows, out[b])
        if br == bc:
            _minimal_placement(gt, br, bc, rows_t, out[b])


def canonical_batch(grids: np.ndarray, shape: SudokuShape | None = None) -> np.ndarray:
    """Canonical images (B, n, n) int8 of (B, n, n) grids: equal exactly for equivalent grids."""
    grids = np.asarray(grids)
    shape = batch_shape(grids, shape)
    n = shape.n
    out = np.empty((len(grids), n * n), dtype=np.int8)
    # a fresh writable copy: a read-only array would make numba compile a second version
    canonical_batch_kernel(np.array(grids, dtype=np.int8, order="C"), shape.box_rows, shape.box_cols, out)
    return out.reshape(len(grids), n, n)


def canonical_form(sudoku: Sudoku | str | np.ndarray) -> str:
    """The lexicographically smallest one-line string (blanks as '.') over the symmetry class."""
    sudoku = as_sudoku(sudoku, strict=False)
    image = canonical_batch(sudoku.grid[None], sudoku.shape)[0]
    return "".join("." if v == 0 else DIGIT_CHARS[v - 1] for v in image.ravel().tolist())
