#!/usr/bin/env bash
# `make bench`: Swiftlet and llama.cpp side by side (see bench/README.md).
#
# 1. A virtual environment with llama-cpp-python (built from source from PyPI,
#    ~12 minutes on 2 cores, once) and numpy, at $SWIFTLET_LLAMA_VENV
#    (default $SWIFTLET_CACHE/llama-venv), unless it already imports both
#    (scripts/llama-venv.sh).
# 2. The Q4_1 model from scripts/fetch-model.sh, and a Q8_0 copy made with
#    `build/bin/swiftlet quantize` next to it in the cache, if missing.
# 3. Q4_K_M and Q6_K requantizations of the Q4_1 file by llama.cpp's own
#    quantizer (the files the k-quant agreement tests use), if missing.
# 4. Gemma 3 270M Q4_K_M from scripts/fetch-gemma3.sh (PyPI), if missing.
# 5. bench/bench.py on the five files at 1 and 2 threads, the memory of a
#    32,768-token context on the Gemma file (sliding-window layers keep their
#    window only), then its binding row (the
#    swiftlet package's Context.eval loop and llama-cpp-python's Llama.eval loop
#    against their bare C calls) on the Q8_0 file at 2 threads; arguments given
#    to this script are passed on (e.g. `scripts/bench.sh --runs 5`,
#    `--binding-runs 0` to skip that row).
# 6. bench/bench_grammar.py: JSON-schema-constrained generation on the Q4_1
#    file, Swiftlet's grammar sampler vs llama.cpp's; its arguments come from
#    $BENCH_GRAMMAR_ARGS (e.g. BENCH_GRAMMAR_ARGS="--runs 5").
# 7. bench/bench_hooks.py: what an observer and a LoRA adapter cost on the
#    Q4_1 file (ratios to neither, same command); $BENCH_HOOKS_ARGS.
#
# Environment: SWIFTLET_CACHE (the Makefile sets it; default ~/.cache/swiftlet),
# SWIFTLET_LLAMA_VENV, SWIFTLET_LLAMA_CPP_VERSION (the llama-cpp-python release
# to install; bench.py's low-level calls are written against it), SWIFTLET_LIB
# (the library to measure; default build/lib/libswiftlet.so).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}"
python="$(scripts/llama-venv.sh)"

q4_1="$(scripts/fetch-model.sh)"
q8_0="$cache/models/SmolLM2-135M-Instruct.Q8_0.gguf"
if [ ! -f "$q8_0" ]; then
    echo "writing $q8_0"
    build/bin/swiftlet quantize "$q4_1" "$q8_0.partial"
    mv "$q8_0.partial" "$q8_0"
fi

requantized() {  # $1: make_llamacpp_quant_goldens.py's name, $2: its file-name suffix
    local path="$cache/models/SmolLM2-135M-Instruct.llamacpp-$2.gguf"
    if [ ! -f "$path" ]; then
        echo "writing $path" >&2
        "$python" Tests/goldens/make_llamacpp_quant_goldens.py --model "$q4_1" --make "$1" --out "$path" >&2
    fi
    echo "$path"
}
q4_k_m="$(requantized q4_k_m Q4_K_M)"
q6_k="$(requantized q6_k Q6_K)"

gemma3="$(scripts/fetch-gemma3.sh)"

# bench.py, then the grammar row even if bench.py reported errors; the exit
# status is the first failure's. (No exec: two programs run in turn. Ctrl-C
# still stops the script: bash exits when a child dies of SIGINT.)
status=0
"$python" bench/bench.py "$q4_1" "$q8_0" "$q4_k_m" "$q6_k" "$gemma3" --threads 1 2 \
    --long-context 32768 --long-context-model "$gemma3" --binding-model "$q8_0" "$@" || status=$?
echo
# shellcheck disable=SC2086  # BENCH_GRAMMAR_ARGS is a list of words
"$python" bench/bench_grammar.py --model "$q4_1" --llama-python "$python" ${BENCH_GRAMMAR_ARGS:-} \
    || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
echo
# shellcheck disable=SC2086  # BENCH_HOOKS_ARGS is a list of words (the test python: it writes the adapter with gguf)
python3 bench/bench_hooks.py --model "$q4_1" ${BENCH_HOOKS_ARGS:-} || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
exit "$status"
