"""The checkpoints shipped in solver/checkpoints/: each loads, solves easy puzzles of its kind (Sudoku),
writes well-formed answers (Countdown),
stays within the size budget, and its card says what its config says (issue 7)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from puzzles.countdown import generate_countdown  # noqa: E402
from puzzles.sudoku import SudokuShape, generate_sudoku  # noqa: E402
from solver.checkpoint import list_checkpoints, load  # noqa: E402
from solver.guided import solve_guided  # noqa: E402
from solver.sampler import SampleOptions  # noqa: E402

SHIPPED = ("sudoku4", "sudoku6", "sudoku9", "countdown3", "countdown4")
DIRECTORY = Path(__file__).resolve().parents[2] / "solver" / "checkpoints"
MAX_BYTES = 25 * 1024 * 1024


def test_every_promised_checkpoint_is_shipped():
    assert set(SHIPPED) <= set(list_checkpoints()), f"missing: {set(SHIPPED) - set(list_checkpoints())}"


@pytest.mark.parametrize("name", SHIPPED)
def test_checkpoint_files_and_card_match_the_config(name):
    folder = DIRECTORY / name
    assert sum(p.stat().st_size for p in folder.iterdir()) <= MAX_BYTES
    loaded = load(name)
    config = json.loads((folder / "config.json").read_text())
    card = loaded.card
    model = loaded.model.config
    # the card's model line is the config's, and the parameter count is the model's
    assert f"{loaded.model.num_parameters():,} parameters" in card
    assert f"d_model={model.d_model}," in card and f"loops={model.loops} " in card
    assert f"{model.prelude_layers}/{model.core_layers}/{model.coda_layers}" in card
    trained = config["trained"]
    assert f"{trained['steps']} steps" in card
    # measured solve rates: a table with the command that measured them
    assert "## Measured solve rates" in card and "rmdm eval --checkpoint " + name in card
    rows = re.findall(r"\| (\d+)/(\d+) \| (\d+\.\d)% ", card)
    assert rows, "the card has no solve-rate rows"
    for solved, total, percent in rows:
        assert abs(100 * int(solved) / int(total) - float(percent)) < 0.051


def easy_sudoku(n: int, count: int, seed: int) -> list[str]:
    """Complete grids with a third of the cells blanked at random: puzzles any useful model solves."""
    box = {4: (2, 2), 6: (2, 3), 9: (3, 3)}[n]
    rng = np.random.default_rng(seed)
    puzzles = []
    for _ in range(count):
        made = generate_sudoku(SudokuShape(*box), rng)
        grid = made.solution.grid.copy().reshape(-1)
        grid[rng.choice(n * n, size=n * n // 3, replace=False)] = 0
        puzzles.append("".join("." if v == 0 else str(v) for v in grid))
    return puzzles


@pytest.mark.parametrize("name, n", [("sudoku4", 4), ("sudoku6", 6), ("sudoku9", 9)])
def test_sudoku_checkpoint_solves_easy_puzzles(name, n):
    loaded = load(name)
    outcomes = solve_guided(loaded.model, loaded.codec, easy_sudoku(n, 8, seed=n), SampleOptions(), retries=2)
    assert all(o.valid for o in outcomes), [o.answer for o in outcomes if not o.valid]


@pytest.mark.parametrize("name, k", [("countdown3", 3), ("countdown4", 4)])
def test_countdown_checkpoint_orders_the_search_better_than_chance(name, k):
    """The bundled Countdown models (step codec) contribute to the search over the calculator's
    legal steps: ordered by the model it solves every generated instance and visits fewer
    nodes than the same search in a uniformly random order, which a broken checkpoint or a
    codec mismatch would not."""
    loaded = load(name)
    rng = np.random.default_rng(k)
    instances = [generate_countdown(rng, n_numbers=k).instance for _ in range(16)]
    model = solve_guided(loaded.model, loaded.codec, instances, SampleOptions(search=True, steps=1))
    uniform = solve_guided(loaded.model, loaded.codec, instances, SampleOptions(search=True, search_order="uniform"))
    assert all(o.valid for o in model), [o.answer for o in model if not o.valid]
    assert sum(o.nodes for o in model) < sum(o.nodes for o in uniform), (
        [o.nodes for o in model], [o.nodes for o in uniform])
