"""The README's set-up tells a newcomer what they need (issue 16 item 14): the CPU build of
torch beside `pip install -e .`, the test command CI runs, and what the skipping tests want."""

from __future__ import annotations

import re

from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
SETUP = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]


def test_the_cpu_build_of_torch_is_one_line_beside_the_install():
    assert 'pip install -e ".[test]" && python -m pytest -q' in SETUP  # CI runs this line as it is
    line = "pip install torch --index-url https://download.pytorch.org/whl/cpu && pip install -e ."
    assert line in SETUP
    assert "CUDA" in SETUP and "GPU" in SETUP


def test_what_the_skipping_tests_need_is_named_where_the_tests_look():
    from tests.app import test_browser

    assert "`chromium`" in SETUP and test_browser.CHROMIUM in SETUP
    assert "../shared/benchmarks" in SETUP and "$RMDM_SHARED_BENCHMARKS" in SETUP
    assert re.search(r"skip\w* without", SETUP)
    conftest = (REPO / "tests" / "conftest.py").read_text(encoding="utf-8")
    assert "RMDM_SHARED_BENCHMARKS" in conftest and '"shared" / "benchmarks"' in conftest
