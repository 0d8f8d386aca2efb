"""Same config + seed = byte-identical files, whatever the workers or machines (shards);
the manifest's checksums and counts describe the files."""

from __future__ import annotations

import hashlib
import json
import shutil

import pyarrow.parquet as pq
import pytest

from data_gen import DataGenError, load_manifest, read_dataset, verify_files
from data_gen.build import RunOptions, merge
from data_gen.config import CountdownConfig, SudokuConfig
from data_gen.dataset import read_records

from .helpers import MANIFEST, data_files, gen, without_timing

SPLIT = {"train": 0.8, "val": 0.1, "test": 0.1}
CONFIGS = {
    "sudoku": SudokuConfig(size=9, n=240, seed=5, chunk_size=40, rows_per_file=80, split=SPLIT),
    "countdown": CountdownConfig(numbers=4, n=240, seed=5, chunk_size=40, rows_per_file=80, split=SPLIT),
}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def runs(request, tmp_path_factory):
    """The same config made three ways: 1 worker, 2 workers, two shards merged."""
    config = CONFIGS[request.param]
    root = tmp_path_factory.mktemp(request.param)
    gen(config, root / "one", workers=1)
    gen(config, root / "two", workers=2)
    for index in (1, 0):
        assert gen(config, root / f"shard{index}", workers=1, shard=(index, 2)) is None  # chunks wait for merge
    merge([root / "shard1", root / "shard0"], root / "merged", RunOptions(quiet=True))
    return config, root


def test_two_workers_write_the_same_bytes_as_one(runs):
    config, root = runs
    one, two = data_files(root / "one"), data_files(root / "two")
    assert len(one) >= 4  # several files per split: rows_per_file is exercised
    assert one == two
    assert without_timing(load_manifest(root / "one")) == without_timing(load_manifest(root / "two"))
    assert load_manifest(root / "two")["timing"]["workers"] == 2


def test_merged_shards_equal_one_run(runs):
    config, root = runs
    assert data_files(root / "merged") == data_files(root / "one")
    assert without_timing(load_manifest(root / "merged")) == without_timing(load_manifest(root / "one"))
    shard_chunks = {p.name for s in ("shard0", "shard1") for p in (root / s / "chunks").glob("chunk-*.parquet")}
    assert len(shard_chunks) == config.n_chunks  # each chunk made by exactly one shard


def test_manifest_checksums_and_counts(runs):
    config, root = runs
    directory = root / "one"
    manifest = load_manifest(directory)
    listed = {}
    for name, split in manifest["splits"].items():
        assert split["count"] == sum(entry["rows"] for entry in split["files"])
        for entry in split["files"]:
            path = directory / entry["path"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
            assert pq.read_metadata(path).num_rows == entry["rows"] <= config.rows_per_file
            listed[entry["path"]] = name
        assert read_dataset(directory, name).num_rows == split["count"]
    assert set(listed) == {p.name for p in directory.glob("*.parquet")}  # nothing unlisted, nothing missing
    assert not (directory / "chunks").exists()
    assert manifest["verified"] is True
    assert manifest["config"] == json.loads(config.model_dump_json())
    assert manifest["seed"] == config.seed
    counts = manifest["counts"]
    assert counts["generated"] == config.n
    assert counts["written"] == sum(s["count"] for s in manifest["splits"].values())
    assert counts["written"] == counts["generated"] - counts["excluded"] - counts["duplicates_dropped"]
    assert verify_files(directory) == []


def test_verify_files_finds_a_changed_byte(runs, tmp_path):
    config, root = runs
    directory = tmp_path / "copy"
    shutil.copytree(root / "one", directory)
    path = directory / load_manifest(directory)["splits"]["train"]["files"][0]["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert verify_files(directory) == [f"{path} is corrupt (sha256 differs from {MANIFEST})"]
    path.unlink()
    assert verify_files(directory) == [f"{path} is missing"]


def test_read_records_is_the_split_in_order_checking_each_file_it_reads(runs, tmp_path):
    """The rows reader solver trains from: the same rows as read_dataset, a limit that stops
    reading files, None for a split the manifest does not name, a corrupt file named."""
    config, root = runs
    directory = tmp_path / "copy"
    shutil.copytree(root / "one", directory)
    manifest = load_manifest(directory)
    rows = read_dataset(directory, "train").to_pylist()
    assert read_records(directory, manifest, "train") == rows
    assert read_records(directory, manifest, "train", limit=7) == rows[:7]
    assert read_records(directory, manifest, "nope") is None
    first, second = (directory / entry["path"] for entry in manifest["splits"]["train"]["files"][:2])
    second.write_bytes(second.read_bytes()[:100])  # truncated
    assert read_records(directory, manifest, "train", limit=7) == rows[:7]  # the second file is not reached
    assert len(read_records(directory, manifest, "train", verify=False, limit=config.rows_per_file)) == config.rows_per_file
    with pytest.raises(DataGenError, match=f"{second}: truncated or corrupt"):
        read_records(directory, manifest, "train")
    first.unlink()
    with pytest.raises(DataGenError, match=f"{first}: listed in the manifest but missing"):
        read_records(directory, manifest, "train", limit=1)


def test_records_are_verified_and_unique(runs):
    config, root = runs
    table = read_dataset(root / "one", "train")
    ids = table.column("id").to_pylist()
    assert len(set(ids)) == len(ids)
    if config.task == "sudoku":
        from puzzles.sudoku import parse_sudoku, verify_batch

        import numpy as np

        puzzles = np.stack([parse_sudoku(p).grid for p in table.column("puzzle").to_pylist()])
        solutions = np.stack([parse_sudoku(s).grid for s in table.column("solution").to_pylist()])
        assert verify_batch(puzzles, solutions).all()
    else:
        from puzzles.countdown import CountdownInstance, verify_countdown

        for numbers, target, answer in zip(*(table.column(c).to_pylist() for c in ("numbers", "target", "answer"))):
            assert verify_countdown(CountdownInstance(tuple(numbers), target, "ml"), answer).valid


def test_another_seed_gives_other_records(tmp_path):
    config = SudokuConfig(size=6, n=40, seed=1, chunk_size=20, split={"train": 1.0})
    gen(config, tmp_path / "a", workers=1)
    gen(config.model_copy(update={"seed": 2}), tmp_path / "b", workers=1)
    a = read_dataset(tmp_path / "a").column("puzzle").to_pylist()
    b = read_dataset(tmp_path / "b").column("puzzle").to_pylist()
    assert not set(a) & set(b)
