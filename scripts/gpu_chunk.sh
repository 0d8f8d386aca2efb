#!/usr/bin/env bash
# One chunk of GPU training that fits a lent accelerator's short calls: train (or resume) for a few
# minutes, evaluate on the held-out split, and pack what a later chunk and the card need into a
# few files of under 15 MiB each (such machines give back only small files, and start bare).
#
#   scripts/gpu_chunk.sh PRESET DATA RUN [MINUTES] [OUTDIR]   train or resume, evaluate, pack
#   scripts/gpu_chunk.sh --unpack PARTS_DIR RUN               here: rebuild RUN from the parts
#
# PRESET  a preset (configs/PRESET.yaml), used only when RUN has no checkpoint yet
# DATA    a data_gen directory carried along (e.g. data/sudoku9, 6.6 MB): no generation there
# RUN     the run directory; when RUN/checkpoints/last.ckpt exists (carried back from the last
#         chunk) training resumes from it, with the same schedule (train.max_steps of the preset)
# MINUTES training minutes of this chunk (default 7: with start-up and evaluation the call stays
#         under 10 minutes)
# OUTDIR  where the parts go (default $OUT, else runs/gpu-out)
#
# FIT_SECONDS: on a fresh run, time the preset first (benchmarks/bench_train_rate.py) and give the
#   run the max_steps whose training fits this many seconds, so its learning-rate schedule ends
#   when the chunk does (a one-chunk GPU session); without it the preset's train.max_steps stands.
#   FIT_ARGS: extra arguments for that timing (e.g. "--steps 2 --warmup 1" in a CPU check).
# EVAL_FILES: puzzle files (space-separated) also evaluated, into RUN/eval-<name>, before packing.
# TRAIN_ARGS / EVAL_ARGS: extra arguments for rmdm train / rmdm eval (the CPU check of this script:
#   TRAIN_ARGS="--max-steps 3 --set train.final_solve_puzzles=4" EVAL_ARGS="--limit 4" PYTHON=python ...).
# Wheels: Python packages the machine lacks (pydantic there) are installed from .whl/ when it
# exists; scripts/gpu_wheels.sh fetches them here for Python 3.12. A chunk, as one command:
#   bash scripts/gpu_chunk.sh sudoku9-hardt-gpu data/sudoku9 runs/s9-gpu 7     (carry .whl, data/sudoku9, runs/s9-gpu)
# then, here:  bash scripts/gpu_chunk.sh --unpack <the files' folder> runs/s9-gpu
set -euo pipefail

if [ "${1:-}" = "--unpack" ]; then
    parts=${2:?--unpack needs the folder holding RUN_NAME.tar.gz.part-*}; run=${3:?--unpack needs RUN}
    name=$(basename "$run")
    ls "$parts/$name".tar.gz.part-* >/dev/null || { echo "no $name.tar.gz.part-* in $parts" >&2; exit 2; }
    mkdir -p "$(dirname "$run")"
    cat "$parts/$name".tar.gz.part-* | tar -xzf - -C "$(dirname "$run")"
    echo "unpacked $run"; exit 0
fi

preset=${1:?usage: gpu_chunk.sh PRESET DATA RUN [MINUTES] [OUTDIR]}
data=${2:?missing DATA}; run=${3:?missing RUN}; minutes=${4:-7}; out=${5:-${OUT:-runs/gpu-out}}
[ -d "$data" ] || { echo "no data directory $data (carry it)" >&2; exit 2; }
mkdir -p "$out"
py=${PYTHON:-python3}
if ! "$py" -c "import pydantic" 2>/dev/null && ls .whl/*.whl >/dev/null 2>&1; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
log="$out/$(basename "$run").log"
{
    "$py" - <<'PY' || true
import torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
PY
    started=$(date +%s)
    if [ -f "$run/checkpoints/last.ckpt" ]; then
        "$py" -m rmdm train --resume "$run" --max-minutes "$minutes" --no-progress ${TRAIN_ARGS:-}
    else
        fit=()
        if [ -n "${FIT_SECONDS:-}" ]; then
            steps=$("$py" -m benchmarks.bench_train_rate "$preset" --data "$data" --budget "$FIT_SECONDS" --print-steps ${FIT_ARGS:-}) \
                && fit=(--max-steps "$steps") && echo "schedule fitted to ${FIT_SECONDS} s: $steps steps" \
                || echo "timing failed: the preset's schedule stands"
        fi
        "$py" -m rmdm train --config "$preset" --data "$data" --out "$run" --max-minutes "$minutes" --no-progress \
            "${fit[@]}" ${TRAIN_ARGS:-}
    fi
    echo "chunk trained in $(( $(date +%s) - started )) s"
    "$py" -m rmdm eval --checkpoint "$run/export" --data "$data" --split test --quiet --out "$run/eval-test" ${EVAL_ARGS:-}
    for file in ${EVAL_FILES:-}; do
        name=$(basename "$file"); name=${name%.*}
        "$py" -m rmdm eval --checkpoint "$run/export" --data "$file" --quiet --out "$run/eval-$name" ${EVAL_ARGS:-} \
            || echo "evaluation of $file failed"
    done
} 2>&1 | tee "$log"
# what a later chunk and the card need: the last checkpoint, logs, export, evaluation; not the step snapshots
(cd "$(dirname "$run")" && tar -czf - --exclude='checkpoints/step*.ckpt' --exclude='checkpoints/last-v*.ckpt' "$(basename "$run")") \
    | split -b 15M -d - "$out/$(basename "$run").tar.gz.part-"
ls -l "$out"
