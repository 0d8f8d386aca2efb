"""The model path of the app's handlers, through the real sampler and guided solver, with
deterministic stand-in models (tests/solver/fake_models.py) that know or miss the answer."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from puzzles.countdown import parse_instance  # noqa: E402
from puzzles.sudoku import parse_sudoku, solve_sudoku  # noqa: E402
from rmdm.app import countdown_tab, sudoku_tab  # noqa: E402
from rmdm.app.frames import MASK, Run  # noqa: E402
from rmdm.app.models import ModelShelf  # noqa: E402
from rmdm.app.playback import SPEEDS, Limits, SolveSettings  # noqa: E402
from solver.codecs import CountdownCodec, SudokuCodec  # noqa: E402
from tests.solver.fake_models import FakeDenoiser  # noqa: E402

FOUR = "...3.1..2..11.3."
CARD = "# fake\n\n## Solve rates\n\n| steps | solved |\n|---|---|\n| 10 | 100% |\n"


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch):
    """"fast" still streams every frame of a short run, without sleeping between them."""
    monkeypatch.setitem(SPEEDS, "fast", (1e-6, 0.0))


def sudoku_shelf(knows_answer: bool) -> ModelShelf:
    puzzle = parse_sudoku(FOUR)
    codec = SudokuCodec(puzzle.shape)
    answer = codec.encode(solve_sudoku(puzzle).solution).tokens
    model = FakeDenoiser(vocab_size=5, seq_len=16, loops=3, max_loops=8,
                         answer=(lambda t: answer.expand_as(t)) if knows_answer else None)
    shelf = ModelShelf(bundled=False)
    shelf.add(SimpleNamespace(model=model, codec=codec, name="fake4", card=CARD))
    return shelf


def test_model_solves_and_every_frame_is_shown():
    updates = list(sudoku_tab.solve_model(sudoku_shelf(True), FOUR, SolveSettings(), "fast"))
    board, caption, verdict, index, run = updates[-1]
    assert "data-verdict='solved'" in verdict and "NFE" in verdict
    assert "rmdm-board solved" in board and index == len(run.frames) - 1
    assert "solving" in updates[0][2] and updates[0][3] == 0  # said at once, over the puzzle
    assert updates[0][0] == sudoku_tab.show(run, 0)[0].replace(" fresh", "") or "given" in updates[0][0]
    shown = [u[3] for u in updates[1:]]
    assert shown == sorted(shown) and set(shown) == set(range(len(run.frames)))  # each frame streamed, in order
    first = run.frames[0]
    assert first.cells == FOUR and first.guesses and all(0 <= c <= 1 for c in first.confidence)
    assert any(any(v.committed) for v in run.frames)
    # frames are per loop: step 1 shows loops 1..3 before its commit
    assert [(v.step, v.loop) for v in run.frames[:3]] == [(0, 0), (0, 1), (0, 2)]
    middle, middle_caption = sudoku_tab.show(run, 1)
    assert "masked" in middle and "loop 2/3" in middle_caption and "step 1/10" in middle_caption


def test_wrong_answer_marks_conflicts_and_each_retry_is_listed():
    settings = SolveSettings(retries=2)
    *_, (board, caption, verdict, index, run) = sudoku_tab.solve_model(sudoku_shelf(False), FOUR, settings, "instant")
    assert "data-verdict='invalid'" in verdict and "marked in red" in verdict
    assert "conflict" in board
    assert verdict.count("attempt ") == 3 and "retry 2" in caption
    ends = run.retry_ends()
    assert len(ends) == 3 and all(run.marks[e] for e in ends)
    assert {v.retry for v in run.frames} == {0, 1, 2}


def test_settings_reach_the_sampler():
    shelf = sudoku_shelf(True)
    *_, (_, _, verdict, _, run) = sudoku_tab.solve_model(shelf, FOUR, SolveSettings(steps=2, loops=5), "instant")
    assert "data-verdict='solved'" in verdict
    assert {v.step for v in run.frames} == {0, 1} and {v.loop for v in run.frames} == set(range(5))
    *_, (_, _, verdict, _, run) = sudoku_tab.solve_model(shelf, FOUR, SolveSettings(adaptive=True), "instant")
    assert "data-verdict" in verdict


def test_too_much_work_is_refused_before_running():
    shelf = sudoku_shelf(True)
    (update,) = sudoku_tab.solve_model(shelf, FOUR, SolveSettings(loops=8, retries=5), "fast", Limits(max_passes=100))
    assert "limit of 100" in update[2] and update[4] is None
    (update,) = sudoku_tab.solve_model(shelf, FOUR, SolveSettings(loops=9), "fast")
    assert "at most 8 loops" in update[2]


def countdown_shelf(knows_answer: bool) -> ModelShelf:
    codec = CountdownCodec(3, prompt_len=12, answer_len=20)
    instance = parse_instance("44,15,79,50")
    answer = codec.encode(instance, "44-15=29,79-29=50").target
    model = FakeDenoiser(vocab_size=codec.vocab_size, seq_len=codec.seq_len, loops=2,
                         answer=(lambda t: answer.clamp(min=1).expand_as(t)) if knows_answer else None)
    shelf = ModelShelf(bundled=False)
    shelf.add(SimpleNamespace(model=model, codec=codec, name="fake-cd3", card=CARD))
    return shelf


def test_countdown_answer_unmasks_and_is_checked():
    updates = list(countdown_tab.solve_model(countdown_shelf(True), "44,15,79", "50", "ml", SolveSettings(), "fast"))
    body, caption, verdict, index, run = updates[-1]
    assert "data-verdict='solved'" in verdict and "44-15=29,79-29=50" in verdict
    assert body.count("&#10003;") == 2
    assert run.frames[0].cells == MASK * 20 and len(run.frames[-1].cells) == 20
    assert "pad" in body  # the answer is shorter than the codec's answer_len


def test_countdown_wrong_answer_is_explained():
    *_, (body, caption, verdict, index, run) = countdown_tab.solve_model(
        countdown_shelf(False), "44,15,79", "50", "ml", SolveSettings(retries=1), "instant")
    assert "data-verdict='invalid'" in verdict and verdict.count("attempt ") == 2


def test_countdown_model_refuses_an_instance_it_cannot_read():
    (update,) = countdown_tab.solve_model(countdown_shelf(True), "444,155,799", "500000", "ml", SolveSettings())
    assert "cannot read" in update[2]


def test_search_undoes_a_wrong_model_and_the_app_shows_each_backtrack():
    from tests.solver.test_search import CODEC as CODEC9, puzzle_with_a_trap, trap_model

    puzzle, _, solution, cell, digit = puzzle_with_a_trap()  # a 9x9 model sure of one wrong digit
    shelf = ModelShelf(bundled=False)
    shelf.add(SimpleNamespace(model=trap_model(solution, cell, digit), codec=CODEC9, name="trap9", card=CARD))
    text = puzzle.to_line()
    *_, (_, _, plain, _, _) = sudoku_tab.solve_model(shelf, text, SolveSettings(), "instant")
    assert "data-verdict='invalid'" in plain and "plain decoding" in plain
    updates = list(sudoku_tab.solve_model(shelf, text, SolveSettings(decoding="search"), "fast"))
    board, caption, verdict, index, run = updates[-1]
    assert "data-verdict='solved'" in verdict and "search decoding" in verdict and "backtrack" in verdict
    undone = [i for i, v in enumerate(run.frames) if v.kind == "backtrack"]
    assert undone and all(any(run.frames[i].reverted) for i in undone)
    shown, shown_caption = sudoku_tab.show(run, undone[0])
    assert "reverted" in shown and "backtrack: undone" in shown_caption and "1 backtrack<" in shown_caption
    assert [run.frames[i].backtracks for i in undone] == list(range(1, len(undone) + 1))


def test_search_stays_within_the_apps_limits_and_countdown_says_why_not():
    shelf = sudoku_shelf(False)
    *_, (_, _, verdict, _, run) = sudoku_tab.solve_model(shelf, FOUR, SolveSettings(decoding="search"), "instant",
                                                         Limits(max_passes=10))
    assert run.frames[-1].nfe <= 10
    (update,) = sudoku_tab.solve_model(shelf, FOUR, SolveSettings(decoding="search", retries=1), "fast")
    assert "already backtracks" in update[2]
    (update,) = countdown_tab.solve_model(countdown_shelf(True), "44,15,79", "50", "ml", SolveSettings(decoding="constrained"))
    assert "reads characters and has none" in update[2] and update[4] is None


# ---------------------------------------------------------------- Stop (issue 16 item 12)


def test_stop_mid_run_describes_the_frozen_frame_not_the_final_verdict():
    *_, (_, _, final, _, run) = sudoku_tab.solve_model(sudoku_shelf(False), FOUR, SolveSettings(), "instant")
    assert "marked in red" in final and run.marks[len(run.frames) - 1]
    board, caption, verdict = sudoku_tab.stop(run, 4)  # the board froze on frame 4 (step 2, loop 2)
    assert (board, caption) == sudoku_tab.show(run, 4)
    left = run.frames[4].masked
    assert f"Stopped at step 2 of 10: {left} of 10 cells still masked" in verdict and "data-verdict='stopped'" in verdict
    assert "red" not in verdict and "conflict" not in board  # no claim about red cells, none drawn
    assert "Replay" in verdict  # where the verdict is
    assert sudoku_tab.stop(run, len(run.frames) - 1)[2] == final  # on the last frame the verdict fits
    board, caption, verdict = sudoku_tab.scrub(run, 4)  # dragging the slider: the verdict follows the board too
    assert (board, caption) == sudoku_tab.show(run, 4)
    assert f"Frame 5 of {len(run.frames)}, step 2 of 10: {left} of 10 cells still masked" in verdict and "red" not in verdict
    assert sudoku_tab.scrub(run, len(run.frames) - 1)[2] == final and sudoku_tab.scrub(None, 3) is None


def test_stop_on_a_rejected_attempt_names_the_red_cells_it_shows():
    *_, (_, _, _, _, run) = sudoku_tab.solve_model(sudoku_shelf(False), FOUR, SolveSettings(retries=1), "instant")
    first_end = run.retry_ends()[0]
    board, _, verdict = sudoku_tab.stop(run, first_end)
    assert "conflict" in board and "marked in red" in verdict and "attempt the verifier rejected" in verdict


def test_stop_while_the_model_works_says_it_did_not_finish():
    live = Run("sudoku", FOUR, [], shape=(2, 2))
    assert "Stopped before the model" in sudoku_tab.stop(live, 0)[2]
    *_, (_, _, _, _, run) = sudoku_tab.solve_model(sudoku_shelf(True), FOUR, SolveSettings(), "instant")
    live.frames.extend(run.frames[:5])  # what a live run holds after five frames
    _, _, verdict = sudoku_tab.stop(live, 4)
    assert "stopped before it finished" in verdict and "solve again" in verdict
    assert sudoku_tab.stop(None, 0) is None
    *_, (_, _, final, _, countdown_run) = countdown_tab.solve_model(
        countdown_shelf(False), "44,15,79", "50", "ml", SolveSettings(), "instant")
    _, _, verdict = countdown_tab.stop(countdown_run, 1)
    assert "characters still masked" in verdict and verdict != final


# ---------------------------------------------------------------- frames while the model works (issue 16 item 11)


class StuckAfterOnePass(FakeDenoiser):
    """Stops in its second core pass until the test releases it: a frame exists, the solve is unfinished."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.release = threading.Event()
        self.timed_out = False

    def loop(self, h, cond, index):
        if self.calls["loop"] >= 1 and not self.release.is_set():
            self.timed_out = not self.release.wait(30)  # a handler that waits for the whole solve fails, not hangs
        return super().loop(h, cond, index)


