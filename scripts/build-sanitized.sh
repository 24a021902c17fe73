#!/usr/bin/env bash
# Builds libswiftlet.so instrumented for one kind of checking and prints its
# path (build/<kind>/lib/libswiftlet.so). Each kind has its own SwiftPM scratch
# directory, so builds are incremental (seconds when nothing changed; about a
# minute from scratch on 2 cores) and never touch the release build in .build/.
#
#   scripts/build-sanitized.sh fuzz   AddressSanitizer + libFuzzer coverage (.build-fuzz)
#   scripts/build-sanitized.sh asan   AddressSanitizer, plus the gguf-inspect driver (.build-asan)
#   scripts/build-sanitized.sh tsan   ThreadSanitizer (.build-tsan)
#
# Unlike the release build, the private jemalloc is left out (no
# -DSWIFTLET_JEMALLOC, no archive): the C shim then takes arena memory from the
# system allocator, which the sanitizers intercept, so every allocation is
# seen. The Swift runtime is still linked statically and only the header's
# functions are exported; symbols are kept for the sanitizers' stack traces.
# The sanitizer runtime itself comes from the program that loads the library
# (clang -fsanitize=... for C; LD_PRELOAD of the runtime for Python).
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:?usage: $0 fuzz|asan|tsan}"
case "$kind" in
    fuzz) sanitize=(-Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address,fuzzer-no-link); products=(swiftlet) ;;
    asan) sanitize=(-Xswiftc -sanitize=address -Xcc -fsanitize=address); products=(swiftlet GGUFInspect) ;;
    tsan) sanitize=(-Xswiftc -sanitize=thread -Xcc -fsanitize=thread); products=(swiftlet) ;;
    *) echo "unknown kind '$kind' (fuzz, asan or tsan)" >&2; exit 2 ;;
esac
out="build/$kind"
mkdir -p "$out/lib" "$out/bin"
scripts/export-map.sh include/swiftlet.h > "$out/swiftlet.map.new"
cmp -s "$out/swiftlet.map.new" "$out/swiftlet.map" 2>/dev/null && rm "$out/swiftlet.map.new" || mv "$out/swiftlet.map.new" "$out/swiftlet.map"
flags=(-c release --scratch-path ".build-$kind" -Xswiftc -static-stdlib "${sanitize[@]}"
       -Xlinker "--version-script=$PWD/$out/swiftlet.map")
for product in "${products[@]}"; do
    swift build "${flags[@]}" --product "$product" >&2
done
bin="$(swift build "${flags[@]}" --show-bin-path)"
cp -p "$bin/libswiftlet.so" "$out/lib/"
[ ! -f "$bin/GGUFInspect" ] || [[ " ${products[*]} " != *" GGUFInspect "* ]] || cp -p "$bin/GGUFInspect" "$out/bin/gguf-inspect"
echo "$PWD/$out/lib/libswiftlet.so"
