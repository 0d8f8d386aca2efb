"""The app's handlers as plain functions: input checks, exact solvers, frames, rendering."""

from __future__ import annotations

import pytest

from rmdm.app import countdown_tab, render, sudoku_tab
from rmdm.app.examples import countdown_examples, sudoku_examples
from rmdm.app.frames import MASK, PAD, Run, View, pick_for_stream, views_from_trace
from rmdm.app.models import ModelShelf
from rmdm.app.playback import Limits, SolveSettings, playback

EASY9 = ".....8..53.69..82...15.2..951.7.34.68.4...1.....1.42...6741..8.425....611.8..6..."
FOUR = "...3.1..2..11.3."


def no_models() -> ModelShelf:
    return ModelShelf(bundled=False)


# ---------------------------------------------------------------- Sudoku input


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "Enter a puzzle"),
        ("123", "16, 36, 64, 81"),  # wrong length
        ("x" * 81, "unexpected character"),  # letters
        ("11" + "." * 79, "conflicts"),  # contradictory givens
        (".12.4...3.......", "no solution"),  # r1c1 can hold nothing
        ("." * 16 + "\n" + "." * 16, "grid has 2 rows"),
        ("." * 256, "up to 9x9"),
    ],
)
def test_bad_sudoku_input_is_a_message_never_an_exception(text, words):
    board, caption, verdict, index, run = sudoku_tab.solve_exact(text)
    assert words in verdict, verdict
    assert "data-verdict='error'" in verdict and run is None and index == 0
    assert "<table class='rmdm-board'" in board


def test_unsolvable_puzzle_is_refused_before_solving():
    # 4x4 where r1c1 can hold nothing: 1, 2 in its row, 4, 3 in its column
    text = ".12.4...3......."
    with pytest.raises(sudoku_tab.InputProblem, match="no solution"):
        sudoku_tab.read_puzzle(text)


def test_multi_solution_puzzle_is_flagged_but_solvable():
    checked = sudoku_tab.read_puzzle("." * 16)
    assert not checked.unique and "more than one solution" in checked.note
    board, note, size = sudoku_tab.preview("." * 16)
    assert size == 4 and "rmdm-verdict warn" in note
    *_, verdict, _, run = sudoku_tab.solve_exact("." * 16)
    assert "data-verdict='solved'" in verdict and run.solved


def test_grid_form_and_comments_are_read():
    grid = "\n".join(EASY9[i : i + 9] for i in range(0, 81, 9))
    checked = sudoku_tab.read_puzzle("# a comment\n" + grid)
    assert checked.line == EASY9 and checked.unique


def test_preview_shows_the_givens():
    board, note, size = sudoku_tab.preview(FOUR)
    assert size == 4 and "6 givens" in note and board.count("class='given") + board.count("given'") >= 6
    assert sudoku_tab.preview("   ") == (sudoku_tab.empty_board(), "", None)


@pytest.mark.parametrize("size, level", [(n, lv) for n, levels in sudoku_tab.LEVELS_FOR_SIZE.items() for lv in levels])
def test_generate_gives_a_readable_unique_puzzle_with_its_seed(size, level):
    text = sudoku_tab.generate(size, level, seed=3)
    assert f"{size}x{size}, {level}, seed 3" in text
    checked = sudoku_tab.read_puzzle(text)
    assert checked.puzzle.n == size and checked.unique
    assert sudoku_tab.generate(size, level, seed=3) == text  # the seed reproduces it


def test_generate_says_when_a_level_is_out_of_reach():
    text = sudoku_tab.generate(4, "extreme", seed=1)
    assert text.startswith("# could not generate a 4x4 extreme puzzle")
    assert "no Sudoku found" in sudoku_tab.preview(text)[1]  # a comment reads as no puzzle


def test_exact_solver_solves_and_the_run_scrubs():
    board, caption, verdict, index, run = sudoku_tab.solve_exact(EASY9)
    assert "data-verdict='solved'" in verdict and "rmdm-board solved" in board
    assert index == len(run.frames) - 1 == 1
    start, _ = sudoku_tab.show(run, 0)
    assert "filled" not in start and start.count("class='given") + start.count(" given") >= 36
    # the slider may send anything: clamp it
    assert sudoku_tab.show(run, 99) == sudoku_tab.show(run, 1)
    assert sudoku_tab.show(run, -5) == sudoku_tab.show(run, 0)
    assert sudoku_tab.show(None, 3)[0] == sudoku_tab.empty_board()


