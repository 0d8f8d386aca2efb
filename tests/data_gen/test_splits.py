"""No puzzle in two splits, up to symmetry for Sudoku (canonical form) and up to the order
of the numbers for Countdown; duplicates dropped; --exclude keeps a set and its symmetric
copies out."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest

from data_gen import load_manifest, read_dataset
from data_gen.build import RunOptions, generate
from data_gen.config import CountdownConfig, SudokuConfig
from data_gen.countdown_task import instance_key
from data_gen.importer import source_of
from puzzles.sudoku import SudokuShape, apply_symmetry, canonical_form, parse_sudoku, random_symmetry

from .helpers import gen

SPLIT = {"train": 0.5, "val": 0.25, "test": 0.25}
FOUR = SudokuShape(2, 2)


def canonical(line: str) -> str:
    return "".join(map(str, canonical_form(parse_sudoku(line))))


def keys_by_split(directory, key) -> dict[str, list]:
    manifest = load_manifest(directory)
    return {name: [key(row) for row in read_dataset(directory, name).to_pylist()] for name in manifest["splits"]}


def assert_disjoint(by_split: dict[str, list]) -> None:
    seen: dict = {}
    for name, keys in by_split.items():
        for k in keys:
            assert seen.setdefault(k, name) == name, f"{k} is in {seen[k]} and {name}"


@pytest.fixture(scope="module")
def sudoku4(tmp_path_factory):
    """4x4 puzzles without de-duplication: a few dozen classes, each met many times,
    mostly as relabelled/permuted copies."""
    out = tmp_path_factory.mktemp("sudoku4") / "data"
    gen(SudokuConfig(size=4, n=300, seed=3, chunk_size=50, split=SPLIT, dedupe=False), out, workers=1)
    return out


def test_sudoku_splits_share_no_symmetry_class(sudoku4):
    by_split = keys_by_split(sudoku4, lambda row: canonical(row["puzzle"]))
    assert all(by_split.values()), "every split should get some records"
    assert_disjoint(by_split)
    # The check has teeth: classes recur as different strings, so splitting by the raw
    # puzzle would have scattered them.
    strings = defaultdict(set)
    for row in read_dataset(sudoku4, "train").to_pylist() + read_dataset(sudoku4, "test").to_pylist():
        strings[canonical(row["puzzle"])].add(row["puzzle"])
    assert max(len(s) for s in strings.values()) >= 3


def test_dedupe_keeps_one_record_per_class(tmp_path, sudoku4):
    config = SudokuConfig(size=4, n=300, seed=3, chunk_size=50, split=SPLIT)
    manifest = gen(config, tmp_path / "d", workers=1)
    keys = [canonical(p) for name in SPLIT for p in read_dataset(tmp_path / "d", name).column("puzzle").to_pylist()]
    assert len(keys) == len(set(keys)) == manifest["counts"]["written"]
    assert manifest["counts"]["duplicates_dropped"] == 300 - len(keys) > 0
    every = {canonical(p) for name in SPLIT for p in read_dataset(sudoku4, name).column("puzzle").to_pylist()}
    assert set(keys) == every  # the same classes, each kept once (its first record)


def test_countdown_splits_share_no_instance(tmp_path):
    config = CountdownConfig(numbers=3, number_range=(1, 6), target_range=(10, 30), n=300, seed=4,
                             chunk_size=100, split=SPLIT, dedupe=False)
    gen(config, tmp_path / "c", workers=1)
    by_split = keys_by_split(tmp_path / "c", lambda row: instance_key(row["numbers"], row["target"]))
    assert all(by_split.values())
    assert_disjoint(by_split)
    orders = defaultdict(set)
    for row in read_dataset(tmp_path / "c", "train").to_pylist():
        orders[instance_key(row["numbers"], row["target"])].add(tuple(row["numbers"]))
    assert max(len(o) for o in orders.values()) >= 2  # the same instance met in another order


def test_exclude_keeps_a_puzzle_and_its_copies_out(tmp_path, sudoku4):
    rows = read_dataset(sudoku4, "train").to_pylist()
    counts = defaultdict(int)
    for row in rows:
        counts[canonical(row["puzzle"])] += 1
    target = max(counts, key=counts.get)  # the most common class: it would surely come back
    puzzle = next(r["puzzle"] for r in rows if canonical(r["puzzle"]) == target)
    rng = np.random.default_rng(0)
    symmetry = random_symmetry(FOUR, rng)
    symmetry = type(symmetry)(True, symmetry.rows, symmetry.cols, symmetry.digits)  # transposed too
    copy = apply_symmetry(parse_sudoku(puzzle), symmetry)
    assert copy.to_line() != puzzle and canonical(copy.to_line()) == target
    listed = tmp_path / "held_out.txt"
    listed.write_text(f"# kept out of training\n{copy.to_line()}\n")

    config = SudokuConfig(size=4, n=300, seed=3, chunk_size=50, split=SPLIT, dedupe=False,
                          exclude=(source_of(listed),))
    manifest = generate(config, tmp_path / "x", RunOptions(quiet=True, workers=1, exclude_paths=[listed]))
    left = {canonical(p) for name in SPLIT for p in read_dataset(tmp_path / "x", name).column("puzzle").to_pylist()}
    assert target not in left
    assert manifest["counts"]["excluded"] == counts[target] + sum(
        1 for name in ("val", "test") for p in read_dataset(sudoku4, name).column("puzzle").to_pylist()
        if canonical(p) == target
    )
    assert manifest["exclude"] == [{"name": "held_out.txt", "sha256": source_of(listed).sha256, "records": 1, "distinct": 1}]


def test_exclude_countdown_in_any_order(tmp_path, cli):
    base = ["gen", "countdown", "--numbers", "3", "--number-range", "1-6", "--target-range", "10-30",
            "--n", "200", "--seed", "4", "--chunk-size", "100", "--split", "train=1", "--no-dedupe", "-q", "--workers", "1"]
    assert cli(*base, "--out", str(tmp_path / "all"))[0] == 0
    rows = read_dataset(tmp_path / "all").to_pylist()
    numbers, target = rows[0]["numbers"], rows[0]["target"]
    held = tmp_path / "held.jsonl"
    held.write_text(json.dumps({"input": ",".join(map(str, [*reversed(numbers), target]))}) + "\n")
    assert cli(*base, "--out", str(tmp_path / "x"), "--exclude", str(held))[0] == 0
    left = {instance_key(r["numbers"], r["target"]) for r in read_dataset(tmp_path / "x").to_pylist()}
    assert instance_key(numbers, target) not in left
    assert len(left) >= 10
