"""Batch evaluation: data loading, Wilson intervals, the retry sweep from one run, outputs, CLI errors."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rmdm.cli import main
from solver.evaluate import EvalError, evaluate, load_eval_data, results_csv, sweep, wilson_interval, write_results

from .test_guided import CODEC, known_9x9, oracle


def test_wilson_interval_known_values():
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    low, high = wilson_interval(50, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)


def write_sudoku_dir(tmp_path: Path) -> Path:
    pairs = known_9x9()
    rows = {
        "id": [f"s{i}" for i in range(len(pairs))],
        "puzzle": [p for p, _ in pairs],
        "solution": [s for _, s in pairs],
        "size": [9] * len(pairs),
        "box_rows": [3] * len(pairs),
        "box_cols": [3] * len(pairs),
        "level": ["easy", "extreme", "hard"][: len(pairs)],
    }
    directory = tmp_path / "sudoku9"
    directory.mkdir()
    pq.write_table(pa.table(rows), directory / "test-00000.parquet")
    manifest = {"task": "sudoku", "splits": {"test": {"count": len(pairs), "files": [{"path": "test-00000.parquet"}]}}}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def test_load_a_data_gen_directory_and_raw_files(tmp_path):
    data = load_eval_data(write_sudoku_dir(tmp_path))
    assert data.task == "sudoku" and len(data.inputs) == 3 and data.split == "test"
    assert data.grouping == "level" and data.groups == ["easy", "extreme", "hard"]
    assert len(load_eval_data(tmp_path / "sudoku9", limit=2).inputs) == 2

    text = tmp_path / "p.txt"
    text.write_text("# a comment\n" + "\n".join(p for p, _ in known_9x9()) + "\n")
    data = load_eval_data(text)
    assert data.grouping == "clues" and data.groups[0] == "clues 30-34"

    jsonl = tmp_path / "cd.jsonl"
    jsonl.write_text('{"input": "44,15,79,50", "output": "44-15=29,79-29=50"}\n{"input": "1,2,3,6"}\n')
    data = load_eval_data(jsonl)
    assert data.task == "countdown" and [x.target for x in data.inputs] == [50, 6]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, "nowhere.txt", "no such file"),
        ("1234\n", "bad.txt", "line 1"),
        ("{not json\n", "bad.jsonl", "line 1"),
        ("x", "data.csv", "unknown data format"),
    ],
)
def test_bad_data_is_a_clear_error(tmp_path, content, name, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(EvalError, match=message):
        load_eval_data(path)


def test_a_missing_split_names_the_splits(tmp_path):
    with pytest.raises(EvalError, match="splits: test"):
        load_eval_data(write_sudoku_dir(tmp_path), split="val")


def test_public_benchmarks_load(shared_benchmarks):
    for name, count in (("norvig_top95.txt", 95), ("norvig_hardest.txt", 11)):
        data = load_eval_data(shared_benchmarks / "sudoku" / name)
        assert data.task == "sudoku" and len(data.inputs) == count
    data = load_eval_data(shared_benchmarks / "countdown" / "cd4_test.jsonl")
    assert data.task == "countdown" and len(data.inputs) == 500 and len(data.inputs[0].numbers) == 4


def test_retry_sweep_from_one_run_matches_separate_runs(tmp_path):
    data = load_eval_data(write_sudoku_dir(tmp_path))
    pairs = known_9x9()
    loaded = SimpleNamespace(model=oracle(pairs), codec=CODEC, name="oracle")
    together = evaluate(loaded, data, sweep([4], [1, 2], retries=[0, 1, 3]), batch_size=2, retry_temperature=0.0)
    assert [r.setting.retries for r in together] == [0, 1, 3, 0, 1, 3]
    for row in together:
        alone = evaluate(loaded, data, sweep([4], [row.setting.loops], retries=[row.setting.retries]), batch_size=2,
                         retry_temperature=0.0)[0]
        assert (alone.solved, alone.mean_nfe, alone.mean_layer_evals) == (row.solved, row.mean_nfe, row.mean_layer_evals)
    assert together[0].solved == 0 and together[1].solved == 3  # the oracle's mistake, fixed by a retry
    assert together[1].mean_nfe > together[0].mean_nfe
    assert together[0].by_group["easy"]["puzzles"] == 1


def test_results_are_written_as_json_and_csv(tmp_path):
    data = load_eval_data(write_sudoku_dir(tmp_path))
    loaded = SimpleNamespace(model=oracle(known_9x9()), codec=CODEC, name="oracle")
    rows = evaluate(loaded, data, sweep([None, 2], retries=[0, 1]))
    json_path, csv_path = write_results(rows, tmp_path / "out", {"checkpoint": "oracle"})
    payload = json.loads(json_path.read_text())
    assert payload["checkpoint"] == "oracle" and len(payload["rows"]) == 4
    assert payload["rows"][0]["steps"] is None and "by_group" in payload["rows"][0]
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("steps,loops,adaptive,policy,retries")
    assert len(lines) == 1 + 4 * (1 + 3)  # per setting: all + three levels
    assert results_csv(rows) == csv_path.read_text()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temp files left


def test_plots_are_drawn(tmp_path):
    from solver.plots import plot_sweep

    data = load_eval_data(write_sudoku_dir(tmp_path))
    loaded = SimpleNamespace(model=oracle(known_9x9()), codec=CODEC, name="oracle")
    rows = evaluate(loaded, data, sweep([1, 4], [1, 2]))
    paths = plot_sweep(rows, tmp_path / "plots", title="oracle")
    assert [p.name for p in paths] == ["solve_rate_vs_nfe.png", "solve_rate_vs_steps.png", "solve_rate_vs_loops.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_a_model_for_another_size_is_refused(tmp_path):
    from puzzles.sudoku import SudokuShape
    from solver.codecs import SudokuCodec

    data = load_eval_data(write_sudoku_dir(tmp_path))
    loaded = SimpleNamespace(model=oracle(known_9x9()), codec=SudokuCodec(SudokuShape(2, 2)), name="four")
    with pytest.raises(EvalError, match="can take none of the .*4x4 Sudoku, not 9x9"):
        evaluate(loaded, data, sweep())


def test_instances_the_model_cannot_take_count_as_unsolved_and_are_named():
    """One instance over the codec's limits is that instance's failure, never the run's."""
    import torch

    from solver.countdown_steps import CountdownStepCodec
    from solver.evaluate import _countdown_data

    from puzzles.countdown import CountdownInstance

    codec = CountdownStepCodec(3)

    from solver.model import Denoiser, DenoiserConfig

    torch.manual_seed(0)  # an untrained network: the search with the calculator still solves what is solvable
    net = Denoiser(DenoiserConfig(vocab_size=codec.vocab_size, seq_len=codec.seq_len, positions="steps", n_numbers=3,
                                  number_digits=codec.number_digits, value_digits=codec.value_digits, d_model=16,
                                  n_heads=2, core_layers=1, loops=1)).eval()

    instances = [CountdownInstance((62, 69, 31), 100), CountdownInstance((2, 3, 500), 506), CountdownInstance((4, 5, 6), 26)]
    data = _countdown_data(instances, None, "mixed", None)
    heard = []
    loaded = SimpleNamespace(model=net, codec=codec, name="steps3")
    (row,) = evaluate(loaded, data, sweep([1], [None], decodings=["search"]), on_refused=heard.append)
    assert heard == [[(1, "this model takes numbers up to 100; 500 is over")]]
    assert (row.solved, row.puzzles) == (2, 3)


