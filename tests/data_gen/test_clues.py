"""`--clues LO-HI`: each record's clue count drawn uniformly in the range from the seed;
validated against what the grid allows; `--clues N` unchanged."""

from __future__ import annotations

from collections import Counter

import pytest
from pydantic import ValidationError

from data_gen import load_manifest, read_dataset
from data_gen.config import SudokuConfig

from .helpers import data_files, gen


def clue_counts(directory) -> list[int]:
    rows = [r for name in load_manifest(directory)["splits"] for r in read_dataset(directory, name).to_pylist()]
    for row in rows:
        assert row["clues"] == sum(c != "." for c in row["puzzle"])
    return [row["clues"] for row in rows]


def test_each_record_draws_its_clues_in_the_range(tmp_path, cli):
    args = ["gen", "sudoku", "--size", "9", "--clues", "24-28", "--n", "100", "--seed", "8", "--chunk-size", "50", "-q"]
    assert cli(*args, "--workers", "1", "--out", str(tmp_path / "a"))[0] == 0
    counts = Counter(clue_counts(tmp_path / "a"))
    assert set(counts) == {24, 25, 26, 27, 28}  # 100 draws reach every value of the range
    assert max(counts.values()) < 40  # roughly uniform, not stuck at one end
    manifest = load_manifest(tmp_path / "a")
    assert manifest["config"]["clues"] == [24, 28]
    assert manifest["stats"]["clues_min"] == 24 and manifest["stats"]["clues_max"] == 28
    assert cli(*args, "--workers", "2", "--out", str(tmp_path / "b"))[0] == 0
    assert data_files(tmp_path / "a") == data_files(tmp_path / "b")


def test_symmetric_even_grid_draws_even_counts(tmp_path):
    gen(SudokuConfig(size=6, clues=(11, 15), symmetric=True, n=60, seed=1, chunk_size=30), tmp_path / "s", workers=1)
    assert set(clue_counts(tmp_path / "s")) == {12, 14}


def test_exact_count_and_degenerate_range_are_one_dataset(tmp_path):
    exact = SudokuConfig(size=6, clues=12, n=40, seed=1, chunk_size=20)
    assert SudokuConfig(size=6, clues="12-12", n=40, seed=1, chunk_size=20) == exact
    assert SudokuConfig(size=6, clues=[12, 12], n=40, seed=1, chunk_size=20).model_dump() == exact.model_dump()
    gen(exact, tmp_path / "e", workers=1)
    assert set(clue_counts(tmp_path / "e")) == {12}


@pytest.mark.parametrize(
    "clues, message",
    [
        ("20-17", "LO must not exceed HI"),
        ((16, 30), "16 clues"),
        ("30-82", "only 81 cells"),
        ("a-b", "LO-HI"),
        ((1, 2, 3), "clues"),
    ],
)
def test_bad_ranges_are_refused(clues, message):
    with pytest.raises(ValidationError, match=message):
        SudokuConfig(size=9, clues=clues, n=1, seed=0)


def test_symmetric_even_grid_needs_an_even_count_in_range():
    with pytest.raises(ValidationError, match="even number of clues"):
        SudokuConfig(size=6, clues="13-13", symmetric=True, n=1, seed=0)
    assert SudokuConfig(size=6, clues="13-14", symmetric=True, n=1, seed=0).clue_choices() == [14]
    assert SudokuConfig(size=9, clues="23-25", symmetric=True, n=1, seed=0).clue_choices() == [23, 24, 25]
