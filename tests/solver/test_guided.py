"""Verifier-guided solving: remasking what breaks a rule fixes a corrupted answer; NFE counts every attempt."""

from __future__ import annotations

import re

from pathlib import Path

import pytest
import torch

from puzzles.countdown import parse_instance
from puzzles.sudoku import SudokuShape, parse_sudoku, verify_sudoku
from solver.codecs import CountdownCodec, SudokuCodec
from solver.guided import check_batch, offending_positions, solve_guided
from solver.sampler import SampleOptions

from .fake_models import SudokuOracle

# The oracle's retries run at argmax (retry_temperature=0) so that the remasking alone is tested.
KNOWN = Path(__file__).resolve().parents[1] / "puzzles" / "data" / "sudoku_known.txt"
CODEC = SudokuCodec(SudokuShape(3, 3))


def known_9x9() -> list[tuple[str, str]]:
    rows = [line.split() for line in KNOWN.read_text().splitlines() if line and not line.startswith("#")]
    return [(puzzle, solution) for shape, puzzle, solution in rows if shape == "3x3"]


def oracle(pairs, wrong_cell=None):
    puzzles, _, _ = CODEC.encode_batch([p for p, _ in pairs])
    solutions, _, _ = CODEC.encode_batch([s for _, s in pairs])
    blank = int((puzzles[0] == 0).nonzero()[0]) if wrong_cell is None else wrong_cell
    return SudokuOracle(puzzles, solutions, wrong_cell=blank)


def test_a_corrupted_answer_is_fixed_by_one_retry():
    pairs = known_9x9()[:1]
    model = oracle(pairs)
    options = SampleOptions(steps=6, retry_temperature=0.0)
    [failed] = solve_guided(model, CODEC, [pairs[0][0]], options, retries=0)
    assert not failed.valid and failed.retries_used == 0
    assert ": two " in failed.verdict  # e.g. "row 1: two 4s (r1c2, r1c5)"

    model = oracle(pairs)
    [fixed] = solve_guided(model, CODEC, [pairs[0][0]], options, retries=3)
    assert fixed.valid and fixed.answer == pairs[0][1]
    assert fixed.retries_used == 1 and len(fixed.attempts) == 2
    blanks = pairs[0][0].count(".")
    assert 0 < fixed.attempts[0].remasked < blanks
    assert fixed.nfe == model.row_passes() and fixed.layer_evals == model.row_layer_evals()
    assert fixed.nfe > failed.nfe
    assert not fixed.within(0).valid and fixed.within(0).nfe == failed.nfe
    assert fixed.within(1).valid and fixed.within(5).nfe == fixed.nfe


def test_retries_in_a_batch_touch_only_the_failed_rows():
    pairs = known_9x9()
    cell = next(i for i in range(81) if pairs[0][0][i] == "." and pairs[1][0][i] != ".")
    model = oracle(pairs, wrong_cell=cell)
    outcomes = solve_guided(model, CODEC, [p for p, _ in pairs], SampleOptions(steps=4, retry_temperature=0.0), retries=2)
    assert all(o.valid for o in outcomes)
    for outcome, (puzzle, solution) in zip(outcomes, pairs):
        assert outcome.answer == solution
        assert verify_sudoku(puzzle, outcome.answer).valid
    assert sum(o.nfe for o in outcomes) == model.row_passes()
    for outcome, (puzzle, _) in zip(outcomes, pairs):  # the oracle errs only where its cell is blank
        assert outcome.retries_used == (1 if puzzle[model.wrong_cell] == "." else 0)
    assert outcomes[0].retries_used == 1 and outcomes[1].retries_used == 0


def test_best_of_n_counts_every_sample():
    pairs = known_9x9()[:1]
    single = solve_guided(oracle(pairs), CODEC, [pairs[0][0]], SampleOptions(steps=3, retry_temperature=0.0))[0]
    model = oracle(pairs)
    [outcome] = solve_guided(model, CODEC, [pairs[0][0]], SampleOptions(steps=3, retry_temperature=0.0), samples=3)
    assert not outcome.valid and outcome.samples_used == 3
    assert outcome.nfe == 3 * single.nfe == model.row_passes()
    [outcome] = solve_guided(oracle(pairs), CODEC, [pairs[0][0]], SampleOptions(steps=3, retry_temperature=0.0), retries=1, samples=3)
    assert outcome.valid and outcome.samples_used == 1


