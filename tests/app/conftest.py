"""A launched app on a free localhost port, shared by the tests of this folder."""

from __future__ import annotations

import os
import socket

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("NO_PROXY", "localhost,127.0.0.1,::1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    from rmdm.app import blocks
    from rmdm.app.models import ModelShelf

    shelf = ModelShelf()
    blocks.warm_up(shelf)  # numba's first compile takes seconds: not inside a test's timeout
    demo = blocks.build_demo(shelf)
    port = free_port()
    blocks.launch(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
