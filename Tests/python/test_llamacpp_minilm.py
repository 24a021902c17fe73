"""The GGUF `swiftlet convert` writes is one llama.cpp reads as the model it is.

Tests/goldens/llamacpp_minilm.json holds llama.cpp's embeddings of
all-MiniLM-L6-v2 loaded from that GGUF (make_llamacpp_minilm_goldens.py).
Where llama.cpp tokenizes a text as sentence-transformers does, its
embedding equals sentence-transformers' (fp32 throughout: cosine 0.99999),
which shows the converted metadata and tensors mean to llama.cpp what the
folder means to Hugging Face. It tokenizes two texts otherwise, both known
llama.cpp behaviour, not the file's: Hangul syllables are not decomposed
the way HF's BERT normalizer does when it strips accents, and it does not
truncate at sentence_bert_config.json's 256 tokens.

Swiftlet's own embeddings of the same texts are within the int8 weights'
error of llama.cpp's.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import swiftlet_ctypes as sw

GOLDENS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "goldens")


def load(name: str) -> list[dict]:
    with open(os.path.join(GOLDENS, name)) as f:
        return json.load(f)["entries"]


def cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def pairs() -> list[tuple[dict, dict]]:
    llama, st = load("llamacpp_minilm.json"), load("minilm_sentence_transformers.json")
    assert [e["text"] for e in llama] == [e["text"] for e in st]
    return list(zip(llama, st))


def test_llamacpp_reads_the_converted_file_as_the_model(pairs):
    same = [(l, s) for l, s in pairs if l["input_ids"] == s["input_ids"]]
    differing = [l["text"] for l, s in pairs if l["input_ids"] != s["input_ids"]]
    assert len(differing) == 2 and any("한국어" in t for t in differing), differing
    assert min(cosine(l["embedding"], s["embedding"]) for l, s in same) >= 0.99999


def test_swiftlet_agrees_with_llamacpp(lib, make_context, minilm_folder, pairs):
    same = [l for l, s in pairs if l["input_ids"] == s["input_ids"]]
    model = sw.model_load(minilm_folder, n_threads=2)
    try:
        ours = sw.embed(make_context(model, n_threads=2), [e["text"] for e in same], 384)
    finally:
        lib.swiftlet_model_free(model)
    assert min(cosine(o, e["embedding"]) for o, e in zip(ours, same)) >= 0.999
