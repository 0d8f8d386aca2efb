"""The app with real checkpoints on disk: a tiny untrained Denoiser saved and loaded back,
a broken checkpoint that must not take the app down, and the bundled ones if any."""

from __future__ import annotations

import json
import shutil

import pytest

torch = pytest.importorskip("torch")

from puzzles.sudoku import SudokuShape  # noqa: E402
from rmdm.app import sudoku_tab  # noqa: E402
from rmdm.app.models import NO_SOLVE_RATES, ModelShelf, about_text, cards_text, headline  # noqa: E402
from rmdm.app.playback import SolveSettings  # noqa: E402
from solver.checkpoint import (  # noqa: E402
    CARD as CARD_FILE,
    SOLVE_RATES,
    SOLVE_RATES_HEADING,
    bundled_dir,
    list_checkpoints,
    read_solve_rates,
    save_checkpoint,
    solve_rates_markdown,
)
from solver.codecs import SudokuCodec  # noqa: E402
from solver.model import Denoiser, DenoiserConfig  # noqa: E402

FOUR = "...3.1..2..11.3."
CARD = "# tiny4\n\nUntrained.\n\n## Solve rates\n\n| steps | loops | solved |\n|---|---|---|\n| 10 | 2 | 0% |\n"
RATES = {"machine": "a test", "sets": [{"set": "four puzzles", "command": "rmdm eval --checkpoint tiny4", "rows": [
    {"retries": 0, "solved": 1, "puzzles": 4, "solve_rate": 0.25, "ci_low": 0.05, "ci_high": 0.7, "mean_nfe": 12.0,
     "by_group": {"easy": {"solved": 1, "puzzles": 2, "solve_rate": 0.5}, "hard": {"solved": 0, "puzzles": 2, "solve_rate": 0.0}}},
]}]}


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    codec = SudokuCodec(SudokuShape(2, 2))
    config = DenoiserConfig(vocab_size=codec.vocab_size, seq_len=codec.seq_len, d_model=32, n_heads=2,
                            core_layers=1, loops=2, max_loops=4, box_rows=2, box_cols=2)
    torch.manual_seed(0)
    model = Denoiser(config, positions=codec.positions())
    directory = tmp_path_factory.mktemp("ckpt") / "tiny4"
    save_checkpoint(directory, model, codec, {"note": "test"}, CARD)
    (directory / SOLVE_RATES).write_text(json.dumps(RATES))
    return directory


