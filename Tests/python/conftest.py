"""pytest fixtures for Swiftlet's Python tests.

- `tiny_dir` / `tiny_paths`: the standard tiny models (make_tiny_models.py),
  written once per session into a temporary directory.
- `lib`: libswiftlet loaded through swiftlet_ctypes ($SWIFTLET_LIB or
  <repo>/build/lib/libswiftlet.so). A missing library is an error, not a skip.
- `tiny_model(name)`: a loaded model handle per tiny model, freed at session end.
- `real_model_path` / `real_model`: the real model from $SWIFTLET_MODEL_Q4_1;
  `gemma3_model_path` / `gemma3_model`: Gemma 3 270M from $SWIFTLET_MODEL_GEMMA3
  (required: the suite is meant to be run with it).
- `minilm_folder`: all-MiniLM-L6-v2's Hugging Face folder from $SWIFTLET_MODEL_MINILM
  (scripts/fetch-minilm.sh; required like the models above).
"""
from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import make_tiny_models as mk  # noqa: E402
import reference_llama as refmod  # noqa: E402
import swiftlet_ctypes as sw  # noqa: E402

TINY_SPECS = mk.STANDARD_SPECS + mk.ARCHITECTURE_SPECS + mk.QUANT_SPECS
TINY_NAMES = [s.name for s in TINY_SPECS]


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("tiny-models")
    mk.write_standard_set(str(d), TINY_SPECS)
    return str(d)


@pytest.fixture(scope="session")
def tiny_paths(tiny_dir) -> dict[str, str]:
    return {name: os.path.join(tiny_dir, name + ".gguf") for name in TINY_NAMES}


@pytest.fixture(scope="session")
def references(tiny_paths) -> dict[str, refmod.ReferenceLlama]:
    return {name: refmod.ReferenceLlama(p) for name, p in tiny_paths.items()}


@pytest.fixture(scope="session")
def lib():
    path = sw.library_path()
    if not os.path.exists(path):
        pytest.fail(f"libswiftlet not found at {path}: build it or set SWIFTLET_LIB", pytrace=False)
    try:
        return sw.load()
    except (OSError, AttributeError) as e:
        pytest.fail(f"could not load {path}: {e}", pytrace=False)


class _ModelCache:
    def __init__(self, paths):
        self.paths = paths
        self.handles: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        h = self.handles.get(name)
        if h is None:
            h = sw.model_load(self.paths[name], n_threads=2)
            self.handles[name] = h
        return h

    def close(self):
        for h in self.handles.values():
            sw.load().swiftlet_model_free(h)
        self.handles.clear()


@pytest.fixture(scope="session")
def tiny_model(lib, tiny_paths):
    """Call with a tiny model name; returns a loaded (shared, read-only) model handle."""
    cache = _ModelCache(tiny_paths)
    yield cache
    cache.close()


@pytest.fixture
def make_context(lib):
    """make_context(model, **params) -> context handle, freed after the test."""
    made = []

    def make(model, **params):
        params.setdefault("n_threads", 2)
        c = sw.context_create(model, **params)
        made.append(c)
        return c

    yield make
    for c in made:
        lib.swiftlet_context_free(c)


def required_model(variable: str, what: str) -> str:
    """The model file $`variable` names; the suite fails (not skips) without it."""
    p = os.environ.get(variable)
    if not p:
        pytest.fail(f"{variable} is not set: point it at {what} -- the suite must be run with it", pytrace=False)
    if not os.path.isfile(p):
        pytest.fail(f"{variable}={p} does not exist", pytrace=False)
    return p


@pytest.fixture(scope="session")
def real_model_path() -> str:
    return required_model("SWIFTLET_MODEL_Q4_1", "the real model GGUF (SmolLM2-135M-Instruct, Q4_1)")


@pytest.fixture(scope="session")
def gemma3_model_path() -> str:
    """Gemma 3 270M (Q4_K_M) from $SWIFTLET_MODEL_GEMMA3 (scripts/fetch-gemma3.sh; `make test` sets it)."""
    return required_model("SWIFTLET_MODEL_GEMMA3", "gemma-3-270m-q4_k_m.gguf (scripts/fetch-gemma3.sh)")


@pytest.fixture(scope="session")
def minilm_folder() -> str:
    """all-MiniLM-L6-v2's Hugging Face folder (config.json, model.safetensors, tokenizer.json, ...)
    from $SWIFTLET_MODEL_MINILM (scripts/fetch-minilm.sh; `make test` sets it). Fails, not skips, without it."""
    p = os.environ.get("SWIFTLET_MODEL_MINILM")
    if not p:
        pytest.fail("SWIFTLET_MODEL_MINILM is not set: point it at the all-MiniLM-L6-v2 folder "
                    "(scripts/fetch-minilm.sh) -- the suite must be run with it", pytrace=False)
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        if not os.path.isfile(os.path.join(p, name)):
            pytest.fail(f"SWIFTLET_MODEL_MINILM={p} is not the all-MiniLM-L6-v2 folder: it has no {name}", pytrace=False)
    return p


@pytest.fixture(scope="session")
def gemma3_model(lib, gemma3_model_path):
    h = sw.model_load(gemma3_model_path)
    yield h
    lib.swiftlet_model_free(h)


@pytest.fixture(scope="session")
def real_model(lib, real_model_path):
    h = sw.model_load(real_model_path)
    yield h
    lib.swiftlet_model_free(h)
