#!/usr/bin/env bash
# Writes a linker version script that exports exactly the functions declared
# in the public header and hides everything else (the Swift runtime, jemalloc).
set -euo pipefail
header="$1"
echo "{"
echo "  global:"
scripts/header-functions.sh "$header" | sed 's/.*/    &;/'
echo "  local: *;"
echo "};"
