"""Diffusion objective: an unbiased estimate of the ELBO, frozen never masked nor scored, options for loops and supervision."""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import pytest
import torch

from solver.codecs import IGNORE
from solver.diffusion import (
    LossConfig, diffusion_loss, draw_loops, loop_weights, mask_tokens, masked_loss, sample_t,
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


class KeepLogits(torch.nn.Module):
    """The Denoiser, with its last output kept (and its gradient retained) for the test to read."""

    def __init__(self, net: Denoiser):
        super().__init__()
        self.net, self.config, self.logits = net, net.config, None

    def forward(self, *args, **kwargs):
        self.logits = self.net(*args, **kwargs)
        self.logits.retain_grad()
        return self.logits


def test_frozen_rows_contribute_nothing():
    target, frozen = batch(8)
    given = torch.arange(8) % 2 == 0
    frozen[given] = True  # fully given rows (t spread over [0, 1) among them): nothing to predict, no loss, no NaN
    net = KeepLogits(model())
    out = diffusion_loss(net, target, frozen, LossConfig(), generator=torch.Generator().manual_seed(3))
    out.loss.backward()
    assert torch.isfinite(out.loss) and out.masked_tokens > 0
    assert torch.all(net.logits.grad[given] == 0)  # their logits do not reach the loss
    assert torch.all(net.logits.grad[~given].abs().sum((1, 2)) > 0)  # (the other rows' do)
    other = target.clone()
    other[given] = (target[given] % 4) + 1  # every digit of the given rows changed (1..4)
    again = diffusion_loss(model(), other, frozen, LossConfig(), generator=torch.Generator().manual_seed(3))
    assert torch.allclose(again.loss, out.loss, rtol=0, atol=1e-6) and again.masked_tokens == out.masked_tokens


# ---------------------------------------------------------------- the estimator's expectation


def power_integral(p: int, q: int, lo: float) -> float:
    """Exactly, the integral of t^p (1-t)^q over [lo, 1] for integers p >= -1, q >= 0 (binomial expansion)."""
    total = 0.0
    for j in range(q + 1):
        power = p + j
        part = -math.log(lo) if power == -1 else (1.0 - lo ** (power + 1)) / (power + 1)
        total += math.comb(q, j) * (-1) ** j * part
    return total


class ContextModel(torch.nn.Module):
    """A stand-in denoiser for one known row that predicts each answer token better the more of the
    other answer tokens it sees, so the cross-entropy depends on the whole masking pattern (as a
    trained model's does), and the expectation over t matters."""

    def __init__(self, target: torch.Tensor, answer: tuple[int, ...]):
        super().__init__()
        self.config = SimpleNamespace(loops=1, mask_id=0, time_conditioning=False)
        self.target, self.answer = target, list(answer)
        self.bias = torch.tensor([-1.0, 0.0, 0.5])  # the correct token's logit with nothing revealed ...
        self.gain = torch.tensor([[0.0, 1.5, 3.0], [0.5, 0.0, 2.0], [2.5, 1.0, 0.0]])  # ... plus gain[j, i] when j is

    def forward(self, noisy: torch.Tensor, t=None, *, loops: int = 1, all_loops: bool = False, grad_loops=None):
        revealed = (noisy[:, self.answer] != self.config.mask_id).float()  # (B, n)
        logits = torch.zeros(*noisy.shape, 5)
        logits[..., 0] = float("-inf")  # never MASK
        logits[:, self.answer, self.target[self.answer]] = self.bias + revealed @ self.gain
        return [logits] * loops if all_loops else logits


def token_ce(net: torch.nn.Module, target: torch.Tensor, masked: tuple[int, ...], i: int) -> float:
    """-log p(x0_i | x0 with the positions `masked` masked), one row (T,)."""
    noisy = target.clone()
    noisy[list(masked)] = net.config.mask_id
    return float(-torch.log_softmax(net(noisy[None])[0], dim=-1)[i, target[i]])


@pytest.mark.parametrize("low_discrepancy", [False, True])
def test_mdlm_loss_is_an_unbiased_estimate_of_the_elbo(low_discrepancy):
    """On a row with three answer tokens, every masking pattern enumerated: the exact ELBO (the
    any-order autoregressive NLL, averaged over the 3! orders) and the estimator's exact
    expectation over t ~ U[t_min, 1] agree up to the t_min cut, and a Monte Carlo average of
    diffusion_loss lands on that expectation within 4.5 standard errors (its variance computed
    exactly, for independent t)."""
    target = torch.tensor([1, 2, 3, 4, 3, 4, 1, 2, 2, 1, 4, 3, 4, 3, 2, 1])
    answer = (1, 6, 11)
    frozen = torch.ones(16, dtype=torch.bool)
    frozen[list(answer)] = False
    n = len(answer)
    net = ContextModel(target, answer)

    # The exact ELBO per answer token: reveal the answer in every order, each token predicted
    # while it and the tokens after it are still masked.
    orders = list(itertools.permutations(answer))
    elbo = sum(token_ce(net, target, order[j:], order[j]) for order in orders for j in range(n)) / len(orders) / n

    # The estimator's first two moments, exactly: X = (1/t) * sum_{masked i} CE_i / n, where t ~ U[t_min, 1]
    # and each answer token is masked with probability t (a pattern with k masked: t^k (1-t)^(n-k)).
    t_min = LossConfig().t_min
    mean = second = largest = 0.0
    for k in range(1, n + 1):
        for subset in itertools.combinations(answer, k):
            s = sum(token_ce(net, target, subset, i) for i in subset) / n
            mean += s * power_integral(k - 1, n - k, t_min) / (1 - t_min)
            second += s * s * power_integral(k - 2, n - k, t_min) / (1 - t_min)
            largest += s  # bounds the integrand over t
    variance = second - mean**2
    assert abs(mean - elbo) <= t_min * max(elbo, largest) / (1 - t_min)  # only the cut below t_min differs

    rows, calls = 16384, 8
    g = torch.Generator().manual_seed(0)
    config = LossConfig(low_discrepancy=low_discrepancy)
    with torch.no_grad():
        draws = [float(diffusion_loss(net, target.expand(rows, -1), frozen.expand(rows, -1), config, generator=g).loss)
                 for _ in range(calls)]
    estimate = sum(draws) / calls
    standard_error = math.sqrt(variance / (rows * calls))
    assert abs(estimate - mean) < 4.5 * standard_error, (estimate, mean, standard_error)


def test_t_power_draws_heavily_masked_boards_more_often():
    uniform = sample_t(4000, generator=torch.Generator().manual_seed(0))
    skewed = sample_t(4000, generator=torch.Generator().manual_seed(0), power=2.0)
    assert float(skewed.min()) >= 1e-3 and float(skewed.max()) <= 1.0
    # density 2t: P(t > 1/2) = 3/4 (uniform: 1/2), mean 2/3 (uniform: 1/2)
    assert abs(float((skewed > 0.5).float().mean()) - 0.75) < 0.02 and abs(float((uniform > 0.5).float().mean()) - 0.5) < 0.02
    assert abs(float(skewed.mean()) - 2 / 3) < 0.01


def test_t_power_is_for_masked_ce_only():
    with pytest.raises(ValueError, match="masked_ce"):
        LossConfig(objective="mdlm", t_power=2.0)
    assert LossConfig(objective="masked_ce", t_power=2.0).t_power == 2.0


def _carry_run(steps: int, segments: int = 3, reveal_max: float = 0.5, B: int = 8):
    from solver.diffusion import carry_loss

    net = model(input_injection=True, carry_state=True)
    config = LossConfig(objective="masked_ce", segments=segments, reveal_max=reveal_max)
    carry, seen = None, []
    for step in range(steps):
        g = torch.Generator().manual_seed(100 + step)
        target = torch.randint(1, 5, (B, 16), generator=g)
        frozen = torch.rand(B, 16, generator=g) < 0.4
        out, carry = carry_loss(net, carry, target, frozen, config, generator=torch.Generator().manual_seed(step))
        out.loss.backward()
        seen.append((target, carry))
    return net, seen


def test_carried_boards_keep_their_puzzle_reveal_cells_and_are_replaced_after_segments():
    _, seen = _carry_run(5)
    for (_, carry), (batch_target, after) in zip(seen, seen[1:]):
        kept = after.age > 1  # rows carried into this step
        assert torch.equal(after.target[kept], carry.target[kept]) and torch.equal(after.frozen[kept], carry.frozen[kept])
        before_masked = (carry.noisy == 0) & ~carry.frozen
        now_masked = (after.noisy == 0) & ~after.frozen
        # a carried row only loses masks (cells revealed to their true value), never gains them
        assert not (now_masked[kept] & ~before_masked[kept]).any()
        revealed = before_masked[kept] & ~now_masked[kept]
        assert torch.equal(after.noisy[kept][revealed], after.target[kept][revealed])
        assert (after.state[kept].abs().sum((1, 2)) > 0).all()
        # a replaced row is the batch's row at that index; after `segments` steps every row is replaced
        fresh = after.age == 1
        assert torch.equal(after.target[fresh], batch_target[fresh])
        assert fresh[carry.age >= 3].all()
    assert max(int(carry.age.max()) for _, carry in seen) == 3  # no row outlives `segments`


def test_a_carried_state_is_detached_and_the_loss_trains_the_network():
    net, seen = _carry_run(2)
    _, carry = seen[-1]
    assert not carry.state.requires_grad and carry.confidence.shape == carry.noisy.shape
    assert net.tok_emb.weight.grad is not None and net.tok_emb.weight.grad.abs().sum() > 0
    assert net.state_gate.grad.abs().sum() > 0  # the shut gate gets gradient once a state is carried: it can open


def test_segments_are_for_masked_ce_only():
    with pytest.raises(ValueError, match="segments=4 needs objective=masked_ce"):
        LossConfig(objective="mdlm", segments=4)
