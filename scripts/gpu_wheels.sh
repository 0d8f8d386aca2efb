#!/usr/bin/env bash
# Fetch, here, the wheels that scripts/gpu_chunk.sh needs on a lent GPU machine whose image lacks
# them (its Python is 3.12 and it cannot reach a package registry): pydantic and its own needs.
# They land in .whl/ (git-ignored), which the chunk's call carries along.
set -euo pipefail
mkdir -p .whl
for spec in "pydantic==2.13.4" "pydantic-core==2.46.4" "annotated-types==0.7.0" "typing-inspection==0.4.2"; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "$spec"
done
ls -l .whl
