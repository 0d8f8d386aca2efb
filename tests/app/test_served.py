"""The launched app, driven over HTTP with gradio_client: solving, bad input, offline page."""

from __future__ import annotations

import os
import re
import urllib.request

import pytest

gradio_client = pytest.importorskip("gradio_client")

EASY9 = ".....8..53.69..82...15.2..951.7.34.68.4...1.....1.42...6741..8.425....611.8..6..."
FOUR = "...3.1..2..11.3."
# text, speed, steps, loops, adaptive, policy, retries, seed
MODEL_ARGS = ("fast", 0, 0, False, "top_prob", 0, 0)


@pytest.fixture(scope="module")
def client(app_url):
    return gradio_client.Client(app_url, verbose=False)


def test_exact_solver_over_the_api(client):
    board, caption, verdict, frame = client.predict(EASY9, api_name="/solve_sudoku_exact")
    assert "data-verdict='solved'" in verdict and "rmdm-board solved" in board
    assert frame["value"] == 1 and frame["maximum"] == 1  # the scrub slider spans the run


def test_model_solve_streams_frames_and_ends_with_a_verdict(client):
    updates = list(client.submit(FOUR, *MODEL_ARGS, api_name="/solve_sudoku"))
    assert updates, "no output streamed"
    verdict = updates[-1][2]
    if "data-verdict='no-model'" in verdict:
        assert "exact solver" in verdict  # no bundled 4x4 model in this checkout
        return
    assert "data-verdict='solved'" in verdict or "data-verdict='invalid'" in verdict
    assert len(updates) > 2  # the animation streamed frame by frame


def test_bad_input_gives_a_message(client):
    updates = list(client.submit("12345", *MODEL_ARGS, api_name="/solve_sudoku"))
    assert "Cannot read the puzzle" in updates[-1][2]
    board, caption, verdict, frame = client.predict("44,x", "50", "ml", api_name="/solve_countdown_exact")
    assert "not a whole number" in verdict


def test_countdown_exact_over_the_api(client):
    body, caption, verdict, frame = client.predict("44,15,79", "50", "ml", api_name="/solve_countdown_exact")
    assert "data-verdict='solved'" in verdict and body.count("&#10003;") == 2


def test_generate_over_the_api(client):
    text = client.predict(4, "easy", api_name="/generate_sudoku")
    assert re.match(r"^[1-4.]{16}  # generated", text)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - localhost only
        return response.read().decode("utf-8", "replace")


def test_served_page_loads_nothing_remote(app_url):
    page = _get(app_url)
    assert "fonts.googleapis" not in page and "fonts.gstatic" not in page
    # every stylesheet, script and font the page itself pulls is served from here
    for url in re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", page):
        assert not re.match(r"^(https?:)?//", url), f"remote resource {url}"
    theme = _get(app_url + "theme.css")
    assert "googleapis" not in theme and not re.search(r"url\(\s*['\"]?(https?:)?//", theme)


def test_local_by_default_and_overridable(monkeypatch):
    from rmdm.app import blocks

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert blocks.server_address() == ("127.0.0.1", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8123")
    assert blocks.server_address() == ("0.0.0.0", 8123)
    assert blocks.server_address("localhost", 9000) == ("localhost", 9000)
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_rmdm_app_command_parses_its_flags():
    from rmdm.cli import build_parser

    args = build_parser().parse_args(["app", "--host", "0.0.0.0", "--port", "8080", "--checkpoint", "runs/x"])
    assert (args.host, args.port, args.checkpoint) == ("0.0.0.0", 8080, ["runs/x"]) and callable(args.func)
