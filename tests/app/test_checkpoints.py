"""The app with real checkpoints on disk: a tiny untrained Denoiser saved and loaded back,
a broken checkpoint that must not take the app down, and the bundled ones if any."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from puzzles.sudoku import SudokuShape  # noqa: E402
from rmdm.app import sudoku_tab  # noqa: E402
from rmdm.app.models import ModelShelf, about_text  # noqa: E402
from rmdm.app.playback import SolveSettings  # noqa: E402
from solver.checkpoint import list_checkpoints, save_checkpoint  # noqa: E402
from solver.codecs import SudokuCodec  # noqa: E402
from solver.model import Denoiser, DenoiserConfig  # noqa: E402

FOUR = "...3.1..2..11.3."
CARD = "# tiny4\n\nUntrained.\n\n## Solve rates\n\n| steps | loops | solved |\n|---|---|---|\n| 10 | 2 | 0% |\n"


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    codec = SudokuCodec(SudokuShape(2, 2))
    config = DenoiserConfig(vocab_size=codec.vocab_size, seq_len=codec.seq_len, d_model=32, n_heads=2,
                            core_layers=1, loops=2, max_loops=4, box_rows=2, box_cols=2)
    torch.manual_seed(0)
    model = Denoiser(config, positions=codec.positions())
    directory = tmp_path_factory.mktemp("ckpt") / "tiny4"
    save_checkpoint(directory, model, codec, {"note": "test"}, CARD)
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
    (update,) = sudoku_tab.solve_model(shelf, FOUR, SolveSettings(loops=5), "instant")
    assert "at most 4 loops" in update[2]


def test_about_panel_names_each_model(tiny_checkpoint):
    text = about_text(ModelShelf(extra=[str(tiny_checkpoint)], bundled=False))
    assert "**tiny4**" in text and "4x4 Sudoku" in text and "## Solve rates" in text
    assert "could be loaded" in about_text(ModelShelf(bundled=False))


@pytest.mark.skipif(not list_checkpoints(), reason="no bundled checkpoint in this checkout")
def test_bundled_checkpoints_load_and_answer():
    shelf = ModelShelf()
    assert not shelf.problems, shelf.problems
    for info in shelf.infos():
        assert info.parameters > 0 and info.card
    if shelf.get("sudoku", 4) is not None:
        *_, (_, _, verdict, _, run) = sudoku_tab.solve_model(shelf, FOUR, SolveSettings(), "instant")
        assert "data-verdict='solved'" in verdict
