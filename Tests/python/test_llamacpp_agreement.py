"""Swiftlet against llama.cpp on the real model (SmolLM2-135M-Instruct).

llama.cpp does not run here: its results are goldens made once by
Tests/goldens/make_llamacpp_goldens.py and committed:
  - llamacpp_q8_0_tensors.json: llama.cpp's Q8_0 requantization of the shipped
    Q4_1 file, per tensor (type, shape, sha256 of the data).
  - llamacpp_smollm2.json: greedy continuations (one eval per generated token)
    and a teacher-forced pass over a long text, for the Q4_1 file and for
    llama.cpp's Q8_0 file (top-5 ids + log-probs and the top-2 margin).

Swiftlet's Q8_0 file is made by `$SWIFTLET_CLI quantize` (default
<repo>/build/bin/swiftlet). If its tensors equal llama.cpp's bit for bit, the
"q8_0" goldens apply to it exactly.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess

import numpy as np
import pytest

import swiftlet_ctypes as sw
# The thresholds (and the numbers behind them) and the comparisons, shared with
# test_llamacpp_quant_types.py and test_llamacpp_architectures.py.
from llamacpp_compare import (  # noqa: F401  (the thresholds and helpers, shared)
    MAX_MEDIAN_ABS_DLOGPROB,
    MIN_DECIDED_MARGIN,
    MIN_GREEDY_COMPARED_FRACTION,
    MIN_TOP1_AGREEMENT,
    assert_teacher_forced_agrees,
    compare_greedy_prompts,
    log_softmax_rows,
    teacher_forced_stats,
)
from llamacpp_compare import sha256_file as _sha256_file

GOLDENS_DIR = os.path.join(sw.REPO_ROOT, "Tests", "goldens")
LLAMACPP_GOLDENS = os.path.join(GOLDENS_DIR, "llamacpp_smollm2.json")
LLAMACPP_TENSORS = os.path.join(GOLDENS_DIR, "llamacpp_q8_0_tensors.json")

N_CTX = 2048
N_THREADS = 2

FILES = ["q4_1", "q8_0"]


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def llamacpp_goldens() -> dict:
    with open(LLAMACPP_GOLDENS) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def llamacpp_tensors() -> dict:
    with open(LLAMACPP_TENSORS) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def checked_q4_1_path(real_model_path, llamacpp_tensors) -> str:
    """$SWIFTLET_MODEL_Q4_1, checked to be the file the goldens were made from."""
    want = llamacpp_tensors["source"]["sha256"]
    got = _sha256_file(real_model_path)
    if got != want:
        pytest.fail(f"{real_model_path} (sha256 {got}) is not the file the llama.cpp goldens were made "
                    f"from ({llamacpp_tensors['source']['file']}, sha256 {want})", pytrace=False)
    return real_model_path


@pytest.fixture(scope="session")
def swiftlet_cli() -> str:
    path = os.environ.get("SWIFTLET_CLI") or os.path.join(sw.REPO_ROOT, "build", "bin", "swiftlet")
    if not os.path.isfile(path):
        pytest.fail(f"swiftlet CLI not found at {path}: build it or set SWIFTLET_CLI", pytrace=False)
    return path


@pytest.fixture(scope="session")
def swiftlet_q8_0_path(swiftlet_cli, checked_q4_1_path, tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("swiftlet-q8_0") / "SmolLM2-135M-Instruct.swiftlet-Q8_0.gguf")
    proc = subprocess.run([swiftlet_cli, "quantize", checked_q4_1_path, out],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not os.path.isfile(out):
        pytest.fail(f"`swiftlet quantize` failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}",
                    pytrace=False)
    return out


@pytest.fixture(scope="session")
def agreement_models(lib, checked_q4_1_path, swiftlet_q8_0_path):
    """{"q4_1": handle, "q8_0": handle} -- the shipped file and Swiftlet's Q8_0 file."""
    handles = {"q4_1": sw.model_load(checked_q4_1_path, n_threads=N_THREADS),
               "q8_0": sw.model_load(swiftlet_q8_0_path, n_threads=N_THREADS)}
    yield handles
    for h in handles.values():
        lib.swiftlet_model_free(h)


# ---------------------------------------------------------------- the tests


