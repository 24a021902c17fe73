#!/usr/bin/env bash
# Makes sure the cached virtual environment with sentence-transformers (and the
# torch it pulls from PyPI, several GB, once) exists, and prints its python.
# Used by Tests/goldens/make_minilm_goldens.py and `make bench-embed`
# (bench/bench_embed.py) as the independent reference for sentence embeddings.
#
# PyPI has no CPU-only torch wheel under its own name, so this is the default
# torch wheel; it runs on the CPU here.
#
# Environment: SWIFTLET_CACHE (default ~/.cache/swiftlet), SWIFTLET_ST_VENV
# (default $SWIFTLET_CACHE/st-venv), SWIFTLET_ST_VERSION (a sentence-transformers
# version to pin; default: the newest).
set -euo pipefail
cache="${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}"
venv="${SWIFTLET_ST_VENV:-$cache/st-venv}"
st_spec="sentence-transformers"
[ -z "${SWIFTLET_ST_VERSION:-}" ] || st_spec="sentence-transformers==$SWIFTLET_ST_VERSION"
python="$venv/bin/python"

if ! "$python" -c "import sentence_transformers, torch, tokenizers, numpy" >/dev/null 2>&1; then
    if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "installing from apt: python3-venv" >&2
        $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    fi
    mkdir -p "$cache"
    [ -x "$python" ] || python3 -m venv "$venv"
    echo "installing $st_spec (with torch, several GB) into $venv" \
         "(once; log: $venv/install.log)" >&2
    if ! "$python" -m pip install "$st_spec" tokenizers numpy >"$venv/install.log" 2>&1; then
        tail -n 30 "$venv/install.log" >&2
        echo "sentence-transformers failed to install; see $venv/install.log" >&2
        exit 1
    fi
fi
echo "$python"
