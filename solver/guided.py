"""Verifier-guided solving: sample, check each answer, remask what breaks a rule, sample again.

The puzzle verifiers (puzzles.sudoku / puzzles.countdown) are exact and cheap, so a failed
answer tells us where to look: for Sudoku the non-given cells of every row, column and box
that holds a duplicate (and any blank cell); for Countdown the answer from the first wrong
step on. Those positions are remasked and the sampler continues from the rest, up to
`retries` times; with `samples` > 1 a puzzle still unsolved starts afresh from another seed
(best-of-N). Every attempt's NFE is counted.

Only the first attempt samples at `options.temperature`; when that is 0 (argmax), retries and
extra samples draw with Gumbel noise at `options.retry_temperature` instead: from the same
context an argmax retry mostly rebuilds the rejected answer (bundled countdown3, first 200 of
its test split, 8 retries: 7 -> 7 solved at temperature 0, 7 -> 25 at 1.0; docs/RESULTS.md).

    outcomes = solve_guided(model, codec, puzzles, SampleOptions(steps=8), retries=2, samples=1)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .constraints import constraint_for
from .options import decoding_phrase
from .sampler import SampleOptions, sample
from .search import search
from .trace import Tracer, row_frames

SEED_STRIDE = 1009  # attempt (sample s, retry r) samples with seed + s * SEED_STRIDE + r


@dataclass
class Attempt:
    """One sampling pass for one puzzle: `nfe`, `layer_evals`, `loops` and `steps` are
    cumulative over its attempts so far."""

    sample: int
    retry: int
    answer: str
    valid: bool
    nfe: int
    layer_evals: int
    loops: int = 0  # core passes per row, summed over steps
    steps: int = 0  # denoising steps run
    remasked: int = 0  # positions remasked for the next attempt
    nodes: int = 0  # search: commits made, cumulative like nfe
    backtracks: int = 0  # search: commits undone and replaced, cumulative


@dataclass
class Outcome:
    """The result for one puzzle: the final answer (the solving one, else the last tried),
    the verifier's word on it, and the compute spent on all attempts."""

    answer: str
    valid: bool
    verdict: str
    nfe: int
    layer_evals: int
    retries_used: int  # retries of the sample that produced `answer`
    samples_used: int
    attempts: list[Attempt] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    frames: list[dict] | None = None  # per-puzzle frames (see trace.row_frames), `retry` = attempt index
    mode: str = "plain"  # the decoding mode that produced it (see decoding_mode)
    nodes: int = 0  # search only: commits made, and how many of them replaced an undone one
    backtracks: int = 0

    def within(self, retries: int) -> Attempt:
        """The last attempt a one-sample run with this many retries would have made (exact,
        since each retry depends only on the attempts before it): its `valid`, `nfe` and
        `layer_evals` are that run's result."""
        return [a for a in self.attempts if a.sample == 0 and a.retry <= retries][-1]


# ----------------------------------------------------------------------------- task glue


def as_task_input(codec: Any, item: Any) -> Any:
    """A Sudoku / CountdownInstance from text or the object itself. Sudoku text is read at
    its own size, so a puzzle of another size than the codec's is reported as such."""
    if not isinstance(item, str):
        return item
    if codec.task == "sudoku":
        from puzzles.sudoku import parse_sudoku

        parsed = parse_sudoku(item)
        return parse_sudoku(item, codec.shape) if parsed.n == codec.n and parsed.shape != codec.shape else parsed
    return codec.task_input_from_text(item)


def verdict_of(codec: Any, task_input: Any, answer: str) -> Any:
    """The verifier's verdict (`.valid`, `.message`) on an answer text."""
    if codec.task == "sudoku":
        from puzzles.sudoku import verify_sudoku

        return verify_sudoku(task_input, answer)
    from puzzles.countdown import verify_countdown

    return verify_countdown(task_input, answer)


def check_batch(codec: Any, task_inputs: list[Any] | torch.Tensor, tokens: torch.Tensor) -> np.ndarray:
    """(B,) bool: which rows of (B,T) tokens solve their puzzle (vectorised for Sudoku). The
    puzzles are task objects, or the (B,T) token rows they were encoded as."""
    as_tokens = isinstance(task_inputs, torch.Tensor)
    if codec.task == "sudoku":
        from puzzles.sudoku import verify_batch

        if len(task_inputs) == 0:
            return np.zeros(0, dtype=bool)
        puzzles = codec.to_grid(task_inputs) if as_tokens else np.stack([p.grid for p in task_inputs])
        return verify_batch(puzzles, codec.to_grid(tokens), codec.shape)
    if as_tokens:
        task_inputs = [codec.task_input_from_text(codec.decode_prompt(row)) for row in task_inputs]
    return np.array([bool(verdict_of(codec, x, codec.decode(t)).valid) for x, t in zip(task_inputs, tokens)], dtype=bool)


