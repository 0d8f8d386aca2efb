"""The sampler's flags are declared once (solver.options) and mean the same in rmdm solve and rmdm eval."""

from __future__ import annotations

from rmdm.cli import build_parser
from solver.inference import options_from_args
from solver.options import SampleOptions

SHARED = ("adaptive", "adaptive_on", "adaptive_threshold", "untrained_loops", "temperature", "retry_temperature", "seed",
          "search_nodes", "policy")


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


def test_solve_and_eval_have_the_same_sampler_flags_with_the_samplers_defaults():
    solve = parse("solve", "sudoku")
    evaluate = parse("eval", "--checkpoint", "sudoku4", "--data", "x.txt")
    defaults = SampleOptions()
    for name in SHARED:
        assert getattr(solve, name) == getattr(evaluate, name) == getattr(defaults, name), name


def test_solve_flags_reach_the_sampler_options():
    args = parse("solve", "sudoku", "--adaptive", "--adaptive-on", "hidden", "--adaptive-threshold", "0.2",
                 "--untrained-loops", "--policy", "top_margin", "--loops", "5", "--seed", "3")
    options, retries, samples = options_from_args(args)
    assert (options.adaptive, options.adaptive_on, options.adaptive_threshold, options.untrained_loops) == (True, "hidden", 0.2, True)
    assert (options.policy, options.loops, options.seed, retries, samples) == ("top_margin", 5, 3, 0, 1)


def test_eval_sweeps_lists_where_solve_takes_one_value():
    evaluate = parse("eval", "--checkpoint", "sudoku4", "--data", "x.txt", "--steps", "1,4", "--loops", "trained,2")
    assert evaluate.steps == [1, 4] and evaluate.loops == [None, 2]
    assert parse("solve", "sudoku", "--steps", "4").steps == 4
