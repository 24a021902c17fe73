#!/usr/bin/env bash
# The Python package's test suite, as `make test` runs it:
#   1. a fresh virtual environment in a temporary directory;
#   2. `pip install ./bindings/python` into it with no environment variables
#      set (the build hook bundles build/lib/libswiftlet.so, or runs `make build`);
#   3. a check that the installed package holds libswiftlet.so and works with
#      no Swift toolchain on the PATH (PATH=/usr/bin:/bin, nothing else set);
#   4. pytest on bindings/python/tests with that environment's Python.
# Exits with pytest's status (or 1 if steps 1-3 fail). Needs the real models:
# $SWIFTLET_MODEL_Q4_1, $SWIFTLET_MODEL_MINILM and $SWIFTLET_MODEL_GEMMA3, else
# scripts/fetch-model.sh, fetch-minilm.sh and fetch-gemma3.sh provide them.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

model="${SWIFTLET_MODEL_Q4_1:-$(scripts/fetch-model.sh)}"
minilm="${SWIFTLET_MODEL_MINILM:-$(scripts/fetch-minilm.sh)}"
gemma3="${SWIFTLET_MODEL_GEMMA3:-$(scripts/fetch-gemma3.sh)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
venv="$work/venv"
python="$venv/bin/python"

echo "== fresh venv: $venv"
python3 -m venv "$venv"

echo "== pip install ./bindings/python (no environment variables)"
rm -rf bindings/python/build   # stale in-tree build output would leak into the package
env -i HOME="$HOME" PATH="$PATH" "$python" -m pip install -q --disable-pip-version-check ./bindings/python

echo "== the installed package is self-contained (PATH=/usr/bin:/bin, no Swift)"
env -i PATH=/usr/bin:/bin "$python" - "$model" <<'PY'
import os, shutil, sys
import swiftlet
assert shutil.which("swift") is None, "a Swift toolchain is on the PATH"
package = os.path.dirname(os.path.abspath(swiftlet.__file__))
bundled = os.path.join(package, "libswiftlet.so")
assert os.path.isfile(bundled), f"{bundled} is missing"
assert swiftlet.library_path() == bundled, swiftlet.library_path()
with swiftlet.Model(sys.argv[1]) as model:
    text = model.generate("The capital of France is", max_tokens=4, temperature=0)
assert "Paris" in text, text
print(f"   ok: {bundled} ({os.path.getsize(bundled)} bytes), library {swiftlet.version()}: {text!r}")
PY

echo "== test dependencies"
"$python" -m pip install -q --disable-pip-version-check pytest gguf build jsonschema

echo "== pytest bindings/python/tests"
status=0
(cd bindings/python && env -u SWIFTLET_LIBRARY SWIFTLET_MODEL_Q4_1="$model" SWIFTLET_MODEL_MINILM="$minilm" \
    SWIFTLET_MODEL_GEMMA3="$gemma3" "$python" -m pytest -q -p no:cacheprovider tests) || status=$?
rm -rf bindings/python/build bindings/python/src/swiftlet.egg-info
exit $status
