"""Sudoku symmetry augmentation: every augmented (puzzle, solution) pair is still a valid Sudoku
whose solution extends its puzzle, frozen marks exactly the givens, and IGNORE stays put."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from puzzles.sudoku import SudokuShape, count_solutions, generate_sudoku, parse_sudoku, verify_batch, verify_sudoku
from solver.augment import augment_sudoku, random_cell_permutations
from solver.codecs import IGNORE, SudokuCodec


def batch(shape: SudokuShape, puzzles: int, copies: int, with_solution: bool = True):
    rng = np.random.default_rng(7)
    codec = SudokuCodec(shape)
    items = []
    for _ in range(puzzles):
        made = generate_sudoku(shape, rng)
        items.append((made.puzzle, made.solution) if with_solution else made.puzzle)
    tokens, frozen, target = codec.encode_batch(items * copies)
    return codec, tokens, frozen, target


@pytest.mark.parametrize("box", [(2, 2), (2, 3), (3, 2), (3, 3)])
def test_augmented_pairs_stay_valid_and_aligned(box):
    shape = SudokuShape(*box)
    codec, tokens, frozen, target = batch(shape, puzzles=4, copies=16)
    generator = torch.Generator().manual_seed(0)
    new_tokens, new_frozen, new_target = augment_sudoku(tokens, frozen, target, *box, generator=generator)
    assert new_tokens.shape == tokens.shape and new_frozen.dtype == torch.bool
    # a valid solution that agrees with every given of its puzzle, by the puzzle core's verifier
    assert verify_batch(codec.to_grid(new_tokens), codec.to_grid(new_target), shape).all()
    assert torch.equal(new_frozen, new_tokens != codec.mask_id)  # frozen marks exactly the givens
    assert torch.equal(new_target[new_frozen], new_tokens[new_frozen])
    assert torch.equal(new_frozen.sum(1), frozen.sum(1))  # same clue count per row
    # a few through the full verifier, and uniqueness survives (a symmetry maps solutions to solutions)
    for row in range(0, len(tokens), 13):
        puzzle = parse_sudoku(codec.decode(new_tokens[row]), shape)  # 3x2 boxes are not the default for 6x6
        solution = parse_sudoku(codec.decode(new_target[row]), shape)
        assert not verify_sudoku(puzzle, solution).violations
        if shape.n <= 6:
            assert count_solutions(puzzle, limit=2) == 1
    changed = (new_tokens != tokens).any(1).float().mean()
    assert changed > 0.9  # it really moves things (the identity would pass the checks above)


def test_ignore_targets_stay_ignore_and_follow_their_cells():
    shape = SudokuShape(2, 2)
    _, tokens, frozen, target = batch(shape, puzzles=3, copies=8, with_solution=False)
    assert (target[~frozen] == IGNORE).all()
    new_tokens, new_frozen, new_target = augment_sudoku(tokens, frozen, target, 2, 2,
                                                        generator=torch.Generator().manual_seed(1))
    assert ((new_target == IGNORE) == ~new_frozen).all()
    assert torch.equal(new_target[new_frozen], new_tokens[new_frozen])


def test_seeded_generator_repeats_and_differs_by_seed():
    _, tokens, frozen, target = batch(SudokuShape(3, 3), puzzles=2, copies=4)
    run = lambda seed: augment_sudoku(tokens, frozen, target, 3, 3, generator=torch.Generator().manual_seed(seed))
    first, again, other = run(3), run(3), run(4)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other[0])


@pytest.mark.parametrize("box", [(2, 3), (3, 3)])
def test_cell_permutations_are_permutations(box):
    index = random_cell_permutations(32, *box, generator=torch.Generator().manual_seed(2))
    n = box[0] * box[1]
    assert torch.equal(index.sort(1).values, torch.arange(n * n).expand(32, -1))
