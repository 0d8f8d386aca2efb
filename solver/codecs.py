"""Codecs: puzzles <-> token sequences for the Denoiser.

An `Encoded` holds three (T,) tensors: `tokens` (the model input, MASK where the answer
is to be predicted), `frozen` (positions the model is given and the sampler never
changes) and `target` (the answer at every position, -100 where unknown).

Sudoku: one token per cell, row-major; id 0 is MASK (so a grid with 0 for blanks *is*
its token sequence), ids 1..n are the digits. Position ids are factored into row,
column and box, which is what lets a small model learn the rules.

Countdown, two codecs: the structured one (`solver.countdown_steps`, format "steps": step
slots, reference operands, digits by place) and the original character codec here, which
old checkpoints keep loading. Characters: the prompt `n1,n2,...,target` is right-padded with PAD to
`prompt_len` and frozen; the answer in step form (`44-15=29,79-29=50`) follows, padded
with PAD to `answer_len`. PAD is a real token at answer positions: the model learns
where the answer ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import torch

from puzzles.sudoku import DIGIT_CHARS, Sudoku, SudokuShape, parse_sudoku

from .positions import grid_positions

IGNORE = -100  # target id where the answer is unknown (torch cross-entropy's ignore_index)


class CodecError(ValueError):
    """An input the codec cannot represent (wrong length, too long a prompt, bad character)."""


@dataclass
class Encoded:
    tokens: torch.Tensor  # (T,) long, MASK at positions to predict
    frozen: torch.Tensor  # (T,) bool, given positions
    target: torch.Tensor  # (T,) long, answer ids; == tokens where frozen; IGNORE where unknown


def _stack(encoded: list[Encoded]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (
        torch.stack([e.tokens for e in encoded]),
        torch.stack([e.frozen for e in encoded]),
        torch.stack([e.target for e in encoded]),
    )


# ----------------------------------------------------------------------------- bulk encoding helpers

BULK_ROWS = 1 << 16  # rows per vectorised pass: bounds the temporary arrays (a few MB) of a million-row split


def in_chunks(encode_batch: Any, items: list[Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`encode_batch` over BULK_ROWS rows at a time, concatenated (in order: the first bad row still raises)."""
    parts = [encode_batch(items[start : start + BULK_ROWS]) for start in range(0, len(items), BULK_ROWS)]
    return tuple(torch.cat(tensors) for tensors in zip(*parts))  # type: ignore[return-value]


def split_item(item: Any) -> tuple[Any, Any] | None:
    """An encode_batch item as (instance, answer): a bare instance, or a tuple of 1 or 2 (what
    `encode(*item)` takes); None for anything else (the per-row path reports it)."""
    if not isinstance(item, tuple):
        return item, None
    if len(item) == 1:
        return item[0], None
    if len(item) == 2:
        return item
    return None


def char_matrix(texts: list[str], length: int, table: np.ndarray, fill: int) -> tuple[np.ndarray, np.ndarray]:
    """Texts -> ((N, length) int64 ids left-aligned, `fill` after each text; (N,) bool ok), vectorised.

    `table` maps a byte to its id, or to a negative number for a byte that has none. A row is
    not ok when its text is longer than `length`, not ASCII, or holds a byte without an id
    (its ids are then meaningless: the caller encodes that row the slow way, for its error)."""
    count = len(texts)
    ok = np.fromiter((t.isascii() and len(t) <= length for t in texts), dtype=bool, count=count)
    raw = [t.encode("ascii") if good else b"" for t, good in zip(texts, ok)]
    lengths = np.fromiter(map(len, raw), dtype=np.int64, count=count)
    ids = table[np.frombuffer(b"".join(raw), dtype=np.uint8)].astype(np.int64)
    rows = np.repeat(np.arange(count), lengths)
    cols = np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out = np.full((count, length), fill, dtype=np.int64)
    out[rows, cols] = ids
    ok[rows[ids < 0]] = False
    return out, ok


