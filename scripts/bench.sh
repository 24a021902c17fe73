#!/usr/bin/env bash
# `make bench`: Swiftlet and llama.cpp side by side (see bench/README.md).
#
# 1. A virtual environment with llama-cpp-python (built from source from PyPI,
#    ~12 minutes on 2 cores, once) and numpy, at $SWIFTLET_LLAMA_VENV
#    (default $SWIFTLET_CACHE/llama-venv), unless it already imports both.
# 2. The Q4_1 model from scripts/fetch-model.sh, and a Q8_0 copy made with
#    `build/bin/swiftlet quantize` next to it in the cache, if missing.
# 3. bench/bench.py on both files at 1 and 2 threads, then its binding row (the
#    swiftlet package's Context.eval loop and llama-cpp-python's Llama.eval loop
#    against their bare C calls) on the Q8_0 file at 2 threads; arguments given
#    to this script are passed on (e.g. `scripts/bench.sh --runs 5`,
#    `--binding-runs 0` to skip that row).
#
# Environment: SWIFTLET_CACHE (the Makefile sets it; default ~/.cache/swiftlet),
# SWIFTLET_LLAMA_VENV, SWIFTLET_LLAMA_CPP_VERSION (the llama-cpp-python release
# to install; bench.py's low-level calls are written against it), SWIFTLET_LIB
# (the library to measure; default build/lib/libswiftlet.so).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}"
venv="${SWIFTLET_LLAMA_VENV:-$cache/llama-venv}"
llama_version="${SWIFTLET_LLAMA_CPP_VERSION:-0.3.36}"
python="$venv/bin/python"

if ! "$python" -c "import llama_cpp, numpy" >/dev/null 2>&1; then
    if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "installing from apt: python3-venv"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    fi
    [ -x "$python" ] || python3 -m venv "$venv"
    echo "building llama-cpp-python $llama_version from source into $venv" \
         "(once; ~12 minutes on 2 cores; log: $venv/build.log)"
    # From source so llama.cpp is compiled for this CPU (GGML_NATIVE), the way
    # a user of this machine would get its best build.
    if ! CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$python" -m pip install --no-binary llama-cpp-python \
            "llama-cpp-python==$llama_version" numpy >"$venv/build.log" 2>&1; then
        tail -n 30 "$venv/build.log" >&2
        echo "llama-cpp-python failed to build; see $venv/build.log" >&2
        exit 1
    fi
fi

q4_1="$(scripts/fetch-model.sh)"
q8_0="$cache/models/SmolLM2-135M-Instruct.Q8_0.gguf"
if [ ! -f "$q8_0" ]; then
    echo "writing $q8_0"
    build/bin/swiftlet quantize "$q4_1" "$q8_0.partial"
    mv "$q8_0.partial" "$q8_0"
fi

exec "$python" bench/bench.py "$q4_1" "$q8_0" --threads 1 2 "$@"
