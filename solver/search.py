"""Model-guided backtracking search: constraint-masked decoding that can undo its commits.

Each row is a depth-first search over commits. A node runs the network once on the row's
partial answer (one denoising step: prelude, core x loops, coda), masks the tokens the task
constraint forbids (solver.constraints) and commits one token, or ceil(masked / steps) with
`steps` (so `steps=1` orders a whole search by one pass). Each commit is a decision point:
by default (`search_branch="fewest"`) at the masked position with the fewest legal tokens,
ties broken by the unmasking policy ("policy": the policy's best position), its token the
model's most probable legal one, its alternatives the other legal tokens, most probable
first. Positions left with one legal token are committed without the network
(`propagate`). At a dead end (a masked position no token can fill, or a conflict) or when
the verifier rejects a complete answer, the row undoes to its most recent decision that has
an alternative left, commits that alternative instead (a backtrack) and goes on, ordering
the next node by the logits of the node it revised (`search_reuse`) rather than a fresh
pass. Rows are searched side by side: each iteration batches the network over the rows that
need it.

Compute is counted exactly, as in the sampler: NFE is every network pass a row made,
backtracks included; `nodes` every commit, forced ones included. Bounded per row by
`search_nfe` and `search_nodes`; deterministic for a seed. `search_order` "uniform" (random
positions and tokens) and "mrv" (fewest legal tokens first, tokens in id order) replace the
model's ordering to show what it contributes: they run no network (NFE 0) and count nodes
the same way.

    result = search(model, tokens, frozen, options, constraint=constraint_for(codec), verify=verify)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .constraints import dead_ends
from .sampler import Ledger, SampleOptions, SampleResult, _model_device, loop_plan, perturbed, resolve_mask_id, unmask_scores


@dataclass
class Decision:
    position: int
    before: torch.Tensor  # (T,) the row's tokens before this commit
    alternatives: list[int]  # legal tokens not yet tried here, best first
    logits: torch.Tensor | None = None  # (T,V) of the node that made it


@dataclass
class SearchResult(SampleResult):
    """SampleResult plus, per row (B,): `row_nodes` commits made, `row_backtracks`, `row_solved`
    (the verifier accepted the answer) and `row_status` ("solved", "exhausted": no alternative
    left, "budget": stopped by search_nfe / search_nodes)."""

    row_nodes: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    row_backtracks: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    row_solved: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.bool))
    row_status: list[str] = field(default_factory=list)


class _Row:
    def __init__(self) -> None:
        self.stack: list[Decision] = []
        self.status = "open"
        self.nodes = 0
        self.backtracks = 0
        self.last_logits: torch.Tensor | None = None  # (T,V) of the row's latest node
        self.reuse: torch.Tensor | None = None  # with search_reuse: logits for the node after a backtrack


@torch.no_grad()
def search(
    model: Any,
    tokens: torch.Tensor,
    frozen: torch.Tensor,
    options: SampleOptions,
    *,
    constraint: Any,
    verify: Callable[[list[int], torch.Tensor], np.ndarray],
    mask_id: int | None = None,
    observer: Any = None,
) -> SearchResult:
    """Search every row of `tokens` (B,T) (`frozen` (B,T) bool) until the verifier accepts it,
    its alternatives run out or its budget does. `verify(rows, tokens)` says which of the
    complete (N,T) answers of batch rows `rows` solve their puzzle."""
    if tokens.dim() != 2 or frozen.shape != tokens.shape:
        raise ValueError(f"tokens and frozen must both be (B, T); got {tuple(tokens.shape)} and {tuple(frozen.shape)}")
    out_device = tokens.device
    device = _model_device(model, tokens.device)
    mask_id = resolve_mask_id(model, mask_id)
    by_model = options.search_order == "model"
    loops = loop_plan(model, options) if by_model else 0
    if not by_model:  # random positions and tokens, or MRV with ties to the first position / lowest id
        options = options.model_copy(update={"policy": "random", "temperature": 1.0} if options.search_order == "uniform" else {"policy": "top_prob", "temperature": 0.0})
    tokens = tokens.to(device=device, dtype=torch.long).clone()
    frozen = frozen.to(device=device, dtype=torch.bool)
    batch = tokens.shape[0]
    answer_len = (~frozen).sum(1).clamp_min(1).float()
    initial = ((tokens == mask_id) & ~frozen).sum(1)
    per_node = torch.ones_like(initial) if options.steps is None or not by_model else (initial + options.steps - 1) // options.steps
    per_node = per_node.clamp_min(1)
    generator = torch.Generator(device=device).manual_seed(options.seed)
    state = [_Row() for _ in range(batch)]
    ledger = Ledger(batch, device)  # no carried state: a backtrack revisits boards, so every node starts fresh
    row_nfe = ledger.nfe  # (B,) updated in place
    solved = torch.zeros(batch, dtype=torch.bool)
    dead = torch.zeros(batch, dtype=torch.bool)
    node_cost = int(model.nfe_per_step(loops, loops if observer is not None else 1)) if by_model else 0
    step = 0

    def backtrack(b: int) -> None:
        row = state[b]
        while row.stack and not row.stack[-1].alternatives:
            row.stack.pop()
        if not row.stack:
            row.status = "exhausted"
            return
        if options.search_nodes is not None and row.nodes >= options.search_nodes:
            row.status = "budget"
            return
        decision = row.stack[-1]
        was = tokens[b].clone()
        tokens[b] = decision.before
        tokens[b, decision.position] = decision.alternatives.pop(0)
        row.reuse = decision.logits if options.search_reuse else None
        row.nodes += 1
        row.backtracks += 1
        if observer is not None:
            observer.on_backtrack(step, b, tokens, tokens[b] != was, row_nfe)

    while True:
        open_rows = [b for b in range(batch) if state[b].status == "open"]
        if not open_rows:
            break
        # 1. undo dead ends and rejected complete answers, and (with `propagate`) commit every
        #    position that has one legal token left, until every open row needs the network
        ready: list[int] = []
        pending = open_rows
        while pending:
            index = torch.tensor(pending, device=device)
            masked = (tokens[index] == mask_id) & ~frozen[index]
            legal, conflict = constraint.check(tokens[index])
            stuck = dead_ends(legal, conflict, masked).tolist()
            forced = masked & (legal.sum(-1) == 1) if options.propagate else torch.zeros_like(masked)
            again: list[int] = []
            complete: list[int] = []
            for k, b in enumerate(pending):
                if stuck[k]:
                    dead[b] = True
                    backtrack(b)
                    again += [b] if state[b].status == "open" else []
                elif bool(forced[k].any()):
                    cells = forced[k].nonzero().squeeze(1)
                    tokens[b, cells] = legal[k, cells].float().argmax(-1)
                    state[b].nodes += int(cells.numel())
                    if observer is not None:
                        observer.on_propagate(step, b, tokens, forced[k], row_nfe)
                    again.append(b)
                elif bool(masked[k].any()):
                    ready.append(b)
                else:
                    complete.append(b)
            if complete:
                for b, ok in zip(complete, verify(complete, tokens[complete])):
                    if ok:
                        state[b].status = "solved"
                        solved[b] = True
                    else:
                        backtrack(b)
                        again += [b] if state[b].status == "open" else []
            pending = sorted(again)
        # 2. budgets
        for b in list(ready):
            row = state[b]
            if row.reuse is not None:
                continue  # this node costs no network pass
            if (options.search_nfe is not None and int(row_nfe[b]) + node_cost > options.search_nfe) or (
                options.search_nodes is not None and row.nodes >= options.search_nodes
            ):
                row.status = "budget"
                ready.remove(b)
        if not ready:
            continue
        # 3. one network evaluation for every row that goes on
        rows = torch.tensor(sorted(ready), device=device)
        current = tokens[rows]
        still = (current == mask_id) & ~frozen[rows]
        if by_model:
            fresh = torch.tensor([state[b].reuse is None for b in rows.tolist()], device=device)
            logits = torch.empty((*current.shape, int(model.config.vocab_size)), device=device)
            if bool(fresh.any()):
                logits[fresh] = ledger.denoise(model, tokens, rows[fresh], still[fresh], answer_len, loops, options, step, observer, mask_id)
            for j in (~fresh).nonzero().squeeze(1).tolist():
                logits[j] = state[int(rows[j])].reuse
                state[int(rows[j])].reuse = None
        else:
            # equal logits: the renormalised legal probabilities are 1/|legal| (MRV's order)
            logits = torch.zeros((*current.shape, int(model.config.vocab_size)), device=device)
            logits[..., mask_id] = float("-inf")
        for j, b in enumerate(rows.tolist()):
            state[b].last_logits = logits[j]
        # 4. commit in the policy's order, each commit a decision
        on_decide = None if observer is None else lambda rows_now, cells: observer.on_decide(step, rows_now, tokens, cells, row_nfe)
        _commit_nodes(tokens, rows, logits, still, per_node[rows], options, generator, constraint, state, on_decide)
        step += 1

    for b in range(batch):  # unsolved rows: fill what is still masked from their latest readout
        still = (tokens[b] == mask_id) & ~frozen[b]
        if bool(still.any()) and state[b].last_logits is not None and not solved[b]:
            tokens[b] = torch.where(still, state[b].last_logits.argmax(-1), tokens[b])

    return SearchResult(
        tokens=tokens.to(out_device),
        **ledger.fields(),
        row_dead_end=dead,
        row_nodes=torch.tensor([r.nodes for r in state], dtype=torch.long),
        row_backtracks=torch.tensor([r.backtracks for r in state], dtype=torch.long),
        row_solved=solved,
        row_status=[r.status for r in state],
    )


def _commit_nodes(tokens, rows, logits, still, counts, options, generator, constraint, state, on_decide=None) -> None:
    """Commit up to `counts` (N,) tokens in each of `rows` (N,) of `tokens` (B,T), in place, one
    at a time with the constraint re-applied after each; record each commit as a decision with
    its position's other legal tokens (by probability, or by perturbed logit when sampling)
    as alternatives. A row stops committing at a dead end: the next iteration backtracks it.
    `on_decide(rows (W,), cells (W,T))` after each round of one decision per row, for the trace."""
    still = still.clone()
    going = torch.ones(rows.numel(), dtype=torch.bool, device=tokens.device)
    for j in range(int(counts.max()) if counts.numel() else 0):
        want = (going & (counts > j) & still.any(1)).nonzero().squeeze(1)  # (W,) indices into rows
        if want.numel() == 0:
            break
        current = tokens[rows[want]]
        legal, conflict = constraint.check(current)  # (W,T,V), (W,T)
        stuck = dead_ends(legal, conflict, still[want])
        going[want[stuck]] = False
        want, legal = want[~stuck], legal[~stuck]
        if want.numel() == 0:
            break
        masked_logits = logits[want].masked_fill(~legal, float("-inf"))  # (W,T,V)
        ranked = perturbed(masked_logits, options, generator)
        probs = masked_logits.softmax(-1).nan_to_num(0.0)  # rows of -inf (given/committed positions) -> 0
        choice = ranked.argmax(-1)  # (W,T)
        scores = unmask_scores(options.policy, probs, choice, generator)
        if options.search_branch == "fewest":  # the position with the fewest legal tokens, ties by the policy
            scores = scores - 2.0 * legal.sum(-1)
        scores = scores.masked_fill(~still[want], float("-inf"))
        position = scores.argmax(1)  # (W,)
        order = ranked.gather(1, position[:, None, None].expand(-1, 1, ranked.shape[-1])).squeeze(1)  # (W,V)
        alive = legal.gather(1, position[:, None, None].expand(-1, 1, legal.shape[-1])).squeeze(1)  # (W,V)
        for k, (w, p) in enumerate(zip(want.tolist(), position.tolist())):
            b = int(rows[w])
            ids = order[k].argsort(descending=True, stable=True).tolist()
            legal_ids = [v for v in ids if bool(alive[k, v])]
            state[b].stack.append(Decision(p, tokens[b].clone(), legal_ids[1:], logits[w]))
            tokens[b, p] = legal_ids[0]
            state[b].nodes += 1
            still[w, p] = False
        if on_decide is not None:
            cells = torch.zeros((want.numel(), tokens.shape[1]), dtype=torch.bool, device=tokens.device)
            cells[torch.arange(want.numel()), position] = True
            on_decide(rows[want], cells)