def offending_positions(codec: Any, verdict: Any, tokens: torch.Tensor, frozen: torch.Tensor) -> torch.Tensor:
    """(T,) bool: the non-frozen positions to remask after a failed verdict on `tokens` (T,).

    Sudoku: every non-given cell of a row, column or box with a duplicate, and blank cells.
    Countdown: the answer from the start of the first wrong step on (see `_countdown_restart`).
    Never empty for a failed answer: it falls back to the whole answer.
    """
    remask = torch.zeros_like(frozen)
    if codec.task == "sudoku":
        n = codec.n
        for violation in verdict.violations:
            if violation.kind == "row":
                cells = [(violation.index, c) for c in range(n)]
            elif violation.kind == "column":
                cells = [(r, violation.index) for r in range(n)]
            elif violation.kind == "box":
                cells = codec.shape.box_cells(violation.index)
            else:  # blank (or a changed given, impossible here): the cells named
                cells = list(violation.cells)
            for r, c in cells:
                remask[r * n + c] = True
    else:
        remask[_countdown_restart(codec, verdict, tokens) :] = True
    remask &= ~frozen
    if not bool(remask.any()):
        remask = ~frozen.clone()
    return remask


def _countdown_restart(codec: Any, verdict: Any, tokens: torch.Tensor) -> int:
    """First position to remask in a failed Countdown answer: the start of the step the
    verdict names; for unparsable text, of the step holding the parse error (the one before
    when that step is empty, so a stray comma is remasked too); for a wrong
    final value or unused numbers, of the last step; else of the answer."""
    from puzzles.countdown import read_answer
    from puzzles.errors import ParseError

    if getattr(codec, "format", None) == "steps":
        return _step_restart(codec, verdict, tokens)
    chars = [(pos, int(tokens[pos])) for pos in range(codec.prompt_len, codec.seq_len) if int(tokens[pos]) >= 2]
    text = "".join(codec.chars[token - 2] for _, token in chars)
    commas = [i for i, ch in enumerate(text) if ch == ","]  # char indices of step separators
    kind, step = getattr(verdict, "kind", None), getattr(verdict, "step_index", None)
    if step is not None:
        before = commas[step - 1] if 0 < step <= len(commas) else None
    elif kind == "malformed":
        try:
            read_answer(text)
            before = None
        except ParseError as err:
            column = (err.column or 1) - 1  # 0-based char index of the error
            earlier = [i for i in commas if i < column]
            if earlier and earlier[-1] == column - 1:  # an empty step: its comma goes too
                earlier.pop()
            before = earlier[-1] if earlier else None
    elif kind in ("wrong-value", "unused"):
        before = commas[-1] if commas else None
    else:
        before = None
    return chars[before][0] + 1 if before is not None else codec.prompt_len


def _step_restart(codec: Any, verdict: Any, tokens: torch.Tensor) -> int:
    """The step codec's first position to remask: the step the verdict names; for a malformed
    answer, the first step with a slot that does not read; for a wrong final value, the last step."""
    kind, step = getattr(verdict, "kind", None), getattr(verdict, "step_index", None)
    if step is None and kind == "malformed":
        parts = codec.decode(tokens).split(",")
        step = next((k for k, part in enumerate(parts) if "?" in part), None)
    elif step is None and kind in ("wrong-value", "unused"):
        step = codec.n_steps - 1
    return codec.step_start(min(step, codec.n_steps - 1)) if step is not None else codec.prompt_len


# ----------------------------------------------------------------------------- the loop


DECODINGS: tuple[str, ...] = ("plain", "constrained", "search", "search-mrv", "search-uniform")
ONE_PASS = 1  # a search's default `steps`: one network pass orders it (docs/RESULTS.md, "Verifier in the loop")


def decoding_options(decoding: str, search_nfe: int | None = None) -> dict[str, Any]:
    """SampleOptions fields for a decoding mode (the sweep's, the app's); ValueError for an unknown one."""
    if decoding not in DECODINGS:
        raise ValueError(f"unknown decoding {decoding!r} (choose from {', '.join(DECODINGS)})")
    if decoding == "plain":
        return {}
    if decoding == "constrained":
        return {"constrain": True}
    order = decoding.partition("-")[2] or "model"
    return {"search": True, "search_order": order, "search_nfe": search_nfe}


def default_steps(steps: int | None, search: bool) -> int | None:
    """Denoising steps as asked, else one position per step, or for a search one network pass."""
    return steps or (ONE_PASS if search else None)


def decoding_mode(options: SampleOptions, retries: int = 0, samples: int = 1) -> str:
    """'plain', 'constrained' or 'search', '+ N retries' / '+ best of N' where used: how an
    answer was decoded, as the CLI, the evaluator and the app report it."""
    return decoding_phrase("search" if options.search else "constrained" if options.constrain else "plain", retries, samples)