def test_model_missing_says_so_and_offers_the_exact_solver():
    updates = list(sudoku_tab.solve_model(no_models(), FOUR, SolveSettings()))
    assert len(updates) == 1
    board, caption, verdict, index, run = updates[0]
    assert "No bundled model" in verdict and "exact solver" in verdict and run is None
    assert "data-verdict='no-model'" in verdict


def test_bad_input_to_the_model_path_is_a_message():
    (update,) = sudoku_tab.solve_model(no_models(), "hello", SolveSettings())
    assert "Cannot read the puzzle" in update[2]


# ---------------------------------------------------------------- Countdown


@pytest.mark.parametrize(
    "numbers, target, words",
    [
        ("", "50", "Enter the numbers"),
        ("44,15,79", "", "Enter the target"),
        ("44,fifteen,79", "50", "not a whole number"),
        ("44,15,79", "5 0", "single number"),
        ("44,15,79", "99999999999", "not a whole number"),  # absurd
        ("44", "50", "3 to 6 numbers"),
        (",".join(["5"] * 40), "50", "3 to 6 numbers"),
        ("44,15,-79", "50", "1..1000"),
        ("1" * 500, "5", "far too long"),
    ],
)
def test_bad_countdown_input_is_a_message(numbers, target, words):
    body, caption, verdict, index, run = countdown_tab.solve_exact(numbers, target, "ml")
    assert words in verdict and run is None, verdict


def test_countdown_exact_solver_and_its_step_checks():
    body, caption, verdict, index, run = countdown_tab.solve_exact("44,15,79", "50", "ml")
    assert "data-verdict='solved'" in verdict
    assert body.count("&#10003;") == 2  # both steps check out
    assert "rmdm-target'>50<" in body
    start, _ = countdown_tab.show(run, 0)
    assert "&#10003;" not in start and "still masked" in start


@pytest.mark.parametrize("count, rules", [(3, "ml"), (4, "ml"), (6, "ml"), (4, "tv")])
def test_countdown_generate_gives_a_solvable_instance(count, rules):
    numbers, target, note = countdown_tab.generate(count, rules, seed=5)
    instance = countdown_tab.read_instance(numbers, target, rules)
    assert len(instance.numbers) == (6 if rules == "tv" else count) and "solution" in note
    *_, verdict, _, run = countdown_tab.solve_exact(numbers, target, rules)
    assert "data-verdict='solved'" in verdict


def test_countdown_unsolvable_instance_says_so():
    *_, verdict, _, run = countdown_tab.solve_exact("1,1,1", "1000", "ml")
    assert "No way to reach 1000" in verdict and run is None


def test_step_checks():
    assert countdown_tab.check_step("44-15=29") == ("ok", "")
    assert countdown_tab.check_step("44-15=30")[0] == "bad"
    assert countdown_tab.check_step("7/2=3")[0] == "bad"
    assert countdown_tab.check_step("4.-15=29")[0] == "wait"
    assert countdown_tab.check_step("44-=")[0] == "bad"
    rows = countdown_tab.step_rows("44-15=29,79-29=50" + PAD * 4, first_bad=1, error="uses 79 twice")
    assert rows == [("44-15=29", "ok", ""), ("79-29=50", "bad", "uses 79 twice")]


def test_countdown_model_missing_says_so():
    (update,) = countdown_tab.solve_model(no_models(), "44,15,79", "50", "ml", SolveSettings())
    assert "No bundled model" in update[2] and "rmdm-target" in update[0]


# ---------------------------------------------------------------- frames and playback


