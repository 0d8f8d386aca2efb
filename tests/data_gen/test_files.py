"""The file primitives every package writes through: atomic writes and the file hash."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from data_gen import files
from data_gen.files import sha256_file, write_bytes_atomic, write_json_atomic


def test_sha256_file_is_the_hash_of_the_bytes(tmp_path):
    path = tmp_path / "f.bin"
    data = os.urandom(3 << 20) + b"tail"  # more than one 1 MiB block
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_atomic_writes_replace_the_file_and_leave_no_temp(tmp_path):
    path = tmp_path / "run_config.json"
    write_json_atomic(path, {"a": [1, 2]})
    assert path.read_text() == json.dumps({"a": [1, 2]}, indent=2) + "\n"
    write_bytes_atomic(path, b"new")
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == ["run_config.json"]


def test_a_failed_atomic_write_keeps_the_old_file_and_removes_its_temp(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    path.write_bytes(b"old")

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomic(path, b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["results.json"]
