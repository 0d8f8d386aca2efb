"""The numba core of the exact solver: bitmask candidates, singles, MRV backtracking.

A state is one int32 per cell: bit d-1 set when digit d is still possible. Propagation
eliminates a placed digit from the cell's peers (naked singles follow) and, when asked,
places hidden singles (a digit with one possible cell in a unit). The search branches on
a cell with the fewest candidates, copying the state onto an explicit stack, so no
allocation or recursion happens inside the loop. Everything here works for any n <= 16.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# popcount of every 16-bit mask
POPCOUNT = np.array([bin(i).count("1") for i in range(1 << 16)], dtype=np.uint8)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, no_cpython_wrapper=True)
def next_random(state):
    """splitmix64 step on state[0] (uint64 array): the kernels' only source of randomness."""
    z = state[0] + _GOLDEN
    state[0] = z
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, no_cpython_wrapper=True)
def random_below(state, k):
    return np.int64(next_random(state) % np.uint64(k))


NAKED, HIDDEN, LOCKED = 0, 1, 2  # propagation strength: what `propagate` may use


@njit(cache=True, no_cpython_wrapper=True)
def propagate(cand, queue, qlen, dirty, tables, strength, seg_or):
    """Eliminate the digits of the `qlen` queued single cells from their peers, to a fixpoint.

    strength HIDDEN also places hidden singles; LOCKED also applies locked candidates
    (pointing and claiming). `dirty` has bit u set for each unit u changed since the
    state was last fully propagated: only those (and the units changed on the way) are
    scanned again. Returns False on a contradiction (a cell with no candidate, or a digit
    with no place in a unit).
    """
    units, peers, cell_units, seg_cells, seg_units, rule_seg, rule_unit, rule_others, rule_targets = tables
    nunits, n = units.shape
    full = (1 << n) - 1
    npeers = peers.shape[1]
    one = np.int64(1)
    locked_dirty = np.int64(0)
    while True:
        while qlen > 0:
            qlen -= 1
            cell = queue[qlen]
            bit = cand[cell]
            for k in range(npeers):
                peer = peers[cell, k]
                x = cand[peer]
                if x & bit:
                    x ^= bit
                    if x == 0:
                        return False
                    cand[peer] = x
                    dirty |= cell_units[peer]
                    if x & (x - 1) == 0:
                        queue[qlen] = peer
                        qlen += 1
        if strength == NAKED:
            return True
        scan = dirty
        locked_dirty |= dirty
        dirty = np.int64(0)
        found = False
        for u in range(nunits):
            if not (scan >> u) & one:
                continue
            once = 0
            twice = 0
            solved = 0
            for k in range(n):
                x = cand[units[u, k]]
                twice |= once & x
                once |= x
                if x & (x - 1) == 0:
                    solved |= x
            if once != full:
                return False
            singles = once & ~twice & ~solved
            while singles:
                bit = singles & -singles
                singles ^= bit
                placed = False
                for k in range(n):
                    cell = units[u, k]
                    if cand[cell] & bit:
                        cand[cell] = bit
                        dirty |= cell_units[cell]
                        queue[qlen] = cell
                        qlen += 1
                        placed = True
                        break
                if not placed:  # the cell took another hidden single earlier in this pass
                    return False
                found = True
        if found:
            continue
        if strength == HIDDEN or locked_dirty == 0:
            return True
        # Locked candidates: a digit that a box/line intersection ("segment") holds alone
        # within its box leaves the rest of the line, and alone within its line, the box.
        # seg_or[s]: digits possible in segment s; seg_or[S + s]: those still unplaced there.
        # A rule can only fire again when its group (the box or line) changed.
        nseg = seg_cells.shape[0]
        for s in range(nseg):
            if not seg_units[s] & locked_dirty:
                continue
            m = 0
            placed = 0
            for k in range(seg_cells.shape[1]):
                x = cand[seg_cells[s, k]]
                m |= x
                if x & (x - 1) == 0:
                    placed |= x
            seg_or[s] = m
            seg_or[nseg + s] = m & ~placed
        for r in range(rule_seg.shape[0]):
            if not rule_unit[r] & locked_dirty:
                continue
            others = 0
            for k in range(rule_others.shape[1]):
                others |= seg_or[rule_others[r, k]]
            mask = seg_or[nseg + rule_seg[r]] & ~others
            if mask == 0:
                continue
            for k in range(rule_targets.shape[1]):
                cell = rule_targets[r, k]
                x = cand[cell]
                if x & mask:
                    x &= ~mask
                    if x == 0:
                        return False
                    cand[cell] = x
                    dirty |= cell_units[cell]
                    if x & (x - 1) == 0:
                        queue[qlen] = cell
                        qlen += 1
        locked_dirty = np.int64(0)
        if dirty == 0:
            return True


@njit(cache=True, no_cpython_wrapper=True)
def push_singles(cand, queue):
    """Queue every cell that has exactly one candidate; -1 if some cell has none."""
    qlen = 0
    for cell in range(cand.shape[0]):
        x = cand[cell]
        if x == 0:
            return -1
        if x & (x - 1) == 0:
            queue[qlen] = cell
            qlen += 1
    return qlen