def test_guided_trace_labels_each_attempt():
    pairs = known_9x9()[:1]
    [outcome] = solve_guided(oracle(pairs), CODEC, [pairs[0][0]], SampleOptions(steps=3, trace=True, retry_temperature=0.0), retries=2)
    retries = [f["retry"] for f in outcome.frames]
    assert retries == sorted(retries) and set(retries) == {0, 1}
    assert [f["nfe"] for f in outcome.frames] == sorted(f["nfe"] for f in outcome.frames)
    assert outcome.frames[-1]["nfe"] == outcome.nfe
    assert outcome.frames[-1]["tokens"] == outcome.tokens
    given = [i for i, ch in enumerate(pairs[0][0]) if ch != "."]
    assert all(f["tokens"][i] == outcome.tokens[i] for f in outcome.frames for i in given)


def test_sudoku_remask_covers_the_units_with_duplicates():
    puzzle, solution = known_9x9()[0]
    wrong = list(solution)
    cell = puzzle.index(".")  # a blank cell: (0, 2) in Wikipedia's example
    wrong[cell] = "1" if solution[cell] != "1" else "2"
    answer = "".join(wrong)
    verdict = verify_sudoku(puzzle, answer)
    tokens = CODEC.encode(answer).tokens
    frozen = CODEC.encode(puzzle).frozen
    remask = offending_positions(CODEC, verdict, tokens, frozen)
    r, c = divmod(cell, 9)  # the wrong digit repeats in the cell's row, column and box
    assert {v.kind for v in verdict.violations} == {"row", "column", "box"}
    same_unit = {i for i in range(81) if i // 9 == r or i % 9 == c or (i // 27, i % 9 // 3) == (r // 3, c // 3)}
    expected = {i for i in same_unit if not frozen[i]}
    assert set(remask.nonzero().flatten().tolist()) == expected


@pytest.mark.parametrize(
    ("answer", "first_masked"),
    [
        ("44-15=29,79-29=51", 9),  # step 2's arithmetic
        ("44-15=28,79-28=50", 0),  # step 1's arithmetic
        ("44+15=59", 0),  # a wrong value from the only step
        ("44-15=29,29+79=108", 9),  # a wrong value: the last step
        ("44-15=29,79-29=50,", 9),  # malformed at the end: the step holding the error
        ("44-15=29,79-2+9=50", 9),  # malformed inside step 2
        ("44-15=29,79=29-50", 9),
    ],
)
def test_countdown_remask_from_the_first_wrong_step(answer, first_masked):
    from puzzles.countdown import verify_countdown

    codec = CountdownCodec(3, prompt_len=12, answer_len=20)
    instance = parse_instance("44,15,79,50")
    encoded = codec.encode(instance, answer)
    verdict = verify_countdown(instance, answer)
    remask = offending_positions(codec, verdict, encoded.target, encoded.frozen)
    masked = remask.nonzero().flatten().tolist()
    assert masked == list(range(codec.prompt_len + first_masked, codec.seq_len))


def test_solve_guided_accepts_text_and_objects():
    pairs = known_9x9()[:1]
    outcomes = solve_guided(oracle(pairs), CODEC, [parse_sudoku(pairs[0][0])], SampleOptions(), retries=1)
    assert outcomes[0].valid
    with pytest.raises(ValueError):
        solve_guided(oracle(pairs), CODEC, [pairs[0][0]], retries=-1)
    assert torch.is_tensor(torch.tensor(outcomes[0].tokens))


# ----------------------------------------------------------------------------- solver.inference


def fake_shelf(monkeypatch, models: dict):
    """A stand-in `solver.checkpoint` serving the given name -> loaded-model objects."""
    import sys
    import types

    module = types.ModuleType("solver.checkpoint")
    module.list_checkpoints = lambda: sorted(models)
    requested = []

    def load(name, device="cpu"):
        requested.append((name, device))
        return models[name]

    module.load = load
    monkeypatch.setitem(sys.modules, "solver.checkpoint", module)
    return requested


def test_solve_one_gives_the_app_an_outcome_with_frames():
    from types import SimpleNamespace

    from solver.inference import solve_one

    pairs = known_9x9()[:1]
    loaded = SimpleNamespace(model=oracle(pairs), codec=CODEC, name="oracle")
    outcome = solve_one(loaded, pairs[0][0], SampleOptions(steps=5, trace=True), retries=1)
    assert outcome.valid and outcome.answer == pairs[0][1] and outcome.retries_used == 1
    assert outcome.frames and set(outcome.frames[0]) >= {"step", "loop", "retry", "tokens", "predictions", "confidence", "committed", "nfe"}
    assert outcome.frames[-1]["nfe"] == outcome.nfe


def test_solve_one_refuses_a_puzzle_of_another_size():
    from types import SimpleNamespace

    from solver.inference import InferenceError, solve_one

    loaded = SimpleNamespace(model=oracle(known_9x9()[:1]), codec=CODEC, name="nine")
    with pytest.raises(InferenceError, match="9x9 Sudoku, not 4x4"):
        solve_one(loaded, ".3....2.4....1..")


def test_solve_instances_uses_the_bundled_model_for_each_size(monkeypatch):
    from types import SimpleNamespace

    from solver.inference import InferenceError, solve_instances

    pairs = known_9x9()
    requested = fake_shelf(monkeypatch, {"sudoku9": SimpleNamespace(model=oracle(pairs), codec=CODEC, name="sudoku9")})
    puzzles = [parse_sudoku(p) for p, _ in pairs]
    args = SimpleNamespace(checkpoint=None, steps=4, loops=None, policy="top_prob", adaptive=False, retries=0,
                           samples=1, temperature=0.0, retry_temperature=0.0, seed=0, batch_size=2, device="cpu")
    answers = solve_instances("sudoku", puzzles, args)
    assert requested == [("sudoku9", "cpu")]
    cell = oracle(pairs).wrong_cell  # the oracle errs where that cell is blank: a wrong answer there
    assert [a.valid for a in answers] == [p[cell] != "." for p, _ in pairs]
    assert all(a.answer == s for a, (p, s) in zip(answers, pairs) if p[cell] != ".")
    assert all(a.answer is not None and a.answer != s for a, (p, s) in zip(answers, pairs) if p[cell] == ".")
    args.retries = 1
    assert [a.answer for a in solve_instances("sudoku", puzzles, args)] == [s for _, s in pairs]
    # a size with no bundled model is that line's error; the other lines are still solved
    mixed = solve_instances("sudoku", [parse_sudoku(".3....2.4....1.."), puzzles[0]], args)
    assert mixed[0].answer is None and re.search("no bundled model for 4x4 Sudoku .*bundled: sudoku9", mixed[0].error)
    assert mixed[1].valid and mixed[1].answer == pairs[0][1]


def test_retries_and_extra_samples_draw_at_the_retry_temperature(monkeypatch):
    """The first attempt samples at `temperature`; when that is 0 (argmax would mostly rebuild
    the rejected answer), retries and extra samples use `retry_temperature`, each with its own seed."""
    import solver.guided as guided

    seen = []
    real = guided.sample

    def recording(model, tokens, frozen, opts, **kwargs):
        seen.append((opts.temperature, opts.seed))
        return real(model, tokens, frozen, opts, **kwargs)

    monkeypatch.setattr(guided, "sample", recording)
    pairs = known_9x9()[:1]
    solve_guided(oracle(pairs), CODEC, [pairs[0][0]], SampleOptions(steps=3, retry_temperature=0.7), retries=0, samples=2)
    assert [t for t, _ in seen] == [0.0, 0.7] and seen[0][1] != seen[1][1]
    seen.clear()
    solve_guided(oracle(pairs), CODEC, [pairs[0][0]], SampleOptions(steps=3, temperature=0.3), retries=1, samples=2)
    assert {t for t, _ in seen} == {0.3}  # an explicit temperature is kept throughout


def test_check_batch_reads_puzzles_as_objects_or_as_their_token_rows():
    pairs = known_9x9()[:3]
    puzzles, _, _ = CODEC.encode_batch([p for p, _ in pairs])
    answers, _, _ = CODEC.encode_batch([s for _, s in pairs])
    answers[1, int((puzzles[1] == 0).nonzero()[0])] %= 9
    answers[1, int((puzzles[1] == 0).nonzero()[0])] += 1  # a wrong digit in the second answer
    objects = [CODEC.task_input_from_text(p) for p, _ in pairs]
    assert check_batch(CODEC, objects, answers).tolist() == check_batch(CODEC, puzzles, answers).tolist() == [True, False, True]
    countdown = CountdownCodec(3, 12, 20)
    instances = [parse_instance("44,15,79,50"), parse_instance("3,4,5,60")]
    tokens = torch.stack([countdown.encode(i, a).target.clamp(min=0) for i, a in zip(instances, ["44-15=29,79-29=50", "3*4=12,12*5=60"])])
    prompts = torch.stack([countdown.encode(i).tokens for i in instances])
    assert check_batch(countdown, prompts, tokens).tolist() == check_batch(countdown, instances, tokens).tolist() == [True, True]