def _reader_fields(reader) -> dict:
    return {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}


def test_quantize_matches_llamacpp_bit_for_bit(swiftlet_q8_0_path, llamacpp_tensors):
    import gguf
    reader = gguf.GGUFReader(swiftlet_q8_0_path)
    ours = {}
    for t in reader.tensors:
        raw = np.ascontiguousarray(t.data).view(np.uint8).tobytes()
        ours[t.name] = {"type": t.tensor_type.name, "shape": [int(x) for x in t.shape],
                        "n_bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    want = {t["name"]: t for t in llamacpp_tensors["tensors"]}
    missing = sorted(set(want) - set(ours))
    extra = sorted(set(ours) - set(want))
    assert not missing and not extra, f"tensor names differ: missing {missing[:10]}, extra {extra[:10]}"
    problems = []
    for name, w in want.items():
        o = ours[name]
        for key in ("type", "shape", "sha256"):
            if o[key] != w[key]:
                problems.append(f"{name}: {key} {o[key]} != llama.cpp's {w[key]}"
                                + (f" (bytes {o['n_bytes']} vs {w['n_bytes']})" if key == "sha256" else ""))
                break
    assert not problems, (f"{len(problems)} of {len(want)} tensors differ from llama.cpp's Q8_0:\n  "
                          + "\n  ".join(problems[:15]))


def test_quantize_carries_metadata_over(swiftlet_q8_0_path, checked_q4_1_path, llamacpp_tensors):
    import gguf
    src = _reader_fields(gguf.GGUFReader(checked_q4_1_path))
    out = _reader_fields(gguf.GGUFReader(swiftlet_q8_0_path))
    missing = [k for k in src if k not in out]
    assert not missing, f"metadata keys not carried over: {missing}"
    changed = []
    for k, f in src.items():
        if k == "general.file_type":
            continue
        g = out[k]
        if list(f.types) != list(g.types) or f.contents() != g.contents():
            changed.append(k)
    assert not changed, f"metadata values or types changed by quantize: {changed}"
    # llama.cpp marks the result as LLAMA_FTYPE_MOSTLY_Q8_0
    want_ftype = llamacpp_tensors["output"]["metadata"]["general.file_type"]
    assert out["general.file_type"].contents() == want_ftype


@pytest.mark.parametrize("which", FILES)
def test_tokenization_matches_llamacpp(which, agreement_models, llamacpp_goldens):
    """The golden ids below are fed as ids; this checks Swiftlet would make the same ones."""
    model = agreement_models[which]
    g = llamacpp_goldens["files"][which]
    flags_bos = sw.TOKENIZE_ADD_BOS if g["add_bos"] else 0
    for p in g["prompts"]:
        flags = flags_bos | (sw.TOKENIZE_SPECIAL if p["special"] else 0)
        assert sw.tokenize(model, p["text"], flags) == p["prompt_tokens"], p["name"]
    assert sw.tokenize(model, llamacpp_goldens["long_text"], flags_bos) == g["long_text"]["tokens"]


@pytest.mark.parametrize("which", FILES)
def test_greedy_continuations_match_llamacpp(which, agreement_models, make_context, llamacpp_goldens):
    model = agreement_models[which]
    n_vocab = sw.load().swiftlet_vocab_size(model)
    ctx = make_context(model, n_ctx=N_CTX, n_threads=N_THREADS)
    summary, failures, compared, total = compare_greedy_prompts(which, llamacpp_goldens["files"][which]["prompts"],
                                                                ctx, n_vocab)
    assert not failures, summary + "\n" + "\n".join(failures)
    assert compared >= MIN_GREEDY_COMPARED_FRACTION * total, summary


@pytest.mark.parametrize("which", FILES)
def test_teacher_forced_logprobs_match_llamacpp(which, agreement_models, make_context, llamacpp_goldens):
    model = agreement_models[which]
    n_vocab = sw.load().swiftlet_vocab_size(model)
    g = llamacpp_goldens["files"][which]["long_text"]
    ctx = make_context(model, n_ctx=N_CTX, n_threads=N_THREADS)
    logits = sw.eval_all_logits(ctx, g["tokens"], n_vocab)
    s = teacher_forced_stats(g, logits)
    del logits
    assert_teacher_forced_agrees(which, s)
