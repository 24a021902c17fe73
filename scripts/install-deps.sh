#!/usr/bin/env bash
# Installs what building and testing Swiftlet needs on Debian, skipping what is
# already there: build tools and OpenBLAS from apt, the private jemalloc
# (scripts/build-jemalloc.sh), and the Python test packages from PyPI.
# As root it runs apt-get directly; otherwise through sudo.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

# mono-mcs and mono-runtime: the C# binding (make csharp) is built and tested under Mono.
apt_packages=(build-essential autoconf dpkg-dev libopenblas-dev python3-pip unzip mono-mcs mono-runtime)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing from apt: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

"$here/build-jemalloc.sh"

# jsonschema (with rfc3339-validator for its time and date-time checks): the
# judge of the JSON Schema grammars (Tests/python/test_json_schema_grammar.py)
# and of the json_reply example (scripts/run-tests.sh).
python_packages=(numpy gguf pytest tokenizers jsonschema rfc3339-validator)
if ! python3 -c "import numpy, gguf, pytest, tokenizers, jsonschema, rfc3339_validator" >/dev/null 2>&1; then
    echo "installing from PyPI: ${python_packages[*]}"
    python3 -m pip install -q "${python_packages[@]}"
fi
