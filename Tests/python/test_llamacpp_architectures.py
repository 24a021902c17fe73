"""The tiny qwen2 and gpt2 models against llama.cpp (goldens made by
Tests/goldens/make_llamacpp_architecture_goldens.py with llama-cpp-python),
compared near-tie aware as the SmolLM2 goldens are (test_llamacpp_agreement.py):
top-1 equal at every teacher-forced position where llama.cpp's top-2 margin is
at least MIN_DECIDED_MARGIN, and the same at every decided step of llama.cpp's
greedy continuation. The reference tests (test_reference_forward.py) check the
same models value by value against numpy; this checks that the reference and
Swiftlet read the architectures as llama.cpp does."""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

import swiftlet_ctypes as sw
from llamacpp_compare import MIN_DECIDED_MARGIN, teacher_forced_stats

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "goldens", "llamacpp_architectures.json")
N_VOCAB = 300

with open(GOLDENS) as _f:
    _GOLDENS = json.load(_f)
MODELS = {m["name"]: m for m in _GOLDENS["models"]}


@pytest.fixture(params=sorted(MODELS))
def golden(request, tiny_paths):
    g = MODELS[request.param]
    path = tiny_paths[g["name"]]
    sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
    assert sha == g["sha256"], (f"{g['name']}: the tiny model's bytes changed (gguf package version?): "
                                "regenerate Tests/goldens/llamacpp_architectures.json")
    return g


def test_teacher_forced_top1_matches_llamacpp(golden, tiny_model, make_context):
    ctx = make_context(tiny_model(golden["name"]), n_ctx=64)
    logits = sw.eval_all_logits(ctx, golden["tokens"], N_VOCAB)
    stats = teacher_forced_stats(golden["teacher_forced"], np.asarray(logits, dtype=np.float64))
    assert stats["decided"] >= stats["positions"] // 2, stats   # the comparison is not vacuous
    assert not stats["decided_disagreements"], stats


def test_greedy_path_matches_llamacpp_where_decided(golden, tiny_model, make_context):
    """Along llama.cpp's own greedy path (its chosen token is fed back at every
    step, so one near tie cannot derail the rest), Swiftlet picks the same
    token at every step where llama.cpp's top-2 margin is decided."""
    ctx = make_context(tiny_model(golden["name"]), n_ctx=64)
    greedy = golden["greedy"]
    steps = greedy["steps"]
    feed, decided = list(greedy["prompt_tokens"]), 0
    for i, (want, margin) in enumerate(zip(steps["token"], steps["margin"])):
        sw.eval_tokens(ctx, feed)
        got = int(np.argmax(sw.logits(ctx, N_VOCAB)))
        if margin >= MIN_DECIDED_MARGIN:
            assert got == want, f"step {i}: swiftlet {got}, llama.cpp {want} (margin {margin}, top-5 {steps['top_ids'][i]})"
            decided += 1
        feed = [want]
    assert decided >= len(steps) // 2, f"only {decided} of {len(steps)} steps decided"