@njit(cache=True, no_cpython_wrapper=True)
def search(
    stack, queue, branch_cell, branch_rem, seg_or, tables, limit, strength, max_guesses, rng_state, randomize, out
):
    """Count solutions of the candidate state in stack[0], stopping at `limit`.

    stack: (cells + 1, cells) int32 workspace, stack[0] filled by the caller; queue,
    branch_cell, branch_rem: (cells + 1,) int32/int64 workspace. The first solution found
    is written to `out` (cells,) as digits. Guesses count every value tried at a branch.
    Returns (count, guesses); count is -1 when more than `max_guesses` (>= 0) were needed.
    `strength` LOCKED applies locked candidates before the first guess, singles after.
    `randomize` tries branch values in random order (state in rng_state) instead of
    ascending, which makes the first solution of an empty grid a random full grid.
    """
    ncells = stack.shape[1]
    # Locked candidates pay off before the first guess only: below it, the extra pass
    # costs more than the guesses it saves (about 25% slower on magictour_top1465).
    child_strength = HIDDEN if strength == LOCKED else strength
    count = 0
    guesses = 0
    qlen = push_singles(stack[0], queue)
    all_units = (np.int64(1) << tables[0].shape[0]) - 1
    if qlen < 0 or not propagate(stack[0], queue, qlen, all_units, tables, strength, seg_or):
        return 0, 0
    level = 0
    expand = True
    while True:
        if expand:
            cand = stack[level]
            best = -1
            best_count = 99
            for cell in range(ncells):
                x = cand[cell]
                if x & (x - 1):
                    pc = POPCOUNT[x]
                    if pc < best_count:
                        best_count = pc
                        best = cell
                        if pc == 2:
                            break
            if best < 0:
                count += 1
                if count == 1:
                    for cell in range(ncells):
                        x = cand[cell]
                        digit = 1
                        while x > 1:
                            x >>= 1
                            digit += 1
                        out[cell] = digit
                if count >= limit:
                    return count, guesses
                level -= 1
            else:
                branch_cell[level] = best
                branch_rem[level] = cand[best]
        expand = False
        while level >= 0:
            rem = branch_rem[level]
            if rem == 0:
                level -= 1
                continue
            if max_guesses >= 0 and guesses >= max_guesses:
                return -1, guesses
            bit = rem & -rem
            if randomize:
                skip = random_below(rng_state, POPCOUNT[rem])
                for _ in range(skip):
                    rem ^= bit
                    bit = rem & -rem
            branch_rem[level] ^= bit
            guesses += 1
            cell = branch_cell[level]
            queue[0] = cell
            # the last value at a level has nothing to come back to: work on that level's
            # state in place instead of a copy one level down
            target = level if branch_rem[level] == 0 else level + 1
            child = stack[target]
            if target != level:
                parent = stack[level]
                for k in range(ncells):
                    child[k] = parent[k]
            child[cell] = bit
            if propagate(child, queue, 1, tables[2][cell], tables, child_strength, seg_or):
                level = target
                expand = True
                break
        if not expand:
            return count, guesses


@njit(cache=True, no_cpython_wrapper=True)
def load_givens(givens, cand, n):
    """Candidate state of a puzzle: a given's bit, or every digit for a blank."""
    full = (1 << n) - 1
    for cell in range(givens.shape[0]):
        v = givens[cell]
        cand[cell] = full if v == 0 else 1 << (v - 1)


@njit(cache=True, no_cpython_wrapper=True)
def workspace(tables):
    """(stack, queue, branch_cell, branch_rem, seg_or): the scratch arrays `search` needs."""
    ncells = tables[1].shape[0]
    stack = np.empty((ncells + 1, ncells), dtype=np.int32)
    queue = np.empty(ncells + 1, dtype=np.int32)
    branch_cell = np.empty(ncells + 1, dtype=np.int32)
    branch_rem = np.empty(ncells + 1, dtype=np.int32)
    seg_or = np.empty(2 * tables[3].shape[0], dtype=np.int64)
    return stack, queue, branch_cell, branch_rem, seg_or


@njit(cache=True)
def solve_many(puzzles, tables, limit, strength, max_guesses, solutions, counts, guesses):
    """Solve each row of puzzles (B, cells) int8 in one compiled loop; results in place."""
    batch, ncells = puzzles.shape
    n = tables[0].shape[1]
    stack, queue, branch_cell, branch_rem, seg_or = workspace(tables)
    rng_state = np.zeros(1, dtype=np.uint64)
    out = np.empty(ncells, dtype=np.int8)
    for b in range(batch):
        load_givens(puzzles[b], stack[0], n)
        c, g = search(
            stack, queue, branch_cell, branch_rem, seg_or, tables, limit, strength, max_guesses, rng_state, False, out
        )
        counts[b] = c
        guesses[b] = g
        if c > 0:
            solutions[b] = out
        else:
            solutions[b] = 0
