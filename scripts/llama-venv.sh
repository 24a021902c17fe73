#!/usr/bin/env bash
# Makes sure the cached virtual environment with llama-cpp-python (built from
# source from PyPI, ~12 minutes on 2 cores, once) and numpy exists, and prints
# its python. Used by `make bench` (scripts/bench.sh) and `make test-llamacpp`.
#
# Environment: SWIFTLET_CACHE (default ~/.cache/swiftlet), SWIFTLET_LLAMA_VENV
# (default $SWIFTLET_CACHE/llama-venv), SWIFTLET_LLAMA_CPP_VERSION (the
# llama-cpp-python release; bench.py's low-level calls and the llama.cpp goldens
# are written against it).
set -euo pipefail
cache="${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}"
venv="${SWIFTLET_LLAMA_VENV:-$cache/llama-venv}"
llama_version="${SWIFTLET_LLAMA_CPP_VERSION:-0.3.36}"
python="$venv/bin/python"

if ! "$python" -c "import llama_cpp, numpy" >/dev/null 2>&1; then
    if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "installing from apt: python3-venv" >&2
        $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    fi
    [ -x "$python" ] || python3 -m venv "$venv"
    echo "building llama-cpp-python $llama_version from source into $venv" \
         "(once; ~12 minutes on 2 cores; log: $venv/build.log)" >&2
    # From source so llama.cpp is compiled for this CPU (GGML_NATIVE), the way
    # a user of this machine would get its best build.
    if ! CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$python" -m pip install --no-binary llama-cpp-python \
            "llama-cpp-python==$llama_version" numpy >"$venv/build.log" 2>&1; then
        tail -n 30 "$venv/build.log" >&2
        echo "llama-cpp-python failed to build; see $venv/build.log" >&2
        exit 1
    fi
fi
echo "$python"
