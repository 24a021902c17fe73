"""Fixtures for the swiftlet package's tests.

- `model_path`: the real model, $SWIFTLET_MODEL_Q4_1 (SmolLM2-135M-Instruct
  Q4_1; `make test` sets it). Required: the suite fails without it.
- `model`: that model loaded once per session (evaluation on one thread:
  deterministic and fast on a shared 2-core machine).
- `gemma3`: Gemma 3 270M, $SWIFTLET_MODEL_GEMMA3 (a template that writes
  BOS itself, for chat batches).
- `tiny_paths`: the tiny random models of Tests/python/make_tiny_models.py,
  written once per session.

The package under test is whatever `import swiftlet` finds: the installed
package when scripts/test-python-package.sh runs this suite.
"""
from __future__ import annotations

import os
import sys
from typing import Iterator

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TINY_MODEL_TOOLS = os.path.join(REPO, "Tests", "python")
if TINY_MODEL_TOOLS not in sys.path:
    sys.path.append(TINY_MODEL_TOOLS)

import swiftlet  # noqa: E402

THREADS = 1
PARIS_PROMPT = "The capital of France is"
# A chat question whose greedy reply is not decided by a near tie (first-token
# margin ~0.7 logits; "What is the capital of France?" is a 0.1 tie between
# "The" and "L'", which llama.cpp itself resolves the other way).
PARIS_QUESTION = "Complete: The capital of France is"


@pytest.fixture(scope="session")
def model_path() -> str:
    path = os.environ.get("SWIFTLET_MODEL_Q4_1")
    if not path:
        pytest.fail("SWIFTLET_MODEL_Q4_1 is not set: point it at SmolLM2-135M-Instruct.Q4_1.gguf "
                    "(scripts/fetch-model.sh prints the path)", pytrace=False)
    if not os.path.isfile(path):
        pytest.fail(f"SWIFTLET_MODEL_Q4_1={path} does not exist", pytrace=False)
    return path


@pytest.fixture(scope="session")
def model(model_path: str) -> Iterator[swiftlet.Model]:
    with swiftlet.Model(model_path, n_threads=THREADS, n_ctx=1024) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """all-MiniLM-L6-v2's Hugging Face folder (scripts/fetch-minilm.sh; `make test` sets it)."""
    path = os.environ.get("SWIFTLET_MODEL_MINILM")
    if not path:
        pytest.fail("SWIFTLET_MODEL_MINILM is not set: point it at the all-MiniLM-L6-v2 folder "
                    "(scripts/fetch-minilm.sh prints the path)", pytrace=False)
    if not os.path.isdir(path):
        pytest.fail(f"SWIFTLET_MODEL_MINILM={path} is not a folder", pytrace=False)
    return path


@pytest.fixture(scope="session")
def minilm(minilm_path: str) -> Iterator[swiftlet.Model]:
    with swiftlet.Model(minilm_path, n_threads=THREADS) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def gemma3_path() -> str:
    """Gemma 3 270M Q4_K_M (scripts/fetch-gemma3.sh; `make test` sets it)."""
    path = os.environ.get("SWIFTLET_MODEL_GEMMA3")
    if not path:
        pytest.fail("SWIFTLET_MODEL_GEMMA3 is not set: point it at gemma-3-270m-q4_k_m.gguf "
                    "(scripts/fetch-gemma3.sh prints the path)", pytrace=False)
    if not os.path.isfile(path):
        pytest.fail(f"SWIFTLET_MODEL_GEMMA3={path} does not exist", pytrace=False)
    return path


@pytest.fixture(scope="session")
def gemma3(gemma3_path: str) -> Iterator[swiftlet.Model]:
    with swiftlet.Model(gemma3_path, n_threads=THREADS) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def tiny_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    import make_tiny_models as mk
    directory = tmp_path_factory.mktemp("tiny-models")
    return mk.write_standard_set(str(directory))


@pytest.fixture(scope="session")
def tiny_path(tiny_paths: dict[str, str]) -> str:
    """One tiny model (F32 weights: no quantization noise)."""
    return tiny_paths["tiny-f32-mha-tied"]


@pytest.fixture
def tiny(tiny_path: str) -> Iterator[swiftlet.Model]:
    with swiftlet.Model(tiny_path, n_threads=THREADS) as loaded:
        yield loaded
