"""`rmdm gen import`: one-line Sudoku collections and {"input","output"} Countdown JSONL into
the dataset format, with solutions computed and verified."""

from __future__ import annotations

import json

import numpy as np

from data_gen import load_manifest, read_dataset
from puzzles.countdown import count_solutions, parse_instance, verify_countdown
from puzzles.sudoku import parse_sudoku, solve_batch, verify_batch

from .helpers import DATA, assert_one_line_error


def test_sudoku_round_trip(tmp_path, cli):
    code, _, err = cli("gen", "import", str(DATA / "sudoku_lines.txt"), "--out", str(tmp_path / "s"))
    assert code == 0
    assert "line 6: skipped, the puzzle has more than one solution" in "\n".join(err)
    assert "line 7: a 4x4 puzzle, not 9x9" in "\n".join(err)
    table = read_dataset(tmp_path / "s", "test")
    lines = (DATA / "sudoku_lines.txt").read_text().splitlines()
    expected = {f"sudoku_lines:{no}": parse_sudoku(lines[no - 1]) for no in (2, 3, 5, 8)}
    assert table.column("id").to_pylist() == list(expected)
    for row in table.to_pylist():
        given = expected[row["id"]]
        assert np.array_equal(parse_sudoku(row["puzzle"]).grid, given.grid)  # '0' blanks read as '.'
        assert "0" not in row["puzzle"] and len(row["puzzle"]) == 81
        solution = parse_sudoku(row["solution"]).grid
        assert verify_batch(given.grid[None], solution[None]).all()
        assert np.array_equal(solution, solve_batch(given.grid[None], limit=2).solutions[0])
        assert row["clues"] == given.clues and row["size"] == 9
    manifest = load_manifest(tmp_path / "s")
    assert manifest["generator"] == "data_gen.import" and manifest["verified"] is True
    assert manifest["sources"][0]["records"] == 4 and manifest["sources"][0]["skipped"] == 1


def test_countdown_round_trip(tmp_path, cli):
    code, _, err = cli("gen", "import", str(DATA / "countdown.jsonl"), "--out", str(tmp_path / "c"), "-q")
    assert code == 0
    rows = read_dataset(tmp_path / "c", "test").to_pylist()
    given = {no + 1: json.loads(line) for no, line in enumerate((DATA / "countdown.jsonl").read_text().splitlines()) if line}
    assert [r["id"] for r in rows] == ["countdown:1", "countdown:2", "countdown:3", "countdown:6"]  # line 4 has no solution
    for row in rows:
        record = given[int(row["id"].split(":")[1])]
        instance = parse_instance(record["input"], "ml")
        assert (tuple(row["numbers"]), row["target"], row["rules"]) == (instance.numbers, instance.target, "ml")
        assert verify_countdown(instance, row["answer"]).valid
        if verify_countdown(instance, record["output"]).valid:
            assert row["answer"] == record["output"]  # a valid given answer is kept as written
        assert row["solutions"] == count_solutions(instance, limit=100_000) >= 1
    assert rows[2]["answer"] != given[3]["output"]  # the invalid given answer was replaced
    stats = load_manifest(tmp_path / "c")["stats"]
    assert stats["max_prompt_chars"] == len("58,11,80,83,81")


def test_bad_line_is_one_line_error(tmp_path, cli):
    bad = tmp_path / "bad.txt"
    bad.write_text("4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......\n12x\n")
    code, _, err = cli("gen", "import", str(bad), "--out", str(tmp_path / "out"))
    assert_one_line_error(code, err, "bad.txt", "line 2")
    assert not (tmp_path / "out").exists()
    code, _, err = cli("gen", "import", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "out"))
    assert_one_line_error(code, err, "missing.txt")


def test_shared_benchmarks_import(tmp_path, cli, shared_benchmarks):
    top95 = shared_benchmarks / "sudoku" / "norvig_top95.txt"
    code, _, err = cli("gen", "import", str(top95), "--out", str(tmp_path / "s"), "-q")
    assert (code, err) == (0, [])
    assert load_manifest(tmp_path / "s")["splits"]["test"]["count"] == 95
    cd4 = shared_benchmarks / "countdown" / "cd4_test.jsonl"
    lines = [json.loads(line) for line in cd4.read_text().splitlines() if line.strip()][:60]
    part = tmp_path / "cd4_part.jsonl"
    part.write_text("".join(json.dumps(r) + "\n" for r in lines))
    code, _, err = cli("gen", "import", str(part), "--out", str(tmp_path / "c"), "-q")
    assert (code, err) == (0, [])
    rows = read_dataset(tmp_path / "c", "test").to_pylist()
    assert [r["answer"] for r in rows] == [r["output"] for r in lines]
