"""Building a dataset: chunks generated in parallel, resumable, then merged into split files.

The dataset is a sequence of fixed-size chunks. Chunk k draws from
`np.random.default_rng([seed, k])`, so its records depend on nothing but the config and k;
a shard i/n takes the chunks k = i (mod n); workers do chunks in any order. Each chunk
lands atomically as `DIR/chunks/chunk-KKKKKK.parquet` and its sha256 is appended to
`DIR/chunks/journal.jsonl`, which is what `--resume` trusts. Finalising reads the chunks
in index order, drops records whose canonical key appeared before, writes each split's
rows to `DIR/<split>-NNNNN.parquet`, then `manifest.json` last: a directory with a
manifest is a complete dataset.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .config import TaskConfig
from .dataset import DATA_FILE, MANIFEST, load_manifest, verify_files
from .errors import DataGenError
from .files import remove_tmp_files, sha256_file, write_json_atomic, write_parquet_atomic
from .records import KEY_COLUMN, SPLIT_COLUMN, key_digest, with_key_and_split
from .tasks import task_module

CHUNK_DIR = "chunks"
RUN_FILE = "run.json"
JOURNAL = "journal.jsonl"
DONE_FILE = "done.json"
FORMAT_VERSION = 1
CHUNK_META = b"rmdm_chunk"


@dataclass
class RunOptions:
    """How to run (never what to make: that is the config)."""

    workers: int | None = None
    quiet: bool = False
    resume: bool = False
    overwrite: bool = False
    shard: tuple[int, int] = (0, 1)
    keep_chunks: bool = False
    exclude_paths: list[Path] = field(default_factory=list)
    log: object = None  # a callable taking one line; default: print to stderr unless quiet

    def say(self, line: str) -> None:
        if self.log is not None:
            self.log(line)
        elif not self.quiet:
            print(line, file=sys.stderr)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def chunk_name(k: int) -> str:
    return f"chunk-{k:06d}.parquet"


def config_json(config: TaskConfig) -> dict:
    return config.model_dump(mode="json")


# ----------------------------------------------------------------------------- the directory


def _ours(entry: Path) -> bool:
    name = entry.name
    return (
        name in (MANIFEST, CHUNK_DIR)
        or name.startswith(".tmp-")
        or (entry.is_file() and DATA_FILE.match(name) is not None)
    )


def check_output_dir(out: Path, config: TaskConfig, options: RunOptions) -> str:
    """What to do with `out`, touching nothing: "fresh", "overwrite", "resume" or "complete"."""
    if out.exists() and not out.is_dir():
        raise DataGenError(f"--out {out} is a file, not a directory; choose a directory")
    entries = sorted(out.iterdir()) if out.is_dir() else []
    if not entries:
        return "fresh"
    if options.overwrite:
        foreign = [e.name for e in entries if not _ours(e)]
        if foreign:
            raise DataGenError(
                f"--overwrite: {out} holds files rmdm gen did not write (e.g. {foreign[0]}); "
                "remove them yourself or choose another --out"
            )
        return "overwrite"
    if not options.resume:
        raise DataGenError(
            f"{out} is not empty: pass --resume to continue an interrupted run, --overwrite to replace it, "
            "or choose another --out"
        )
    wanted = {"config": config_json(config), "shard": list(options.shard)}
    if (out / MANIFEST).is_file():
        manifest = load_manifest(out)
        if manifest.get("config") != wanted["config"]:
            raise DataGenError(f"{out} holds a dataset made with a different config; use --overwrite or another --out")
        problems = verify_files(out, manifest)
        if problems:
            raise DataGenError(f"{problems[0]}: run again with --overwrite to regenerate the dataset")
        return "complete"
    run_file = out / CHUNK_DIR / RUN_FILE
    if not run_file.is_file():
        raise DataGenError(f"--resume: {out} holds no interrupted run (no {CHUNK_DIR}/{RUN_FILE}); use --overwrite or another --out")
    try:
        state = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DataGenError(f"--resume: {run_file} is unreadable ({err}); use --overwrite to start again") from None
    if state.get("config") != wanted["config"]:
        raise DataGenError(f"--resume: {out} holds a run with a different config; rerun with the same options, or --overwrite")
    if state.get("shard") != wanted["shard"]:
        raise DataGenError(f"--resume: {out} holds shard {state.get('shard')}, not {list(options.shard)}")
    return "resume"


def _clear(out: Path) -> None:
    for entry in out.iterdir():
        if _ours(entry):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def read_journal(chunk_dir: Path) -> dict[int, dict]:
    """Chunk index -> its last journal entry (a torn last line from a kill is ignored)."""
    entries: dict[int, dict] = {}
    path = chunk_dir / JOURNAL
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                entries[int(entry["chunk"])] = entry
            except (ValueError, KeyError, TypeError):
                continue
    return entries


def verified_chunks(chunk_dir: Path, wanted: list[int]) -> set[int]:
    """The chunks among `wanted` that are done: journaled and their file's sha256 matches.
    A journaled file whose hash differs is corrupt: an error (nothing is deleted)."""
    journal = read_journal(chunk_dir)
    done = set()
    for k in wanted:
        entry = journal.get(k)
        path = chunk_dir / chunk_name(k)
        if entry is None or not path.is_file():
            continue
        if sha256_file(path) != entry.get("sha256"):
            raise DataGenError(
                f"{path} is corrupt (sha256 differs from {JOURNAL}): delete it and run again with --resume to regenerate it"
            )
        done.add(k)
    return done


# ----------------------------------------------------------------------------- chunk workers

_STATE: dict = {}
WATCH_SECONDS = 0.5


def _init_worker(config_data: dict, exclude: frozenset, chunk_dir: str, main_pid: int | None = None) -> None:
    from .config import config_from_dict

    _STATE.update(config=config_from_dict(config_data), exclude=exclude, chunk_dir=Path(chunk_dir))
    if main_pid is not None and main_pid != os.getpid():
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
        threading.Thread(target=_exit_with, args=(main_pid,), daemon=True).start()


def _exit_with(main_pid: int) -> None:
    """A worker's parent is the fork server, which outlives a killed main process: without
    this watch, `kill -9` of `rmdm gen` would leave its workers running (a chunk they were
    writing is left as a temp file, which the next run removes)."""
    while True:
        time.sleep(WATCH_SECONDS)
        try:
            os.kill(main_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # the pid now names another user's process
            os._exit(1)


def make_chunk(config: TaskConfig, k: int, exclude: frozenset) -> tuple[pa.Table, dict]:
    """Chunk k: its generated records less the excluded ones, with key and split columns."""
    task = task_module(config.task)
    count = config.chunk_records(k)
    rng = np.random.default_rng([config.seed, k])
    table, keys = task.make_records(config, rng, count, k * config.chunk_size)
    keep = [key not in exclude for key in keys]
    table = table.filter(pa.array(keep, pa.bool_()))
    keys = [key for key, kept in zip(keys, keep) if kept]
    table = with_key_and_split(table, keys, config.split)
    info = {"chunk": k, "generated": count, "excluded": count - len(keys)}
    return table.replace_schema_metadata({CHUNK_META: json.dumps(info)}), info


def _run_chunk(k: int) -> dict:
    cpu = time.process_time()
    table, info = make_chunk(_STATE["config"], k, _STATE["exclude"])
    sha = write_parquet_atomic(_STATE["chunk_dir"] / chunk_name(k), table)
    cpu_seconds = round(time.process_time() - cpu, 4)
    return {**info, "file": chunk_name(k), "sha256": sha, "rows": table.num_rows, "cpu_seconds": cpu_seconds}


def _progress(total: int, initial: int, options: RunOptions, desc: str):
    from tqdm import tqdm

    disable = options.quiet or not sys.stderr.isatty()
    return tqdm(total=total, initial=initial, unit="rec", desc=desc, disable=disable, smoothing=0.1, dynamic_ncols=True)


def _probe() -> None:
    task_module(_STATE["config"].task).probe(_STATE["config"])


class Workers:
    """The worker processes (or this process, for one worker). forkserver: each worker is
    forked from a clean server process (no threads inherited from this one) that has
    imported the puzzle modules and warmed their compiled kernels (`_warm`)."""

    def __init__(self, count: int, config: TaskConfig, exclude: frozenset, chunk_dir: Path):
        args = (config_json(config), exclude, str(chunk_dir), os.getpid())
        self.pool = None
        if count == 1:
            _init_worker(*args[:3])
        else:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["data_gen.build", "data_gen._warm"])
            self.pool = ProcessPoolExecutor(count, context, _init_worker, args)

    def call(self, function, *args):
        if self.pool is None:
            return function(*args)
        try:
            return self.pool.submit(function, *args).result()
        except BrokenProcessPool:
            raise DataGenError(DIED) from None

    def each(self, function, items):
        """function(item) for every item, yielded as each finishes (in any order)."""
        if self.pool is None:
            yield from map(function, items)
            return
        try:
            for future in as_completed([self.pool.submit(function, item) for item in items]):
                yield future.result()
        except BrokenProcessPool:
            raise DataGenError(DIED) from None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self.pool is None:
            return
        if exc_type is not None:  # Ctrl-C or an error: stop now rather than after the running chunks
            self.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def terminate(self) -> None:
        """End the workers at once; a chunk one was writing stays a temp file, which the next
        run removes. (Python 3.14 has ProcessPoolExecutor.terminate_workers; before it, the
        processes are only reachable through the executor's `_processes`.)"""
        if hasattr(self.pool, "terminate_workers"):
            self.pool.terminate_workers()
            return
        for process in list((getattr(self.pool, "_processes", None) or {}).values()):
            process.terminate()


DIED = "a worker process died (out of memory?); run again with --resume to continue"


def run_chunks(workers: Workers, config: TaskConfig, chunk_dir: Path, todo: list[int], options: RunOptions, done_records: int, total_records: int) -> float:
    """Generate the chunks in `todo`, journaling each as it lands (any completion order);
    returns the CPU seconds the workers spent on them."""
    bar = _progress(total_records, done_records, options, task_module(config.task).TASK)
    path = chunk_dir / JOURNAL
    torn = path.is_file() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")
    cpu_seconds = 0.0
    with open(path, "a", encoding="utf-8") as journal:
        if torn:  # a kill mid-line: end that line so the next entry stands on its own
            journal.write("\n")
        try:
            for entry in workers.each(_run_chunk, todo):
                journal.write(json.dumps(entry) + "\n")
                journal.flush()
                os.fsync(journal.fileno())
                bar.update(entry["generated"])
                cpu_seconds += entry["cpu_seconds"]
        finally:
            bar.close()
    return cpu_seconds


# ----------------------------------------------------------------------------- finalising


class _SplitWriter:
    """Buffers one split's rows and writes `<split>-NNNNN.parquet` files of `rows_per_file`."""

    def __init__(self, out: Path, name: str, rows_per_file: int):
        self.out, self.name, self.rows_per_file = out, name, rows_per_file
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.files: list[dict] = []
        self.count = 0

    def add(self, table: pa.Table) -> None:
        if table.num_rows:
            self.buffer.append(table)
            self.buffered += table.num_rows
            self.count += table.num_rows
            while self.buffered >= self.rows_per_file:
                self._flush(self.rows_per_file)

    def _flush(self, rows: int) -> None:
        table = pa.concat_tables(self.buffer)
        head, rest = table.slice(0, rows), table.slice(rows)
        path = self.out / f"{self.name}-{len(self.files):05d}.parquet"
        sha = write_parquet_atomic(path, head)
        self.files.append({"path": path.name, "sha256": sha, "rows": head.num_rows})
        self.buffer = [rest] if rest.num_rows else []
        self.buffered = rest.num_rows

    def close(self) -> dict:
        if self.buffered:
            self._flush(self.buffered)
        return {"count": self.count, "files": self.files}


@dataclass
class Finalised:
    splits: dict
    stats: dict
    counts: dict


def write_splits(out: Path, config_split: dict[str, float], rows_per_file: int, tables, task, dedupe: bool) -> Finalised:
    """Write the split files from chunk tables (key + split columns) given in dataset order."""
    for entry in out.iterdir():  # split files of an earlier, interrupted finalise
        if entry.is_file() and DATA_FILE.match(entry.name):
            entry.unlink()
    writers = {name: _SplitWriter(out, name, rows_per_file) for name in config_split}
    stats = task.Stats()
    seen: set[bytes] = set()
    counts = {"generated": 0, "excluded": 0, "duplicates_dropped": 0, "written": 0}
    for table, info in tables:
        counts["generated"] += info.get("generated", table.num_rows)
        counts["excluded"] += info.get("excluded", 0)
        if dedupe:
            keep = []
            for key in table.column(KEY_COLUMN).to_pylist():
                digest = key_digest(key)
                keep.append(digest not in seen)
                seen.add(digest)
            counts["duplicates_dropped"] += keep.count(False)
            table = table.filter(pa.array(keep, pa.bool_()))
        records = table.drop_columns([KEY_COLUMN, SPLIT_COLUMN]).replace_schema_metadata(None)
        stats.add(records)
        splits = table.column(SPLIT_COLUMN)
        for name, writer in writers.items():
            writer.add(records.filter(pc.equal(splits, name)))
        counts["written"] += records.num_rows
    return Finalised({name: w.close() for name, w in writers.items()}, stats.result(), counts)


def _read_chunk(path: Path) -> tuple[pa.Table, dict]:
    table = pq.read_table(path)
    meta = (table.schema.metadata or {}).get(CHUNK_META)
    return table, json.loads(meta) if meta else {}


def package_versions() -> tuple[str, dict]:
    from importlib import metadata

    try:
        own = metadata.version("rmdm-puzzles")
    except metadata.PackageNotFoundError:
        own = "unknown (not installed)"
    return f"rmdm-puzzles {own}", {"pyarrow": pa.__version__, "numpy": np.__version__, "python": sys.version.split()[0]}


def build_manifest(config_data: dict, task, done: Finalised, *, generator: str, generator_version: str, seed, extra: dict, timing: dict) -> dict:
    created_with, libraries = package_versions()
    return {
        "format_version": FORMAT_VERSION,
        "task": task.TASK,
        "generator": generator,
        "generator_version": generator_version,
        "config": config_data,
        "seed": seed,
        "splits": done.splits,
        "counts": done.counts,
        **extra,
        "stats": done.stats,
        "verified": True,
        "schema": {f.name: str(f.type) for f in task.SCHEMA},
        "created_with": created_with,
        "libraries": libraries,
        "timing": timing,
    }


def finalise(out: Path, config: TaskConfig, chunk_paths: list[Path], extra: dict, timing: dict) -> dict:
    """Write the split files from the chunks; returns the manifest (the caller writes it last)."""
    task = task_module(config.task)
    started = time.perf_counter()
    done = write_splits(out, config.split, config.rows_per_file, (_read_chunk(p) for p in chunk_paths), task, config.dedupe)
    timing = {**timing, "finalise_seconds": round(time.perf_counter() - started, 3)}
    return build_manifest(
        config_json(config), task, done,
        generator=task.GENERATOR, generator_version=task.GENERATOR_VERSION,
        seed=config.seed, extra=extra, timing=timing,
    )


# ----------------------------------------------------------------------------- the run


def load_exclusions(config: TaskConfig, paths: list[Path]) -> tuple[frozenset, list[dict]]:
    task = task_module(config.task)
    keys: set[str] = set()
    described = []
    for source, path in zip(config.exclude, paths):
        found, count = task.exclude_keys(path, config)
        if count == 0:
            raise DataGenError(f"--exclude {path}: it holds no puzzle of this kind ({task.describe(config)}); check the file or drop it")
        keys |= found
        described.append({"name": source.name, "sha256": source.sha256, "records": count, "distinct": len(found)})
    return frozenset(keys), described


def generate(config: TaskConfig, out: str | Path, options: RunOptions) -> dict | None:
    """Make (or resume, or finish) the dataset of `config` in `out`; returns the manifest,
    or None for a shard of several (its chunks wait for `merge`)."""
    out = Path(out)
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    clock = time.perf_counter()
    action = check_output_dir(out, config, options)
    if action == "complete":
        if (out / CHUNK_DIR).is_dir() and not options.keep_chunks:  # killed just after the manifest landed
            shutil.rmtree(out / CHUNK_DIR)
        options.say(f"{out} is already complete (manifest.json and every file check out)")
        return load_manifest(out)
    exclude, excluded_sets = load_exclusions(config, options.exclude_paths)
    index, count = options.shard
    mine = [k for k in range(config.n_chunks) if k % count == index]
    chunk_dir = out / CHUNK_DIR
    done = verified_chunks(chunk_dir, mine) if action == "resume" else set()
    todo = [k for k in mine if k not in done]
    if count > 1 and not todo and (chunk_dir / DONE_FILE).is_file():
        options.say(f"shard {index}/{count} is already done; combine the shards with `rmdm gen merge`")
        return None
    workers = min(options.workers or default_workers(), max(1, len(todo)))
    with Workers(workers, config, exclude, chunk_dir) as pool:
        pool.call(_probe)  # an impossible config fails here, before anything is written
        if action == "overwrite":
            _clear(out)
        chunk_dir.mkdir(parents=True, exist_ok=True)
        remove_tmp_files(out)
        remove_tmp_files(chunk_dir)
        if action != "resume":
            state = {"format_version": FORMAT_VERSION, "config": config_json(config), "shard": list(options.shard)}
            write_json_atomic(chunk_dir / RUN_FILE, state)
        total = sum(config.chunk_records(k) for k in mine)
        done_records = sum(config.chunk_records(k) for k in done)
        if done:
            options.say(f"resuming: {len(done)} of {len(mine)} chunks already done")
        gen_clock = time.perf_counter()
        cpu_seconds = run_chunks(pool, config, chunk_dir, todo, options, done_records, total)
    timing = {
        "started_at": started_at,
        "workers": workers,
        "resumed": action == "resume",
        "generation_seconds": round(time.perf_counter() - gen_clock, 3),
        "generation_cpu_seconds": round(cpu_seconds, 3),
        "records_generated_this_run": total - done_records,
    }
    extra = {"chunks": {"size": config.chunk_size, "count": config.n_chunks}, "exclude": excluded_sets}
    if count > 1:
        write_json_atomic(chunk_dir / DONE_FILE, {"shard": [index, count], "timing": timing, "exclude": excluded_sets})
        options.say(f"shard {index}/{count} done ({len(mine)} chunks); combine the shards with `rmdm gen merge --out DIR SHARD_DIRS...`")
        return None
    manifest = finalise(out, config, [chunk_dir / chunk_name(k) for k in range(config.n_chunks)], extra, timing)
    manifest["timing"]["seconds"] = round(time.perf_counter() - clock, 3)
    write_json_atomic(out / MANIFEST, manifest)
    if not options.keep_chunks:
        shutil.rmtree(chunk_dir)
    return manifest


def merge(shard_dirs: list[str | Path], out: str | Path, options: RunOptions) -> dict:
    """Combine the chunk directories of shards 0/n..n-1/n into one dataset, byte-identical to
    a single-machine run of the same config."""
    from .config import config_from_dict

    clock = time.perf_counter()
    if any(Path(out).resolve() == Path(d).resolve() for d in shard_dirs):
        raise DataGenError(f"--out {out} is one of the shards being merged; choose another directory")
    states = []
    for directory in map(Path, shard_dirs):
        run_file = directory / CHUNK_DIR / RUN_FILE
        try:
            states.append((directory, json.loads(run_file.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            raise DataGenError(f"{directory}: no readable {CHUNK_DIR}/{RUN_FILE}; is it the --out of an `rmdm gen --shard` run?") from None
    configs = {json.dumps(s["config"], sort_keys=True) for _, s in states}
    if len(configs) != 1:
        raise DataGenError("the shards were made with different configs; merge shards of one dataset only")
    counts = {s["shard"][1] for _, s in states}
    indices = sorted(s["shard"][0] for _, s in states)
    if len(counts) != 1 or indices != list(range(next(iter(counts)))):
        got = ", ".join(f"{s['shard'][0]}/{s['shard'][1]}" for _, s in states)
        raise DataGenError(f"need every shard 0/n .. n-1/n exactly once, got {got}")
    config = config_from_dict(states[0][1]["config"])
    n_shards = next(iter(counts))
    paths: dict[int, Path] = {}
    generation_seconds = 0.0
    for directory, state in states:
        index = state["shard"][0]
        mine = [k for k in range(config.n_chunks) if k % n_shards == index]
        chunk_dir = directory / CHUNK_DIR
        done = verified_chunks(chunk_dir, mine)
        if len(done) != len(mine):
            raise DataGenError(f"{directory}: shard {index}/{n_shards} is unfinished ({len(done)} of {len(mine)} chunks); finish it with --resume")
        paths.update({k: chunk_dir / chunk_name(k) for k in mine})
        try:
            shard_done = json.loads((chunk_dir / DONE_FILE).read_text(encoding="utf-8"))
            generation_seconds += shard_done["timing"]["generation_seconds"]
            excluded_sets = shard_done.get("exclude", [])
        except (OSError, ValueError, KeyError):
            excluded_sets = []
    out = Path(out)
    options.resume = False
    check_output_dir(out, config, options)
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    timing = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "shards": n_shards, "generation_seconds": round(generation_seconds, 3)}
    extra = {"chunks": {"size": config.chunk_size, "count": config.n_chunks}, "exclude": excluded_sets}
    manifest = finalise(out, config, [paths[k] for k in range(config.n_chunks)], extra, timing)
    manifest["timing"]["seconds"] = round(time.perf_counter() - clock, 3)
    write_json_atomic(out / MANIFEST, manifest)
    return manifest
