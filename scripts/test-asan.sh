#!/usr/bin/env bash
# `make test-asan`: the C programs and the hostile-input tests against the
# library built with AddressSanitizer and without the private jemalloc
# (scripts/build-sanitized.sh asan), so every allocation is checked:
#
#   - the C examples (bindings/c/examples) built with clang -fsanitize=address,
#     run as scripts/run-tests.sh runs them, dlopen_host loading the ASan build;
#   - Tests/c/threads.c on a tiny and the real model; every case of
#     Tests/c/misuse.c (the cases Tests/python/test_misuse.py runs);
#   - Tests/python/test_gguf_formats.py with its hostile corpus
#     (Tests/python/gguf_corpus.py) through ctypes: Python runs with the ASan
#     runtime in LD_PRELOAD and SWIFTLET_LIB pointing at the ASan build, and the
#     gguf-inspect driver it also uses is the ASan build's;
#   - Tests/python/test_embeddings.py the same way: Hugging Face folders,
#     hostile ones included, and the encoder's packed passes;
#   - Tests/python/test_sequences.py and test_state.py: batched decoding,
#     the shift's moves in the cache, state files corrupted every way;
#   - Tests/python/test_observers.py and test_lora.py: observer views of
#     every kind; adapters loaded (malformed ones too), stacked and detached.
#
# Leaks: the C programs run with detect_leaks=1 and must free everything.
# Python runs with detect_leaks=0: the interpreter itself keeps memory at exit
# that LeakSanitizer would report (its own, not the library's).
# Needs SWIFTLET_MODEL_Q4_1, SWIFTLET_MODEL_GEMMA3 and SWIFTLET_MODEL_MINILM (the Makefile sets them).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SWIFTLET_MODEL_Q4_1:?set SWIFTLET_MODEL_Q4_1 to the real model (make test-asan does)}"
out="$PWD/build/asan"
clang="$(dirname "$(command -v swift)")/clang"
source scripts/checks.sh

export SWIFT_BACKTRACE=enable=no
export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

mkdir -p "$out/bin" "$out/logs"
lib=""
build() {
    lib="$(scripts/build-sanitized.sh asan 2>"$out/logs/build.log")" || { tail -20 "$out/logs/build.log"; return 1; }
    local libdir program
    libdir="$(dirname "$lib")"
    for program in bindings/c/examples/generate.c bindings/c/examples/chat.c Tests/c/threads.c Tests/c/misuse.c; do
        "$clang" -std=c11 -g -O1 -fsanitize=address -fno-omit-frame-pointer -fuse-ld=lld -I include "$program" \
            -L "$libdir" -lswiftlet -lpthread -Wl,-rpath,"$libdir" -o "$out/bin/$(basename "$program" .c)" || return 1
    done
    "$clang" -std=c11 -g -O1 -fsanitize=address -fuse-ld=lld -I include bindings/c/examples/dlopen_host.c -ldl \
        -o "$out/bin/dlopen_host" || return 1
    # The Python tests run gguf-inspect as a subprocess, which inherits
    # LD_PRELOAD; an ASan executable carries its own runtime, so it must not
    # get a second one.
    printf '#!/bin/sh\nunset LD_PRELOAD\nexec "%s" "$@"\n' "$out/bin/gguf-inspect" > "$out/bin/gguf-inspect-no-preload"
    chmod +x "$out/bin/gguf-inspect-no-preload"
    [ -f "$out/tiny/.made" ] || { python3 Tests/python/make_tiny_models.py "$out/tiny" >/dev/null && touch "$out/tiny/.made"; }
}
started=$SECONDS
if ! build; then check "the AddressSanitizer build of the library and the C programs" false; # Observers (views of every kind over the cache's rows and rings, a callback
# that stops or frees the context part way) and LoRA adapters (bad files too).
check "Tests/python/test_observers.py and test_lora.py through the ASan build, no ASan report" \
    python_suite observers-lora Tests/python/test_observers.py Tests/python/test_lora.py -k "not smollm2"
summary asan; exit 1; fi
echo "     (built in $((SECONDS - started)) s)"

# run LOG COMMAND...: runs a program, keeps its output in a log, shows the
# sanitizer's report when it fails.
run() {
    local log="$out/logs/$1.log"; shift
    local status=0 started=$SECONDS
    timeout 600 "$@" >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        grep -E -B2 -A24 '^==[0-9]+==ERROR|^SUMMARY|FAIL|Fatal error' "$log" | head -60 | sed 's/^/     | /'
        echo "     | exit status $status after $((SECONDS - started)) s; full log: $log"
    fi
    return "$status"
}

model="$SWIFTLET_MODEL_Q4_1"
generate_example() {
    run generate env SWIFTLET_RAW=1 "$out/bin/generate" "$model" "The capital of France is" 8 &&
    grep -q Paris "$out/logs/generate.log"
}
chat_example() {
    printf 'Say hello.\nNow say goodbye.\n' >"$out/logs/chat.input"
    run chat sh -c "\"$out/bin/chat\" \"$model\" < \"$out/logs/chat.input\""
}
# dlopen_host ends with dlclose(). Memory the library's globals still point
# at then (the statically linked Swift runtime's metadata caches) would look
# leaked once they are unmapped, so the library is also preloaded: it stays
# mapped, and what LeakSanitizer reports is memory nothing points at.
dlopen_example() { run dlopen_host env LD_PRELOAD="$lib" "$out/bin/dlopen_host" "$lib" "$model" "The sky is"; }
threads_tiny() { run threads-tiny "$out/bin/threads" "$out/tiny/tiny-q8_0-gqa4-hd64.gguf" 16 3; }
threads_real() { run threads-real "$out/bin/threads" "$model" 4 2; }
# As test_misuse.py: exit 0 and nothing on stderr (where an ASan report goes too).
misuse_case() {
    local log="$out/logs/misuse-$1" status=0
    timeout 300 "$out/bin/misuse" "$model" "$1" >"$log.out" 2>"$log.err" || status=$?
    [ "$status" -eq 0 ] && [ ! -s "$log.err" ] && return 0
    head -40 "$log.err" | sed 's/^/     | /'
    echo "     | exit status $status; full output: $log.out, $log.err"
    return 1
}

