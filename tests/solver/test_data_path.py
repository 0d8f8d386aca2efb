"""The training data path: batches by index gather hold the rows the per-item DataLoader gave
for the same seed, Lightning's DDP sampler swap and worker processes still work, and the
augmentation runs after the transfer, on the batch's device, as it ran before on the CPU."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from solver.augment import augment_countdown_steps, augment_sudoku
from solver.data import BatchTensors, PuzzleDataModule


@pytest.fixture(scope="module")
def sudoku_dir(tmp_path_factory):
    from data_gen.api import build_dataset

    spec = {"task": "sudoku", "size": 4, "n": 60, "seed": 5, "split": "train=0.8,val=0.2", "dedupe": False}
    return build_dataset(spec, tmp_path_factory.mktemp("data") / "sudoku4", workers=1)


@pytest.fixture(scope="module")
def countdown_dir(tmp_path_factory):
    from data_gen.api import build_dataset

    spec = {"task": "countdown", "numbers": 3, "rules": "ml", "n": 60, "seed": 5, "split": "train=0.8,val=0.2"}
    return build_dataset(spec, tmp_path_factory.mktemp("data") / "countdown3", workers=1)


def module_for(directory, codec_format="chars", batch_size=8, **kwargs) -> PuzzleDataModule:
    module = PuzzleDataModule(directory, batch_size, seed=3, codec_format=codec_format, **kwargs)
    module.setup()
    return module


def test_batches_hold_the_rows_the_per_item_loader_gave(sudoku_dir):
    module = module_for(sudoku_dir)
    assert isinstance(module.train_set, BatchTensors) and isinstance(module.train_set, TensorDataset)
    torch.manual_seed(11)
    gathered = list(module.train_dataloader())
    torch.manual_seed(11)  # the old path: DataLoader's default per-item fetch and collate
    old = DataLoader(TensorDataset(*module.train_set.tensors), batch_size=8, shuffle=True, drop_last=True)
    collated = list(old)
    assert len(gathered) == len(collated) == len(module.train_set) // 8
    for mine, theirs in zip(gathered, collated):
        assert isinstance(mine, list) and len(mine) == 3
        assert all(a.dtype == b.dtype and torch.equal(a, b) for a, b in zip(mine, theirs))
    val = list(module.val_dataloader())  # in order, the last batch short
    assert torch.equal(torch.cat([batch[2] for batch in val]), module.val_set.tensors[2])


def test_lightnings_distributed_sampler_swap_keeps_batches_gathered(sudoku_dir):
    from lightning.pytorch.utilities.data import _update_dataloader
    from torch.utils.data import DistributedSampler

    module = module_for(sudoku_dir, batch_size=4)
    seen = []
    for rank in range(2):  # what Lightning does to the training loader under DDP, per process
        sampler = DistributedSampler(module.train_set, num_replicas=2, rank=rank, shuffle=True, seed=0)
        loader = _update_dataloader(module.train_dataloader(), sampler)
        batches = list(loader)
        assert all(batch[2].shape == (4, 16) for batch in batches)
        seen += [tuple(row.tolist()) for batch in batches for row in batch[2]]
    assert len(seen) == 2 * (len(module.train_set) // 2 // 4) * 4  # each rank its own half


def test_worker_processes_serve_the_same_batches(sudoku_dir):
    module = module_for(sudoku_dir)
    torch.manual_seed(4)
    plain = list(module.train_dataloader())
    module.num_workers = 1
    torch.manual_seed(4)
    pooled = list(module.train_dataloader())
    assert all(torch.equal(a, b) for x, y in zip(plain, pooled) for a, b in zip(x, y))


def augmented(module: PuzzleDataModule, batch, training: bool = True):
    module.trainer = SimpleNamespace(training=training, global_rank=0)
    batch = module.on_before_batch_transfer(batch, 0)
    return module.on_after_batch_transfer(batch, 0)  # the transfer between them is a no-op on the CPU


@pytest.mark.parametrize("which", ["sudoku", "countdown"])
def test_augmentation_after_the_transfer_is_the_earlier_cpu_augmentation(which, sudoku_dir, countdown_dir):
    module = module_for(sudoku_dir) if which == "sudoku" else module_for(countdown_dir, "steps")
    batches = [list(t[i : i + 8] for t in module.train_set.tensors) for i in (0, 8, 16)]
    generator = torch.Generator().manual_seed(3 * 1000)  # seed * 1000 + rank, as before
    for batch in batches:
        got = augmented(module, batch)
        if which == "sudoku":
            shape = module.codec.shape
            expected = augment_sudoku(*batch, shape.box_rows, shape.box_cols, generator=generator)
        else:
            expected = augment_countdown_steps(*batch, module.codec, generator=generator)
        assert all(torch.equal(a, b) for a, b in zip(got, expected))
        assert not torch.equal(got[2], batch[2])  # it moved something
    assert module.augmentation_generator(torch.device("cpu")).device.type == "cpu"
    untouched = augmented(module, batches[0], training=False)  # validation batches are not augmented
    assert all(torch.equal(a, b) for a, b in zip(untouched, batches[0]))


def test_augmentation_draws_on_the_batch_device():
    """Every draw and index is made on the tokens' device (here "meta", which has no data: a tensor
    made on the CPU on the way would make an op refuse to mix devices, or a result land on the CPU)."""
    from solver.countdown_steps import CountdownStepCodec

    for tokens, run in (
        (torch.zeros(4, 16, dtype=torch.long, device="meta"), lambda t: augment_sudoku(t, t == 0, t, 2, 2)),
        (torch.zeros(4, CountdownStepCodec(3).seq_len, dtype=torch.long, device="meta"),
         lambda t: augment_countdown_steps(t, t == 0, t, CountdownStepCodec(3))),
    ):
        cpu_state = torch.get_rng_state()
        assert all(out.device.type == "meta" for out in run(tokens))
        assert torch.equal(torch.get_rng_state(), cpu_state)  # nothing drawn on the CPU
    codec_tokens = torch.zeros(2, 16, dtype=torch.long)
    torch.manual_seed(0)  # no generator: the global generator of the tokens' device, deterministic for a seed
    once = augment_sudoku(codec_tokens + 1, codec_tokens == 0, codec_tokens + 1, 2, 2)
    torch.manual_seed(0)
    again = augment_sudoku(codec_tokens + 1, codec_tokens == 0, codec_tokens + 1, 2, 2)
    assert all(torch.equal(a, b) for a, b in zip(once, again))