def test_views_from_trace_reads_dict_frames_and_picks_positions():
    chars = lambda ids: "".join(".abc"[i] for i in ids)  # noqa: E731
    frames = [
        {"step": 0, "loop": 0, "retry": 0, "tokens": [9, 0, 0], "predictions": [9, 1, 2],
         "confidence": [1.0, 0.5, 0.25], "committed": [False, False, False], "nfe": 2},
        {"step": 0, "loop": 1, "retry": 0, "tokens": [9, 1, 0], "predictions": [9, 1, 3],
         "confidence": [1.0, 0.9, 0.5], "committed": [False, True, False], "nfe": 3},
        {"step": 0, "loop": 0, "retry": 1, "tokens": [9, 1, 3], "predictions": [9, 1, 3],
         "confidence": [1.0, 1.0, 1.0], "committed": [False, False, True], "nfe": 5},
    ]
    views = views_from_trace(frames, chars, positions=[1, 2], loops=2)
    assert [v.cells for v in views] == ["..", "a.", "ac"]
    assert views[0].guesses == "ab" and views[0].confidence == (0.5, 0.25)
    assert views[1].committed == (True, False) and views[1].nfe == 3
    assert views[2].retry == 1 and views[0].steps == 1 and views[0].loops == 2
    run = Run("sudoku", "..", views)
    assert run.retry_ends() == [1, 2]


def test_pick_for_stream_keeps_the_last_frame():
    assert pick_for_stream(5, 10) == [0, 1, 2, 3, 4]
    picked = pick_for_stream(1000, 50)
    assert len(picked) <= 51 and picked[0] == 0 and picked[-1] == 999


def test_playback_ends_with_the_verdict():
    run = Run("sudoku", FOUR, [View(cells=FOUR), View(cells=FOUR)], shape=(2, 2), verdict_html="DONE")
    shown = list(playback(run, "fast", lambda i: (f"board{i}", "cap")))
    assert [u[3] for u in shown] == [0, 1] and shown[-1][2] == "DONE" and shown[0][2] != "DONE"
    assert [u[3] for u in playback(run, "instant", lambda i: ("b", "c"))] == [1]


class _Config:
    loops, max_loops = 4, 8
    loop_embedding = False  # may loop up to max_loops


class _EmbeddedConfig:
    loops, max_loops = 4, 8  # a loop embedding trained for 4 loops only


class _EmbeddedLoaded:
    class model:  # noqa: N801
        config = _EmbeddedConfig


class _Loaded:
    class model:  # noqa: N801 - stands in for loaded.model
        config = _Config


def test_limits_bound_the_work_of_one_request():
    limits = Limits(max_passes=1000, max_retries=3, max_loops=16)
    assert limits.check(SolveSettings(), 50, _Loaded) is None  # 50 steps x 4 loops
    assert "limit of 1000" in limits.check(SolveSettings(loops=8, retries=3), 50, _Loaded)
    assert "at most 8 loops" in limits.check(SolveSettings(loops=9), 50, _Loaded)
    assert "At most 3 retries" in limits.check(SolveSettings(retries=4), 50, _Loaded)
    assert "more than the 50" in limits.check(SolveSettings(steps=51), 50, _Loaded)
    assert "policy" in limits.check(SolveSettings(policy="guess"), 50, _Loaded)
    assert "negative" in limits.check(SolveSettings(steps=-1), 50, _Loaded)
    # adaptive loops are capped as fixed ones are: the loops asked for, else the trained count
    tight = Limits(max_passes=300)
    assert tight.check(SolveSettings(), 50, _Loaded) is None  # 50 x 4
    assert tight.check(SolveSettings(adaptive=True), 50, _Loaded) is None
    assert "50 steps x 8 loops" in tight.check(SolveSettings(adaptive=True, loops=8), 50, _Loaded)
    # a loop embedding's untrained rows are not offered (issue 13, item 3)
    assert limits.loop_cap(_EmbeddedLoaded) == 4 and limits.loop_cap(_Loaded) == 8
    assert "at most 4 loops" in limits.check(SolveSettings(loops=5), 50, _EmbeddedLoaded)


# ---------------------------------------------------------------- rendering and examples


def test_board_marks_guesses_commits_and_conflicts():
    view = View(cells="1" + MASK * 15, guesses="12" + MASK * 14, confidence=(1.0, 0.8) + (0.0,) * 14,
                committed=(True,) + (False,) * 15)
    html = render.sudoku_board(MASK * 16, 2, 2, view, conflicts={0})
    assert "filled fresh conflict" in html and "guess 2, p=0.80" in html


