"""Denoiser: shapes, determinism, loop/prelude/coda configurations, weight sharing, NFE."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from solver.model import Denoiser, DenoiserConfig


def config(**overrides) -> DenoiserConfig:
    base = dict(vocab_size=5, seq_len=16, box_rows=2, box_cols=2, d_model=32, n_heads=4, core_layers=2, loops=3)
    return DenoiserConfig(**{**base, **overrides})


def tokens(batch: int = 3) -> torch.Tensor:
    return torch.randint(0, 5, (batch, 16), generator=torch.Generator().manual_seed(0))


def test_shapes_and_mask_logit():
    model = Denoiser(config()).eval()
    logits = model(tokens())
    assert logits.shape == (3, 16, 5)
    assert torch.isneginf(logits[..., 0]).all() and torch.isfinite(logits[..., 1:]).all()
    per_loop = model(tokens(), loops=5, all_loops=True)
    assert len(per_loop) == 5 and torch.allclose(per_loop[-1], model(tokens(), loops=5))


def test_determinism_with_seed():
    torch.manual_seed(7)
    a = Denoiser(config()).eval()
    torch.manual_seed(7)
    b = Denoiser(config()).eval()
    assert torch.equal(a(tokens()), b(tokens()))


def test_stages_compose_to_forward():
    model = Denoiser(config(prelude_layers=1, coda_layers=1, time_conditioning=True)).eval()
    x = tokens()
    h, cond = model.begin(x, torch.full((3,), 0.5))
    for index in range(3):
        h = model.loop(h, cond, index)
    assert torch.allclose(model.finish(h, cond), model(x, torch.full((3,), 0.5)), atol=1e-6)


def test_one_loop_without_prelude_or_coda_is_a_plain_stack():
    model = Denoiser(config(loops=1)).eval()
    x = tokens()
    h = model.tok_emb(x) + sum(model.pos_emb[name](getattr(model, f"pos_{name}")) for name in model.pos_names)
    h = model.loop_norm(h + model.loop_emb.weight[0])
    for block in model.core:
        h = block(h)
    expected = model.head(model.final_norm(h))
    assert torch.allclose(model(x)[..., 1:], expected[..., 1:], atol=1e-6)


def test_core_weights_shared_across_loops():
    model = Denoiser(config(loops=4))
    n_one = sum(p.numel() for p in Denoiser(config(loops=1)).parameters())
    assert model.num_parameters() == n_one  # loops add compute, not parameters (table sized by max_loops)
    model.zero_grad()
    model(tokens(), loops=4).logsumexp(-1).sum().backward()
    assert all(p.grad is not None for p in model.core.parameters())
    used = model.loop_emb.weight.grad.abs().sum(-1)
    assert (used[:4] > 0).all() and (used[4:] == 0).all()


def test_grad_loops_truncates_backprop():
    model = Denoiser(config(loops=3))
    model(tokens(), grad_loops=1).logsumexp(-1).sum().backward()
    emb_grad = model.loop_emb.weight.grad
    assert emb_grad[2].abs().sum() > 0 and emb_grad[:2].abs().sum() == 0
    assert model.tok_emb.weight.grad is None  # without input injection the embeddings ran under no_grad


def test_input_injection_gives_embeddings_gradient_under_truncated_backprop():
    model = Denoiser(config(loops=3, input_injection=True))
    model(tokens(), grad_loops=1).logsumexp(-1).sum().backward()
    assert model.tok_emb.weight.grad is not None and model.tok_emb.weight.grad.abs().sum() > 0
    assert all(model.pos_emb[name].weight.grad.abs().sum() > 0 for name in model.pos_names)
    assert model.loop_emb.weight.grad[:2].abs().sum() == 0  # passes without grad: no loss reaches them


def test_input_injection_re_adds_the_embedded_input_at_every_pass():
    model = Denoiser(config(loops=2, input_injection=True)).eval()
    x = tokens()
    e = model.tok_emb(x) + sum(model.pos_emb[name](getattr(model, f"pos_{name}")) for name in model.pos_names)
    h = e
    for index in range(2):
        h = model.loop_norm(h + model.loop_emb.weight[index] + e)
        for block in model.core:
            h = block(h)
    expected = model.head(model.final_norm(h))
    assert torch.allclose(model(x)[..., 1:], expected[..., 1:], atol=1e-5)
    h, cond = model.begin(x)
    assert cond.shape == (3, 16, 32) and torch.allclose(cond, e, atol=1e-6)
    # and injection changes the function: the same weights without it give other logits
    plain = Denoiser(config(loops=2))
    plain.load_state_dict(model.state_dict())
    assert not torch.allclose(plain.eval()(x), model(x), atol=1e-4)


def test_without_loop_embedding_every_pass_is_the_same_function():
    model = Denoiser(config(loops=2, max_loops=40, loop_embedding=False)).eval()
    assert model.loop_emb is None and model.num_parameters() < Denoiser(config(loops=2)).num_parameters()
    h, cond = model.begin(tokens())
    assert torch.equal(model.loop(h, cond, 0), model.loop(h, cond, 39))
    assert model(tokens(), loops=40).shape == (3, 16, 5)


def test_time_fallback_uses_the_masked_share_of_the_answer():
    model = Denoiser(config(time_conditioning=True)).eval()
    x = torch.tensor([[0] * 4 + [1] * 12])  # 4 masked cells, 8 of the 12 others given
    frozen = torch.zeros(1, 16, dtype=torch.bool)
    frozen[0, 8:] = True  # answer positions 0..7: half of them masked
    _, cond = model.begin(x, frozen=frozen)
    _, expected = model.begin(x, torch.tensor([0.5]))
    _, whole = model.begin(x)  # no frozen: share of the whole sequence (0.25)
    assert torch.allclose(cond, expected) and not torch.allclose(cond, whole)


def test_nfe_accounting():
    plain = Denoiser(config(loops=1))
    loop_mdm = Denoiser(config(prelude_layers=1, coda_layers=2, core_layers=2))
    assert plain.nfe_per_step(1) == 1 and plain.layer_evals_per_step(1) == 2
    assert loop_mdm.nfe_per_step(4) == 1 + 4 + 1
    assert loop_mdm.nfe_per_step(4, readouts=4) == 1 + 4 + 4
    assert loop_mdm.layer_evals_per_step(4, readouts=2) == 1 + 8 + 4


def test_sequence_positions():
    model = Denoiser(DenoiserConfig(vocab_size=20, seq_len=40, positions="sequence", d_model=32, n_heads=2))
    assert model(torch.zeros(2, 40, dtype=torch.long)).shape == (2, 40, 20)


def test_config_errors():
    with pytest.raises(ValidationError, match="divisible"):
        config(n_heads=5)
    with pytest.raises(ValidationError, match="max_loops"):
        config(loops=20)
    with pytest.raises(ValidationError, match="cells"):
        config(seq_len=17)
    with pytest.raises(ValidationError):
        config(unknown=1)
    with pytest.raises(ValueError, match="loop index"):
        Denoiser(config()).loop(torch.zeros(1, 16, 32), None, 16)


def test_peer_attention_mask_is_the_sudoku_constraint_graph():
    from solver.model import peer_mask
    from solver.positions import grid_positions

    mask = peer_mask(grid_positions(3, 3))  # (81, 81)
    assert mask.shape == (81, 81) and bool((mask == mask.T).all())
    assert mask.sum(dim=1).tolist() == [21] * 81  # 20 peers and the cell itself
    assert mask[0, 8] and mask[0, 72] and mask[0, 20] and not mask[0, 21] and not mask[0, 80]


def test_peer_attention_hides_non_peers():
    """Changing a cell outside a cell's row, column and box cannot move that cell's output in one
    block; with full attention it does."""
    torch.manual_seed(0)
    fields = dict(vocab_size=10, seq_len=81, box_rows=3, box_cols=3, d_model=32, n_heads=2, core_layers=1, loops=1)
    tokens = torch.randint(1, 10, (1, 81))
    changed = tokens.clone()
    changed[0, 80] = tokens[0, 80] % 9 + 1  # cell (8, 8): not a peer of cell (0, 0)
    for attention, moves in (("peers", False), ("full", True)):
        model = Denoiser(DenoiserConfig(attention=attention, **fields)).eval()
        with torch.no_grad():
            delta = (model(tokens)[0, 0, 1:] - model(changed)[0, 0, 1:]).abs().max().item()  # 0: MASK, -inf
        assert (delta > 1e-6) == moves, (attention, delta)


def test_peer_attention_is_for_grids_only():
    with pytest.raises(ValueError, match="grid positions"):
        DenoiserConfig(vocab_size=10, seq_len=14, positions="sequence", attention="peers")


def test_a_carried_state_is_added_to_the_first_pass_and_zeros_change_nothing():
    model = Denoiser(config(loops=2, input_injection=True, carry_state=True)).eval()
    x = tokens()
    plain = model(x)
    with torch.no_grad():  # the gate starts shut: a carried state changes nothing until training opens it
        assert torch.allclose(model(x, state=torch.randn(3, 16, 32))[..., 1:], plain[..., 1:], atol=1e-6)
        model.state_gate.fill_(0.5)
    logits, h = model(x, state=torch.zeros(3, 16, 32), return_state=True)
    assert torch.allclose(logits[..., 1:], plain[..., 1:], atol=1e-6) and h.shape == (3, 16, 32)
    moved, h2 = model(x, state=h, return_state=True)
    assert not torch.allclose(moved[..., 1:], plain[..., 1:], atol=1e-4)  # the state is read
    begun, _ = model.begin(x, state=h)
    assert torch.allclose(begun, model.begin(x)[0] + 0.5 * h, atol=1e-6)
    with pytest.raises(ValueError, match="not trained with a carried state"):
        Denoiser(config()).begin(x, state=h)


def test_carry_state_needs_input_injection():
    with pytest.raises(ValidationError, match="carry_state needs input_injection"):
        config(carry_state=True)
    assert not config().carry_state  # off by default: every checkpoint loads as before
