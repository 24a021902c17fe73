#!/usr/bin/env bash
# `make test-tsan`: the threading contract under ThreadSanitizer. The library
# is built with -sanitize=thread (scripts/build-sanitized.sh tsan) and
# Tests/c/threads.c with clang -fsanitize=thread against it; the program runs
# several threads with their own contexts on one shared model, cancels from
# another thread, BUSY from a second caller, and contexts outliving a freed
# model (see its header). It runs on two tiny models under the kernel sets
# and on the real model. Any race report fails the run; Tests/c/tsan.supp
# holds the one suppression, with why it is a false positive.
# Needs SWIFTLET_MODEL_Q4_1 (the Makefile sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SWIFTLET_MODEL_Q4_1:?set SWIFTLET_MODEL_Q4_1 to the real model (make test-tsan does)}"
out=build/tsan
clang="$(dirname "$(command -v swift)")/clang"
source scripts/checks.sh

export SWIFT_BACKTRACE=enable=no
export OPENBLAS_NUM_THREADS=1
# halt_on_error: the first race ends the program with its report (exit 66).
# Tests/c/tsan.supp says why its one suppression is a false positive.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/Tests/c/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}"

mkdir -p "$out/bin" "$out/logs"
build() {
    local lib
    lib="$(scripts/build-sanitized.sh tsan 2>"$out/logs/build.log")" || { tail -20 "$out/logs/build.log"; return 1; }
    # The toolchain's ThreadSanitizer runtime carries libdispatch interceptors,
    # so a C program links the toolchain's libdispatch and BlocksRuntime too.
    local swift_libs
    swift_libs="$(dirname "$(dirname "$clang")")/lib/swift/linux"
    "$clang" -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=thread -I include Tests/c/threads.c \
        -L "$(dirname "$lib")" -lswiftlet -Wl,-rpath,"$(dirname "$lib")" \
        -L "$swift_libs" -ldispatch -lBlocksRuntime -Wl,-rpath,"$swift_libs" -lpthread -o "$out/bin/threads" &&
    { [ -f "$out/tiny/.made" ] || { python3 Tests/python/make_tiny_models.py "$out/tiny" >/dev/null && touch "$out/tiny/.made"; }; }
}
started=$SECONDS
if ! build; then check "the ThreadSanitizer build of the library and Tests/c/threads.c" false; summary tsan; exit 1; fi
echo "     (built in $((SECONDS - started)) s)"

threads() {  # threads LOG MODEL N_TOKENS N_THREADS [ENV...]
    local log="$out/logs/$1.log" model="$2" tokens="$3" count="$4"; shift 4
    local status=0 started=$SECONDS
    env "$@" "$out/bin/threads" "$model" "$tokens" "$count" >"$log" 2>&1 || status=$?
    sed -n 's/^\(ok  \|FAIL\) /     | \1 /p' "$log"
    echo "     | ($((SECONDS - started)) s)"
    if [ "$status" -ne 0 ]; then
        grep -E -A20 '^WARNING: ThreadSanitizer|^==[0-9]+==ERROR' "$log" | head -60 | sed 's/^/     | /'
        echo "     | exit status $status; full log: $log"
    fi
    return "$status"
}

# The default kernels on a tiny model with 64-dimension heads (grouped
# attention on AVX-512 machines) and on one with a single KV head; the
# portable kernels on the second; the AVX2 kernels too where AVX-512 is the
# default; then the real model.
runs=("tiny-q8_0-gqa4-hd64 default" "tiny-q4_1-mqa-untied default" "tiny-q4_1-mqa-untied portable SWIFTLET_PORTABLE_KERNELS=1")
grep -q avx512_vnni /proc/cpuinfo && runs+=("tiny-q8_0-gqa4-hd64 avx2 SWIFTLET_KERNELS=avx2")
for run in "${runs[@]}"; do
    read -r tiny name env_setting <<<"$run"
    check "threads.c on $tiny, $name kernels: no data race, every check passes" \
        threads "$tiny-$name" "$out/tiny/$tiny.gguf" 24 3 ${env_setting:-}
done
check "threads.c on the real model: no data race, every check passes" threads real "$SWIFTLET_MODEL_Q4_1" 4 2
summary tsan