check "bindings/c/examples/generate.c continues a prompt, no ASan report or leak" generate_example
check "bindings/c/examples/chat.c holds a two-turn chat, no ASan report or leak" chat_example
check "bindings/c/examples/dlopen_host.c loads the ASan library, no report or leak" dlopen_example
check "Tests/c/threads.c on a tiny model, no ASan report or leak" threads_tiny
check "Tests/c/threads.c on the real model, no ASan report or leak" threads_real
for case in $("$out/bin/misuse" --list); do
    check "Tests/c/misuse.c $case, no ASan report or leak" misuse_case "$case"
done

# The hostile GGUF corpus through ctypes.
asan_runtime="$("$clang" -print-file-name=libclang_rt.asan-x86_64.so)"
python_loads_asan_build() {  # the ASan build is the one without jemalloc
    local info
    info="$(LD_PRELOAD="$asan_runtime" ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" SWIFTLET_LIB="$lib" python3 -c '
import ctypes, os
library = ctypes.CDLL(os.environ["SWIFTLET_LIB"])
library.swiftlet_system_info.restype = ctypes.c_char_p
print(library.swiftlet_system_info().decode())')" || return 1
    echo "     | $info"
    grep -q "allocator system" <<<"$info"
}
check "Python with the ASan runtime preloaded loads the ASan build through ctypes" python_loads_asan_build
gguf_formats() {
    local status=0
    run gguf-formats env LD_PRELOAD="$asan_runtime" ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
        SWIFTLET_LIB="$lib" SWIFTLET_GGUF_INSPECT="$out/bin/gguf-inspect-no-preload" \
        python3 -m pytest -q -p no:cacheprovider Tests/python/test_gguf_formats.py || status=$?
    tail -n 1 "$out/logs/gguf-formats.log" | sed 's/^/     | /'
    [ "$status" -eq 0 ] && ! grep -q "ERROR: AddressSanitizer" "$out/logs/gguf-formats.log"
}
check "Tests/python/test_gguf_formats.py (the hostile GGUF corpus) through ctypes, no ASan report" gguf_formats
quant_kernels() {  # every weight format's kernels (gguf-inspect product) and hostile quantized models
    local status=0
    run quant-kernels env LD_PRELOAD="$asan_runtime" ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
        SWIFTLET_LIB="$lib" SWIFTLET_GGUF_INSPECT="$out/bin/gguf-inspect-no-preload" \
        python3 -m pytest -q -p no:cacheprovider Tests/python/test_quant_kernels.py Tests/python/test_quant_types.py \
        || status=$?
    tail -n 1 "$out/logs/quant-kernels.log" | sed 's/^/     | /'
    [ "$status" -eq 0 ] && ! grep -q "ERROR: AddressSanitizer" "$out/logs/quant-kernels.log"
}
check "Tests/python/test_quant_kernels.py and test_quant_types.py through the ASan builds, no ASan report" quant_kernels
# python_suite LOG PYTEST-ARGUMENTS...: those tests through the ASan build, no ASan report.
# ASan writes its report to files of its own here: pytest captures the
# process's stderr, and a report there dies with the process it aborts.
python_suite() {
    local name="$1" status=0 report="$out/logs/$1.asan"
    shift
    rm -f "$report".*
    run "$name" env LD_PRELOAD="$asan_runtime" ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0:log_path=$report" \
        SWIFTLET_LIB="$lib" python3 -m pytest -q -p no:cacheprovider "$@" || status=$?
    tail -n 1 "$out/logs/$name.log" | sed 's/^/     | /'
    if compgen -G "$report.*" >/dev/null; then
        grep -h -A12 "ERROR: AddressSanitizer" "$report".* | head -24 | sed 's/^/     | /'
        return 1
    fi
    [ "$status" -eq 0 ] && ! grep -q "ERROR: AddressSanitizer" "$out/logs/$name.log"
}
# Hugging Face folders (hostile ones too), the encoder, packed passes, swiftlet_embed's errors
check "Tests/python/test_embeddings.py through the ASan build, no ASan report" \
    python_suite embeddings Tests/python/test_embeddings.py
# Batched decoding, sequence operations, the shift's moves in the cache, and
# state files (corrupted ones too); the long SmolLM2 run is left to `make test`.
check "Tests/python/test_sequences.py and test_state.py through the ASan build, no ASan report" \
    python_suite sequences-state Tests/python/test_sequences.py Tests/python/test_state.py -k "not smollm2"
# Observers (views of every kind over the cache's rows and rings, a callback
# that stops or frees the context part way) and LoRA adapters (bad files too).
check "Tests/python/test_observers.py and test_lora.py through the ASan build, no ASan report" \
    python_suite observers-lora Tests/python/test_observers.py Tests/python/test_lora.py -k "not smollm2"
summary asan