def stuck_shelf(task: str) -> tuple[ModelShelf, StuckAfterOnePass]:
    shelf = sudoku_shelf(True) if task == "sudoku" else countdown_shelf(True)
    loaded = shelf.get(task, 4 if task == "sudoku" else 3)
    fake = loaded.model
    stuck = StuckAfterOnePass(vocab_size=fake.config.vocab_size, seq_len=fake.config.seq_len, loops=fake.config.loops,
                              answer=fake.answer)
    shelf.add(SimpleNamespace(model=stuck, codec=loaded.codec, name=loaded.name, card=CARD))
    return shelf, stuck


def _solve(task: str, shelf: ModelShelf, speed: str = "fast"):
    if task == "sudoku":
        return sudoku_tab.solve_model(shelf, FOUR, SolveSettings(), speed)
    return countdown_tab.solve_model(shelf, "44,15,79", "50", "ml", SolveSettings(), speed)


@pytest.mark.parametrize("task", ["sudoku", "countdown"])
@pytest.mark.parametrize("speed", ["fast", "instant"])
def test_the_first_frame_shows_after_one_network_pass(task, speed):
    shelf, model = stuck_shelf(task)
    updates = _solve(task, shelf, speed)
    board, caption, verdict, index, run = next(updates)  # at once: the puzzle, and that the model works
    assert "solving" in verdict and index == 0 and not run.frames
    assert ("given" if task == "sudoku" else "rmdm-target") in board
    board, caption, verdict, index, run = next(updates)  # the first frame, while the model is stuck in pass 2
    assert not model.timed_out and not model.release.is_set() and model.calls["loop"] == 1
    assert index == 0 and len(run.frames) == 1 and "loop 1" in caption and "NFE" in caption
    assert "solving" in verdict and "step 1" in verdict and "masked" in board
    model.release.set()
    *_, (board, caption, verdict, index, run) = updates
    assert "data-verdict='solved'" in verdict and index == len(run.frames) - 1 and not model.timed_out


