"""The verifier in the loop: Sudoku constraint masks, constraint-masked decoding, backtracking search."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from puzzles.sudoku import SudokuShape, generate_sudoku
from solver.codecs import SudokuCodec
from solver.constraints import ConstraintError, SudokuConstraint, constraint_for
from solver.guided import check_batch, solve_guided
from solver.sampler import SampleOptions, sample
from solver.search import search
from solver.trace import Tracer, row_frames

from .fake_models import FakeDenoiser

SHAPE = SudokuShape(3, 3)
CODEC = SudokuCodec(SHAPE)


def peers_of(shape: SudokuShape, cell: int) -> set[int]:
    n = shape.n
    r, c = divmod(cell, n)
    box = shape.box_of(r, c)
    return {
        q for q in range(n * n)
        if q != cell and (q // n == r or q % n == c or shape.box_of(q // n, q % n) == box)
    }


@settings(deadline=None, max_examples=80)
@given(st.sampled_from([(2, 2), (2, 3), (3, 3)]), st.data())
def test_constraint_allows_exactly_the_digits_no_peer_holds(box, data):
    shape = SudokuShape(*box)
    codec = SudokuCodec(shape)
    n = shape.n
    grid = data.draw(st.lists(st.integers(0, n), min_size=n * n, max_size=n * n))
    tokens = torch.tensor([grid])
    legal, conflict = SudokuConstraint(codec).check(tokens)
    assert legal.shape == (1, n * n, n + 1) and not legal[..., 0].any()
    for cell in range(n * n):
        held = {grid[q] for q in peers_of(shape, cell)} - {0}
        assert {v for v in range(1, n + 1) if legal[0, cell, v]} == set(range(1, n + 1)) - held
        assert bool(conflict[0, cell]) == (grid[cell] != 0 and grid[cell] in held)


def test_constraint_for_the_character_countdown_codec_says_why_not():
    from solver.codecs import CountdownCodec

    with pytest.raises(ConstraintError, match="reads characters and has none"):
        constraint_for(CountdownCodec(3, 10, 20))


def puzzle_with_a_trap(seed: int = 0):
    """A 9x9 puzzle with no blank forced by the givens alone (no 4x4 puzzle is so), its solution,
    and a (cell, digit): a wrong digit legal beside the givens, so a model most confident of it
    commits it first."""
    rng = np.random.default_rng(seed)
    while True:
        made = generate_sudoku(SHAPE, rng)
        puzzle, solution = made.puzzle.grid.ravel(), made.solution.grid.ravel()
        candidates = [9 - len({int(puzzle[q]) for q in peers_of(SHAPE, int(c))} - {0}) for c in np.flatnonzero(puzzle == 0)]
        if min(candidates) < 2:
            continue
        for cell in np.flatnonzero(puzzle == 0):
            held = {int(puzzle[q]) for q in peers_of(SHAPE, int(cell))} - {0}
            wrong = sorted(set(range(1, 10)) - held - {int(solution[cell])})
            if wrong:
                return made.puzzle, torch.tensor(puzzle, dtype=torch.long), torch.tensor(solution, dtype=torch.long), int(cell), wrong[0]


def trap_model(solution: torch.Tensor, cell: int, digit: int) -> FakeDenoiser:
    """Confident in the solution everywhere except `cell`, where it is most confident of all in `digit`."""
    wrong = solution.clone()
    wrong[cell] = digit
    sharpness = torch.ones(81)
    sharpness[cell] = 3.0
    return FakeDenoiser(vocab_size=10, seq_len=81, answer=lambda tokens: wrong.expand_as(tokens), sharpness=sharpness)


def verifier(puzzles):
    return lambda rows, answers: check_batch(CODEC, [puzzles[k] for k in rows], answers.cpu())


def test_plain_decoding_falls_into_the_trap_and_constraints_alone_do_not_escape_it():
    puzzle, tokens, solution, cell, digit = puzzle_with_a_trap()
    frozen = tokens != 0
    plain = sample(trap_model(solution, cell, digit), tokens[None], frozen[None], SampleOptions())
    assert int(plain.tokens[0, cell]) == digit
    constrained = sample(trap_model(solution, cell, digit), tokens[None], frozen[None], SampleOptions(constrain=True),
                         constraint=SudokuConstraint(CODEC))
    assert int(constrained.tokens[0, cell]) == digit  # legal when committed
    assert torch.equal(constrained.tokens[0][frozen], tokens[frozen])
    assert bool(constrained.row_dead_end[0])  # the wrong digit leaves some cell with no legal digit


@pytest.mark.parametrize("steps", [None, 3])
def test_search_backtracks_out_of_a_planted_dead_end_and_counts_nfe_exactly(steps):
    puzzle, tokens, solution, cell, digit = puzzle_with_a_trap()
    frozen = tokens != 0
    model = trap_model(solution, cell, digit)
    result = search(model, tokens[None], frozen[None], SampleOptions(search=True, steps=steps),
                    constraint=SudokuConstraint(CODEC), verify=verifier([puzzle]))
    assert result.row_status == ["solved"] and bool(result.row_solved[0])
    assert torch.equal(result.tokens[0], solution)
    assert int(result.row_backtracks[0]) >= 1
    assert int(result.row_nfe[0]) == model.row_passes()
    assert int(result.row_layer_evals[0]) == model.row_layer_evals()
    assert int(result.row_nfe[0]) == int(result.row_steps[0]) * model.nfe_per_step(model.config.loops)


def test_search_never_overwrites_a_given_and_only_commits_legal_digits():
    codec = SudokuCodec(SudokuShape(2, 2))
    rng = np.random.default_rng(3)
    puzzles = [generate_sudoku(codec.shape, rng, clues=4 + i % 3).puzzle for i in range(6)]
    tokens, frozen, _ = codec.encode_batch(puzzles)
    noisy = FakeDenoiser(vocab_size=5, seq_len=16, answer=lambda t: 1 + (t.sum(1, keepdim=True) + torch.arange(16)) % 4)
    tracer = Tracer(tokens, 5)
    result = search(noisy, tokens, frozen, SampleOptions(search=True), constraint=SudokuConstraint(codec),
                    verify=lambda rows, a: check_batch(codec, [puzzles[k] for k in rows], a.cpu()), observer=tracer)
    assert result.row_status == ["solved"] * 6
    assert torch.equal(result.tokens[frozen], tokens[frozen])
    for frame in tracer.frames:
        _, conflict = SudokuConstraint(codec).check(frame.tokens.long())
        assert not conflict.any()
        assert torch.equal(frame.tokens.long()[frozen], tokens[frozen])
    assert int(result.row_nfe.sum()) == noisy.row_passes()


def test_search_is_deterministic_and_bounded_by_its_budgets():
    puzzle, tokens, solution, cell, digit = puzzle_with_a_trap(1)
    frozen = tokens != 0
    run = lambda **kw: search(trap_model(solution, cell, digit), tokens[None], frozen[None], SampleOptions(search=True, **kw),
                              constraint=SudokuConstraint(CODEC), verify=verifier([puzzle]))
    first, again = run(), run()
    assert torch.equal(first.tokens, again.tokens) and first.row_nfe.tolist() == again.row_nfe.tolist()
    per_node = trap_model(solution, cell, digit).nfe_per_step(2)
    tight = run(search_nfe=2 * per_node)
    assert tight.row_status == ["budget"] and int(tight.row_nfe[0]) <= 2 * per_node
    assert not (tight.tokens == 0).any()  # still a complete (wrong) answer
    few = run(search_nodes=2)
    # checked before each network node: two commits (each maybe with its propagated cells), then no more
    assert few.row_status == ["budget"] and int(few.row_steps[0]) <= 2 < int(first.row_steps[0])
    assert int(few.row_nodes[0]) < int(first.row_nodes[0])


@pytest.mark.parametrize("order, box", [("uniform", (2, 2)), ("mrv", (3, 3))])
def test_baseline_orders_run_no_network_and_still_solve(order, box):
    codec = SudokuCodec(SudokuShape(*box))
    rng = np.random.default_rng(5)
    puzzles = [generate_sudoku(codec.shape, rng).puzzle for _ in range(2)]
    tokens, frozen, _ = codec.encode_batch(puzzles)
    model = FakeDenoiser(vocab_size=codec.vocab_size, seq_len=codec.seq_len)
    result = search(model, tokens, frozen, SampleOptions(search=True, search_order=order), constraint=SudokuConstraint(codec),
                    verify=lambda rows, a: check_batch(codec, [puzzles[k] for k in rows], a.cpu()))
    assert result.row_status == ["solved", "solved"] and model.row_passes() == 0 and result.nfe == 0
    assert (result.row_nodes >= (~frozen).sum(1)).all()


def test_guided_search_reports_its_mode_and_animates_its_backtracks():
    puzzle, tokens, solution, cell, digit = puzzle_with_a_trap()
    model = trap_model(solution, cell, digit)
    [outcome] = solve_guided(model, CODEC, [puzzle], SampleOptions(search=True, trace=True))
    assert outcome.valid and outcome.mode == "search" and outcome.backtracks >= 1
    assert outcome.nfe == model.row_passes()
    backtracking = [f for f in outcome.frames if f["kind"] == "backtrack"]
    assert any(f["kind"] == "propagate" and any(f["committed"]) for f in outcome.frames)
    decided = [f for f in outcome.frames if f["kind"] == "decide"]
    assert decided and all(sum(f["committed"]) == 1 for f in decided)  # each choice its own frame
    assert len(backtracking) == outcome.backtracks
    assert [f["backtracks"] for f in backtracking] == list(range(1, outcome.backtracks + 1))
    assert all(any(f["reverted"]) for f in backtracking)
    assert outcome.frames[-1]["tokens"] == solution.tolist()
    [plain] = solve_guided(model, CODEC, [puzzle], SampleOptions(constrain=True), retries=1)
    assert plain.mode == "constrained + 1 retry"


def test_row_frames_of_a_search_keep_each_rows_own_backtracks():
    puzzle, tokens, solution, cell, digit = puzzle_with_a_trap()
    frozen = tokens != 0
    batch = torch.stack([tokens, tokens]), torch.stack([frozen, frozen])
    tracer = Tracer(batch[0], 10)
    result = search(trap_model(solution, cell, digit), *batch, SampleOptions(search=True), constraint=SudokuConstraint(CODEC),
                    verify=verifier([puzzle, puzzle]), observer=tracer)
    for b in range(2):
        mine = row_frames(tracer.frames, b)
        assert sum(f["loop"] == -1 for f in mine) == int(result.row_backtracks[b])
        assert mine[-1]["tokens"] == result.tokens[b].tolist()


@pytest.mark.parametrize("branch", ["policy", "fewest"])
def test_reusing_the_revised_nodes_logits_saves_passes_and_still_solves(branch):
    puzzle, tokens, solution, cell, digit = puzzle_with_a_trap()
    frozen = tokens != 0
    results = {}
    for reuse in (False, True):
        model = trap_model(solution, cell, digit)
        results[reuse] = search(model, tokens[None], frozen[None], SampleOptions(search=True, search_branch=branch, search_reuse=reuse),
                                constraint=SudokuConstraint(CODEC), verify=verifier([puzzle]))
        assert results[reuse].row_status == ["solved"] and int(results[reuse].row_nfe[0]) == model.row_passes()
    if int(results[False].row_backtracks[0]):
        assert int(results[True].row_nfe[0]) < int(results[False].row_nfe[0])


def test_one_pass_orders_a_whole_search_with_steps_1():
    puzzle, tokens, solution, cell, digit = puzzle_with_a_trap()
    frozen = tokens != 0
    model = trap_model(solution, cell, digit)
    result = search(model, tokens[None], frozen[None], SampleOptions(search=True, steps=1), constraint=SudokuConstraint(CODEC),
                    verify=verifier([puzzle]))
    assert result.row_status == ["solved"] and int(result.row_steps[0]) == 1  # backtracks reuse that pass
    assert torch.equal(result.tokens[0], solution)


def test_rmdm_solve_search_is_ordered_by_one_pass_unless_steps_say_otherwise():
    from types import SimpleNamespace as Args

    from solver.inference import options_from_args

    options, _, _ = options_from_args(Args(search=True, search_nfe=500))
    assert options.search and options.steps == 1 and options.search_nfe == 500
    assert options_from_args(Args(search=True, steps=8))[0].steps == 8
    assert options_from_args(Args())[0].steps is None and not options_from_args(Args())[0].search


def test_constrained_decoding_fills_forced_cells_without_the_network():
    """With `propagate` (the default) a cell with one legal digit left is committed without a
    network pass: the answer is the one a pass per cell gives, in fewer passes, and every cell
    the tracer saw forced had exactly one legal digit when it was committed."""
    made = generate_sudoku(SHAPE, np.random.default_rng(3))
    tokens = torch.tensor(made.puzzle.grid.ravel(), dtype=torch.long)
    solution = torch.tensor(made.solution.grid.ravel(), dtype=torch.long)
    frozen = tokens != 0
    model = FakeDenoiser(vocab_size=10, seq_len=81, answer=lambda rows: solution.expand_as(rows))
    constraint = SudokuConstraint(CODEC)
    each = sample(model, tokens[None], frozen[None], SampleOptions(constrain=True, propagate=False), constraint=constraint)
    tracer = Tracer(tokens[None], 10)
    forced = sample(model, tokens[None], frozen[None], SampleOptions(constrain=True), constraint=constraint, observer=tracer)
    assert torch.equal(each.tokens[0], solution) and torch.equal(forced.tokens[0], solution)
    blanks = int((~frozen).sum())
    assert each.row_steps[0] == blanks
    assert 0 < int(forced.row_steps[0]) < blanks  # a solvable 9x9 puzzle always has a forced cell by the end
    frames = [f for f in row_frames(tracer.frames, 0) if f["kind"] == "propagate"]
    assert frames and sum(sum(f["committed"]) for f in frames) == blanks - int(forced.row_steps[0])
