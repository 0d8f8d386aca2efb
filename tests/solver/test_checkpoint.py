"""Checkpoints: round trip gives identical logits; missing, corrupt and mismatched files fail clearly."""

from __future__ import annotations

import json

import pytest
import torch

from puzzles.sudoku import SudokuShape
from solver.checkpoint import CheckpointError, list_checkpoints, load, save_checkpoint
from solver.codecs import CountdownCodec, SudokuCodec
from solver.model import Denoiser, DenoiserConfig


def saved(tmp_path, **overrides):
    codec = SudokuCodec(SudokuShape(2, 2))
    cfg = dict(vocab_size=codec.vocab_size, seq_len=codec.seq_len, box_rows=2, box_cols=2, d_model=32, n_heads=4,
               prelude_layers=1, coda_layers=1, time_conditioning=True)
    torch.manual_seed(0)
    model = Denoiser(DenoiserConfig(**{**cfg, **overrides})).eval()
    path = save_checkpoint(tmp_path / "ckpt", model, codec, {"lr": 1e-3}, "# test card", {"task": "sudoku", "seed": 1})
    return path, model, codec


def test_round_trip_identical_logits(tmp_path):
    path, model, codec = saved(tmp_path)
    loaded = load(path)
    tokens = codec.encode("1.3..4.......3.1").tokens[None]
    assert torch.equal(loaded.model(tokens), model(tokens))
    assert not loaded.model.training and loaded.card.startswith("# test card")
    assert loaded.config["training"] == {"lr": 1e-3} and loaded.config["data_manifest_sha256"]
    assert loaded.codec.to_config() == codec.to_config() and loaded.name == "ckpt"
    save_checkpoint(path, model, codec, {}, "again")  # overwriting is atomic and leaves no temp dirs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_a_carry_state_model_round_trips_with_its_gate(tmp_path):
    path, model, codec = saved(tmp_path, input_injection=True, carry_state=True)
    with torch.no_grad():
        model.state_gate.fill_(0.25)
    save_checkpoint(path, model, codec, {}, "# carry")
    loaded = load(path).model
    assert loaded.config.carry_state and torch.equal(loaded.state_gate, model.state_gate)
    tokens = codec.encode("1.3..4.......3.1").tokens[None]
    state = torch.randn(1, 16, 32)
    assert torch.equal(loaded(tokens, state=state), model(tokens, state=state))


def test_countdown_round_trip(tmp_path):
    codec = CountdownCodec(3, 12, 20)
    model = Denoiser(DenoiserConfig(vocab_size=codec.vocab_size, seq_len=codec.seq_len, positions="sequence",
                                    d_model=32, n_heads=2)).eval()
    loaded = load(save_checkpoint(tmp_path / "cd", model, codec, {}, "card"))
    tokens = codec.encode("1,2,3,6").tokens[None]
    assert torch.equal(loaded.model(tokens), model(tokens))


def test_missing_and_corrupt_files(tmp_path):
    path, _, _ = saved(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="no checkpoint named"):
        load("no-such-bundled-model")
    weights = path / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="sha256"):
        load(path)
    config = json.loads((path / "config.json").read_text())
    config.pop("weights_sha256")
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="cannot be loaded"):
        load(path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load(path)
    (path / "config.json").unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load(path)


def test_mismatched_config(tmp_path):
    path, _, _ = saved(tmp_path)
    config = json.loads((path / "config.json").read_text())
    config.pop("weights_sha256")
    config["model"]["d_model"] = 64
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="cannot be loaded|do not match"):
        load(path)
    config["model"]["d_model"] = 32
    config["model"]["core_layers"] = 3
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="do not match"):
        load(path)
    config["model"]["core_layers"] = 2
    config["codec"] = {"task": "sudoku", "box_rows": 3, "box_cols": 3}
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="codec"):
        load(path)
    config["model"]["n_heads"] = 5
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="bad model config"):
        load(path)


def test_bundled_list_and_lazy_import():
    assert isinstance(list_checkpoints(), list)
    import solver

    assert callable(solver.load)
