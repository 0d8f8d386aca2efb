"""The structured Countdown codec: fixed slots per step, operands as references, digits by place.

Layout for N numbers, P prompt digits and W value digits (S = N - 1 steps):

    prompt   N number fields + the target field, P digit slots each, right-aligned (PAD in front)
    answer   S steps of [a, op, b, result]: a and b are *references* to an available value
             (n1..nN, the instance's numbers; r1..rS, the results of earlier steps), op is one
             of + - * /, result is W right-aligned digit slots

A reference is one token, so an operand can only ever be a number of the instance or an
earlier result (the character codec's model wrote numbers that were never given), and the
model picks it by attending from the slot to the field it names. Results stay digits: the
arithmetic is the model's to learn, or the calculator constraint's to fill in
(`solver.constraints.CalculatorConstraint`). Positions are factored like Sudoku's row,
column and box: segment (which number, the target, which step), field (number digit,
target digit, a, op, b, result digit) and place (the digit's power of ten), so a result's
units digit sits at the same place embedding as every other units digit.

Limits come from the rules, not from a training set: `max_number` and `max_target` fix P,
and W holds the largest value N numbers up to `max_number` can make (max_number ** N), so
every step of every answer to every instance within the limits fits. An instance outside
them (more numbers, a larger number) is a `CodecError` that says which limit it breaks.
Token ids: MASK 0, PAD 1, digits 2..11, + - * / 12..15, n1..nN, then r1..rS.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch

from .codecs import BULK_ROWS, IGNORE, CodecError, Encoded, bulk_result, in_chunks, split_item
from .positions import step_positions

MASK, PAD, DIGIT0, OP0, REF0 = 0, 1, 2, 12, 16
OPS = "+-*/"
FORMAT = "steps"  # the codec config's "format" (absent: the character codec)

# The bulk parser's byte classes: the operators 0..3, "=" 4, "," 5, the end of an answer 6 (byte
# 0xFF, which no ASCII text holds), a digit 7; -1 for every other byte.
_EQUALS, _COMMA, _END, _DIGIT = 4, 5, 6, 7
_END_BYTE = b"\xff"
_BYTE_CLASS = np.full(256, -1, dtype=np.int8)
for _index, _char in enumerate(OPS + "=,"):
    _BYTE_CLASS[ord(_char)] = _index
_BYTE_CLASS[_END_BYTE[0]] = _END
_BYTE_CLASS[ord("0"): ord("9") + 1] = _DIGIT
_MAX_DIGITS = 18  # int64 holds every 18-digit number; a longer one goes the per-row way
_POWERS = 10 ** np.arange(_MAX_DIGITS + 1, dtype=np.int64)  # 10**0 .. 10**18


def digit_ids(values: np.ndarray, width: int) -> np.ndarray:
    """(K,) values in 0..10**18-1 -> (K, width) right-aligned digit ids, PAD in front: `_digits`, vectorised."""
    values = values.astype(np.int64)
    digits = 1 + (values[:, None] >= _POWERS[None, 1:]).sum(axis=1)  # str(v) has this many characters
    place = np.arange(width - 1, -1, -1)  # the power of ten of each slot
    shown = np.minimum(place, _MAX_DIGITS)
    ids = DIGIT0 + (values[:, None] // _POWERS[shown][None, :]) % 10
    return np.where(place[None, :] < digits[:, None], ids, PAD)


def parse_step_answers(texts: list[str], max_steps: int) -> tuple[np.ndarray, ...]:
    """Answers in plain step form (`a op b=r` joined by commas, ASCII digits, no spaces) parsed all
    at once -> (a, op, b, result) (M, max_steps) int64 arrays (op 0..3 for + - * /), steps (M,)
    and ok (M,). A row is not ok when it is not exactly that form with 1..max_steps steps and
    numbers of at most 18 digits; such a row may still be a valid answer in another spelling
    (spaces, infix, a bare number), which the per-row parser reads."""
    from puzzles.countdown.answer import MAX_ANSWER_CHARS, MAX_STEPS

    count = len(texts)
    max_steps = min(max_steps, MAX_STEPS)
    ok = np.fromiter((t.isascii() and len(t) <= MAX_ANSWER_CHARS for t in texts), dtype=bool, count=count)
    flat = np.frombuffer(_END_BYTE + b"".join(t.encode("ascii") + _END_BYTE if good else _END_BYTE
                                              for t, good in zip(texts, ok)), dtype=np.uint8)
    kind = _BYTE_CLASS[flat]
    end = kind == _END
    row_of = np.cumsum(end) - end - 1  # row of each byte (its end byte included); -1 for the leading one
    ok[row_of[kind < 0]] = False  # a byte outside the form
    digit = kind == _DIGIT
    # numbers: runs of digits, their values summed by place (int64, exact)
    positions = np.flatnonzero(digit)
    starts = digit.copy()
    starts[1:] &= ~digit[:-1]
    run = np.cumsum(starts) - 1  # the run of each digit byte (read at digit positions)
    run_start = np.flatnonzero(starts)
    run_length = np.bincount(run[positions], minlength=len(run_start))
    run_end = run_start + run_length - 1
    ok[row_of[run_start[run_length > _MAX_DIGITS]]] = False
    place = np.minimum(run_end[run[positions]] - positions, _MAX_DIGITS)
    terms = (flat[positions].astype(np.int64) - ord("0")) * _POWERS[place]
    value = np.add.reduceat(terms, np.searchsorted(positions, run_start)) if len(positions) else np.zeros(0, np.int64)
    # separators (op, =, comma, the row's end): each follows a number and they cycle op, =, comma
    separators = np.flatnonzero((kind >= 0) & ~digit)[1:]  # without the leading end byte
    sep_row = row_of[separators]
    follows_number = digit[separators - 1]
    ok[sep_row[~follows_number]] = False
    per_row = np.bincount(sep_row, minlength=count)
    index = np.arange(len(separators)) - (np.cumsum(per_row) - per_row)[sep_row]  # j-th separator of its row
    field, sep_kind = index % 3, kind[separators]
    last = index == per_row[sep_row] - 1
    expected = np.where(field == 0, sep_kind <= 3, np.where(field == 1, sep_kind == _EQUALS,
                                                            sep_kind == np.where(last, _END, _COMMA)))
    ok[sep_row[~expected]] = False
    steps = per_row // 3
    ok &= (per_row % 3 == 0) & (steps >= 1) & (steps <= max_steps)
    # the number before each separator: a before op, b before =, the result before the comma/end
    before = np.where(follows_number, run[separators - 1], 0)  # (a row whose separator follows none is not ok)
    number = value[before] if len(value) else np.zeros(len(separators), np.int64)
    keep = ok[sep_row]
    step = index // 3
    a, op, b, result = (np.zeros((count, max(max_steps, 1)), dtype=np.int64) for _ in range(4))
    for array, which, source in ((a, 0, number), (op, 0, sep_kind.astype(np.int64)), (b, 1, number), (result, 2, number)):
        chosen = keep & (field == which)
        array[sep_row[chosen], step[chosen]] = source[chosen]
    return a, op, b, result, np.where(ok, steps, 0), ok


def max_value(n_numbers: int, max_number: int) -> int:
    """The largest value any expression over n numbers in 1..max_number can take (all equal to
    max_number, multiplied: for values >= 2, a * b >= a + b)."""
    return max(max_number, 2) ** n_numbers


class CountdownStepCodec:
    """Step slots with reference operands; see the module docstring for the layout."""

    task = "countdown"
    format = FORMAT
    mask_id = MASK
    pad_id = PAD

    def __init__(self, n_numbers: int, max_number: int = 100, max_target: int = 999, rules: str = "ml"):
        if n_numbers < 2 or max_number < 1 or max_target < 1:
            raise CodecError(f"bad step codec limits: n_numbers={n_numbers} max_number={max_number} max_target={max_target}")
        self.n_numbers, self.max_number, self.max_target, self.rules = n_numbers, max_number, max_target, rules
        self.n_steps = n_numbers - 1
        self.number_digits = len(str(max(max_number, max_target)))  # P
        self.value_digits = len(str(max(max_value(n_numbers, max_number), max_target)))  # W
        self.step_len = 3 + self.value_digits
        self.prompt_len = (n_numbers + 1) * self.number_digits
        self.answer_len = self.n_steps * self.step_len
        self.seq_len = self.prompt_len + self.answer_len
        self.vocab_size = REF0 + n_numbers + self.n_steps

    # --- layout
    def step_start(self, step: int) -> int:
        """Position of step `step`'s first slot (its a)."""
        return self.prompt_len + step * self.step_len

    def ref_token(self, kind: str, index: int) -> int:
        """'n', i -> the token of the instance's i-th number; 'r', k -> of step k's result (0-based)."""
        return REF0 + index if kind == "n" else REF0 + self.n_numbers + index

    def positions(self) -> dict[str, torch.Tensor]:
        return step_positions(self.n_numbers, self.number_digits, self.value_digits)

    # --- encoding
    def _digits(self, value: int, width: int) -> list[int]:
        text = str(value)
        return [PAD] * (width - len(text)) + [DIGIT0 + int(c) for c in text]

    def _instance(self, instance: Any) -> tuple[list[int], int]:
        if isinstance(instance, str):
            from puzzles.countdown import parse_instance

            instance = parse_instance(instance, rules=self.rules)
        if isinstance(instance, dict):
            numbers, target = [int(v) for v in instance["numbers"]], int(instance["target"])
        else:
            numbers, target = list(instance.numbers), int(instance.target)
        if len(numbers) != self.n_numbers:
            raise CodecError(f"this model takes {self.n_numbers} numbers; the instance has {len(numbers)}")
        over = [n for n in numbers if not 0 <= n <= self.max_number]
        if over:
            raise CodecError(f"this model takes numbers up to {self.max_number}; {over[0]} is over")
        if not 0 <= target <= self.max_target:
            raise CodecError(f"this model takes targets up to {self.max_target}; {target} is over")
        return numbers, target

    def _answer_ids(self, numbers: list[int], answer: str) -> list[int]:
        """Step-form text -> the answer's slot ids; values mapped to the first available item."""
        from puzzles.countdown import parse_answer

        steps = parse_answer(answer)
        if len(steps) > self.n_steps:
            raise CodecError(f"answer {answer!r} has {len(steps)} steps, more than the codec's {self.n_steps}")
        pool = [(value, self.ref_token("n", i)) for i, value in enumerate(numbers)]  # available (value, ref)
        ids: list[int] = []
        for k, step in enumerate(steps):
            refs = []
            for value in (step.a, step.b):
                found = next((i for i, (v, _) in enumerate(pool) if v == value), None)
                if found is None:
                    raise CodecError(f"answer {answer!r}: step {k + 1} uses {value}, which is not available")
                refs.append(pool.pop(found)[1])
            if not 0 <= step.result < 10**self.value_digits:
                raise CodecError(f"answer {answer!r}: result {step.result} does not fit {self.value_digits} digits")
            ids += [refs[0], OP0 + OPS.index(step.op), refs[1], *self._digits(step.result, self.value_digits)]
            pool.append((step.result, self.ref_token("r", k)))
        return ids + [PAD] * (self.answer_len - len(ids))

    def encode(self, instance: Any, answer: str | None = None) -> Encoded:
        numbers, target = self._instance(instance)
        prompt = [d for n in (*numbers, target) for d in self._digits(n, self.number_digits)]
        rest = [MASK] * self.answer_len
        target_rest = [IGNORE] * self.answer_len if answer is None else self._answer_ids(numbers, answer.strip())
        tokens = torch.tensor(prompt + rest, dtype=torch.long)
        target_ids = torch.tensor(prompt + target_rest, dtype=torch.long)
        frozen = torch.zeros(self.seq_len, dtype=torch.bool)
        frozen[: self.prompt_len] = True
        return Encoded(tokens, frozen, target_ids)

    def encode_batch(self, items: Iterable[Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """items: instances, or (instance, answer) pairs -> (tokens, frozen, target), each (B, T).

        The same tensors as `encode` row by row, vectorised with NumPy (about 5 µs of CPU a
        row for 4 numbers, `encode` about 65: docs/RESULTS.md, data path): prompt digits by place,
        answers in plain step form parsed at once (`parse_step_answers`), operands resolved to
        the first available number or earlier result with their value, as `encode` does. A row
        it does not take (an instance given as text, an answer in another spelling: spaces,
        infix, a bare number) or that breaks a limit goes through `encode`, so a bad row
        raises what `encode` raises."""
        items = list(items)
        if len(items) > BULK_ROWS:
            return in_chunks(self.encode_batch, items)
        count, n, width = len(items), self.n_numbers, self.number_digits
        if max(self.max_number, self.max_target) >= 10**_MAX_DIGITS:  # beyond int64: row by row
            return bulk_result(np.zeros((count, self.seq_len), np.int64), np.zeros((count, self.seq_len), np.int64),
                               self.prompt_len, items, np.ones(count, dtype=bool), self.encode)
        values = [[0] * (n + 1)] * count  # numbers then target, per row
        answers: list[str] = []
        answer_rows: list[int] = []
        slow = np.zeros(count, dtype=bool)
        for row, item in enumerate(items):
            pair = split_item(item)
            try:
                if pair is None or not (pair[1] is None or isinstance(pair[1], str)):
                    raise TypeError
                instance = pair[0]
                if isinstance(instance, dict):
                    numbers, target = instance["numbers"], instance["target"]
                elif isinstance(instance, str):
                    raise TypeError  # parsed by the per-row path
                else:
                    numbers, target = instance.numbers, instance.target
                row_values = [int(v) for v in numbers] + [int(target)]
            except Exception:  # the per-row path says what is wrong
                slow[row] = True
                continue
            if (len(row_values) != n + 1 or not all(0 <= v <= self.max_number for v in row_values[:n])
                    or not 0 <= row_values[n] <= self.max_target):
                slow[row] = True
                continue
            values[row] = row_values
            if pair[1] is not None:
                answers.append(pair[1].strip())
                answer_rows.append(row)
        values = np.array(values, dtype=np.int64).reshape(count, n + 1)
        prompt = digit_ids(values.reshape(-1), width).reshape(count, self.prompt_len)
        target = np.full((count, self.answer_len), IGNORE, dtype=np.int64)
        if answer_rows:
            rows = np.array(answer_rows)
            ids, ok = self._answer_ids_bulk(values[rows, :n], answers)
            target[rows] = ids
            slow[rows[~ok]] = True
        tokens = np.concatenate([prompt, np.full((count, self.answer_len), MASK, dtype=np.int64)], axis=1)
        return bulk_result(tokens, np.concatenate([prompt, target], axis=1), self.prompt_len, items, slow, self.encode)

    def _answer_ids_bulk(self, numbers: np.ndarray, answers: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """`_answer_ids` for many rows: numbers (M, N), step-form texts -> ((M, answer_len) ids, (M,) ok)."""
        n, steps_max, slots, width = self.n_numbers, self.n_steps, self.step_len, self.value_digits
        a, op, b, result, steps, ok = parse_step_answers(answers, steps_max)
        if width < _MAX_DIGITS:  # every parsed number is below 10**18; a narrower W bounds the results
            ok &= ~((result >= 10**width) & (np.arange(a.shape[1]) < steps[:, None])).any(axis=1)
        count = len(answers)
        ids = np.full((count, self.answer_len), PAD, dtype=np.int64)
        pool = np.zeros((count, n + steps_max), dtype=np.int64)  # the numbers, then each step's result
        pool[:, :n] = numbers
        free = np.zeros(pool.shape, dtype=bool)
        free[:, :n] = True
        every = np.arange(count)
        for k in range(steps_max):
            active = ok & (steps > k)
            start = k * slots
            for operand, slot in ((a[:, k], 0), (b[:, k], 2)):
                match = free & (pool == operand[:, None])
                found = match.any(axis=1)
                ok &= ~(active & ~found)  # a value that is not available: the per-row path's error
                use = active & found
                first = match.argmax(axis=1)  # the first available item with that value, as encode pops it
                free[every[use], first[use]] = False
                ids[use, start + slot] = REF0 + first[use]  # n_i is REF0 + i, r_k is REF0 + n + k
            ids[active, start + 1] = OP0 + op[active, k]
            ids[active, start + 3: start + slots] = digit_ids(result[active, k], width)
            pool[:, n + k] = result[:, k]
            free[active, n + k] = True
        return ids, ok

    # --- decoding
    @staticmethod
    def read_digits(ids: list[int]) -> int | None:
        """Right-aligned digit slots -> the value, or None (a MASK, a gap, no digit, a non-digit)."""
        digits = [i for i in ids if i != PAD]
        if not digits or any(not DIGIT0 <= i < DIGIT0 + 10 for i in digits):
            return None
        if ids[len(ids) - len(digits):] != digits:  # a PAD after the first digit
            return None
        return int("".join(str(i - DIGIT0) for i in digits))

    def prompt_values(self, tokens: Any) -> tuple[list[int | None], int | None]:
        """The instance's numbers and target from a row's prompt slots."""
        ids = np.asarray(torch.as_tensor(tokens).detach().cpu().reshape(-1), dtype=np.int64).tolist()
        p = self.number_digits
        values = [self.read_digits(ids[i * p : (i + 1) * p]) for i in range(self.n_numbers + 1)]
        return values[:-1], values[-1]

    def decode_prompt(self, tokens: Any) -> str:
        """A row's prompt slots -> `n1,...,nN,target` ('?' for a slot that is not a number)."""
        numbers, target = self.prompt_values(tokens)
        return ",".join("?" if v is None else str(v) for v in (*numbers, target))

    def step_slots(self, ids: list[int], step: int) -> tuple[int, int, int, list[int]]:
        start = self.step_start(step)
        return ids[start], ids[start + 1], ids[start + 2], ids[start + 3 : start + self.step_len]

    def ref_value(self, ref: int, numbers: list[int | None], results: list[int | None]) -> int | None:
        index = ref - REF0
        if 0 <= index < self.n_numbers:
            return numbers[index]
        if 0 <= index - self.n_numbers < self.n_steps:
            return results[index - self.n_numbers]
        return None

    def decode(self, tokens: torch.Tensor | np.ndarray | list[int]) -> str:
        """(T,) ids -> the answer in step form; an unknown slot is '?' (the verifier's 'malformed'). Never raises."""
        ids = np.asarray(torch.as_tensor(tokens).detach().cpu().reshape(-1), dtype=np.int64).tolist()
        if len(ids) < self.seq_len:
            return "?"
        numbers, _ = self.prompt_values(ids)
        results = [self.read_digits(self.step_slots(ids, k)[3]) for k in range(self.n_steps)]
        steps = []
        for k in range(self.n_steps):
            a, op, b, digits = self.step_slots(ids, k)
            if a == op == b == PAD and all(d == PAD for d in digits):
                continue  # an unused step (tv: fewer steps than numbers - 1)
            values = [self.ref_value(a, numbers, results), self.ref_value(b, numbers, results)]
            text = [("?" if v is None else str(v)) for v in (*values, results[k])]
            symbol = OPS[op - OP0] if OP0 <= op < OP0 + 4 else "?"
            steps.append(f"{text[0]}{symbol}{text[1]}={text[2]}")
        return ",".join(steps)

    def token_label(self, token: int) -> str:
        """One character per id for the app's strip: digits, operators, ①..⑥ for the numbers,
        ❶..❺ for step results; MASK '.', PAD '_'."""
        if token == MASK:
            return "."
        if token == PAD:
            return "_"
        if DIGIT0 <= token < DIGIT0 + 10:
            return str(token - DIGIT0)
        if OP0 <= token < OP0 + 4:
            return OPS[token - OP0]
        index = token - REF0
        if 0 <= index < self.n_numbers:
            return chr(0x2460 + index)
        if 0 <= index - self.n_numbers < self.n_steps:
            return chr(0x2776 + index - self.n_numbers)
        return "?"

    # --- helpers for the sampler, the evaluator and the app
    def task_input_from_text(self, text: str) -> Any:
        from puzzles.countdown import parse_instance

        return parse_instance(text, rules=self.rules)

    def verify(self, instance: Any, answer_text: str) -> bool:
        from puzzles.countdown import verify_countdown

        try:
            if isinstance(instance, str):
                instance = self.task_input_from_text(instance)
            return bool(verify_countdown(instance, answer_text).valid)
        except Exception:  # malformed answer: not a solution
            return False

    def to_config(self) -> dict[str, Any]:
        return {"task": self.task, "format": FORMAT, "n_numbers": self.n_numbers, "max_number": self.max_number,
                "max_target": self.max_target, "rules": self.rules}

    def __repr__(self) -> str:
        return (f"CountdownStepCodec(n_numbers={self.n_numbers}, max_number={self.max_number}, "
                f"max_target={self.max_target}, rules={self.rules!r})")