def test_a_saved_checkpoint_serves_the_app(tiny_checkpoint, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    shelf = ModelShelf(extra=[str(tiny_checkpoint), str(broken)], bundled=False)
    info = shelf.info("sudoku", 4)
    assert info is not None and info.name == "tiny4" and info.loops == 2 and info.max_loops == 4
    assert info.parameters > 1000 and "Solve rates" in info.card
    assert any("broken" in problem for problem in shelf.problems)
    *_, (board, caption, verdict, index, run) = sudoku_tab.solve_model(shelf, FOUR, SolveSettings(), "instant")
    assert "data-verdict='solved'" in verdict or "data-verdict='invalid'" in verdict
    assert run.frames and run.frames[0].guesses and len(run.frames[-1].cells) == 16
    assert "." not in run.frames[-1].cells  # every cell committed
    (update,) = sudoku_tab.solve_model(shelf, FOUR, SolveSettings(loops=3), "instant")
    assert "at most 2 loops" in update[2]  # trained at 2: the loop embedding's rows 3 and 4 never trained


def test_about_panel_shows_headline_figures_and_points_to_the_full_card(tiny_checkpoint, tmp_path):
    """Issue 16 item 12: a short table (model, parameters, per set the plain rate and the best
    decoding's), then where the full card is; the card itself sits in a collapsed accordion."""
    shelf = ModelShelf(extra=[str(tiny_checkpoint)], bundled=False)
    text = about_text(shelf)
    assert "| **tiny4** (4x4 Sudoku) |" in text and "| four puzzles | 25.0% (1/4) | 25.0% (1/4): plain |" in text
    assert f"`{tiny_checkpoint / CARD_FILE}`" in text and "Full model cards" in text
    assert "## Solve rates" not in text and "By difficulty level" not in text  # the details stay in the card
    cards = cards_text(shelf)
    assert "### tiny4" in cards and "Untrained." in cards  # the card, its headings two levels down
    assert "| four puzzles | 0 | 1/4 | 25.0% [5.0%, 70.0%] | 12.0 |" in cards  # its measured rows, from the JSON
    assert "could be loaded" in about_text(ModelShelf(bundled=False))
    bare = shutil.copytree(tiny_checkpoint, tmp_path / "bare")
    (bare / SOLVE_RATES).unlink()
    assert NO_SOLVE_RATES in about_text(ModelShelf(extra=[str(bare)], bundled=False))
    (bare / SOLVE_RATES).write_text("{not json")
    text = about_text(ModelShelf(extra=[str(bare)], bundled=False))
    assert "could not be read" in text and "not valid JSON" in text and "**bare**" in text  # the model still serves


def test_headline_takes_the_plain_row_and_the_best_of_every_decoding():
    row = {"retries": 0, "solved": 3, "puzzles": 10, "solve_rate": 0.3, "ci_low": 0.1, "ci_high": 0.6, "mean_nfe": 9.0}
    rates = {"machine": "m", "sets": [{"set": "s", "command": "c", "rows": [
        row, {**row, "retries": 4, "solved": 4, "solve_rate": 0.4},
        {**row, "decoding": "constrained", "samples": 8, "solved": 9, "solve_rate": 0.9},
        {**row, "decoding": "search", "solved": 6, "solve_rate": 0.6}]}]}
    assert headline(rates) == [("s", "30.0% (3/10)", "90.0% (9/10): constrained + best of 8")]
    only_search = {"machine": "m", "sets": [{"set": "t", "command": "c", "rows": [{**row, "decoding": "search"}]}]}
    assert headline(only_search) == [("t", "not measured", "30.0% (3/10): search")]


@pytest.mark.skipif(not list_checkpoints(), reason="no bundled checkpoint in this checkout")
def test_the_about_panel_is_short_for_the_bundled_models():
    shelf = ModelShelf()
    text = about_text(shelf)
    sets = sum(len((read_solve_rates(bundled_dir() / name) or {}).get("sets", [])) for name in list_checkpoints())
    assert len(text.splitlines()) <= sets + 8  # header, one line per set, two notes
    for name in list_checkpoints():
        assert f"`solver/checkpoints/{name}/card.md`" in text
        assert (bundled_dir() / name / CARD_FILE).read_text().splitlines()[0][1:] in cards_text(shelf)


@pytest.mark.skipif(not list_checkpoints(), reason="no bundled checkpoint in this checkout")
def test_bundled_checkpoints_load_and_answer():
    shelf = ModelShelf()
    assert not shelf.problems, shelf.problems
    for info in shelf.infos():
        assert info.parameters > 0 and info.card and info.solve_rates.startswith(SOLVE_RATES_HEADING)
    if shelf.get("sudoku", 4) is not None:
        *_, (_, _, verdict, _, run) = sudoku_tab.solve_model(shelf, FOUR, SolveSettings(), "instant")
        assert "data-verdict='solved'" in verdict


@pytest.mark.parametrize("name", list_checkpoints())  # none in a checkout without them: skipped
def test_each_bundled_card_states_the_solve_rates_of_its_json(name):
    folder = bundled_dir() / name
    rates = read_solve_rates(folder)
    assert rates is not None, f"{name}: no {SOLVE_RATES} beside its card"
    card = (folder / CARD_FILE).read_text()
    assert card[card.index(SOLVE_RATES_HEADING):] == solve_rates_markdown(rates)  # the section, to the letter


def test_card_table_names_the_decoding_only_where_a_set_has_more_than_plain():
    row = {"retries": 0, "solved": 3, "puzzles": 4, "solve_rate": 0.75, "ci_low": 0.3, "ci_high": 0.95, "mean_nfe": 9.0}
    plain = solve_rates_markdown({"machine": "m", "sets": [{"set": "s", "command": "c", "rows": [row]}]})
    assert "| set | retries |" in plain and "decoding" not in plain  # the Sudoku cards' tables, unchanged
    rows = [{**row, "decoding": "plain"}, {**row, "decoding": "constrained", "samples": 8, "solved": 4, "solve_rate": 1.0}]
    mixed = solve_rates_markdown({"machine": "m", "sets": [{"set": "s", "command": "c", "rows": rows}]})
    assert "| set | decoding | retries |" in mixed
    assert "| s | plain | 0 | 3/4 |" in mixed and "| s | constrained, best of 8 | 0 | 4/4 | 100.0%" in mixed


def test_a_checkpoint_the_launcher_loaded_is_offered_without_loading_it_again(tiny_checkpoint, monkeypatch):
    from rmdm.app import load_checkpoints

    (loaded,), problem = load_checkpoints([str(tiny_checkpoint)])
    assert problem is None
    monkeypatch.setattr("solver.checkpoint.load", lambda *a, **k: pytest.fail("loaded a second time"))
    shelf = ModelShelf(extra=[loaded], bundled=False)
    assert shelf.get("sudoku", 4) is loaded and shelf.info("sudoku", 4).name == "tiny4"
