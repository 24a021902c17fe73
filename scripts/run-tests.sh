#!/usr/bin/env bash
# The test suite `make test` runs (after building): header, exports and
# dependency checks, the C examples, the Python tests of the C API against the
# real library, then the Python package's own suite from a fresh install.
# Needs SWIFTLET_MODEL_Q4_1 and SWIFTLET_MODEL_GEMMA3 (the Makefile sets them).
set -euo pipefail
cd "$(dirname "$0")/.."
lib=build/lib/libswiftlet.so
source scripts/checks.sh

header_c99() { gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude Tests/c/header_check.c -o /tmp/swiftlet_header_c99; }
header_cxx() { g++ -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic -Iinclude Tests/c/header_check.c -o /tmp/swiftlet_header_cxx; }
exports_match_header() {  # global or weak, defined symbols of the dynamic table
    diff <(readelf --dyn-syms -W "$lib" | awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" {print $8}' | sort -u) \
         <(scripts/header-functions.sh include/swiftlet.h)
}
no_swift_runtime_dependency() {
    ! ldd "$lib" | grep -E 'swift|Foundation|dispatch|BlocksRuntime|jemalloc'
}
generate_example_runs() {
    local out
    # Raw continuation: llama.cpp's greedy answer on this file is " Paris." too.
    out=$(SWIFTLET_RAW=1 build/bin/generate "$SWIFTLET_MODEL_Q4_1" "The capital of France is" 8 2>/dev/null)
    echo "$out" | sed 's/^/     | /'
    grep -q "Paris" <<<"$out"
}
chat_example_runs() {
    local out
    out=$(printf 'Say hello.\nNow say goodbye.\n' | build/bin/chat "$SWIFTLET_MODEL_Q4_1" 2>/dev/null)
    echo "$out" | sed 's/^/     | /'
    [ "$(grep -c . <<<"$out")" -ge 2 ]
}
json_reply_example_runs() {  # its reply must validate against the schema (Python's json + jsonschema)
    local out
    out=$(build/bin/json_reply "$SWIFTLET_MODEL_Q4_1" Tests/c/capital_schema.json "What is the capital of France?" 2>/dev/null)
    echo "$out" | sed 's/^/     | /'
    python3 -c 'import json, sys, jsonschema; jsonschema.validate(json.loads(sys.argv[1]), json.load(open(sys.argv[2])))' \
        "$out" Tests/c/capital_schema.json
}
dlopen_host_runs() {
    build/bin/dlopen_host "$PWD/$lib" "$SWIFTLET_MODEL_Q4_1" "The sky is" | sed 's/^/     | /'
    [ "${PIPESTATUS[0]}" -eq 0 ]
}

# The kernel benchmark (make bench-kernels) runs to the end and prints every
# kernel's line: it is not timed here, only kept from rotting.
kernel_bench_runs() {
    local out
    out="$(build/bin/swiftlet-kernel-bench)" || return 1
    grep -q '^quantize row' <<<"$out"
}

check "header compiles as C99 (-Wall -Wextra -Werror -pedantic)" header_c99
check "header compiles as C++11 (-Wall -Wextra -Werror -pedantic)" header_cxx
check "exported symbols are exactly the header's functions" exports_match_header
check "ldd shows no Swift runtime, Foundation or jemalloc" no_swift_runtime_dependency
check "bindings/c/examples/generate.c continues a prompt" generate_example_runs
check "bindings/c/examples/chat.c holds a two-turn chat" chat_example_runs
check "bindings/c/examples/json_reply.c answers in JSON its schema validates" json_reply_example_runs
check "bindings/c/examples/dlopen_host.c loads the library at run time" dlopen_host_runs
check "the kernel micro-benchmark runs" kernel_bench_runs
csharp_binding_tests() {  # bindings/csharp/tests under Mono: layout, C-equal text, cancel, errors, lifetimes, observers, adapters
    local dir adapter status
    dir=$(mktemp -d)
    # The LoRA adapter the tests load, written with the gguf package: prints its path, rank, alpha, tensor count.
    adapter=$(python3 bindings/csharp/tests/make_adapter.py "$SWIFTLET_MODEL_Q4_1" "$dir/adapter.gguf") || { rm -rf "$dir"; return 1; }
    # shellcheck disable=SC2086  # $adapter is four words on purpose
    mono build/csharp/SwiftletTests.exe "$SWIFTLET_MODEL_Q4_1" Tests/abi/layout.txt build/bin/generate $adapter | sed 's/^/     | /'
    status=${PIPESTATUS[0]}
    rm -rf "$dir"
    [ "$status" -eq 0 ]
}
check "the C# binding under Mono (bindings/csharp/tests)" csharp_binding_tests
echo "shell checks: $passes passed, $failures failed"

status=0
python3 -m pytest -q Tests/python || status=$?
echo "== the Python package (bindings/python), installed into a fresh venv"
scripts/test-python-package.sh || status=1
fuzz_seconds="${SWIFTLET_FUZZ_SECONDS:-25}"
echo "== fuzzing (scripts/fuzz.sh): every committed crash replayed, then each target for $fuzz_seconds s"
scripts/fuzz.sh "$fuzz_seconds" || status=1
[ "$failures" -eq 0 ] || status=1
exit $status
