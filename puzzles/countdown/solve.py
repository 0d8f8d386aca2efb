"""Exact Countdown solving by memoised subset search.

For every subset of the numbers (a bitmask) the table holds the sorted distinct values
that expressions using exactly those numbers can take under the rules, and one way to
make each: which split of the subset, which operator, which value on each side. A
subset's values come from every split into two non-empty parts, combined with numpy
outer operations and deduplicated with `np.unique`, smallest subsets first. Values fit
in int64: the instance bounds keep every expression below 1001**6 < 2**63.

The full set of numbers is never tabulated to answer "is the target reachable": its
splits are searched backwards from the target (for each left value, the right value
each operator would need, looked up by binary search), so six numbers cost what five do.

Distinct solutions. Two solutions are the same when their normal forms are equal. The
normal form flattens each chain of + and - into a sum node holding the multiset of
added terms and the multiset of subtracted terms, and each chain of * and / into a
product node with the multiset of factors and of divisors; leaves are values. So
commutativity (a+b = b+a), associativity ((a+b)+c = a+(b+c)) and the sign/divisor rules
(a-(b-c) = (a+c)-b, a/(b/c) = (a*c)/b) do not make new solutions, while any other
algebra does (a*1 and a/1 differ; a+b-b is a solution using a, b and b). Equal numbers
are interchangeable, and two solutions whose step forms are identical count once (with
equal values, (1*1)-1 and 1-(1*1) both write `1*1=1,1-1=0`). Under tv, solutions over
different subsets of the cards count apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .answer import Node, Step, tree_to_steps
from .instance import CountdownInstance, as_instance

_OPS = ("+", "*", "-", "-r", "/", "/r")  # "-r": right minus left; "/r": right over left


class _Table:
    """Reachable values per subset of `numbers` under `rules`, built on demand."""

    def __init__(self, numbers: tuple[int, ...], rules: str):
        self.n = len(numbers)
        self.full = (1 << self.n) - 1
        self.lowest = 0 if rules == "ml" else 1
        self.values: dict[int, np.ndarray] = {}
        # mask -> (splits, offset of each split's pairs, k * N + pair for each value)
        self.source: dict[int, tuple[list[tuple[int, int]], np.ndarray, np.ndarray]] = {}
        for i, x in enumerate(numbers):
            self.values[1 << i] = np.array([x], dtype=np.int64)
        self.masks_by_size = sorted(range(1, self.full + 1), key=lambda m: (m.bit_count(), m))

    def splits(self, mask: int):
        """Unordered splits (left, right) of `mask`; left holds the lowest number."""
        low = mask & -mask
        rest = mask ^ low
        sub = rest
        while True:
            left = low | sub
            if left != mask:
                yield left, mask ^ left
            if sub == 0:
                return
            sub = (sub - 1) & rest

    def ensure(self, max_size: int) -> None:
        """Tabulate every subset with at most `max_size` numbers."""
        for mask in self.masks_by_size:
            if mask.bit_count() > max_size:
                break
            if mask not in self.values:
                self._build(mask)

    def _build(self, mask: int) -> None:
        """Combine the values of every split at once: the pairs (left value, right value)
        of all splits are laid end to end, split after split, row-major within a split."""
        splits = list(self.splits(mask))
        a = np.concatenate([np.repeat(self.values[l], len(self.values[r])) for l, r in splits])  # (N,)
        b = np.concatenate([np.tile(self.values[r], len(self.values[l])) for l, r in splits])  # (N,)
        a_safe, b_safe = np.where(a == 0, 1, a), np.where(b == 0, 1, b)
        results = np.stack([a + b, a * b, a - b, b - a, a // b_safe, b // a_safe])  # (6, N), in _OPS order
        keep = results >= self.lowest
        keep[4] &= (b != 0) & (a % b_safe == 0)
        keep[5] &= (a != 0) & (b % a_safe == 0)
        flat = np.flatnonzero(keep)  # k * N + pair
        unique, first = np.unique(results.ravel()[flat], return_index=True)
        sizes = [len(self.values[l]) * len(self.values[r]) for l, r in splits]
        self.source[mask] = (splits, np.cumsum([0, *sizes]), flat[first])
        self.values[mask] = unique  # last: a table is shared (cached), `values` marks a subset done

    # ------------------------------------------------------------ reconstruction

    def tree(self, mask: int, index: int) -> Node | int:
        """One expression for self.values[mask][index]."""
        if mask.bit_count() == 1:
            return int(self.values[mask][index])
        splits, offsets, source = self.source[mask]
        k, pair = divmod(int(source[index]), int(offsets[-1]))
        split = int(np.searchsorted(offsets, pair, side="right")) - 1
        left, right = splits[split]
        i, j = divmod(pair - int(offsets[split]), len(self.values[right]))
        return _node(_OPS[k], self.tree(left, i), self.tree(right, j))

    def tree_for(self, mask: int, value: int) -> Node | int | None:
        """One expression with `value` over exactly `mask`, or None."""
        if mask in self.values:
            found = _index_of(self.values[mask], value)
            return None if found is None else self.tree(mask, found)
        for op, left, right, i, j in self.pairs(mask, value):
            return _node(op, self.tree(left, i), self.tree(right, j))
        return None

    def pairs(self, mask: int, target: int):
        """Every (op, left, right, i, j) with values[left][i] op values[right][j] == target,
        over the splits of `mask` (whose proper subsets must be tabulated)."""
        for left, right in self.splits(mask):
            a, b = self.values[left], self.values[right]
            if not len(a) or not len(b):
                continue
            need, ok = _needed(a, target, int(b[-1]))  # (6, p) each
            idx = np.minimum(np.searchsorted(b, need), len(b) - 1)
            for k, i in zip(*np.nonzero(ok & (b[idx] == need))):
                yield _OPS[k], left, right, int(i), int(idx[k, i])
            if target == 0 and self.lowest == 0:
                yield from _zero_pairs(left, right, a, b)


def _needed(a: np.ndarray, t: int, b_max: int) -> tuple[np.ndarray, np.ndarray]:
    """For left values `a` (p,), target `t` and right values up to `b_max`: for each
    operator of `_OPS`, the right value it needs and whether it can work, both (6, p)."""
    nonzero = a != 0
    safe = np.where(nonzero, a, 1)
    fits = a <= b_max // t if t else np.ones(a.shape, bool)  # t * a overflows int64 beyond
    need = np.stack([t - a, t // safe, a - t, a + t, a // max(t, 1), np.where(fits, a, 0) * t])
    ok = np.stack(
        [
            np.ones(a.shape, bool),
            nonzero & (t % safe == 0) & (t != 0),  # t == 0: _zero_pairs
            np.ones(a.shape, bool),
            np.ones(a.shape, bool),
            nonzero & (a % max(t, 1) == 0) & (t != 0),
            nonzero & fits,
        ]
    )
    return need, ok


def _zero_pairs(left: int, right: int, a: np.ndarray, b: np.ndarray):
    """Target 0 (ml only): 0*y, x*0 and 0/y for every y, which `_needed` cannot express."""
    zero_a, zero_b = _index_of(a, 0), _index_of(b, 0)
    if zero_a is not None:
        for j in range(len(b)):
            yield "*", left, right, zero_a, j
            if b[j] != 0:
                yield "/", left, right, zero_a, j
    if zero_b is not None:
        for i in range(len(a)):
            if a[i] != 0:  # a == 0 with b == 0 was yielded above
                yield "*", left, right, i, zero_b


def _index_of(sorted_values: np.ndarray, value: int) -> int | None:
    i = int(np.searchsorted(sorted_values, value))
    return i if i < len(sorted_values) and sorted_values[i] == value else None


def _node(op: str, left: Node | int, right: Node | int) -> Node:
    if op.endswith("r"):
        return Node(op[0], right, left)
    return Node(op, left, right)


@lru_cache(maxsize=16)
def _table(numbers: tuple[int, ...], rules: str) -> _Table:
    return _Table(numbers, rules)


def _table_for(instance: CountdownInstance) -> _Table:
    return _table(tuple(sorted(instance.numbers)), instance.rules)


# ---------------------------------------------------------------- public API


def solve_countdown(instance: CountdownInstance | str, rules: str = "ml") -> list[Step] | None:
    """One solution in step form, or None. Under tv it uses the fewest numbers possible
    (no step at all, [], when the target is one of the numbers)."""
    instance = as_instance(instance, rules)
    table = _table_for(instance)
    table.ensure(table.n - 1)
    masks = [table.full] if instance.rules == "ml" else table.masks_by_size
    for mask in masks:
        tree = table.tree_for(mask, instance.target)
        if tree is not None:
            return tree_to_steps(tree)
    return None


@dataclass(frozen=True)
class Closest:
    """The reachable value nearest the target (`distance` 0 = solved) and one way to make it."""

    value: int
    distance: int
    steps: list[Step]


def closest(instance: CountdownInstance | str, rules: str = "ml") -> Closest:
    """The reachable value nearest the target (ties: fewer numbers, then the smaller value).
    Under tv any subset of the numbers counts, under ml only all of them."""
    instance = as_instance(instance, rules)
    solved = solve_countdown(instance)
    if solved is not None:
        return Closest(instance.target, 0, solved)
    table = _table_for(instance)
    table.ensure(table.n)
    best: tuple[int, int, int, int] | None = None  # (distance, size, value, mask)
    masks = [table.full] if instance.rules == "ml" else table.masks_by_size
    for mask in masks:
        values = table.values[mask]
        if not len(values):
            continue
        i = int(np.searchsorted(values, instance.target))
        for k in (i - 1, i):
            if 0 <= k < len(values):
                value = int(values[k])
                key = (abs(value - instance.target), mask.bit_count(), value, mask)
                best = key if best is None or key < best else best
    if best is None:  # ml numbers where nothing is reachable (e.g. no result >= 0): impossible
        raise AssertionError(f"no value reachable for {instance}")
    distance, _, value, mask = best
    return Closest(value, distance, tree_to_steps(table.tree_for(mask, value)))


def reachable(instance: CountdownInstance | str, rules: str = "ml") -> np.ndarray:
    """Every value an answer can have (sorted): ml over all numbers, tv over any subset."""
    instance = as_instance(instance, rules)
    return reachable_values(instance.numbers, instance.rules)


def reachable_values(numbers: tuple[int, ...], rules: str) -> np.ndarray:
    """`reachable` for numbers that are already known to be valid under `rules`."""
    table = _table(tuple(sorted(numbers)), rules)
    table.ensure(table.n)
    if rules == "ml":
        return table.values[table.full]
    return np.unique(np.concatenate([table.values[m] for m in table.masks_by_size]))


# ---------------------------------------------------------------- all solutions

# Normal forms (module docstring): (0, value) for a leaf; (1, added, subtracted) for a
# sum; (2, factors, divisors) for a product; the multisets are sorted tuples.
_SUM, _PRODUCT = 1, 2


def _terms(form: tuple, kind: int) -> tuple[tuple, tuple]:
    return (form[1], form[2]) if form[0] == kind else ((form,), ())


def _combine(op: str, x: tuple, y: tuple) -> tuple:
    kind = _SUM if op == "+" or op == "-" else _PRODUCT
    x_pos, x_neg = _terms(x, kind)
    y_pos, y_neg = _terms(y, kind)
    if op in "+*":
        pos, neg = x_pos + y_pos, x_neg + y_neg
    else:
        pos, neg = x_pos + y_neg, x_neg + y_pos
    return (kind, tuple(sorted(pos)), tuple(sorted(neg)))


class _Enumerator:
    """Every distinct expression (by normal form) for (subset, value), memoised."""

    def __init__(self, table: _Table):
        self.table = table
        self.memo: dict[tuple[int, int], dict[tuple, Node | int]] = {}

    def forms(self, mask: int, value: int, limit: int | None = None) -> dict[tuple, Node | int]:
        key = (mask, value)
        if key in self.memo:
            return self.memo[key]
        found: dict[tuple, Node | int] = {}
        if mask.bit_count() == 1:
            if int(self.table.values[mask][0]) == value:
                found[(0, value)] = value
            return found
        table = self.table
        for op, left, right, i, j in table.pairs(mask, value):
            left_forms = self.forms(left, int(table.values[left][i]))
            right_forms = self.forms(right, int(table.values[right][j]))
            for lf, lt in left_forms.items():
                for rf, rt in right_forms.items():
                    if op.endswith("r"):
                        form = _combine(op[0], rf, lf)
                    else:
                        form = _combine(op, lf, rf)
                    if form not in found:
                        found[form] = _node(op, lt, rt)
            if limit is not None and len(found) >= limit:
                return found  # partial: not memoised
        self.memo[key] = found
        return found


def _all_forms(instance: CountdownInstance, limit: int | None) -> dict[tuple, Node | int]:
    table = _table_for(instance)
    table.ensure(table.n - 1)
    enumerator = _Enumerator(table)
    masks = [table.full] if instance.rules == "ml" else table.masks_by_size
    found: dict[tuple, Node | int] = {}
    for mask in masks:
        if mask != table.full and _index_of(table.values[mask], instance.target) is None:
            continue
        remaining = None if limit is None else limit - len(found)
        for form, tree in enumerator.forms(mask, instance.target, remaining).items():
            found.setdefault(form, tree)
        if limit is not None and len(found) >= limit:
            break
    return found


def _solutions(instance: CountdownInstance, limit: int | None) -> list[list[Step]]:
    """Distinct solutions: by normal form, then by step text (equal values can make two
    normal forms, like (1*1)-1 and 1-(1*1), write the same steps)."""
    forms = _all_forms(instance, limit)
    by_text: dict[str, list[Step]] = {}
    for tree in forms.values():
        steps = tree_to_steps(tree)
        by_text.setdefault(",".join(map(str, steps)), steps)
    if limit is not None and len(forms) >= limit > len(by_text):
        return _solutions(instance, None)  # the limit cut the search before enough texts
    return [by_text[text] for text in sorted(by_text, key=lambda text: (text.count("="), text))]


def solve_all(instance: CountdownInstance | str, rules: str = "ml", *, limit: int | None = None) -> list[list[Step]]:
    """Every distinct solution (module docstring), fewest steps first, then by text;
    with `limit`, stops after finding that many (which ones is then unspecified)."""
    solutions = _solutions(as_instance(instance, rules), limit)
    return solutions if limit is None else solutions[:limit]


def count_solutions(instance: CountdownInstance | str, rules: str = "ml", *, limit: int | None = None) -> int:
    """The number of distinct solutions; with `limit` counting stops there (2 answers
    "is it unique?")."""
    count = len(_solutions(as_instance(instance, rules), limit))
    return count if limit is None else min(count, limit)
