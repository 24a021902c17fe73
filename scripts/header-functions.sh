#!/usr/bin/env bash
# Lists the functions the public header declares, one per line, sorted: the
# identifier right before the '(' of each declaration line.
set -euo pipefail
grep -E '^[A-Za-z].*[ *]swiftlet_[a-z0-9_]+\(' "$1" | grep -v '^typedef' |
    grep -oE 'swiftlet_[a-z0-9_]+\(' | tr -d '(' | sort -u
