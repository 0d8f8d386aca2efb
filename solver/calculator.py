"""Countdown's calculator constraint on the step codec (ml rules): which slots may take which tokens.

For each step, in order, every (a, op, b) the committed slots still allow is tried:

- a and b refer to values still available: the instance's numbers and the results of
  earlier steps, each referred to once in the whole answer (so every number and every
  result but the last is used exactly once, as the ml rules want), a and b different;
- the result is `a op b` by exact arithmetic: never negative, division only when exact,
  and the last step's result is the target;
- committed result digits must agree with it.

A slot's legal tokens are those of the triples that survive; a result slot is then forced
to its one digit once its step's a, op and b are committed (the search propagates it
without the network, the constrained sampler commits it with probability 1). A value that
is not known yet (an earlier result still masked) allows any result, except in the last
step, whose result is always the target. A committed token outside its slot's legal set is
a conflict. Pure Python per row: at most (2N-2)^2 * 4 triples per step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .countdown_steps import DIGIT0, MASK, OP0, PAD, REF0, CountdownStepCodec

ANY_DIGIT = tuple(range(PAD, DIGIT0 + 10))  # PAD and the ten digits


def _exact(a: int, op: int, b: int) -> int | None:
    """a op b over the ml rules' values (op 0..3 = + - * /): None unless a whole number >= 0."""
    if op == 0:
        return a + b
    if op == 1:
        return a - b if a >= b else None
    if op == 2:
        return a * b
    return a // b if b and a % b == 0 else None


class CalculatorConstraint:
    """`check(tokens) -> legal (B,T,V), conflict (B,T)` for a CountdownStepCodec (ml rules)."""

    def __init__(self, codec: CountdownStepCodec):
        self.codec = codec
        self.vocab_size = codec.vocab_size
        self.mask_id = MASK

    def check(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,T) ids -> legal (B,T,V), conflict (B,T)."""
        rows = tokens.detach().cpu().long().tolist()
        legal = np.zeros((len(rows), self.codec.seq_len, self.vocab_size), dtype=bool)
        for b, ids in enumerate(rows):
            pairs = [(position, token) for position, allowed in self.row_legal(ids).items() for token in allowed]
            if pairs:
                at = np.asarray(pairs)
                legal[b, at[:, 0], at[:, 1]] = True
        ids = tokens.detach().cpu().long().numpy()
        placed = np.take_along_axis(legal, ids[..., None], axis=2)[..., 0]  # (B,T) the placed token is legal
        conflict = (ids != MASK) & ~placed
        return torch.from_numpy(legal).to(tokens.device), torch.from_numpy(conflict).to(tokens.device)

    def row_legal(self, ids: list[int]) -> dict[int, set[int]]:
        """Position -> its legal tokens, for one row's ids (prompt positions: their own token)."""
        c = self.codec
        allowed: dict[int, set[int]] = {p: {ids[p]} for p in range(c.prompt_len)}
        numbers, target = c.prompt_values(ids)
        refs = [ids[c.step_start(k) + s] for k in range(c.n_steps) for s in (0, 2)]
        uses: dict[int, int] = {}
        for ref in refs:
            if ref != MASK:
                uses[ref] = uses.get(ref, 0) + 1
        results: list[int | None] = []
        for k in range(c.n_steps):
            results.append(self._step(ids, k, numbers, target, results, uses, allowed))
        return allowed

    def _step(self, ids, k, numbers, target, results, uses, allowed) -> int | None:
        """Fill `allowed` for step k's slots; return its result's value when it is determined."""
        c = self.codec
        start = c.step_start(k)
        a, op, b, digits = c.step_slots(ids, k)
        last = k == c.n_steps - 1
        available = [c.ref_token("n", i) for i in range(c.n_numbers)] + [c.ref_token("r", j) for j in range(k)]

        def candidates(slot_token: int) -> list[int]:
            pool = [slot_token] if slot_token != MASK else available
            own = 1 if slot_token != MASK else 0  # this slot's own use of its ref
            return [r for r in pool if r in available and uses.get(r, 0) - (own if r == slot_token else 0) == 0]

        ops = [op - OP0] if op != MASK else [0, 1, 2, 3]
        seen_a, seen_op, seen_b = set(), set(), set()
        seen_digits = [set() for _ in digits]
        values = set()
        for ra in candidates(a):
            for rb in candidates(b):
                if ra == rb:
                    continue
                va, vb = c.ref_value(ra, numbers, results), c.ref_value(rb, numbers, results)
                for o in ops:
                    if o < 0 or o > 3:
                        continue
                    if va is not None and vb is not None:
                        value = _exact(va, o, vb)
                        if value is None or value >= 10**c.value_digits or (last and value != target):
                            continue
                    else:
                        value = target if last else None
                    if value is None:
                        pattern = [ANY_DIGIT] * len(digits)
                    else:
                        pattern = [(d,) for d in c._digits(value, c.value_digits)]
                        if any(d != MASK and d != p[0] for d, p in zip(digits, pattern)):
                            continue
                    seen_a.add(ra), seen_op.add(OP0 + o), seen_b.add(rb)
                    for place, options in enumerate(pattern):
                        seen_digits[place].update(options)
                    values.add(value)
        allowed[start], allowed[start + 1], allowed[start + 2] = seen_a, seen_op, seen_b
        for place, options in enumerate(seen_digits):
            allowed[start + 3 + place] = options
        if len(values) == 1 and None not in values:
            return next(iter(values))
        return c.read_digits(digits) if MASK not in digits else None
