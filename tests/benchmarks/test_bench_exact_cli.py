"""benchmarks/bench_exact_cli.py: skips cleanly without ../shared, its peer (PySAT, optional)
solves what our solver solves, and the ratios are ours over the peer's."""

from __future__ import annotations

import pytest

from benchmarks import bench_exact_cli
from puzzles.sudoku import read_sudoku_block, solve_batch, to_lines

# norvig_top95 line 1 and an unsolvable grid (row 1 forces a 9 where column 9 has one)
PUZZLES = [
    "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......",
    "12345678." + "........9" + "." * 63,
]


def test_without_the_shared_sets_it_says_so_and_measures_nothing(tmp_path, capsys):
    out = tmp_path / "exact_cli.json"
    assert bench_exact_cli.main(["--shared", str(tmp_path / "absent"), "--out", str(out)]) == 0
    assert "magictour_top1465 not found" in capsys.readouterr().out
    assert not out.exists()


def test_the_encoding_has_the_usual_clause_count():
    assert len(bench_exact_cli.sudoku_cnf()) == 81 * (1 + 36) + 27 * 9 * (1 + 36)


def test_the_peer_solves_what_ours_solves(tmp_path, capsys):
    pytest.importorskip("pysat", reason="python-sat (the bench extra) is not installed")
    ours = solve_batch(read_sudoku_block(PUZZLES).groups[0].grids)
    assert bench_exact_cli.peer_solve([bench_exact_cli.peer_givens(p) for p in PUZZLES]) == [
        to_lines(ours.solutions)[0],
        None,
    ]
    path = tmp_path / "in.txt"
    path.write_text("\n".join(PUZZLES) + "\n")
    assert bench_exact_cli.peer_cli(str(path)) == 0
    assert capsys.readouterr().out.splitlines() == [to_lines(ours.solutions)[0], "-"]


def test_ratios_are_ours_over_the_peers():
    def rate(wall, cpu):
        return {"per_second": wall, "per_cpu_second": cpu}

    found = bench_exact_cli.ratios(
        {"in_process": rate(30_000, 36_000), "end_to_end": rate(9_000, 12_000), "peer_in_process": rate(3_000, 3_000)}
    )
    assert found == {
        "in_process / peer_in_process": {"wall": 10.0, "cpu": 12.0},
        "end_to_end / peer_in_process": {"wall": 3.0, "cpu": 4.0},
    }
