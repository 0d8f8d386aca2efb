"""The page's wiring (issue 16 item 12), checked on the built Blocks without a server or a
browser: each event's inputs and outputs, and its function called as Gradio would call it."""

from __future__ import annotations

import pytest

gr = pytest.importorskip("gradio")

from rmdm.app import blocks, sudoku_tab  # noqa: E402
from rmdm.app.examples import countdown_examples, sudoku_examples  # noqa: E402
from rmdm.app.models import ModelShelf  # noqa: E402

FOUR = "...3.1..2..11.3."


@pytest.fixture(scope="module")
def demo():
    return blocks.build_demo(ModelShelf(bundled=False))


def _name(block) -> str:
    if isinstance(block, gr.State):
        return "State"
    return str(getattr(block, "label", None) or getattr(block, "elem_id", None) or getattr(block, "value", ""))


def events(demo, source: str, event: str, tab: str | None = None) -> list:
    """The event listeners on the component named `source` (label, elem_id or button text);
    `tab` ("sudoku" / "countdown") picks one of two same-named components by its outputs."""
    found = []
    for fn in demo.fns.values():
        if fn.fn is None:
            continue
        for block_id, name in fn.targets:
            if name == event and block_id in demo.blocks and _name(demo.blocks[block_id]) == source:
                if tab is None or any(_name(o).startswith(tab) for o in fn.outputs) or not fn.outputs:
                    found.append(fn)
    return found


def outputs(fn) -> list[str]:
    return [_name(block) for block in fn.outputs]


def is_skip(value) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and "value" not in value


def test_picking_an_example_sets_the_size_radio(demo):
    (pick,) = events(demo, "Or pick an example", "input", "Puzzle")
    label = next(label for label in sudoku_examples() if label.startswith("4x4"))
    text = pick.fn(label)
    (follow,) = events(demo, "Puzzle", "change")
    assert outputs(follow) == ["sudoku", "sudoku-note", "Size"]
    board, note, size = follow.fn(text)
    assert size == 4 and "data-n='4'" in board
    assert is_skip(follow.fn("")[2])  # nothing to follow: the radio stays


def test_generating_or_typing_clears_the_example(demo):
    for source, event in (("Generate a puzzle", "click"), ("Puzzle", "input"), ("Generate an instance", "click"),
                          ("Numbers", "input"), ("Target", "input")):
        clear = [fn for fn in events(demo, source, event) if outputs(fn) == ["Or pick an example"]]
        assert len(clear) == 1, (source, event)
        assert clear[0].fn() is None  # no example named


def test_the_count_radio_follows_the_numbers(demo):
    (follow,) = events(demo, "Numbers", "change")
    assert outputs(follow) == ["How many numbers"]
    numbers, target, rules = next(iter(countdown_examples().values()))
    assert follow.fn(numbers) == len(numbers.split(","))
    assert follow.fn("1, 2, 3, 4, 5, 6") == 6
    assert is_skip(follow.fn("1,2,3,4,5,6,7")) and is_skip(follow.fn("44, x"))


def test_stop_draws_the_frame_it_describes(demo):
    (stop,) = events(demo, "Stop", "click", "sudoku")
    assert outputs(stop) == ["sudoku", "sudoku-caption", "sudoku-verdict"]
    assert [_name(b) for b in stop.inputs] == ["State", "Frame: drag to scrub through the run"]
    assert all(is_skip(x) for x in stop.fn(None, 0))  # nothing solved yet: nothing changes
    *_, run = sudoku_tab.solve_exact(FOUR)
    board, caption, verdict = stop.fn(run, 0)
    assert "Stopped at frame 1 of 2 (puzzle): 10 of 10 cells still masked" in verdict and "filled" not in board
    assert stop.fn(run, 1)[2] == run.verdict_html  # on the last frame: the run's own verdict
    (scrub,) = events(demo, "Frame: drag to scrub through the run", "input", "sudoku")
    assert outputs(scrub) == ["sudoku", "sudoku-caption", "sudoku-verdict"]
    assert "Frame 1 of 2 (puzzle)" in scrub.fn(run, 0)[2] and scrub.fn(run, 1)[2] == run.verdict_html


def test_about_shows_the_headline_and_the_cards_collapsed(demo):
    (load,) = [fn for fn in demo.fns.values() if outputs(fn) == ["about", "about-cards"]]
    about, cards = load.fn()
    assert "No bundled model" in about and cards == "No model is loaded."  # this shelf is empty
    markdown = next(b for b in demo.blocks.values() if _name(b) == "about-cards")
    accordion = next(b for b in demo.blocks.values() if isinstance(b, gr.Accordion) and b.label == "Full model cards")
    assert accordion.open is False and markdown in accordion.children