def test_user_text_is_escaped():
    assert "<script>" not in render.verdict_box("bad", "<script>alert(1)</script>", ["<b>"])
    assert "&lt;script&gt;" in render.caption(View(cells="..", label="<script>"))


def test_shipped_examples_are_all_readable():
    for label, text in sudoku_examples().items():
        checked = sudoku_tab.read_puzzle(text)
        assert checked.unique, label
    for label, (numbers, target, rules) in countdown_examples().items():
        *_, verdict, _, run = countdown_tab.solve_exact(numbers, target, rules)
        assert run is not None and "data-verdict='solved'" in verdict, label


# ---------------------------------------------------------------- issue 16 item 12: what the page shows


@pytest.mark.parametrize("text", ["11" + "." * 14, "1...\n1...\n....\n...."])  # a row clash; a column clash, grid form
def test_conflicting_clues_are_drawn_with_the_clash_in_red(text):
    board, note, size = sudoku_tab.preview(text)
    assert size is None and "conflicts" in note and "marked in red" in note
    assert board.count("given conflict") == 2 and board.count(">1</td>") == 2  # both clues drawn, both red
    for update in (sudoku_tab.solve_exact(text), *sudoku_tab.solve_model(no_models(), text, SolveSettings())):
        board, _, verdict, _, run = update
        assert "conflicts" in verdict and "marked in red" in verdict and run is None
        assert board.count("given conflict") == 2


def test_an_unsolvable_puzzle_keeps_its_clues_on_the_board():
    text = ".12.4...3......."  # no clue clashes, but r1c1 can hold nothing
    board, note, _ = sudoku_tab.preview(text)
    assert "no solution" in note and board.count("given") == 4 and "conflict" not in board


def test_the_size_radio_follows_the_puzzle_shown():
    examples = sudoku_examples()
    four = next(label for label in examples if label.startswith("4x4"))
    assert sudoku_tab.follow_text(no_models(), examples[four])[2] == 4
    six = sudoku_tab.generate(6, "easy", seed=1)
    board, note, size = sudoku_tab.follow_text(no_models(), six)
    assert size == 6 and "No bundled model solves 6x6" in note and "data-n='6'" in board
    assert sudoku_tab.follow_text(no_models(), EASY9)[2] == 9
    for text in ("", "11" + "." * 14, "." * 64):  # nothing, a clash, an 8x8 (not a size the radio offers)
        assert sudoku_tab.follow_text(no_models(), text)[2] is None


@pytest.mark.parametrize("numbers, count", [("44, 15, 79", 3), ("1 2 3 4 5 6", 6), ("58,11,80,83", 4),
                                            ("44", None), ("1,2,3,4,5,6,7", None), ("44,x,79", None), ("", None)])
def test_the_count_radio_follows_the_numbers_typed(numbers, count):
    assert countdown_tab.count_of(numbers) == count


def test_countdown_strip_marks_what_the_calculator_computed():
    """Positions a propagate frame commits (the calculator's results) stay marked as computed
    until they are undone, and are drawn apart from the model's own commits."""
    from rmdm.app import render
    from rmdm.app.frames import views_from_trace

    def frame(tokens, committed, kind="loop", step=0):
        return {"tokens": tokens, "predictions": tokens, "confidence": [1.0] * 4, "committed": committed,
                "step": step, "loop": 0, "retry": 0, "nfe": 1, "kind": kind}

    chars = lambda ids: "".join("." if i == 0 else str(i) for i in ids)  # noqa: E731
    frames = [frame([5, 0, 0, 0], [True, False, False, False]),
              frame([5, 7, 0, 0], [False, True, False, False], "propagate"),
              frame([5, 7, 3, 0], [False, False, True, False], step=1),
              frame([5, 0, 0, 0], [False, False, False, False], "backtrack", step=2)]
    views = views_from_trace(frames, chars)
    assert [v.computed for v in views] == [(), (False, True, False, False), (False, True, False, False), ()]
    strip = render.countdown_strip(views[2])
    assert strip.count("class='computed'") == 1 and strip.count("class='fresh'") == 1
    assert "computed: the calculator" in render.caption(views[1], forced="computed: the calculator")
