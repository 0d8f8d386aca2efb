"""Diffusion objective: 1/t weight, frozen never masked nor scored, options for loops and supervision."""

from __future__ import annotations

import pytest
import torch

from solver.codecs import IGNORE
from solver.diffusion import (
    LossConfig, diffusion_loss, draw_loops, loop_weights, loss_weight, mask_tokens, masked_loss, sample_t,
)
from solver.model import Denoiser, DenoiserConfig


def batch(B: int = 16):
    g = torch.Generator().manual_seed(0)
    target = torch.randint(1, 5, (B, 16), generator=g)
    frozen = torch.rand(B, 16, generator=g) < 0.4
    return target, frozen


def model(**overrides) -> Denoiser:
    base = dict(vocab_size=5, seq_len=16, box_rows=2, box_cols=2, d_model=32, n_heads=4, core_layers=1, loops=3)
    torch.manual_seed(0)
    return Denoiser(DenoiserConfig(**{**base, **overrides}))


def test_loss_weight_is_exactly_one_over_t():
    t = torch.tensor([1e-3, 0.25, 0.5, 1.0])
    assert torch.equal(loss_weight(t), 1.0 / t)


def test_sample_t_range_and_stratification():
    t = sample_t(1000, generator=torch.Generator().manual_seed(0))
    assert t.min() >= 1e-3 and t.max() <= 1.0
    counts = torch.histc(t, bins=10, min=0, max=1)
    assert counts.min() >= 99  # low-discrepancy: every tenth of [0, 1] gets its share
    assert sample_t(8, low_discrepancy=False).shape == (8,)


def test_frozen_never_masked():
    target, frozen = batch(64)
    noisy, masked = mask_tokens(target, frozen, torch.ones(64), mask_id=0)
    assert not masked[frozen].any() and masked[~frozen].all()
    assert torch.equal(noisy[frozen], target[frozen]) and (noisy[masked] == 0).all()
    _, masked = mask_tokens(target, frozen, torch.full((64,), 0.3), mask_id=0,
                            generator=torch.Generator().manual_seed(1))
    rate = masked.sum() / (~frozen).sum()
    assert 0.25 < rate < 0.35
    unknown = target.masked_fill(~frozen, IGNORE)
    assert not mask_tokens(unknown, frozen, torch.ones(64), 0)[1].any()


def test_loss_ignores_frozen_and_unmasked_positions():
    target, frozen = batch()
    answer = ~frozen
    masked = answer & (torch.rand(target.shape, generator=torch.Generator().manual_seed(2)) < 0.5)
    t = torch.full((target.shape[0],), 0.5)
    logits = torch.randn(*target.shape, 5)
    logits[..., 0] = float("-inf")
    base = masked_loss(logits, target, masked, t, "mdlm", answer)
    changed = logits.clone()
    changed[~masked] = torch.randn(int((~masked).sum()), 5)  # anything at unscored positions
    changed[..., 0] = float("-inf")
    assert torch.allclose(base, masked_loss(changed, target, masked, t, "mdlm", answer))
    assert torch.isfinite(base)


def test_mdlm_weighting_against_hand_computation():
    target = torch.tensor([[1, 2, 3, 4]])
    masked = torch.tensor([[True, False, True, False]])
    answer = torch.tensor([[True, True, True, False]])
    logits = torch.zeros(1, 4, 5)
    logits[..., 0] = float("-inf")
    t = torch.tensor([0.25])
    ce = torch.log(torch.tensor(4.0))  # uniform over 4 digits
    expected = 2 * ce * 4.0 / 3  # two masked tokens, weight 1/t = 4, three answer tokens
    assert torch.allclose(masked_loss(logits, target, masked, t, "mdlm", answer), expected)
    assert torch.allclose(masked_loss(logits, target, masked, t, "masked_ce", answer), ce)


def test_loop_weights():
    assert loop_weights(3, "final") == [0.0, 0.0, 1.0]
    assert loop_weights(4, "every") == [0.25] * 4
    assert loop_weights(3, "weighted") == pytest.approx([1 / 6, 2 / 6, 3 / 6])


def test_draw_loops_shared_and_in_range():
    g = torch.Generator().manual_seed(0)
    draws = {draw_loops(4, "uniform", g) for _ in range(200)}
    assert draws == {1, 2, 3, 4}
    assert draw_loops(4, "fixed") == 4


@pytest.mark.parametrize("supervision", ["final", "every", "weighted"])
@pytest.mark.parametrize("objective", ["mdlm", "masked_ce"])
def test_diffusion_loss_options_backprop(supervision, objective):
    net = model()
    target, frozen = batch()
    out = diffusion_loss(net, target, frozen, LossConfig(supervision=supervision, objective=objective),
                         generator=torch.Generator().manual_seed(0))
    out.loss.backward()
    assert torch.isfinite(out.loss) and out.loops == 3 and out.masked_tokens > 0
    assert len(out.loss_per_loop) == (1 if supervision == "final" else 3)
    assert net.tok_emb.weight.grad is not None and 0.0 <= out.token_accuracy <= 1.0


def test_diffusion_loss_grad_loops_and_uniform_loops():
    net = model(time_conditioning=True)
    target, frozen = batch()
    cfg = LossConfig(supervision="every", loop_sampling="uniform", grad_loops=1)
    out = diffusion_loss(net, target, frozen, cfg, loops=3)
    out.loss.backward()
    grads = net.loop_emb.weight.grad.abs().sum(-1)
    assert grads[2] > 0 and grads[:2].sum() == 0
    assert len(out.loss_per_loop) == 3


def test_frozen_rows_contribute_nothing():
    net = model()
    target, frozen = batch(4)
    frozen[0] = True  # a fully given row: nothing to predict, no loss, no NaN
    out = diffusion_loss(net, target, frozen, LossConfig())
    assert torch.isfinite(out.loss)
