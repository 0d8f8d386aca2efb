"""What the tasks share: split assignment by a hash of a record's canonical key, log2
histogram buckets, and the chunk-table columns that travel beside the records."""

from __future__ import annotations

import hashlib
from collections import Counter

import pyarrow as pa

KEY_COLUMN = "_key"  # canonical form: equal for records that are the same puzzle up to symmetry
SPLIT_COLUMN = "_split"
SPLIT_SALT = b"rmdm-split-v1:"


def key_digest(key: str) -> bytes:
    """16 bytes naming a canonical key: used both for the split and for de-duplication."""
    return hashlib.sha256(SPLIT_SALT + key.encode("utf-8")).digest()[:16]


def split_of(key: str, split: dict[str, float]) -> str:
    """The split a canonical key belongs to: a point in [0, 1) from its hash, placed on the
    cumulative fractions. It does not depend on the seed, so with the same --split every
    dataset puts a puzzle (and all its symmetric copies) in the same split."""
    point = int.from_bytes(key_digest(key)[:8], "big") / 2.0**64
    total = 0.0
    last = None
    for name, fraction in split.items():
        total += fraction
        if fraction > 0:
            last = name
            if point < total:
                return name
    return last  # rounding: fractions summing to 1 - 1e-12


def with_key_and_split(table: pa.Table, keys: list[str], split: dict[str, float]) -> pa.Table:
    table = table.append_column(KEY_COLUMN, pa.array(keys, pa.string()))
    return table.append_column(SPLIT_COLUMN, pa.array([split_of(k, split) for k in keys], pa.string()))


def log2_bucket(value: int) -> str:
    """0, 1, 2-3, 4-7, 8-15, ...: a histogram label that stays short for any range."""
    if value <= 1:
        return str(value)
    low = 1 << (int(value).bit_length() - 1)
    return f"{low}-{2 * low - 1}"


def sorted_histogram(counter: Counter) -> dict[str, int]:
    """Histogram with numeric-looking labels ordered by value (`2-3` by 2)."""

    def order(label):
        head = str(label).split("-")[0]
        return (0, int(head), "") if head.lstrip("-").isdigit() else (1, 0, str(label))

    return {str(label): int(counter[label]) for label in sorted(counter, key=order)}
