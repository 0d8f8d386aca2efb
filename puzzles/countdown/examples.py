"""A few known Countdown instances with a valid answer and their number of distinct solutions.

Used by the tests as known cases (in the spirit of a solver's table of known puzzles)
and handy for demos. Counts follow the definition of distinct in `solve.py`.
"""

from __future__ import annotations

from typing import NamedTuple

from .instance import CountdownInstance, parse_instance


class Example(NamedTuple):
    line: str  # n1,...,target
    rules: str
    answer: str  # a valid answer (step or infix form); "" when there is none
    solutions: int
    note: str

    @property
    def instance(self) -> CountdownInstance:
        return parse_instance(self.line, self.rules)


EXAMPLES: tuple[Example, ...] = (
    Example("44,15,79,50", "ml", "44-15=29,79-29=50", 1, "the README's example"),
    Example("58,11,80,83,81", "ml", "80-58=22,22/11=2,83-2=81", 1, "first line of cd4_test.jsonl"),
    Example("84,76,89,84,89", "ml", "84-84=0,76*0=0,89+0=89", 4, "cd4: an intermediate of zero"),
    Example(
        "25,50,75,100,3,6,952",
        "tv",
        "((100+6)*3*75-50)/25",
        2,
        "the show, 1997: famously hard",
    ),
    Example("75,100,2,5,8,10,999", "tv", "10*100-2*8+75/5", 5, "tv, an answer in infix form using all six cards"),
    Example("1,1,2,2,3,3,999", "tv", "", 0, "tv, unsolvable: the closest reachable value is 81"),
)
