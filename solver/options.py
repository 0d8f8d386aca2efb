"""How to sample, declared once: `SampleOptions` (the sampler's settings) and the command-line
flags that set them, for `rmdm solve` (one value each) and `rmdm eval` (comma lists to sweep).

No torch here: the command line is built from this module without loading the network.

    parser.add_argument_group("model options")
    add_sampler_flags(group, sweep=False)        # --steps --loops --policy --adaptive ... --search-nodes
"""

from __future__ import annotations

import argparse
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from .argtypes import int_list, non_negative_float, positive_int

Policy = Literal["random", "top_prob", "top_margin", "entropy"]
POLICIES: tuple[str, ...] = ("random", "top_prob", "top_margin", "entropy")


class SampleOptions(BaseModel):
    """How to sample. `steps=None`: one token per step; `loops=None`: as trained.

    With `adaptive`, a row stops looping once the change between successive loops falls
    under `adaptive_threshold`: by default the share of its masked positions whose argmax
    changed ("predictions", a readout after every loop), or the relative norm of its hidden
    state's change ("hidden"). Its loop cap is `max_loops`, else `loops`, else the trained
    loop count: a model trained at a fixed count diverges when looped further. No loop count
    may exceed the model's `config.max_loops`. (Measured in docs/RESULTS.md, scaling study:
    the hidden-state change stays above 0.25 on whole-network R-MDMs, so that criterion never
    stops them early, while "predictions" at 0.01 saved 18% of NFE at the same solve rate.)
    """

    model_config = ConfigDict(extra="forbid")

    steps: int | None = Field(None, ge=1)
    loops: int | None = Field(None, ge=1)
    policy: Policy = "top_prob"
    temperature: float = Field(0.0, ge=0.0)  # 0: argmax; > 0: Gumbel-max sampling at this temperature
    # verifier-guided retries and extra samples (solver.guided) sample at this temperature when
    # `temperature` is 0: at argmax they mostly repeat the rejected answer
    retry_temperature: float = Field(1.0, ge=0.0)
    adaptive: bool = False
    adaptive_on: Literal["hidden", "predictions"] = "predictions"
    adaptive_threshold: float = Field(0.01, ge=0.0)
    min_loops: int = Field(1, ge=1)  # adaptive rows run at least this many loops
    max_loops: int | None = Field(None, ge=1)
    untrained_loops: bool = False  # allow loop counts past the trained one on a model with a loop embedding
    seed: int = 0
    trace: bool = False  # callers that collect frames (solver.guided) pass a solver.trace.Tracer
    # verifier in the loop (solver.constraints): illegal tokens get zero probability before the
    # policy ranks positions; `search` adds backtracking (solver.search), bounded per puzzle by
    # `search_nfe` network passes and `search_nodes` commits (None: unbounded)
    constrain: bool = False
    search: bool = False
    search_nfe: int | None = Field(None, ge=1)
    search_nodes: int | None = Field(None, ge=1)
    search_order: Literal["model", "uniform", "mrv"] = "model"
    # constrained decoding and search: commit a position with one legal token left without the
    # network (Countdown: the calculator's results; Sudoku: cells with one digit left)
    propagate: bool = True
    # search: where to branch: the policy's best position ("policy"), or the one with the fewest legal
    # tokens, ties broken by the policy ("fewest"); the model orders the tokens tried there either way
    search_branch: Literal["policy", "fewest"] = "fewest"
    # search: after a backtrack, order the next node by the logits of the node being revised
    # instead of a fresh network pass
    search_reuse: bool = True


def decoding_phrase(mode: str, retries: int = 0, samples: int = 1) -> str:
    """'plain', 'constrained' or 'search', then ' + N retries' / ' + best of N' where used: how an
    answer was decoded, in the one phrasing the command line, the evaluator and the app use."""
    if retries:
        mode += f" + {retries} retr{'y' if retries == 1 else 'ies'}"
    if samples > 1:
        mode += f" + best of {samples}"
    return mode


def _default(name: str):
    return SampleOptions.model_fields[name].default


def add_sampler_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, sweep: bool) -> None:
    """The sampler's flags on `parser`, defaults taken from SampleOptions. `sweep` (rmdm eval):
    --steps, --loops, --policy and --search-nfe take comma lists, every combination is run."""
    if sweep:
        parser.add_argument("--steps", type=int_list(minimum=1, default_word="all"), default="all", metavar="LIST",
                            help="denoising steps, e.g. 1,2,4,8,16; 'all' = one position per step (default)")
        parser.add_argument("--loops", type=int_list(minimum=1, default_word="trained"), default="trained", metavar="LIST",
                            help="loops per step, e.g. 1,2,4,8; 'trained' = as trained (default); with --adaptive, the cap")
        parser.add_argument("--policy", default=_default("policy"), metavar="LIST",
                            help=f"unmasking policies: {', '.join(POLICIES)} (default: %(default)s)")
        parser.add_argument("--search-nfe", type=int_list(minimum=1, default_word="none"), default="none", metavar="LIST",
                            help="NFE budgets per puzzle for --decoding search, e.g. 340,510,1000; 'none' = unbounded (default)")
    else:
        parser.add_argument("--steps", type=positive_int, metavar="K", help="denoising steps (default: one position per step)")
        parser.add_argument("--loops", type=positive_int, metavar="L", help="core loops per step (default: as trained)")
        parser.add_argument("--policy", choices=POLICIES, default=_default("policy"), help="unmasking order (default %(default)s)")
        parser.add_argument("--search-nfe", type=positive_int, default=None, metavar="N",
                            help="with --search: at most N network passes per puzzle (default: unbounded)")
    parser.add_argument("--search-nodes", type=positive_int, default=None, metavar="N",
                        help="with a search: at most about N commits per puzzle (default: unbounded)")
    parser.add_argument("--adaptive", action="store_true",
                        help="adaptive loops: stop a step's loops once they settle (--adaptive-on); --loops is the cap")
    parser.add_argument("--adaptive-on", choices=get_args(SampleOptions.model_fields["adaptive_on"].annotation),
                        default=_default("adaptive_on"),
                        help="what must settle: the share of masked positions whose prediction changed between loops, "
                             "or the hidden state's relative change (default %(default)s)")
    parser.add_argument("--adaptive-threshold", type=non_negative_float, default=_default("adaptive_threshold"), metavar="X",
                        help="change that counts as settled (default %(default)s)")
    parser.add_argument("--untrained-loops", action="store_true",
                        help="allow --loops past the trained count on a model with a loop embedding (to measure extrapolation)")
    parser.add_argument("--temperature", type=non_negative_float, default=_default("temperature"),
                        help="sampling temperature (default %(default)s: argmax)")
    parser.add_argument("--retry-temperature", type=non_negative_float, default=_default("retry_temperature"), metavar="T",
                        help="temperature of retries and extra samples when --temperature is 0 (default %(default)s)")
    parser.add_argument("--seed", type=int, default=_default("seed"), help="random seed (default %(default)s)")
