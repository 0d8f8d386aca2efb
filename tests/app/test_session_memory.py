"""What the server keeps per session is bounded (issue 16 item 9): the run a Player holds in
gr.State expires, and Gradio keeps at most blocks.SESSION_CAPACITY sessions. Checked on the
built Blocks with Gradio's own StateHolder, without a server; the 1000-request measurement
is benchmarks/bench_app_memory.py."""

from __future__ import annotations

import datetime
import math

import pytest

gr = pytest.importorskip("gradio")

from gradio.state_holder import StateHolder  # noqa: E402

from rmdm.app import blocks  # noqa: E402
from rmdm.app.frames import Run, View  # noqa: E402
from rmdm.app.models import ModelShelf  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    return blocks.build_demo(ModelShelf(bundled=False))


def run_states(demo) -> list[gr.State]:
    return [block for block in demo.blocks.values() if isinstance(block, gr.State)]


def a_run() -> Run:
    return Run("sudoku", "...3.1..2..11.3.", [View("...3.1..2..11.3.", label="puzzle")], shape=(2, 2))


def test_every_state_expires(demo):
    states = run_states(demo)
    assert len(states) == 2  # one Player per tab
    for state in states:
        assert math.isfinite(state.time_to_live) and state.time_to_live == blocks.RUN_TTL_S


def test_launch_caps_the_sessions_gradio_keeps():
    class Recorder:
        def queue(self, **kwargs):
            self.queued = kwargs

        def launch(self, **kwargs):
            self.launched = kwargs

    demo = Recorder()
    blocks.launch(demo, "127.0.0.1", 7860)
    assert demo.launched["state_session_capacity"] == blocks.SESSION_CAPACITY
    assert 0 < blocks.SESSION_CAPACITY <= 1000


def test_sessions_past_the_cap_are_dropped_with_their_runs(demo):
    """Each API call that brings no session_hash is a session of its own: the oldest go."""
    demo.state_session_capacity = blocks.SESSION_CAPACITY  # what launch sets
    holder = StateHolder()
    holder.set_blocks(demo)
    state_id = run_states(demo)[0]._id
    for i in range(blocks.SESSION_CAPACITY + 20):
        holder[f"api-{i}"][state_id] = a_run()
    assert len(holder.session_data) == blocks.SESSION_CAPACITY
    assert "api-0" not in holder and f"api-{blocks.SESSION_CAPACITY + 19}" in holder
    holder["api-20"]  # used again: now the newest, so not the next to go
    holder["new"]
    assert "api-20" in holder and "api-21" not in holder


def test_a_run_is_dropped_once_its_time_is_up(demo):
    holder = StateHolder()
    holder.set_blocks(demo)
    state_id = run_states(demo)[0]._id
    old, fresh = holder["old"], holder["fresh"]
    old[state_id] = a_run()
    fresh[state_id] = a_run()
    ttl, made = old._state_ttl[state_id]
    assert ttl == blocks.RUN_TTL_S
    old._state_ttl[state_id] = (ttl, made - datetime.timedelta(seconds=blocks.RUN_TTL_S + 1))
    holder.delete_all_expired_state()  # what Gradio's server runs every second
    assert old[state_id] is None  # the state's initial value again: nothing to replay
    assert isinstance(fresh[state_id], Run)
