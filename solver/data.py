"""Datasets on disk (data_gen's manifest + Parquet/JSONL shards) -> token tensors -> a LightningDataModule.

Records are encoded once at setup into (tokens, frozen, target) tensors (a few MB even for
a million 9x9 puzzles; Countdown rows through the codecs' vectorised `encode_batch`). A
training batch is one gather of its indices from those tensors (`BatchTensors.__getitems__`,
not one item at a time and a collate), and is augmented after it reaches its device
(`on_after_batch_transfer`): Sudoku with a random symmetry per puzzle, the step codec's
Countdown with a random number order and operand order (solver.augment), so every epoch
sees new rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from data_gen import dataset
from data_gen.errors import DataGenError
from puzzles.sudoku import SudokuShape

from .augment import augment_countdown_steps, augment_sudoku
from .codecs import Codec, CountdownCodec, SudokuCodec


class DataError(ValueError):
    """A dataset directory that cannot be read; the message names the file."""


@contextmanager
def _data_errors() -> Iterator[None]:
    """data_gen's reader raises DataGenError; solver's commands report a DataError (a ValueError), same message."""
    try:
        yield
    except DataGenError as err:
        raise DataError(str(err)) from None


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """A dataset directory's manifest (data_gen.load_manifest), for a task solver knows; else a DataError."""
    with _data_errors():
        manifest = dataset.load_manifest(directory)
    if manifest.get("task") not in ("sudoku", "countdown"):
        path = Path(directory) / dataset.MANIFEST
        raise DataError(f"{path}: task is {manifest.get('task')!r}, expected 'sudoku' or 'countdown'")
    return manifest


STEP_LIMITS = {"max_number": 100, "max_target": 999}  # the step codec's least limits: every tv card and target


def codec_for_manifest(manifest: dict[str, Any], codec_format: str = "chars") -> Codec:
    """The codec a dataset needs: Sudoku shape from the manifest; for Countdown the character
    codec (lengths from the manifest's stats) or, with `codec_format="steps"`, the step codec
    (limits: at least STEP_LIMITS, more where the dataset's number or target range reaches further)."""
    config = manifest.get("config", {})
    if manifest["task"] == "sudoku":
        box_rows, box_cols = int(config.get("box_rows") or 0), int(config.get("box_cols") or 0)
        shape = SudokuShape(box_rows, box_cols) if box_rows and box_cols else SudokuShape.for_size(int(config.get("size", 9)))
        return SudokuCodec(shape)
    if codec_format == "steps":
        from .countdown_steps import CountdownStepCodec

        n_numbers = config.get("n_numbers", config.get("numbers"))
        if n_numbers is None:
            raise DataError("countdown manifest config names no n_numbers")
        numbers, targets = config.get("number_range") or [1, 1], config.get("target_range") or [0, 0]
        return CountdownStepCodec(int(n_numbers), max(STEP_LIMITS["max_number"], int(numbers[-1])),
                                  max(STEP_LIMITS["max_target"], int(targets[-1])), rules=str(config.get("rules", "ml")))
    if codec_format != "chars":
        raise DataError(f"unknown countdown codec {codec_format!r} (expected 'chars' or 'steps')")
    return CountdownCodec.from_manifest(manifest)


def check_file(path: Path, sha256: str | None) -> None:
    """DataError naming the file when it is missing or its sha256 is not the manifest's."""
    with _data_errors():
        dataset.check_file(path, sha256)


def read_records(directory: str | Path, manifest: dict[str, Any], split: str,
                 limit: int | None = None, verify: bool = True) -> list[dict[str, Any]] | None:
    """The rows of one split as dicts (None when the split does not exist). Parquet or JSONL.
    Each file read is checked against the manifest's sha256 first (`verify`); a file that is
    missing, corrupt or unreadable is a DataError naming it (data_gen.dataset.read_records)."""
    with _data_errors():
        return dataset.read_records(directory, manifest, split, limit, verify)