def test_closing_the_request_stops_the_solve():
    """Stop, a closed tab or the time limit close the handler: the worker thread stops at its next frame."""
    shelf, model = stuck_shelf("sudoku")
    updates = _solve("sudoku", shelf)
    next(updates), next(updates)
    updates.close()
    model.release.set()
    for thread in threading.enumerate():
        if thread.name == "rmdm-app-solve":
            thread.join(timeout=30)
    assert model.calls["loop"] == 2  # the pass it was stuck in, then no more (10 steps x 3 loops otherwise)


def test_a_failing_model_is_reported_by_the_request():
    shelf, model = stuck_shelf("sudoku")
    model.release.set()

    def broken(*args, **kwargs):
        raise RuntimeError("the network broke")

    model.finish = broken
    with pytest.raises(RuntimeError, match="the network broke"):  # blocks._stream shows it as a message
        list(_solve("sudoku", shelf))


@pytest.mark.parametrize("settings", [SolveSettings(retries=2), SolveSettings(adaptive=True, steps=3),
                                      SolveSettings(decoding="constrained", retries=1)])
def test_the_frames_shown_live_are_the_finished_runs(settings):
    """What the page shows while the model works is what the slider scrubs afterwards (NFE counted
    over the attempts as the finished trace counts it), so the playback goes on where the live view stopped."""
    updates = list(sudoku_tab.solve_model(sudoku_shelf(False), FOUR, settings, "fast"))
    live, run = updates[0][4], updates[-1][4]
    fields = lambda v: (v.cells, v.guesses, v.committed, v.retry, v.step, v.loop, v.nfe, v.kind)  # noqa: E731
    assert live is not run and [fields(v) for v in live.frames] == [fields(v) for v in run.frames]


