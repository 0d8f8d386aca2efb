"""A second `python app.py` on a taken port: one line naming the port and how to pick
another, exit 1, at once (issue 16 item 4) -- not a traceback after the models load.
`python app.py` and `rmdm app` go through the same checks in the same order (rmdm.app.start):
the address, then each --checkpoint, then the page."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO


@pytest.fixture
def taken_port():
    """A port with a server listening on it on 127.0.0.1, as a running app would."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_app_py_on_a_taken_port_says_so_in_one_line_at_once(taken_port):
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "app.py", "--port", str(taken_port)], cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    seconds = time.perf_counter() - started
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert f"port {taken_port} on 127.0.0.1 is taken" in lines[0]
    assert "--port" in lines[0] and "GRADIO_SERVER_PORT" in lines[0]
    assert seconds < 10  # no gradio import, no model load (in practice a fraction of a second)


def test_the_check_runs_before_gradio_is_imported(taken_port):
    code = ("import sys; from rmdm.app import main; code = main(['--port', sys.argv[1]]); "
            "print('gradio' in sys.modules, 'torch' in sys.modules); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code, str(taken_port)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout.split() == ["False", "False"], done.stdout + done.stderr


def test_the_port_from_the_environment_is_checked_too(taken_port, monkeypatch, capsys):
    from rmdm.app import main

    monkeypatch.setenv("GRADIO_SERVER_PORT", str(taken_port))
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    assert main([]) == 1
    assert f"port {taken_port} on 127.0.0.1 is taken" in capsys.readouterr().err
    monkeypatch.setenv("GRADIO_SERVER_PORT", "http")
    assert main([]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "GRADIO_SERVER_PORT" in err and "'http'" in err


def test_rmdm_app_on_a_taken_port_loads_nothing(taken_port, monkeypatch, capsys):
    from rmdm.app import blocks
    from rmdm.cli import main

    def must_not_run(*args, **kwargs):
        raise AssertionError("the app was built on a taken port")

    monkeypatch.setattr(blocks, "ModelShelf", must_not_run)
    monkeypatch.setattr(blocks, "build_demo", must_not_run)
    assert main(["app", "--port", str(taken_port)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {taken_port} on 127.0.0.1 is taken" in err


def test_an_oserror_from_gradios_launch_is_one_line_too(monkeypatch, capsys):
    """The port can be taken between the check and the launch: Gradio then raises OSError."""
    from rmdm.app import AddressProblem, blocks

    checks = []

    def check(host, port):  # start() checked the address already; by the time the launch fails, it is taken
        checks.append((host, port))
        raise AddressProblem(f"port {port} on {host} is taken: pick another port with --port")

    def launch(*args, **kwargs):
        raise OSError("Cannot find empty port in range: 7999-7999. You can specify a different port by setting "
                      "the GRADIO_SERVER_PORT environment variable or passing the `server_port` parameter to `launch()`.")

    monkeypatch.setattr(blocks, "check_address", check)
    monkeypatch.setattr(blocks, "ModelShelf", lambda extra: None)
    monkeypatch.setattr(blocks, "warm_up", lambda shelf: None)
    monkeypatch.setattr(blocks, "build_demo", lambda shelf, limits: None)
    monkeypatch.setattr(blocks, "launch", launch)
    args = argparse.Namespace(host="127.0.0.1", port=7999, checkpoint=[], max_passes=None)
    assert blocks.run(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "port 7999 on 127.0.0.1 is taken" in err
    assert checks == [("127.0.0.1", 7999)]  # checked once, after the launch failed: start() checks before

    checks.clear()
    monkeypatch.setattr(blocks, "check_address", lambda host, port: None)  # free again: Gradio's own words
    assert blocks.run(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rmdm app: error: cannot serve on 127.0.0.1:7999: Cannot find empty port")


def test_a_free_port_passes_the_check():
    from rmdm.app import check_address

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    check_address("127.0.0.1", port)  # no exception


# ---------------------------------------------------------------- both entry points, one order


def _app_py(argv):
    from rmdm.app import main

    return main(argv)


def _rmdm_app(argv):
    from rmdm.cli import main

    return main(["app", *argv])


ENTRY_POINTS = {"python app.py": _app_py, "rmdm app": _rmdm_app}


@pytest.fixture(params=list(ENTRY_POINTS))
def entry(request):
    return ENTRY_POINTS[request.param]


@pytest.fixture
def served(monkeypatch):
    """Stands in for building and serving the page: records the args it would serve."""
    from rmdm.app import blocks

    calls = []
    monkeypatch.setattr(blocks, "run", lambda args, loaded=None: calls.append(args) or 0)
    return calls


def test_the_port_is_checked_before_the_checkpoints(entry, taken_port, served, monkeypatch, capsys, tmp_path):
    import rmdm.app

    def must_not_run(names):
        raise AssertionError("a checkpoint was loaded before the address was checked")

    monkeypatch.setattr(rmdm.app, "load_checkpoints", must_not_run)
    assert entry(["--port", str(taken_port), "--checkpoint", str(tmp_path / "nonexistent")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {taken_port} on 127.0.0.1 is taken" in err
    assert served == []


def test_a_bad_checkpoint_is_refused_before_the_page_is_built(entry, served, capsys, tmp_path):
    from tests.app.conftest import free_port

    missing = tmp_path / "nonexistent"
    assert entry(["--port", str(free_port()), "--checkpoint", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rmdm app: error: --checkpoint: no checkpoint named or at")
    assert str(missing) in err
    assert served == []


def test_good_flags_reach_the_page(entry, served, capsys):
    from tests.app.conftest import free_port

    port = free_port()
    assert entry(["--port", str(port), "--checkpoint", "sudoku4", "--max-passes", "99"]) == 0
    (args,) = served
    assert (args.port, args.checkpoint, args.max_passes) == (port, ["sudoku4"], 99)
    assert capsys.readouterr().err == ""


def test_app_py_refuses_a_bad_checkpoint_in_one_line(tmp_path):
    """The launcher file itself, as a user runs it (it once skipped the checkpoint check)."""
    from tests.app.conftest import free_port

    missing = tmp_path / "nonexistent"
    done = subprocess.run(
        [sys.executable, "app.py", "--port", str(free_port()), "--checkpoint", str(missing)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.count("\n") == 1 and "--checkpoint: no checkpoint named or at" in done.stderr