def bulk_result(tokens: np.ndarray, target: np.ndarray, prompt_len: int, items: list[Any], slow: np.ndarray,
                encode: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The (tokens, frozen, target) tensors of a bulk encoding, with the rows marked `slow`
    (inputs the vectorised path does not take, or rejects) encoded one at a time by `encode`:
    in order, so the first row the per-row path would refuse raises its own error."""
    tokens_t, target_t = torch.from_numpy(tokens), torch.from_numpy(target)
    for row in np.flatnonzero(slow).tolist():
        item = items[row]
        one = encode(*item) if isinstance(item, tuple) else encode(item)
        tokens_t[row], target_t[row] = one.tokens, one.target
    frozen = torch.zeros(tokens.shape, dtype=torch.bool)
    frozen[:, :prompt_len] = True
    return tokens_t, frozen, target_t


# ----------------------------------------------------------------------------- Sudoku


class SudokuCodec:
    """Tokens for an n x n Sudoku: MASK = 0, digit d = d; T = n*n; positions row/col/box."""

    task = "sudoku"
    mask_id = 0
    pad_id = None

    def __init__(self, shape: SudokuShape):
        self.shape = shape
        self.n = shape.n
        self.vocab_size = self.n + 1
        self.seq_len = shape.cells
        # byte -> token id for vectorised line encoding; 255 marks an illegal character
        table = np.full(256, 255, dtype=np.uint8)
        for blank in ".0":
            table[ord(blank)] = 0
        for value, char in enumerate(DIGIT_CHARS[: self.n], start=1):
            table[ord(char)] = value
            table[ord(char.lower())] = value
        self._byte_table = table

    # --- encoding
    def _grid_tokens(self, item: str | Sudoku) -> torch.Tensor:
        if isinstance(item, Sudoku):
            if item.shape != self.shape:
                raise CodecError(f"expected a {self.shape} Sudoku, got {item.shape}")
            return torch.from_numpy(item.grid.astype(np.int64).ravel())
        return torch.from_numpy(self.encode_lines([item])[0])

    def encode(self, puzzle: str | Sudoku, solution: str | Sudoku | None = None) -> Encoded:
        tokens = self._grid_tokens(puzzle)
        frozen = tokens != self.mask_id
        if solution is None:
            target = torch.where(frozen, tokens, torch.full_like(tokens, IGNORE))
        else:
            target = self._grid_tokens(solution)
            if bool((target == self.mask_id).any()):
                raise CodecError("the solution has blank cells")
            if bool((target[frozen] != tokens[frozen]).any()):
                raise CodecError("the solution changes a given of the puzzle")
        return Encoded(tokens, frozen, target)

    def encode_batch(self, items: Iterable[Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """items: puzzles, or (puzzle, solution) pairs -> (tokens, frozen, target), each (B, T)."""
        encoded = [self.encode(*item) if isinstance(item, tuple) else self.encode(item) for item in items]
        return _stack(encoded)

    def encode_lines(self, lines: list[str]) -> np.ndarray:
        """One-line grids (`.`/`0` blank) -> (B, T) int64 token ids, vectorised for datasets."""
        if not lines:
            return np.zeros((0, self.seq_len), dtype=np.int64)
        raw = [line.strip().encode("ascii", "replace") for line in lines]
        for i, line in enumerate(raw):
            if len(line) != self.seq_len:
                raise CodecError(f"line {i + 1}: {len(line)} characters, expected {self.seq_len} for {self.shape}")
        ids = self._byte_table[np.frombuffer(b"".join(raw), dtype=np.uint8)].reshape(len(raw), self.seq_len)
        if (ids == 255).any():
            row, col = np.argwhere(ids == 255)[0]
            raise CodecError(f"line {row + 1}: character {chr(raw[row][col])!r} is not a digit of {self.shape}")
        return ids.astype(np.int64)

    # --- decoding
    def decode(self, tokens: torch.Tensor | np.ndarray | list[int]) -> str:
        """(T,) ids -> one-line answer; MASK and any out-of-range id become '.'. Never raises."""
        values = np.asarray(torch.as_tensor(tokens).detach().cpu().reshape(-1), dtype=np.int64)[: self.seq_len]
        chars = [DIGIT_CHARS[v - 1] if 1 <= v <= self.n else "." for v in values.tolist()]
        return "".join(chars).ljust(self.seq_len, ".")

    def to_grid(self, tokens: torch.Tensor) -> np.ndarray:
        """(..., T) ids -> (..., n, n) int grids (0 for MASK), for the batched verifier."""
        values = torch.as_tensor(tokens).detach().cpu().clamp(0, self.n).numpy()
        return values.reshape(*values.shape[:-1], self.n, self.n)

    def positions(self) -> dict[str, torch.Tensor]:
        """Row, column and box index of each cell, (T,) long each."""
        return grid_positions(self.shape.box_rows, self.shape.box_cols)

    # --- helpers for the sampler, the evaluator and the app
    def task_input_from_text(self, text: str) -> Sudoku:
        return parse_sudoku(text, self.shape)

    def verify(self, puzzle: str | Sudoku, answer_text: str) -> bool:
        from puzzles.sudoku import verify_sudoku

        try:
            puzzle = puzzle if isinstance(puzzle, Sudoku) else parse_sudoku(puzzle, self.shape)
            answer = Sudoku(self.shape, self.to_grid(torch.as_tensor(self.encode_lines([answer_text])[0])))
        except (ValueError, Exception):  # malformed answer text: simply not a solution
            return False
        return bool(verify_sudoku(puzzle, answer).valid)

    def to_config(self) -> dict[str, Any]:
        return {"task": self.task, "box_rows": self.shape.box_rows, "box_cols": self.shape.box_cols}

    def __repr__(self) -> str:
        return f"SudokuCodec({self.shape})"


# ----------------------------------------------------------------------------- Countdown

MASK_CHAR, PAD_CHAR = "\x00", "\x01"  # placeholders; never appear in real text
COUNTDOWN_CHARS = "0123456789+-*/=,()"


class CountdownCodec:
    """Character tokens: MASK = 0, PAD = 1, then `COUNTDOWN_CHARS`. T = prompt_len + answer_len."""

    task = "countdown"
    mask_id = 0
    pad_id = 1

    def __init__(self, n_numbers: int, prompt_len: int, answer_len: int, rules: str = "ml"):
        if n_numbers < 1 or prompt_len < 3 or answer_len < 1:
            raise CodecError(f"bad countdown codec sizes: n_numbers={n_numbers} prompt_len={prompt_len} answer_len={answer_len}")
        self.n_numbers = n_numbers
        self.prompt_len = prompt_len
        self.answer_len = answer_len
        self.rules = rules
        self.seq_len = prompt_len + answer_len
        self.chars = COUNTDOWN_CHARS
        self.vocab_size = 2 + len(self.chars)
        self._char_id = {c: i + 2 for i, c in enumerate(self.chars)}
        self._byte_table = np.full(256, -1, dtype=np.int16)  # byte -> id, -1 for none (encode_batch)
        for char, token in self._char_id.items():
            self._byte_table[ord(char)] = token

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any], slack: int = 0) -> CountdownCodec:
        """Lengths from the dataset's stats (`max_prompt_chars`, `max_answer_chars`), never invented."""
        stats = manifest.get("stats", {})
        config = manifest.get("config", {})
        try:
            prompt_len = int(stats["max_prompt_chars"])
            answer_len = int(stats["max_answer_chars"])
        except KeyError as err:
            raise CodecError(f"countdown manifest has no stats.{err.args[0]}") from None
        n_numbers = config.get("n_numbers", config.get("numbers"))
        if n_numbers is None:
            raise CodecError("countdown manifest config names no n_numbers")
        return cls(int(n_numbers), prompt_len + slack, answer_len + slack, rules=str(config.get("rules", "ml")))

    # --- encoding
    def _ids(self, text: str, length: int, what: str) -> list[int]:
        if len(text) > length:
            raise CodecError(f"{what} {text!r} has {len(text)} characters, more than the codec's {length}")
        try:
            ids = [self._char_id[c] for c in text]
        except KeyError as err:
            raise CodecError(f"{what} {text!r} holds {err.args[0]!r}, not a countdown character") from None
        return ids + [self.pad_id] * (length - len(ids))

    @staticmethod
    def prompt_text(instance: Any) -> str:
        if isinstance(instance, str):
            return "".join(instance.split())
        if isinstance(instance, dict):
            return ",".join(str(v) for v in (*instance["numbers"], instance["target"]))
        return instance.to_line()  # CountdownInstance

    def encode(self, instance: Any, answer: str | None = None) -> Encoded:
        prompt = self._ids(self.prompt_text(instance), self.prompt_len, "prompt")
        if answer is None:
            rest = [self.mask_id] * self.answer_len
            target_rest = [IGNORE] * self.answer_len
        else:
            rest = [self.mask_id] * self.answer_len
            target_rest = self._ids(answer.strip(), self.answer_len, "answer")
        tokens = torch.tensor(prompt + rest, dtype=torch.long)
        target = torch.tensor(prompt + target_rest, dtype=torch.long)
        frozen = torch.zeros(self.seq_len, dtype=torch.bool)
        frozen[: self.prompt_len] = True
        return Encoded(tokens, frozen, target)

    def encode_batch(self, items: Iterable[Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """items: instances, or (instance, answer) pairs -> (tokens, frozen, target), each (B, T).

        The same tensors as `encode` row by row, vectorised: the texts are made per row as
        `encode` makes them, their characters looked up all at once (NumPy). A row it cannot
        take (another input type, a character outside the codec, too long a text) goes through
        `encode`, so a bad row raises what `encode` raises."""
        items = list(items)
        if len(items) > BULK_ROWS:
            return in_chunks(self.encode_batch, items)
        count = len(items)
        prompts, answers = [""] * count, [""] * count
        slow = np.zeros(count, dtype=bool)
        has_answer = np.zeros(count, dtype=bool)
        for row, item in enumerate(items):
            pair = split_item(item)
            try:
                if pair is None or not (pair[1] is None or isinstance(pair[1], str)):
                    raise TypeError
                prompts[row] = self.prompt_text(pair[0])
            except Exception:  # the per-row path says what is wrong
                slow[row] = True
                continue
            if pair[1] is not None:
                answers[row], has_answer[row] = pair[1].strip(), True
        prompt_ids, prompt_ok = char_matrix(prompts, self.prompt_len, self._byte_table, self.pad_id)
        answer_ids, answer_ok = char_matrix(answers, self.answer_len, self._byte_table, self.pad_id)
        slow |= ~prompt_ok | ~answer_ok
        answer_ids[~has_answer] = IGNORE
        tokens = np.concatenate([prompt_ids, np.full((count, self.answer_len), self.mask_id, dtype=np.int64)], axis=1)
        target = np.concatenate([prompt_ids, answer_ids], axis=1)
        return bulk_result(tokens, target, self.prompt_len, items, slow, self.encode)

    # --- decoding
    def decode(self, tokens: torch.Tensor | np.ndarray | list[int]) -> str:
        """(T,) ids -> answer text: answer positions only, PAD and MASK dropped. Never raises."""
        values = np.asarray(torch.as_tensor(tokens).detach().cpu().reshape(-1), dtype=np.int64)
        answer = values[self.prompt_len : self.seq_len].tolist()
        return "".join(self.chars[v - 2] for v in answer if 2 <= v < self.vocab_size)

    def decode_prompt(self, tokens: torch.Tensor) -> str:
        values = torch.as_tensor(tokens).detach().cpu().reshape(-1)[: self.prompt_len].tolist()
        return "".join(self.chars[v - 2] for v in values if 2 <= v < self.vocab_size)

    def positions(self) -> dict[str, torch.Tensor]:
        return {"index": torch.arange(self.seq_len)}

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
        return {
            "task": self.task,
            "n_numbers": self.n_numbers,
            "prompt_len": self.prompt_len,
            "answer_len": self.answer_len,
            "rules": self.rules,
        }

    def __repr__(self) -> str:
        return f"CountdownCodec(n_numbers={self.n_numbers}, prompt_len={self.prompt_len}, answer_len={self.answer_len})"


Codec = Any  # SudokuCodec | CountdownCodec | countdown_steps.CountdownStepCodec


def codec_from_config(config: dict[str, Any]) -> Codec:
    """Rebuild a codec from `.to_config()` (as stored in a checkpoint's config.json)."""
    task = config.get("task")
    try:
        if task == "sudoku":
            return SudokuCodec(SudokuShape(int(config["box_rows"]), int(config["box_cols"])))
        if task == "countdown" and config.get("format") == "steps":
            from .countdown_steps import CountdownStepCodec

            return CountdownStepCodec(int(config["n_numbers"]), int(config["max_number"]), int(config["max_target"]),
                                      rules=str(config.get("rules", "ml")))
        if task == "countdown":
            return CountdownCodec(
                int(config["n_numbers"]), int(config["prompt_len"]), int(config["answer_len"]),
                rules=str(config.get("rules", "ml")),
            )
    except KeyError as err:
        raise CodecError(f"codec config for {task} lacks {err.args[0]!r}") from None
    raise CodecError(f"unknown codec task {task!r} (expected 'sudoku' or 'countdown')")
