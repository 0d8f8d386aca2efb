"""An interrupted run resumes where it stopped, without duplicates, to the same bytes as an
uninterrupted run; a corrupt chunk or shard is a one-line error and nothing is lost."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from data_gen import read_dataset
from data_gen.build import CHUNK_DIR, JOURNAL, RunOptions, chunk_name, merge, read_journal
from data_gen.config import SudokuConfig
from data_gen.errors import DataGenError

from .helpers import REPO, assert_one_line_error, data_files, gen, snapshot

# 10 chunks of 9x9 puzzles: each takes a good fraction of a second, so a kill right after
# the first chunk lands is mid-run.
KILLED = dict(size=9, n=1000, seed=11, chunk_size=100)
KILLED_ARGS = ["--size", "9", "--n", "1000", "--seed", "11", "--chunk-size", "100"]
SMALL = SudokuConfig(size=6, n=200, seed=2, chunk_size=40)
SMALL_ARGS = ["gen", "sudoku", "--size", "6", "--n", "200", "--seed", "2", "--chunk-size", "40", "--workers", "1", "-q"]


def wait_gone(group: int, seconds: float) -> bool:
    """True once no process of the group is left."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "data"
    gen(SudokuConfig(**KILLED), out, workers=2)
    return out


def test_killed_run_resumes_to_the_same_dataset(tmp_path, reference):
    out = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-m", "rmdm", "gen", "sudoku", *KILLED_ARGS, "--workers", "2", "-q", "--out", str(out)],
        cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    journal = out / CHUNK_DIR / JOURNAL
    try:
        deadline = time.monotonic() + 90
        while not (journal.is_file() and journal.read_bytes().count(b"\n") >= 1):
            assert process.poll() is None, "rmdm gen ended before its first chunk"
            assert time.monotonic() < deadline, "no chunk after 90 s"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)  # the main process only: its workers must notice
        process.wait()
        assert wait_gone(process.pid, 10), "worker processes outlived the killed rmdm gen"
    finally:
        if process.poll() is None or not wait_gone(process.pid, 0.1):
            os.killpg(process.pid, signal.SIGKILL)
    done = read_journal(out / CHUNK_DIR)
    assert 1 <= len(done) < 10, f"the kill was not mid-run ({len(done)} of 10 chunks done)"
    assert not (out / "manifest.json").exists()

    manifest = gen(SudokuConfig(**KILLED), out, workers=1, resume=True)
    assert manifest["timing"]["resumed"] is True
    assert manifest["timing"]["records_generated_this_run"] == 1000 - 100 * len(done)
    assert data_files(out) == data_files(reference)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in reference.iterdir())
    ids = [i for name in manifest["splits"] for i in read_dataset(out, name).column("id").to_pylist()]
    assert len(ids) == len(set(ids)) == manifest["counts"]["written"]


def test_ctrl_c_stops_at_once_with_one_line(tmp_path):
    """Two chunks, 2000 records and 50: the short one lands first, then Ctrl-C. The long one
    must be abandoned, not finished (it would then be on disk, though not journaled)."""
    out = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-m", "rmdm", "gen", "sudoku", "--n", "2050", "--chunk-size", "2000", "--workers", "2",
         "--out", str(out)],
        cwd=REPO, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # as from a terminal: a test run started in the background by a non-interactive shell
        # (`cmd &`) ignores SIGINT, and its children would inherit that and never see the Ctrl-C
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    journal = out / CHUNK_DIR / JOURNAL
    try:
        deadline = time.monotonic() + 90
        while not (journal.is_file() and journal.read_bytes().count(b"\n") >= 1):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        stopped = time.monotonic()
        _, err = process.communicate(timeout=30)
        assert time.monotonic() - stopped < 5, "Ctrl-C waited for the running chunks"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    assert err.splitlines() == [
        "rmdm gen: error: interrupted; the chunks finished so far are kept: run the same command with --resume to continue"
    ]
    assert wait_gone(process.pid, 5)
    assert sorted(read_journal(out / CHUNK_DIR)) == [1]
    assert not (out / CHUNK_DIR / chunk_name(0)).exists() and not (out / "manifest.json").exists()


def interrupted_run(out, config=SMALL, done=3):
    """What a run killed after `done` chunks leaves: those chunks, the journal, run.json."""
    gen(config, out, workers=1, keep_chunks=True)
    for entry in list(out.iterdir()):
        if entry.name != CHUNK_DIR:
            entry.unlink()
    chunk_dir = out / CHUNK_DIR
    lines = (chunk_dir / JOURNAL).read_text().splitlines()
    (chunk_dir / JOURNAL).write_text("".join(line + "\n" for line in lines[:done]))
    for k in range(done, config.n_chunks):
        (chunk_dir / chunk_name(k)).unlink()
    return chunk_dir


