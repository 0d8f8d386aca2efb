"""`rmdm` starts without importing torch or gradio: commands like `rmdm gen` and `rmdm verify`
should not pay seconds of import time for a model they never load."""

import subprocess
import sys


def test_building_the_command_line_imports_neither_torch_nor_gradio():
    code = ("import sys; from rmdm.cli import build_parser; build_parser(); "
            "heavy = [m for m in ('torch', 'gradio', 'lightning') if m in sys.modules]; print(heavy); sys.exit(bool(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_network_imports_nothing_task_specific():
    """solver.model takes its position ids as data (solver.positions): no puzzles package, no numba."""
    code = ("import sys; import solver.model; "
            "loaded = [m for m in ('numba', 'puzzles', 'solver.codecs') if m in sys.modules]; print(loaded); sys.exit(bool(loaded))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
