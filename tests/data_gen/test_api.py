"""`data_gen.api.build_dataset`: a dataset from a dict with the config's keys, the same as
`rmdm gen` with those options; one line on stderr; built once, then reused."""

from __future__ import annotations

import pytest

from data_gen import DataGenError, build_dataset, load_manifest, read_dataset
from data_gen.config import SudokuConfig

from .helpers import data_files, snapshot

SPEC = {"task": "sudoku", "size": 4, "n": 200, "seed": 1}


def test_builds_the_same_dataset_as_the_cli(tmp_path, cli, capsys):
    out = build_dataset(dict(SPEC), tmp_path / "api")
    assert out == tmp_path / "api"
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("data_gen: 4x4 any in") and "train" in err[0], err
    manifest = load_manifest(out)
    assert manifest["config"] == SudokuConfig(size=4, n=200, seed=1).model_dump(mode="json")
    assert cli("gen", "sudoku", "--size", "4", "--n", "200", "--seed", "1", "-q", "--out", str(tmp_path / "cli"))[0] == 0
    assert data_files(out) == data_files(tmp_path / "cli")

    before = snapshot(out)
    assert build_dataset(dict(SPEC), out) == out  # already there: reused, untouched
    assert snapshot(out) == before
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_spec_in_command_line_forms(tmp_path, cli):
    spec = {"task": "countdown", "numbers": 3, "n": 120, "seed": 2, "target_range": "10-40",
            "split": "train=0.5,test=0.5", "chunk_size": 60}
    out = build_dataset(spec, tmp_path / "api", workers=1)
    args = ["gen", "countdown", "--numbers", "3", "--n", "120", "--seed", "2", "--target-range", "10-40",
            "--split", "train=0.5,test=0.5", "--chunk-size", "60", "--workers", "1", "-q"]
    assert cli(*args, "--out", str(tmp_path / "cli"))[0] == 0
    assert data_files(out) == data_files(tmp_path / "cli")
    assert set(load_manifest(out)["splits"]) == {"train", "test"}

    held = tmp_path / "held.txt"
    first = read_dataset(out, "train").to_pylist()[0]
    held.write_text(",".join(map(str, [*first["numbers"], first["target"]])) + "\n")
    excluded = build_dataset({**spec, "exclude": [str(held)]}, tmp_path / "x", workers=1)
    assert load_manifest(excluded)["counts"]["excluded"] >= 1


def test_clue_range_spec(tmp_path):
    out = build_dataset({"task": "sudoku", "size": 6, "clues": "12-14", "n": 30, "seed": 1}, tmp_path / "r", workers=1)
    assert set(read_dataset(out, "train").column("clues").to_pylist()) <= {12, 13, 14}


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"size": 4, "n": 10}, "task must be sudoku or countdown"),
        ({"task": "sudoku", "size": 4, "n": 10, "seed": 1, "sizes": 3}, "sizes: Extra inputs"),
        ({"task": "sudoku", "n": 10, "seed": 1, "difficulty": "fiendish"}, "unknown difficulty"),
        ({"task": "countdown", "n": 0, "seed": 1}, "^dataset spec: n:"),
        ({"task": "sudoku", "n": 10, "seed": 1, "exclude": ["/nonexistent.txt"]}, "/nonexistent.txt"),
        (["task", "sudoku"], "is a dict"),
    ],
)
def test_bad_specs_raise_one_line(tmp_path, spec, message):
    with pytest.raises(DataGenError, match=message) as caught:
        build_dataset(spec, tmp_path / "out")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_solver_generate_dataset_uses_it(tmp_path):
    """The training side's entry point (solver.train.generate_dataset) builds into its cache."""
    train = pytest.importorskip("solver.train")
    directory = train.generate_dataset(dict(SPEC), tmp_path / "cache")
    assert directory.parent == tmp_path / "cache" and directory.name.startswith("sudoku-")
    assert load_manifest(directory)["config"]["size"] == 4
    assert train.generate_dataset(dict(SPEC), tmp_path / "cache") == directory