def solve_guided(
    model: Any,
    codec: Any,
    inputs: list[Any],
    options: SampleOptions | None = None,
    retries: int = 0,
    samples: int = 1,
    timings: list[tuple[int, int, float]] | None = None,
) -> list[Outcome]:
    """Solve a batch of puzzles (task objects or text) with up to `retries` verifier-guided
    retries per sample and up to `samples` samples; see the module docstring. `timings`, if
    given, gets (sample, retry, seconds) for each batched pass (sample, verify, remask)."""
    options = options or SampleOptions()
    if retries < 0 or samples < 1:
        raise ValueError(f"retries must be >= 0 and samples >= 1 (got {retries}, {samples})")
    task_inputs = [as_task_input(codec, item) for item in inputs]
    start_tokens, frozen, _ = codec.encode_batch(task_inputs)
    count = len(task_inputs)
    attempts: list[list[Attempt]] = [[] for _ in range(count)]
    frames: list[list[dict]] | None = [[] for _ in range(count)] if options.trace else None
    constraint = constraint_for(codec) if options.constrain or options.search else None
    final = start_tokens.clone()
    spent = torch.zeros(count, dtype=torch.long)
    spent_layers = torch.zeros(count, dtype=torch.long)
    spent_loops = torch.zeros(count, dtype=torch.long)
    spent_steps = torch.zeros(count, dtype=torch.long)
    spent_nodes = torch.zeros(count, dtype=torch.long)
    spent_backtracks = torch.zeros(count, dtype=torch.long)
    solved = np.zeros(count, dtype=bool)
    attempt_index = 0

    for s in range(samples):
        rows = torch.from_numpy(np.flatnonzero(~solved))
        tokens = start_tokens[rows].clone()
        for r in range(retries + 1):
            if rows.numel() == 0:
                break
            started = time.perf_counter()
            update: dict[str, Any] = {"seed": options.seed + s * SEED_STRIDE + r}
            if (s, r) != (0, 0) and options.temperature == 0:
                update["temperature"] = options.retry_temperature
            opts = options.model_copy(update=update)
            tracer = Tracer(tokens, codec.vocab_size, retry=attempt_index) if options.trace else None
            batch_inputs = [task_inputs[i] for i in rows.tolist()]
            if options.search:
                def verify(idx, answers, batch_inputs=batch_inputs):
                    return check_batch(codec, [batch_inputs[k] for k in idx], answers.cpu())

                result = search(
                    model, tokens, frozen[rows], opts, constraint=constraint, verify=verify, mask_id=codec.mask_id, observer=tracer
                )
            else:
                result = sample(model, tokens, frozen[rows], opts, mask_id=codec.mask_id, constraint=constraint, observer=tracer)
            valid = check_batch(codec, batch_inputs, result.tokens.cpu())
            keep = []
            for j, i in enumerate(rows.tolist()):
                if frames is not None:
                    offset, undone = int(spent[i]), int(spent_backtracks[i])
                    for record in row_frames(tracer.frames, j):
                        record.update(nfe=record["nfe"] + offset, backtracks=record["backtracks"] + undone, sample=s)
                        frames[i].append(record)
                spent[i] += result.row_nfe[j]
                spent_layers[i] += result.row_layer_evals[j]
                spent_loops[i] += result.row_loops[j]
                spent_steps[i] += result.row_steps[j]
                if options.search:
                    spent_nodes[i] += result.row_nodes[j]
                    spent_backtracks[i] += result.row_backtracks[j]
                final[i] = result.tokens[j].cpu()
                answer = codec.decode(final[i])
                attempt = Attempt(
                    s, r, answer, bool(valid[j]), int(spent[i]), int(spent_layers[i]), int(spent_loops[i]), int(spent_steps[i]),
                    nodes=int(spent_nodes[i]), backtracks=int(spent_backtracks[i]),
                )
                attempts[i].append(attempt)
                if valid[j]:
                    solved[i] = True
                elif r < retries:
                    verdict = verdict_of(codec, task_inputs[i], answer)
                    remask = offending_positions(codec, verdict, final[i], frozen[i])
                    attempt.remasked = int(remask.sum())
                    keep.append((j, remask))
            rows = rows[[j for j, _ in keep]]
            if keep:
                tokens = result.tokens.cpu()[[j for j, _ in keep]].clone()
                tokens[torch.stack([m for _, m in keep])] = codec.mask_id
            attempt_index += 1
            if timings is not None:
                timings.append((s, r, time.perf_counter() - started))

    outcomes = []
    for i in range(count):
        answer = codec.decode(final[i])
        verdict = verdict_of(codec, task_inputs[i], answer)
        last = attempts[i][-1]
        outcomes.append(
            Outcome(
                answer=answer,
                valid=bool(verdict.valid),
                verdict=str(verdict.message),
                nfe=int(spent[i]),
                layer_evals=int(spent_layers[i]),
                retries_used=last.retry,
                samples_used=last.sample + 1,
                attempts=attempts[i],
                tokens=final[i].tolist(),
                frames=frames[i] if frames is not None else None,
                mode=decoding_mode(options, retries, samples),
                nodes=int(spent_nodes[i]),
                backtracks=int(spent_backtracks[i]),
            )
        )
    return outcomes