def test_countdown_tab_searches_with_the_calculator_by_default_where_every_model_has_one():
    from rmdm.app.blocks import _default_decoding
    from solver.countdown_steps import CountdownStepCodec

    assert _default_decoding(countdown_shelf(True), "countdown") == "plain"  # a character model: no calculator
    steps = ModelShelf(bundled=False)
    codec = CountdownStepCodec(3)
    steps.add(SimpleNamespace(model=FakeDenoiser(vocab_size=codec.vocab_size, seq_len=codec.seq_len), codec=codec,
                              name="fake-steps3", card=CARD))
    assert _default_decoding(steps, "countdown") == "search"
    assert _default_decoding(steps, "sudoku") == "plain"


def test_stop_counts_a_step_codec_answer_in_slots():
    from solver.countdown_steps import CountdownStepCodec

    shelf = ModelShelf(bundled=False)
    codec = CountdownStepCodec(3)
    shelf.add(SimpleNamespace(model=FakeDenoiser(vocab_size=codec.vocab_size, seq_len=codec.seq_len, loops=2),
                              codec=codec, name="fake-steps3", card=CARD))
    *_, (_, _, final, _, run) = countdown_tab.solve_model(shelf, "44,15,79", "50", "ml", SolveSettings(), "instant")
    _, _, verdict = countdown_tab.stop(run, 1)
    assert "slots still masked" in verdict and "character" not in verdict
