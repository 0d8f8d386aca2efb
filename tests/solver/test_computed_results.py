"""A Countdown model with computed results (the calculator writes every result) is never decoded plain."""

from __future__ import annotations

import io
import json

import pytest
import torch

from rmdm.cli import main
from solver.checkpoint import load, save_checkpoint
from solver.constraints import PLAIN_REFUSED, needs_constraint
from solver.countdown_steps import CountdownStepCodec
from solver.guided import solve_guided
from solver.model import Denoiser, DenoiserConfig
from solver.sampler import SampleOptions

INSTANCES = ["4,5,6,26", "62,69,31,100"]  # 4*5+6, 62+69-31


@pytest.fixture()
def checkpoint(tmp_path):
    codec = CountdownStepCodec(3, computed_results=True)
    torch.manual_seed(0)
    net = Denoiser(DenoiserConfig(vocab_size=codec.vocab_size, seq_len=codec.seq_len, positions="steps", n_numbers=3,
                                  number_digits=codec.number_digits, value_digits=codec.value_digits, d_model=16,
                                  n_heads=2, core_layers=1, loops=1)).eval()
    return save_checkpoint(tmp_path / "computed", net, codec, {}, "card")


def test_the_flag_survives_the_checkpoint_and_plain_decoding_is_refused(checkpoint):
    loaded = load(checkpoint)
    assert needs_constraint(loaded.codec) and not needs_constraint(CountdownStepCodec(3))
    with pytest.raises(ValueError, match="leaves the arithmetic to the calculator"):
        solve_guided(loaded.model, loaded.codec, INSTANCES, SampleOptions())
    outcomes = solve_guided(loaded.model, loaded.codec, INSTANCES, SampleOptions(search=True))
    assert all(o.valid for o in outcomes)  # the search with the calculator solves what is solvable


def test_rmdm_solve_decodes_it_with_the_calculator_by_default(checkpoint, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(INSTANCES) + "\n"))
    main(["solve", "countdown", "--checkpoint", str(checkpoint)])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == len(INSTANCES)
    for line in out:  # the calculator wrote the results: every step that reads is exact (a dead end reads '?')
        answer = line.split()[0]
        assert not line.startswith(("-", "error"))
        for step in answer.split(","):
            if "?" not in step:
                left, result = step.split("=")
                a, op, b = next((left.partition(o) for o in "+-*/" if o in left))
                assert {"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b),
                        "/": int(a) // int(b)}[op] == int(result)


def test_rmdm_eval_refuses_plain_decoding_in_one_line(checkpoint, tmp_path, capsys):
    data = tmp_path / "cd.jsonl"
    data.write_text("".join(json.dumps({"input": line}) + "\n" for line in INSTANCES))
    code = main(["eval", "--checkpoint", str(checkpoint), "--data", str(data), "--quiet", "--out", str(tmp_path / "e")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and PLAIN_REFUSED in err and len(err.splitlines()) == 1
    code = main(["eval", "--checkpoint", str(checkpoint), "--data", str(data), "--quiet", "--decoding", "constrained,search",
                 "--out", str(tmp_path / "e2")])
    assert code == 0
