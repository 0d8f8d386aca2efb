"""Fixtures for the data_gen tests."""

from __future__ import annotations

import argparse

import pytest


@pytest.fixture
def cli(capsys):
    """`rmdm gen ...` in this process: returns (exit code, stdout, stderr lines). The parser
    holds only `gen` (rmdm's full parser imports the solver, and so torch); the real
    `rmdm` process is tested in test_cli.py and test_resume.py."""
    from data_gen.cli import add_parser

    parser = argparse.ArgumentParser(prog="rmdm")
    add_parser(parser.add_subparsers(dest="command", required=True))

    def run(*args: str) -> tuple[int, str, list[str]]:
        try:
            parsed = parser.parse_args(list(args))
            code = parsed.func(parsed)
        except SystemExit as stop:  # argparse
            code = stop.code
        out, err = capsys.readouterr()
        return code, out, err.splitlines()

    return run