def test_resume_after_a_torn_journal_line(tmp_path):
    gen(SMALL, tmp_path / "whole", workers=1)
    chunk_dir = interrupted_run(tmp_path / "data")
    with open(chunk_dir / JOURNAL, "a") as journal:
        journal.write('{"chunk": 3, "file": "chunk-0')  # killed mid-line
    gen(SMALL, tmp_path / "data", workers=1, resume=True, keep_chunks=True)
    assert sorted(read_journal(chunk_dir)) == list(range(SMALL.n_chunks))
    assert data_files(tmp_path / "data") == data_files(tmp_path / "whole")


def test_corrupt_chunk_on_resume_is_one_line_and_loses_nothing(tmp_path, cli):
    out = tmp_path / "data"
    chunk_dir = interrupted_run(out)
    bad = chunk_dir / chunk_name(1)
    data = bytearray(bad.read_bytes())
    data[100] ^= 0xFF
    bad.write_bytes(bytes(data))
    before = snapshot(out)
    code, _, err = cli(*SMALL_ARGS, "--out", str(out), "--resume")
    assert_one_line_error(code, err, str(bad), "corrupt", "--resume")
    assert snapshot(out) == before

    bad.unlink()  # what the message says to do
    code, _, err = cli(*SMALL_ARGS, "--out", str(out), "--resume")
    assert (code, err) == (0, [])
    gen(SMALL, tmp_path / "whole", workers=1)
    assert data_files(out) == data_files(tmp_path / "whole")


def test_corrupt_shard_on_merge_is_one_line_and_loses_nothing(tmp_path, cli):
    for index in (0, 1):
        gen(SMALL, tmp_path / f"s{index}", workers=1, shard=(index, 2))
    bad = tmp_path / "s1" / CHUNK_DIR / chunk_name(3)
    bad.write_bytes(bad.read_bytes()[:-10])
    before = snapshot(tmp_path)
    code, _, err = cli("gen", "merge", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "all"))
    assert_one_line_error(code, err, str(bad), "corrupt")
    assert snapshot(tmp_path) == before and not (tmp_path / "all").exists()

    code, _, err = cli("gen", "merge", str(tmp_path / "s0"), "--out", str(tmp_path / "all"))
    assert_one_line_error(code, err, "shard")
    with pytest.raises(DataGenError, match="one of the shards"):
        merge([tmp_path / "s0", tmp_path / "s1"], tmp_path / "s0", RunOptions(quiet=True, overwrite=True))


def test_unfinished_shard_cannot_be_merged(tmp_path):
    gen(SMALL, tmp_path / "s0", workers=1, shard=(0, 2))
    chunk_dir = interrupted_run(tmp_path / "s1", done=0)
    shutil.rmtree(chunk_dir)
    with pytest.raises(DataGenError, match="no readable"):
        merge([tmp_path / "s0", tmp_path / "s1"], tmp_path / "all", RunOptions(quiet=True))


def test_corrupt_dataset_file_on_resume(tmp_path, cli):
    out = tmp_path / "data"
    gen(SMALL, out, workers=1)
    bad = out / "train-00000.parquet"
    bad.write_bytes(bad.read_bytes()[:-1] + b"x")
    before = snapshot(out)
    code, _, err = cli(*SMALL_ARGS, "--out", str(out), "--resume")
    assert_one_line_error(code, err, str(bad), "--overwrite")
    assert snapshot(out) == before


def test_resume_of_a_complete_dataset_changes_nothing(tmp_path, cli):
    out = tmp_path / "data"
    gen(SMALL, out, workers=1)
    before = snapshot(out)
    code, _, err = cli(*SMALL_ARGS, "--out", str(out), "--resume")
    assert (code, err) == (0, [])
    assert snapshot(out) == before


def test_resume_with_other_options_is_refused(tmp_path, cli):
    out = tmp_path / "data"
    interrupted_run(out)
    before = snapshot(out)
    other_seed = [arg if arg != "2" else "3" for arg in SMALL_ARGS]
    code, _, err = cli(*other_seed, "--out", str(out), "--resume")
    assert_one_line_error(code, err, "different config")
    assert snapshot(out) == before
