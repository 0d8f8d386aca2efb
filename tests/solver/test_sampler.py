"""The sampler: schedule, givens, determinism, loop caps, exact NFE, trace, policies."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.sampler import SampleOptions, commit_schedule, sample
from solver.trace import Tracer, row_frames

from .fake_models import FakeDenoiser, masked_batch, position_answer

T = 16


def traced(model, tokens, frozen, options):
    """sample() with a Tracer observing it; its frames as `result.trace`."""
    tracer = Tracer(tokens, model.config.vocab_size)
    result = sample(model, tokens, frozen, options, observer=tracer)
    result.trace = tracer.frames
    return result


def run(model=None, batch=5, **options):
    model = model or FakeDenoiser(seq_len=T)
    tokens, frozen = masked_batch(batch, T)
    how = traced if options.pop("trace", False) else sample
    return model, tokens, frozen, how(model, tokens, frozen, SampleOptions(**options))


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(0, 90), min_size=1, max_size=8), st.one_of(st.none(), st.integers(1, 40)))
def test_schedule_spreads_each_rows_count_over_the_steps(counts, steps):
    schedule = commit_schedule(torch.tensor(counts), steps)
    assert schedule.shape == (len(counts), steps or max(max(counts), 1))
    assert schedule.sum(1).tolist() == counts
    assert (schedule >= 0).all()
    k = schedule.shape[1]
    for row, m in zip(schedule.tolist(), counts):
        assert max(row) - min(row) <= 1 if m >= k else max(row) <= 1


def test_each_step_commits_the_planned_count_and_nothing_stays_masked():
    for steps in (None, 1, 3, 7, 40):
        model, tokens, frozen, result = run(steps=steps, trace=True)
        masked = (tokens == 0) & ~frozen
        planned = commit_schedule(masked.sum(1), steps)
        done = torch.zeros_like(planned)
        for frame in result.trace:
            done[:, frame.step] += frame.committed.sum(1)
        assert torch.equal(done, planned)
        assert not ((result.tokens == 0) & ~frozen).any()
        assert result.row_steps.tolist() == (planned > 0).sum(1).tolist()


@pytest.mark.parametrize("policy", ["random", "top_prob", "top_margin", "entropy"])
@pytest.mark.parametrize("temperature", [0.0, 1.5])
def test_givens_never_change_and_answers_fill_every_blank(policy, temperature):
    _, tokens, frozen, result = run(steps=4, policy=policy, temperature=temperature)
    assert torch.equal(result.tokens[frozen], tokens[frozen])
    assert not (result.tokens == 0).any()
    if temperature == 0:  # the fake's argmax is its answer
        answer = position_answer(tokens, 10)
        assert torch.equal(result.tokens[~frozen], answer[~frozen])


def test_already_committed_tokens_stay():
    model = FakeDenoiser(seq_len=T)
    tokens, frozen = masked_batch(3, T)
    tokens[:, 1] = 9  # committed earlier (not frozen), unlike the fake's answer at position 1
    frozen[:, 1] = False
    result = sample(model, tokens, frozen, SampleOptions(steps=2))
    assert (result.tokens[:, 1] == 9).all()


def test_determinism_for_a_fixed_seed_and_at_temperature_zero():
    for options in ({"temperature": 1.0, "seed": 3}, {"policy": "random", "seed": 5}):
        a = run(**options)[3].tokens
        b = run(**options)[3].tokens
        assert torch.equal(a, b)
    hot = [run(temperature=5.0, seed=s)[3].tokens for s in range(4)]
    assert any(not torch.equal(hot[0], h) for h in hot[1:])
    cold = [run(temperature=0.0, seed=s)[3].tokens for s in range(3)]
    assert all(torch.equal(cold[0], c) for c in cold)


def test_rows_are_solved_as_if_alone():
    model = FakeDenoiser(seq_len=T, answer=lambda x: 1 + (x.sum(1, keepdim=True) + torch.arange(T)) % 9)
    tokens, frozen = masked_batch(6, T)
    options = SampleOptions(steps=5, adaptive=True, adaptive_threshold=0.1)
    together = sample(model, tokens, frozen, options)
    for b in range(6):
        alone = sample(model, tokens[b : b + 1], frozen[b : b + 1], options)
        assert torch.equal(alone.tokens[0], together.tokens[b])
        assert alone.nfe == int(together.row_nfe[b])


def test_top_prob_commits_the_most_confident_first():
    model = FakeDenoiser(seq_len=T)
    tokens = torch.zeros(1, T, dtype=torch.long)
    frozen = torch.zeros(1, T, dtype=torch.bool)
    result = traced(model, tokens, frozen, SampleOptions(steps=T // 4))
    first = result.trace[-1 if len(result.trace) == 1 else model.config.loops - 1].committed[0]
    sharp = 1 + torch.arange(T) % 5  # the fake's per-position sharpness
    assert first.sum() == 4
    assert sharp[first].min() >= sharp[~first].max()


def test_random_policy_depends_on_the_seed_only():
    orders = []
    for seed in (0, 1, 0):
        result = run(batch=1, steps=None, policy="random", seed=seed, trace=True)[3]
        orders.append([frame.committed[0].nonzero().flatten().tolist() for frame in result.trace if frame.committed.any()])
    assert orders[0] == orders[2] and orders[0] != orders[1]


def test_nfe_and_layer_evals_are_exact():
    cases = [
        {"steps": 3},
        {"steps": None, "loops": 5},
        {"steps": 4, "trace": True},
        {"steps": 4, "adaptive": True, "adaptive_threshold": 0.1},
        {"steps": 2, "adaptive": True, "adaptive_on": "predictions", "adaptive_threshold": 0.01},
    ]
    for shape in ((1, 2, 1), (0, 3, 0), (2, 1, 3)):
        for options in cases:
            prelude, core, coda = shape
            model = FakeDenoiser(seq_len=T, prelude_layers=prelude, core_layers=core, coda_layers=coda)
            _, tokens, frozen, result = run(model, **options)
            assert int(result.row_nfe.sum()) == model.row_passes(), options
            assert int(result.row_layer_evals.sum()) == model.row_layer_evals(), options
            assert result.nfe == int(result.row_nfe.max())
            if not options.get("adaptive") and not options.get("trace"):
                loops = options.get("loops") or model.config.loops
                assert result.row_nfe.tolist() == (result.row_steps * model.nfe_per_step(loops)).tolist()


def test_loops_beyond_training_up_to_max_loops():
    model, *_, result = run(loops=7, steps=2)
    assert sorted(set(model.loop_indices)) == list(range(7))
    assert result.loops_used == [7.0] * len(result.loops_used)
    with pytest.raises(ValueError, match="max_loops"):
        run(loops=9)
    with pytest.raises(ValueError, match="max_loops"):
        run(adaptive=True, max_loops=9)


@pytest.mark.parametrize("on", ["hidden", "predictions"])
@pytest.mark.parametrize("cap", [1, 3, 8])
def test_adaptive_loops_never_exceed_the_cap(on, cap):
    model, tokens, frozen, result = run(adaptive=True, adaptive_on=on, adaptive_threshold=0.0, max_loops=cap, steps=3)
    assert max(model.loop_indices) == cap - 1  # threshold 0: never converges, runs to the cap
    assert all(used <= cap for used in result.loops_used)
    assert (result.row_loops <= cap * result.row_steps).all()


def test_adaptive_loops_stop_when_the_state_settles():
    model, _, _, result = run(adaptive=True, adaptive_on="hidden", adaptive_threshold=0.1, max_loops=8, steps=3)
    assert max(model.loop_indices) < model.config.max_loops - 1
    assert all(1 <= used < model.config.max_loops for used in result.loops_used)
    model, _, _, result = run(adaptive=True, max_loops=8, steps=3)  # the default: predictions, 0.01
    assert all(used == 2 for used in result.loops_used)  # the argmax is right from loop 1: stop at loop 2
    model, _, _, result = run(adaptive=True, adaptive_on="hidden", adaptive_threshold=0.1, min_loops=6, max_loops=8,
                              steps=3)
    assert all(used >= 6 for used in result.loops_used)


def test_adaptive_loops_stop_at_the_trained_count_unless_told():
    model, _, _, result = run(adaptive=True, adaptive_threshold=0.0, steps=3)  # never settles
    assert max(model.loop_indices) == model.config.loops - 1  # not config.max_loops: beyond training diverges
    model, _, _, result = run(adaptive=True, adaptive_threshold=0.0, loops=5, steps=3)
    assert max(model.loop_indices) == 4


def test_time_conditioning_sees_the_masked_fraction():
    model = FakeDenoiser(seq_len=T, time_conditioning=True)
    tokens = torch.zeros(1, T, dtype=torch.long)
    frozen = torch.zeros(1, T, dtype=torch.bool)
    frozen[0, :4] = True
    tokens[0, :4] = 3
    sample(model, tokens, frozen, SampleOptions(steps=4))
    assert [round(float(t), 4) for t in torch.cat(model.times)] == [1.0, 0.75, 0.5, 0.25]


def test_trace_frames_per_loop_and_per_row():
    model, tokens, frozen, result = run(steps=3, loops=2, trace=True)
    frames = result.trace
    assert len(frames) == sum(2 for _ in result.loops_used)
    assert [(f.step, f.loop) for f in frames[:4]] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert frames[0].tokens.dtype == torch.int8 and frames[0].confidence.dtype == torch.float16
    assert not frames[0].committed.any() and frames[1].committed.any()
    assert torch.equal(frames[-1].tokens.long(), result.tokens)
    assert torch.equal(frames[-1].nfe.long(), result.row_nfe)
    for b in range(tokens.shape[0]):
        mine = row_frames(frames, b)
        assert mine[-1]["tokens"] == result.tokens[b].tolist()
        assert mine[-1]["nfe"] == int(result.row_nfe[b])
        assert sum(sum(f["committed"]) for f in mine) == int(((tokens[b] == 0) & ~frozen[b]).sum())
        assert [f["nfe"] for f in mine] == sorted(f["nfe"] for f in mine)


def test_adaptive_trace_shows_each_rows_own_loops():
    model = FakeDenoiser(seq_len=T, answer=lambda x: 1 + (x.sum(1, keepdim=True) + torch.arange(T)) % 9, rate=0.3)
    tokens, frozen = masked_batch(4, T)
    result = traced(model, tokens, frozen, SampleOptions(steps=2, adaptive=True, adaptive_threshold=0.08))
    for b in range(4):
        mine = row_frames(result.trace, b)
        assert len(mine) == int(result.row_loops[b])
        assert mine[-1]["tokens"] == result.tokens[b].tolist()


def test_rows_without_blanks_cost_nothing():
    model = FakeDenoiser(seq_len=T)
    tokens = torch.full((2, T), 4, dtype=torch.long)
    frozen = torch.ones(2, T, dtype=torch.bool)
    tokens[1, 3] = 0
    frozen[1, 3] = False
    result = sample(model, tokens, frozen, SampleOptions(steps=5))
    assert result.row_nfe.tolist()[0] == 0 and result.row_steps.tolist() == [0, 1]
    assert torch.equal(result.tokens[0], tokens[0])


def test_bad_inputs_are_refused():
    model = FakeDenoiser(seq_len=T)
    with pytest.raises(ValueError, match="B, T"):
        sample(model, torch.zeros(T, dtype=torch.long), torch.zeros(T, dtype=torch.bool))
    with pytest.raises(ValueError):
        SampleOptions(policy="best")
    with pytest.raises(ValueError):
        SampleOptions(steps=0)


def _real_denoiser(**overrides):
    from solver.model import Denoiser, DenoiserConfig

    config = dict(
        vocab_size=5, seq_len=16, mask_id=0, d_model=16, n_heads=2, prelude_layers=1, core_layers=2,
        coda_layers=1, loops=2, max_loops=5, box_rows=2, box_cols=2, time_conditioning=True,
    )
    torch.manual_seed(0)
    return Denoiser(DenoiserConfig(**{**config, **overrides})).eval()


def _count_rows(stack, counter, key):
    """Forward hooks adding the batch rows of every pass through each block of a stack."""
    handles = []
    for i, block in enumerate(stack):
        def hook(module, inputs, output, i=i):
            counter[key] += inputs[0].shape[0] * (1 if i == 0 else 0)
            counter["layers"] += inputs[0].shape[0]
        handles.append(block.register_forward_hook(hook))
    return handles


@pytest.mark.parametrize(
    "options",
    [{"steps": 3}, {"steps": None, "trace": True}, {"steps": 4, "adaptive": True, "adaptive_threshold": 0.2},
     {"steps": 2, "loops": 5, "policy": "entropy", "temperature": 1.0, "untrained_loops": True}],
)
def test_real_denoiser_nfe_matches_the_passes_it_made(options):
    from collections import Counter

    from puzzles.sudoku import SudokuShape
    from solver.codecs import SudokuCodec

    model = _real_denoiser()
    counter: Counter[str] = Counter()
    for stack, key in ((model.prelude, "prelude"), (model.core, "core"), (model.coda, "coda")):
        _count_rows(stack, counter, key)
    codec = SudokuCodec(SudokuShape(2, 2))
    tokens, frozen, _ = codec.encode_batch([".3....2.4....1..", "...1..2.42..1...", "................"])
    options = dict(options)
    how = traced if options.pop("trace", False) else sample
    result = how(model, tokens, frozen, SampleOptions(**options))
    assert int(result.row_nfe.sum()) == counter["prelude"] + counter["core"] + counter["coda"]
    assert int(result.row_layer_evals.sum()) == counter["layers"]
    assert not (result.tokens == codec.mask_id).any()
    assert torch.equal(result.tokens[frozen], tokens[frozen])
    again = sample(model, tokens, frozen, SampleOptions(**options))
    assert torch.equal(again.tokens, result.tokens)


@pytest.mark.parametrize("adaptive", [False, True])
def test_input_injection_rows_are_sampled_as_if_alone(adaptive):
    """The injected input (B, T, D) follows its rows when adaptive rows drop out of the batch."""
    from solver.model import Denoiser, DenoiserConfig

    torch.manual_seed(3)
    config = DenoiserConfig(vocab_size=5, seq_len=16, box_rows=2, box_cols=2, d_model=32, n_heads=4,
                            core_layers=1, loops=4, input_injection=True, loop_embedding=False, time_conditioning=True)
    model = Denoiser(config).eval()
    tokens = torch.randint(1, 5, (4, 16), generator=torch.Generator().manual_seed(1))
    frozen = torch.rand(4, 16, generator=torch.Generator().manual_seed(2)) < 0.4
    tokens = tokens.masked_fill(~frozen, 0)
    options = SampleOptions(steps=4, adaptive=adaptive, adaptive_threshold=0.3)
    together = sample(model, tokens, frozen, options)
    for row in range(4):
        alone = sample(model, tokens[row:row + 1], frozen[row:row + 1], options)
        assert torch.equal(alone.tokens[0], together.tokens[row])
        assert int(alone.row_nfe[0]) == int(together.row_nfe[row])


def test_loop_counts_past_training_need_a_model_without_a_loop_embedding_or_consent():
    from solver.sampler import loop_plan, supported_loops

    embedded = _real_denoiser()  # trained at 2 loops, 5 rows in its loop-embedding table
    assert supported_loops(embedded) == 2 and loop_plan(embedded, SampleOptions(loops=2)) == 2
    with pytest.raises(ValueError, match="never seen loop 3"):
        loop_plan(embedded, SampleOptions(loops=3))
    with pytest.raises(ValueError, match="never seen loop 3"):
        loop_plan(embedded, SampleOptions(adaptive=True, max_loops=4))
    assert loop_plan(embedded, SampleOptions(loops=4, untrained_loops=True)) == 4
    with pytest.raises(ValueError, match="max_loops = 5"):
        loop_plan(embedded, SampleOptions(loops=6, untrained_loops=True))
    shared = _real_denoiser(loop_embedding=False, input_injection=True)  # every pass the same function
    assert supported_loops(shared) == 5 and loop_plan(shared, SampleOptions(loops=5)) == 5


@pytest.mark.parametrize("adaptive", [False, True])
def test_a_carried_state_follows_its_row_and_is_read_at_the_next_step(adaptive):
    """carry_state: each row's last hidden state starts its next step, whichever rows a step runs."""
    from solver.model import Denoiser, DenoiserConfig

    torch.manual_seed(4)
    config = DenoiserConfig(vocab_size=5, seq_len=16, box_rows=2, box_cols=2, d_model=32, n_heads=4, core_layers=1,
                            loops=3, input_injection=True, loop_embedding=False, carry_state=True)
    model = Denoiser(config).eval()
    with torch.no_grad():
        model.state_gate.fill_(1.0)  # as if trained to read its state (the gate starts shut)
    tokens = torch.randint(1, 5, (4, 16), generator=torch.Generator().manual_seed(1))
    frozen = torch.rand(4, 16, generator=torch.Generator().manual_seed(2)) < 0.3
    frozen[0] = torch.rand(16, generator=torch.Generator().manual_seed(5)) < 0.7  # rows finish at different steps
    tokens = tokens.masked_fill(~frozen, 0)
    options = SampleOptions(adaptive=adaptive, adaptive_threshold=0.3)
    together = sample(model, tokens, frozen, options)
    for row in range(4):
        alone = sample(model, tokens[row:row + 1], frozen[row:row + 1], options)
        assert torch.equal(alone.tokens[0], together.tokens[row])
    # the same weights without carrying decode differently: the state is really passed on
    fresh = Denoiser(config.model_copy(update={"carry_state": False})).eval()
    fresh.load_state_dict({k: v for k, v in model.state_dict().items() if k != "state_gate"})
    assert not torch.equal(sample(fresh, tokens, frozen, options).tokens, together.tokens)