def encode_records(codec: Codec, rows: list[dict[str, Any]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Dataset rows -> (tokens, frozen, target), each (N, T)."""
    if isinstance(codec, SudokuCodec):
        puzzles = torch.from_numpy(codec.encode_lines([row["puzzle"] for row in rows]))
        solutions = torch.from_numpy(codec.encode_lines([row["solution"] for row in rows]))
        frozen = puzzles != codec.mask_id
        if bool((solutions[frozen] != puzzles[frozen]).any()):
            raise DataError("a solution changes a given of its puzzle")
        return puzzles, frozen, solutions
    items = [({"numbers": row["numbers"], "target": row["target"]}, row.get("answer")) for row in rows]
    return codec.encode_batch(items)


class BatchTensors(TensorDataset):
    """A TensorDataset that serves a batch as one gather per tensor.

    DataLoader (with automatic batching) hands `__getitems__` the batch's indices from its
    sampler; the answer is the list [tokens, frozen, target] of (B, T) slices, which
    `first_item` passes through as the batch. Samplers stay DataLoader's own (RandomSampler,
    SequentialSampler, DistributedSampler under DDP), so the order of the rows is what the
    per-item path gave for the same seed, and each batch holds the same rows.
    """

    def __getitems__(self, indices: list[int]) -> list[torch.Tensor]:
        index = torch.from_numpy(np.fromiter(indices, dtype=np.int64, count=len(indices)))  # ~10x torch.as_tensor(list)
        return [tensor.index_select(0, index) for tensor in self.tensors]  # ~5x tensor[index] on the CPU


def first_item(batch: list[torch.Tensor]) -> list[torch.Tensor]:
    """The collate of a BatchTensors batch: already stacked. (A module-level function, so worker processes can pickle it.)"""
    return batch


class PuzzleDataModule(L.LightningDataModule):
    """Train/val tensors from a data_gen directory; batches by index gather; augmentation per
    training batch on its device (Sudoku symmetries; the step codec's number and operand orders)."""

    def __init__(self, directory: str | Path, batch_size: int, *, train_split: str = "train", val_split: str = "val",
                 augment: bool = True, max_train_records: int | None = None, max_val_records: int = 2048,
                 num_workers: int = 0, seed: int = 0, codec_format: str = "chars"):
        super().__init__()
        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        self.codec = codec_for_manifest(self.manifest, codec_format)
        self.batch_size = batch_size
        self.train_split, self.val_split = train_split, val_split
        self.augment = augment and (isinstance(self.codec, SudokuCodec) or getattr(self.codec, "format", None) == "steps")
        self.max_train_records, self.max_val_records = max_train_records, max_val_records
        self.num_workers = num_workers
        self.seed = seed
        self.train_set: BatchTensors | None = None
        self.val_set: BatchTensors | None = None
        self._seed = 0  # the augmentation's seed on this process (set in setup)
        self._generator: torch.Generator | None = None  # made on the first training batch's device
        self._checked = False  # check_files() has verified every file setup() reads

    def check_files(self) -> None:
        """Every file of the splits setup() reads, against the manifest's sha256: a DataError naming
        the first missing or corrupt one (rmdm train calls this before it makes the run directory)."""
        for split in dict.fromkeys((self.train_split, self.val_split)):
            for path, sha256 in dataset.split_entries(self.directory, self.manifest, split):
                check_file(path, sha256)
        self._checked = True

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        verify = not self._checked
        train_rows = read_records(self.directory, self.manifest, self.train_split, self.max_train_records, verify)
        if not train_rows:
            raise DataError(f"{self.directory}: split {self.train_split!r} is missing or empty")
        val_rows = read_records(self.directory, self.manifest, self.val_split, self.max_val_records, verify)
        if not val_rows:  # no val split: hold out a slice of train (at most 10%)
            held = min(self.max_val_records, max(1, len(train_rows) // 10))
            val_rows, train_rows = train_rows[-held:], train_rows[:-held] or train_rows
        self.train_set = BatchTensors(*encode_records(self.codec, train_rows))
        self.val_set = BatchTensors(*encode_records(self.codec, val_rows))
        rank = self.trainer.global_rank if self.trainer is not None else 0
        self._seed = self.seed * 1000 + rank
        self._generator = None

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True, drop_last=len(self.train_set) > self.batch_size,
                          collate_fn=first_item, num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=self.batch_size, shuffle=False, collate_fn=first_item, num_workers=0)

    def augmentation_generator(self, device: torch.device) -> torch.Generator:
        """This process's augmentation generator, on `device` (made there, from the seed, on first use:
        a CUDA generator draws other numbers than the CPU one, from the same distribution)."""
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device).manual_seed(self._seed)
        return self._generator

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Training batches are augmented where they are now (the GPU in a GPU run)."""
        if self.augment and self.trainer is not None and self.trainer.training:
            generator = self.augmentation_generator(batch[0].device)
            if isinstance(self.codec, SudokuCodec):
                shape = self.codec.shape
                batch = list(augment_sudoku(*batch, shape.box_rows, shape.box_cols, generator=generator))
            else:
                batch = list(augment_countdown_steps(*batch, self.codec, generator=generator))
        return batch

    @property
    def stats(self) -> dict[str, int]:
        return {"train": len(self.train_set or []), "val": len(self.val_set or [])}
