#!/usr/bin/env bash
# `make test-cpus`: the release library on other x86-64 CPUs, emulated with
# qemu-user (Debian's qemu-user package, installed from apt when missing):
#
#   -cpu Nehalem   SSE4.2, no AVX: the portable kernels are chosen, and
#                  bindings/c/examples/generate.c gives the greedy text it gives
#                  natively with SWIFTLET_PORTABLE_KERNELS=1;
#   -cpu Haswell   AVX2 + FMA, no AVX-512: the AVX2 kernels are chosen, and the
#                  text equals the native run with SWIFTLET_KERNELS=avx2.
#
# Both runs must end normally (an instruction the emulated CPU lacks kills the
# program with SIGILL). qemu computes IEEE arithmetic exactly, so the same
# kernel set gives the same logits and the same greedy tokens. Emulated AVX2
# is slow (3-4 s a token on 2 idle cores, 3-4 times that on a busy machine),
# so the runs are short: about a minute each on an idle machine.
# Needs build/bin/generate (make examples) and SWIFTLET_MODEL_Q4_1 (the Makefile sets both up).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SWIFTLET_MODEL_Q4_1:?set SWIFTLET_MODEL_Q4_1 to the real model (make test-cpus does)}"
out=build/cpus
source scripts/checks.sh

if ! command -v qemu-x86_64 >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing from apt: qemu-user"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq qemu-user >/dev/null
fi

mkdir -p "$out"
# A one-line probe: which kernel set the library chose on this CPU.
cat >"$out/system_info.c" <<'EOF'
#include <stdio.h>
#include "swiftlet.h"
int main(void) { puts(swiftlet_system_info()); return 0; }
EOF
cc -std=c99 -I include "$out/system_info.c" -L build/lib -lswiftlet -Wl,-rpath,"$PWD/build/lib" -o "$out/system_info"

prompt="The capital of France is"
export SWIFTLET_RAW=1  # a raw continuation: generate.c samples greedily

# cpu NAME KERNELS NATIVE_ENV TOKENS
cpu() {
    local name="$1" kernels="$2" native_env="$3" tokens="$4"
    local info
    info="$(qemu-x86_64 -cpu "$name" "$out/system_info" 2>/dev/null)" || true
    echo "     | $info"
    check "qemu -cpu $name: the library chooses the $kernels kernels" grep -q "kernels $kernels" <<<"$info"

    local started=$SECONDS status=0
    env "$native_env" build/bin/generate "$SWIFTLET_MODEL_Q4_1" "$prompt" "$tokens" >"$out/$name-native.txt" 2>/dev/null
    qemu-x86_64 -cpu "$name" build/bin/generate "$SWIFTLET_MODEL_Q4_1" "$prompt" "$tokens" \
        >"$out/$name-qemu.txt" 2>"$out/$name-qemu.err" || status=$?
    sed 's/^/     | /' "$out/$name-qemu.txt"
    echo "     | ($tokens tokens, $((SECONDS - started)) s; exit status $status)"
    local same=1
    [ "$status" -eq 0 ] && cmp -s "$out/$name-native.txt" "$out/$name-qemu.txt" && same=0
    check "qemu -cpu $name: generate.c ends normally with the native $kernels kernels' greedy text" [ "$same" -eq 0 ]
    if [ "$same" -ne 0 ]; then
        echo "     | native ($native_env):"; sed 's/^/     |   /' "$out/$name-native.txt"
        grep -v "TCG doesn't support" "$out/$name-qemu.err" | tail -5 | sed 's/^/     | /'
    fi
}

cpu Nehalem portable SWIFTLET_PORTABLE_KERNELS=1 24
if grep -qw avx2 /proc/cpuinfo; then
    cpu Haswell avx2 SWIFTLET_KERNELS=avx2 10
else
    echo "     (this CPU has no AVX2: the Haswell run has no native run to compare with; skipped)"
fi
summary cpus
