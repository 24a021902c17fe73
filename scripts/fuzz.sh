#!/usr/bin/env bash
# Fuzzes the library's parsers with libFuzzer (`make fuzz`; `make test` runs it
# for a short time). Each target is one file, Tests/fuzz/targets/NAME.c; see
# Tests/fuzz/fuzz_common.h for what a target is.
#
#   scripts/fuzz.sh SECONDS [TARGET...]   build, replay every committed crash,
#                                         then fuzz each target SECONDS (0: replay only)
#   scripts/fuzz.sh repro TARGET FILE...  run a target on given inputs, with its report
#
# The library is built with AddressSanitizer and coverage
# (scripts/build-sanitized.sh fuzz), each target with clang -fsanitize=fuzzer,address
# linking it dynamically (libFuzzer collects coverage from every loaded module,
# so nothing is lost by not linking the Swift code statically). Everything goes
# to build/fuzz/: bin/ the targets, work/ the seed models and generated seeds
# (Tests/fuzz/make_seeds.py), corpus/NAME/ what each target has learnt (kept
# between runs, so local runs go deeper each time), findings/NAME/ new crashes,
# logs/NAME.log the last run's output.
#
# A crash fails the run and is left in findings/NAME/: copy it to
# Tests/fuzz/crashes/NAME/ (every file there is replayed by every run, so it
# becomes a test), then fix it.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
out="$root/build/fuzz"
clang="$(dirname "$(command -v swift)")/clang"

export SWIFT_BACKTRACE=enable=no  # the Swift backtracer can hang after a crash under libFuzzer
export OPENBLAS_NUM_THREADS=1
export SWIFTLET_FUZZ_MODELS="$out/work/models"
export LSAN_OPTIONS="suppressions=$root/Tests/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

source scripts/checks.sh

targets_all() { for f in Tests/fuzz/targets/*.c; do basename "$f" .c; done; }

# libFuzzer options a target asks for on a first line "// fuzz-options: ...".
target_options() { sed -n '1s|^// fuzz-options: ||p' "Tests/fuzz/targets/$1.c"; }

build() {
    local lib
    mkdir -p "$out/bin" "$out/work" "$out/logs"
    if ! lib="$(scripts/build-sanitized.sh fuzz 2>"$out/logs/build.log")"; then
        grep -E 'error|warning: unhandled' "$out/logs/build.log" | head -20 | sed 's/^/     | /'
        echo "     | full log: $out/logs/build.log"
        return 1
    fi
    local stamp="$out/work/.seeds-made"
    local inputs=(Tests/fuzz/make_seeds.py Tests/python/make_tiny_models.py Tests/python/gguf_corpus.py Tests/python/make_tiny_bert.py
                  Tests/goldens/chat_templates.json Tests/goldens/tokenizer_smollm2.json)
    local input stale=0
    for input in "${inputs[@]}"; do [ "$input" -nt "$stamp" ] && stale=1; done
    if [ "$stale" -eq 1 ] || [ ! -f "$stamp" ]; then
        rm -rf "$out/work" && mkdir -p "$out/work"
        python3 Tests/fuzz/make_seeds.py "$out/work" && touch "$stamp" || return 1
    fi
    local target binary
    for target in $(targets_all); do
        binary="$out/bin/$target"
        if [ ! -x "$binary" ] || [ "Tests/fuzz/targets/$target.c" -nt "$binary" ] || [ Tests/fuzz/fuzz_common.h -nt "$binary" ] ||
           [ Tests/fuzz/memory_file.h -nt "$binary" ] || [ include/swiftlet.h -nt "$binary" ] || [ "$lib" -nt "$binary" ]; then
            "$clang" -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address -fuse-ld=lld -I include \
                "Tests/fuzz/targets/$target.c" -L "$(dirname "$lib")" -lswiftlet -Wl,-rpath,"$(dirname "$lib")" \
                -o "$binary" || return 1
        fi
    done
}

# A committed reproducer must now run clean.
replay() {  # replay TARGET FILE
    local log="$out/logs/replay-$1-$(basename "$2").log"
    mkdir -p "$out/logs"
    if "$out/bin/$1" -timeout=30 -rss_limit_mb=4096 "$2" >"$log" 2>&1; then return 0; fi
    grep -E -A12 '^==[0-9]+==ERROR|deadly signal|contract broken|returned [0-9]+ \(' "$log" | head -40 | sed 's/^/     | /'
    return 1
}

fuzz() {  # fuzz TARGET SECONDS
    local target="$1" seconds="$2"
    local corpus="$out/corpus/$target" findings="$out/findings/$target/" log="$out/logs/$target.log"
    mkdir -p "$corpus" "$findings" "$out/logs"
    local seeds=()
    [ -d "Tests/fuzz/corpus/$target" ] && seeds+=("Tests/fuzz/corpus/$target")
    [ -d "$out/work/seeds/$target" ] && seeds+=("$out/work/seeds/$target")
    local options=()
    read -r -a options <<<"$(target_options "$target")"
    [ -f "Tests/fuzz/targets/$target.dict" ] && options+=("-dict=Tests/fuzz/targets/$target.dict")
    local started=$SECONDS status=0
    "$out/bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$findings" "${options[@]}" "$corpus" "${seeds[@]}" >"$log" 2>&1 || status=$?
    local runs coverage
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    coverage="$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)"
    echo "     $target: ${runs:-?} inputs in $((SECONDS - started)) s, coverage ${coverage:-?} edges," \
         "corpus $(find "$corpus" -type f | wc -l) files"
    [ "$status" -eq 0 ] && return 0
    grep -E -A12 '^==[0-9]+==ERROR|deadly signal|contract broken|returned [0-9]+ \(|ALARM|out-of-memory' "$log" | head -40 | sed 's/^/     | /'
    echo "     | the input: $(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //')"
    echo "     | full log: $log; replay it: scripts/fuzz.sh repro $target FILE"
    return 1
}

if [ "${1:-}" = repro ]; then
    target="${2:?usage: $0 repro TARGET FILE...}"; shift 2
    build >/dev/null
    exec "$out/bin/$target" -timeout=30 -rss_limit_mb=4096 "$@"
fi

seconds="${1:-60}"; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(targets_all)

started=$SECONDS
if ! build; then
    check "fuzz: the instrumented library and the targets build" false
    summary fuzz; exit 1
fi
check "fuzz: the instrumented library and ${#targets[@]} targets build ($((SECONDS - started)) s)" true
for target in "${targets[@]}"; do
    for file in Tests/fuzz/crashes/"$target"/*; do
        [ -f "$file" ] || continue
        check "fuzz $target: $file runs clean" replay "$target" "$file"
    done
done
if [ "$seconds" -gt 0 ]; then
    for target in "${targets[@]}"; do
        check "fuzz $target: ${seconds} s without a crash" fuzz "$target" "$seconds"
    done
fi
summary fuzz
