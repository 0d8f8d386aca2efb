"""`rmdm gen` at the command line: usage errors are one line and exit 2 with nothing
touched; `rmdm gen stats` prints the manifest's statistics and draws them to a PNG."""

from __future__ import annotations

import pytest

from data_gen import load_manifest

from .helpers import assert_one_line_error, rmdm_process, snapshot

SUDOKU = ["gen", "sudoku", "--n", "20", "--seed", "1", "--workers", "1", "-q"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["--difficulty", "fiendish"], ["unknown difficulty 'fiendish'", "easy, medium, hard, extreme, any"]),
        (["--clues", "16"], ["16 clues", "between 17 and 81"]),
        (["--size", "4", "--clues", "3"], ["4x4", "between 4 and 16"]),
        (["--clues", "82"], ["only 81 cells"]),
        (["--clues", "30-22"], ["LO must not exceed HI"]),
        (["--clues", "twenty"], ["--clues", "LO-HI"]),
        (["--size", "7"], ["7"]),
        (["--split", "train=0.9,test=0.2"], ["add up to 1.1"]),
        (["--split", "train"], ["--split", "NAME=FRACTION"]),
        (["--shard", "2/2"], ["--shard 2/2"]),
        (["--workers", "0"], ["--workers"]),
        (["--exclude", "/nonexistent/set.txt"], ["/nonexistent/set.txt"]),
    ],
)
def test_bad_options_are_one_line(tmp_path, cli, args, words):
    out = tmp_path / "out"
    code, stdout, err = cli(*SUDOKU, *args, "--out", str(out))
    assert_one_line_error(code, err, *words)
    assert not out.exists()


def test_bad_countdown_options_are_one_line(tmp_path, cli):
    base = ["gen", "countdown", "--n", "20", "--workers", "1", "--out", str(tmp_path / "out")]
    assert_one_line_error(*cli(*base, "--numbers", "9")[::2], "3 to 6 numbers")
    assert_one_line_error(*cli(*base, "--rules", "tv", "--numbers", "6", "--number-range", "1-9")[::2], "--large")
    assert_one_line_error(*cli(*base, "--target-range", "50-10")[::2], "target_range")
    assert not (tmp_path / "out").exists()


def test_exclude_set_of_another_size_is_refused(tmp_path, cli):
    nine = tmp_path / "nine.txt"
    nine.write_text("4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......\n")
    code, _, err = cli(*SUDOKU, "--size", "4", "--exclude", str(nine), "--out", str(tmp_path / "out"))
    assert_one_line_error(code, err, "nine.txt", "no puzzle of this kind (4x4")
    assert not (tmp_path / "out").exists()


def test_non_empty_out_needs_resume_or_overwrite(tmp_path, cli):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = cli(*SUDOKU, "--out", str(out))
    assert_one_line_error(code, err, "not empty", "--resume", "--overwrite")
    code, _, err = cli(*SUDOKU, "--out", str(out), "--overwrite")
    assert_one_line_error(code, err, "notes.txt")  # --overwrite never deletes what rmdm gen did not write
    code, _, err = cli(*SUDOKU, "--out", str(out), "--resume")
    assert_one_line_error(code, err, "no interrupted run")
    assert snapshot(out) == {"notes.txt": b"mine"}
    (out / "notes.txt").unlink()

    assert cli(*SUDOKU, "--out", str(out))[0] == 0
    before = snapshot(out)
    code, _, err = cli(*SUDOKU, "--out", str(out))
    assert_one_line_error(code, err, "not empty")
    assert snapshot(out) == before
    assert cli(*SUDOKU[:-3], "--out", str(out), "--overwrite", "--seed", "2", "--workers", "1", "-q")[0] == 0
    assert snapshot(out) != before


def test_a_real_process_prints_no_traceback(tmp_path):
    done = rmdm_process(*SUDOKU, "--difficulty", "fiendish", "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "unknown difficulty" in done.stderr, done.stderr
    assert done.stdout == ""


def test_stats_table_and_png(tmp_path, cli):
    out = tmp_path / "data"
    assert cli("gen", "sudoku", "--size", "6", "--n", "120", "--seed", "1", "--workers", "1", "-q", "--out", str(out))[0] == 0
    code, table, err = cli("gen", "stats", str(out), "--verify", "--plot", str(tmp_path / "stats.png"))
    assert (code, err) == (0, [])
    lines = table.splitlines()
    assert "task        sudoku" in lines
    splits = load_manifest(out)["splits"]
    for name, split in splits.items():
        assert [name, str(split["count"]), str(len(split["files"]))] in [line.split() for line in lines]
    for word in ("clues", "level", "guesses", "duplicates_dropped", "every file matches its sha256"):
        assert any(line.strip().startswith(word) for line in lines), word
    png = (tmp_path / "stats.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000

    (out / "train-00000.parquet").write_bytes(b"not parquet")
    code, _, err = cli("gen", "stats", str(out), "--verify")
    assert_one_line_error(code, err, "train-00000.parquet", "corrupt")
    other = next(path for path in sorted(out.glob("*.parquet")) if path.name != "train-00000.parquet")
    other.write_bytes(other.read_bytes()[:100])  # truncated, as by a full disk or a killed copy
    code, table, err = cli("gen", "stats", str(out))  # without --verify too: the files are always checked
    assert_one_line_error(code, err, "train-00000.parquet", "corrupt", "and 1 more")
    assert "task        sudoku" in table.splitlines()  # the manifest's table still comes first
    code, _, err = cli("gen", "stats", str(tmp_path))
    assert_one_line_error(code, err, "no manifest.json")