# ----------------------------------------------------------------------------- the command line


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(["eval", *argv])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--policy", "best"], "--policy: unknown policy 'best'"),
        (["--decoding", "plain,greedy"], "--decoding: unknown mode 'greedy'"),
    ],
)
def test_eval_bad_sweep_values_exit_2_with_one_line(tmp_path, capsys, flags, message):
    code, err = run_cli(capsys, "--checkpoint", "sudoku9", "--data", str(write_sudoku_dir(tmp_path)), *flags)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("rmdm eval: error: ") and message in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--steps", "1,x"], "argument --steps: 'x' is not a whole number or 'all'"),
        (["--steps", "0"], "argument --steps: 0 is below the minimum 1"),
        (["--loops", "2,2"], "argument --loops: repeated value"),
        (["--retries", "-1"], "argument --retries: -1 is below the minimum 0"),
        (["--samples", "0"], "argument --samples: must be at least 1, got 0"),
        (["--limit", "0"], "argument --limit: must be at least 1, got 0"),
        (["--batch-size", "-3"], "argument --batch-size: must be at least 1, got -3"),
        (["--batch-size", "x"], "argument --batch-size: 'x' is not a whole number"),
        (["--search-nfe", "0"], "argument --search-nfe: 0 is below the minimum 1"),
        (["--search-nodes", "0"], "argument --search-nodes: must be at least 1, got 0"),
        (["--temperature", "-1"], "argument --temperature: cannot be negative, got -1"),
        (["--retry-temperature", "nan"], "argument --retry-temperature: must be a finite number"),
        (["--adaptive-threshold", "-0.5"], "argument --adaptive-threshold: cannot be negative"),
    ],
)
def test_eval_bad_numbers_are_refused_while_parsing(tmp_path, capsys, monkeypatch, flags, message):
    """argparse's usual error (usage, then one error line), exit 2, before data or a model is read."""
    import solver.evaluate

    monkeypatch.setattr(solver.evaluate, "load_eval_data", lambda *a, **k: pytest.fail("data read before the flags were checked"))
    with pytest.raises(SystemExit) as info:
        main(["eval", "--checkpoint", "sudoku9", "--data", str(tmp_path / "unread"), *flags])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.startswith("usage: rmdm eval")
    assert err.splitlines()[-1] == f"rmdm eval: error: {message}" or f"rmdm eval: error: {message}" in err.splitlines()[-1]


