#!/usr/bin/env bash
# Builds Debian's own jemalloc source (the same 5.3.0 as libjemalloc-dev) as a
# private static archive for libswiftlet.so (DESIGN decision 5):
#  - symbol prefix `swiftlet_je_` so it never collides with a host's malloc/jemalloc,
#  - --disable-initial-exec-tls so the .so can be dlopen'ed (e.g. into Python),
#  - -fPIC, static only; the linker's version script keeps every symbol hidden.
#  - retain:false, so memory of a destroyed arena (a freed model or context)
#    goes back to the system instead of staying mapped.
# The result is cached outside the clone in $SWIFTLET_JEMALLOC_PREFIX (the
# Makefile sets it; its name changes whenever these options do).
set -euo pipefail
cache="${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}"
prefix="${SWIFTLET_JEMALLOC_PREFIX:-$cache/jemalloc}"
if [ -f "$prefix/lib/libjemalloc_pic.a" ] || [ -f "$prefix/lib/libjemalloc.a" ]; then
    exit 0
fi
mkdir -p "$cache/src"
cd "$cache/src"
if ! ls -d jemalloc-*/ >/dev/null 2>&1; then
    if ! grep -rqs '^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/ ; then
        # Debian 12 ships deb822 sources; add the matching source entry once.
        if [ -f /etc/apt/sources.list.d/debian.sources ]; then
            sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
                > /etc/apt/sources.list.d/swiftlet-deb-src.sources
        else
            sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/swiftlet-deb-src.list
        fi
        apt-get update -qq
    fi
    apt-get source -qq jemalloc >/dev/null
fi
src=$(ls -d "$cache"/src/jemalloc-*/ | head -n 1)
cd "$src"
[ -x configure ] || autoconf >/dev/null
# Keep only the single archive we need; build objects out of the Debian tree.
build="$prefix.build"
rm -rf "$build" && mkdir -p "$build" && cd "$build"
CFLAGS="-O2 -fPIC -fvisibility=hidden" "$src/configure" --quiet \
    --prefix="$prefix" \
    --with-jemalloc-prefix=swiftlet_je_ \
    --with-private-namespace=swiftlet_je_internal_ \
    --disable-initial-exec-tls \
    --disable-cxx --disable-shared --enable-static \
    --disable-stats --disable-prof --disable-libdl \
    --with-malloc-conf=retain:false \
    --with-version=5.3.0-0-g0 >/dev/null
make -j"$(nproc)" build_lib_static >/dev/null
make install_lib_static install_include >/dev/null
cd / && rm -rf "$build"
