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

from .codecs import IGNORE, CodecError, Encoded, _stack
from .positions import step_positions

MASK, PAD, DIGIT0, OP0, REF0 = 0, 1, 2, 12, 16
OPS = "+-*/"
FORMAT = "steps"  # the codec config's "format" (absent: the character codec)


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
        """items: instances, or (instance, answer) pairs -> (tokens, frozen, target), each (B, T)."""
        encoded = [self.encode(*item) if isinstance(item, tuple) else self.encode(item) for item in items]
        return _stack(encoded)

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