def test_eval_bad_data_path_exits_2(tmp_path, capsys):
    code, err = run_cli(capsys, "--checkpoint", "sudoku9", "--data", str(tmp_path / "missing"))
    assert code == 2 and err.count("\n") == 1 and "no such file or directory" in err
    code, err = run_cli(capsys, "--checkpoint", "sudoku9", "--data", str(tmp_path))
    assert code == 2 and "manifest.json" in err


def test_eval_missing_checkpoint_exits_2(tmp_path, capsys):
    pytest.importorskip("solver.checkpoint")
    data = write_sudoku_dir(tmp_path)
    code, err = run_cli(capsys, "--checkpoint", str(tmp_path / "no-such-checkpoint"), "--data", str(data))
    assert code == 2 and err.count("\n") == 1 and err.startswith("rmdm eval: error: ")
    code, err = run_cli(capsys, "--checkpoint", "no_such_bundled_model", "--data", str(data))
    assert code == 2 and err.count("\n") == 1


def test_eval_unusable_device_exits_2(tmp_path, capsys):
    code, err = run_cli(capsys, "--checkpoint", "sudoku9", "--data", str(write_sudoku_dir(tmp_path)), "--device", "gpu")
    assert code == 2 and err.count("\n") == 1 and "unknown device 'gpu'" in err


def test_adaptive_on_reaches_the_sampler(tmp_path):
    data = load_eval_data(write_sudoku_dir(tmp_path))
    loaded = SimpleNamespace(model=oracle(known_9x9()), codec=CODEC, name="oracle")
    settings = sweep([2], [4], adaptive=True)
    never = evaluate(loaded, data, settings, adaptive_threshold=0.0)[0]  # nothing counts as settled: the cap
    assert never.loops_per_step == 4
    # the oracle's predictions never change between loops: settled at the second loop's readout
    settled = evaluate(loaded, data, settings, adaptive_on="predictions", adaptive_threshold=0.5)[0]
    assert settled.loops_per_step == 2 and settled.mean_nfe < never.mean_nfe


def test_decoding_modes_sweep_and_search_fixes_what_plain_decoding_gets_wrong(tmp_path):
    data = load_eval_data(write_sudoku_dir(tmp_path))
    loaded = SimpleNamespace(model=oracle(known_9x9()), codec=CODEC, name="oracle")
    settings = sweep([None], decodings=["plain", "constrained", "search", "search-mrv"], search_budgets=[None, 10_000])
    assert [(s.decoding, s.search_nfe) for s in settings] == [
        ("plain", None), ("constrained", None), ("search", None), ("search", 10_000), ("search-mrv", None)
    ]
    plain, constrained, search, bounded, mrv = evaluate(loaded, data, settings)
    assert plain.solved == 0 and search.solved == bounded.solved == 3  # the oracle's confident mistake, undone
    assert search.mean_nodes >= 81 - 30 and plain.mean_nodes == 0
    assert search.p95_nfe >= search.mean_nfe - 1e-9 and 0 < search.mean_nfe  # forced cells cost no pass
    assert mrv.solved == 3 and mrv.mean_nfe == 0  # no network
    rows = results_csv([plain, search]).splitlines()
    assert rows[0].split(",")[6:8] == ["decoding", "search_nfe"] and ",search," in rows[5]


def test_a_search_gets_one_row_whatever_the_retry_counts():
    """A search backtracks instead of retrying: retries 0,4 give plain and constrained two rows each, search one."""
    settings = sweep(decodings=["plain", "constrained", "search"], retries=[0, 4])
    assert [(s.decoding, s.retries) for s in settings] == [
        ("plain", 0), ("plain", 4), ("constrained", 0), ("constrained", 4), ("search", 0)]
