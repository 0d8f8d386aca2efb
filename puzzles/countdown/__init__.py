"""Countdown: instances, answer parsing, verifier, exact solver, generator.

Two rule sets (`RULES`):

- `ml`, the research variant (Stream-of-Search, "Beyond Autoregression"): 3 to 6 numbers
  in 1..1000, target in 0..1,000,000; every number is used exactly once; results are
  integers >= 0. Subtraction never goes negative, as in the public cd4 benchmark
  (../shared/benchmarks/countdown/cd4_test.jsonl: its 500 reference answers always
  subtract the smaller from the larger, and 11 of them pass through 0, e.g.
  `84-84=0,76*0=0,89+0=89`), so zero is allowed and negatives are not.
- `tv`, the television show: six cards from the pools {1..10, each twice} and
  {25, 50, 75, 100, each once}; target 100..999; each card used at most once; results
  are positive integers.

Answers are text in step form `44-15=29,79-29=50` or one infix expression
`79-(44-15)`; see `answer` for the grammar and bounds, `verify` for the rules checked,
`solve` for what counts as a distinct solution, `generate` for how instances are drawn.
"""

from .answer import (
    MAX_ANSWER_CHARS,
    MAX_DEPTH,
    MAX_DIGITS,
    OPS,
    Node,
    ParsedAnswer,
    Step,
    apply_op,
    format_steps,
    parse_answer,
    read_answer,
    steps_to_infix,
    steps_to_tree,
    tree_to_infix,
    tree_to_steps,
)
from .generate import GENERATOR_VERSION, GeneratedCountdown, generate_countdown
from .instance import (
    ML_MAX_NUMBER,
    ML_MAX_NUMBERS,
    ML_MAX_TARGET,
    ML_MIN_NUMBERS,
    RULES,
    TV_LARGE,
    TV_MAX_TARGET,
    TV_MIN_TARGET,
    TV_NUMBERS,
    TV_SMALL,
    CountdownInstance,
    as_instance,
    iter_countdown_lines,
    parse_instance,
)
from .solve import Closest, closest, count_solutions, reachable, reachable_values, solve_all, solve_countdown
from .verify import ERROR_KINDS, CountdownVerdict, verify_countdown

__all__ = [
    "ERROR_KINDS",
    "GENERATOR_VERSION",
    "MAX_ANSWER_CHARS",
    "MAX_DEPTH",
    "MAX_DIGITS",
    "ML_MAX_NUMBER",
    "ML_MAX_NUMBERS",
    "ML_MAX_TARGET",
    "ML_MIN_NUMBERS",
    "OPS",
    "RULES",
    "TV_LARGE",
    "TV_MAX_TARGET",
    "TV_MIN_TARGET",
    "TV_NUMBERS",
    "TV_SMALL",
    "Closest",
    "CountdownInstance",
    "CountdownVerdict",
    "GeneratedCountdown",
    "Node",
    "ParsedAnswer",
    "Step",
    "apply_op",
    "as_instance",
    "closest",
    "count_solutions",
    "format_steps",
    "generate_countdown",
    "iter_countdown_lines",
    "parse_answer",
    "parse_instance",
    "read_answer",
    "reachable",
    "reachable_values",
    "solve_all",
    "solve_countdown",
    "steps_to_infix",
    "steps_to_tree",
    "tree_to_infix",
    "tree_to_steps",
    "verify_countdown",
]
