"""The numpy BERT reference (reference_bert.py) checked against independent
implementations, so it can be trusted as the reference for Swiftlet's encoder:

- all-MiniLM-L6-v2 ($SWIFTLET_MODEL_MINILM): on the input ids sentence-transformers
  produced, the reference's normalized mean-pooled embeddings match
  sentence-transformers' own (Tests/goldens/minilm_sentence_transformers.json,
  written by Tests/goldens/make_minilm_goldens.py) with cosine >= 0.99999 for every
  text (the bound asked of any engine), and, much tighter, every component within
  1e-6. Where these come from: the golden is torch's float32 rounded to 7
  significant digits, the reference float64; measured: 1 - cosine <= 4e-13 and
  components within 1.6e-7 (cosine is second order in the error, so it is a loose
  test on its own: the tanh approximation of gelu still gives 1 - cosine 2.6e-6,
  but components off by 4e-4, which the 1e-6 bound catches).
- a right-padded batch through the reference equals each sentence alone (1e-5):
  the attention mask really removes padded keys and pooling ignores padded rows.
- the golden's ids equal HF `tokenizers`' ids from the folder's tokenizer.json with
  truncation at sentence_bert_config.json's 256 (not tokenizer.json's own 128).
- the tiny folders of make_tiny_bert.py read back (F32 / F16 / BF16, 1 or 2 shards)
  to the weights that were written, and give the same embeddings batched or not.
"""
from __future__ import annotations

import hashlib
import json
import math
import os

import numpy as np
import pytest

import make_tiny_bert as tiny
import reference_bert as rb

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "goldens", "minilm_sentence_transformers.json")
COSINE_BOUND = 0.99999
COMPONENT_BOUND = 1e-6  # float32 torch + 7 significant digits: 1.6e-7 measured; tanh gelu: 4e-4


@pytest.fixture(scope="module")
def golden(minilm_folder) -> dict:
    with open(GOLDEN, encoding="utf-8") as f:
        g = json.load(f)
    digest = hashlib.sha256()
    with open(os.path.join(minilm_folder, "model.safetensors"), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != g["model"]["model_safetensors_sha256"]:
        pytest.fail(f"{minilm_folder}/model.safetensors is not the file the golden was made from", pytrace=False)
    return g


@pytest.fixture(scope="module")
def minilm(minilm_folder) -> rb.ReferenceBert:
    return rb.ReferenceBert(minilm_folder)


@pytest.fixture(scope="module")
def states_alone(golden, minilm) -> list[np.ndarray]:
    """Each sentence alone (no padding): its (layers+1, T, H) hidden states."""
    return [minilm.hidden_states(e["input_ids"]) for e in golden["entries"]]


@pytest.fixture(scope="module")
def one_by_one(states_alone) -> np.ndarray:
    """The reference's embeddings, each sentence alone: mean pooled, L2 normalized."""
    return np.stack([rb.l2_normalize(s[-1].mean(axis=0)) for s in states_alone])


def test_erf_matches_math_erf():
    x = np.concatenate([np.linspace(-10, 10, 40001), [0.0, -0.0, 1.9999999, 2.0, -2.0, 2.0000001, 30.0, -30.0]])
    expected = np.array([math.erf(v) for v in x])
    assert np.abs(rb.erf(x) - expected).max() < 1e-14


def test_golden_covers_the_corpus(golden):
    entries = golden["entries"]
    assert len(entries) >= 35
    lengths = [len(e["input_ids"]) for e in entries]
    assert min(lengths) == 2, "the empty string is [CLS] [SEP]"
    assert max(lengths) == golden["model"]["max_seq_length"] == 256, "one text is truncated at 256"
    for e in entries:
        assert e["input_ids"][0] == 101 and e["input_ids"][-1] == 102
        assert len(e["embedding"]) == 384
        assert abs(np.linalg.norm(e["embedding"]) - 1) < 1e-5


def test_reference_matches_sentence_transformers(golden, one_by_one):
    expected = np.array([e["embedding"] for e in golden["entries"]], dtype=np.float64)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    cosines = (one_by_one * expected).sum(axis=1)
    worst = int(np.argmin(cosines))
    print(f"\ncosine reference vs sentence-transformers: 1 - cosine at most {1 - cosines.min():.3g} "
          f"({golden['entries'][worst]['text'][:30]!r}), median {1 - np.median(cosines):.3g}")
    bad = [(golden["entries"][i]["text"][:40], float(c)) for i, c in enumerate(cosines) if c < COSINE_BOUND]
    assert not bad, f"cosine < {COSINE_BOUND}: {bad}"
    component = np.abs(one_by_one - expected).max()
    print(f"largest component difference {component:.3g}")
    assert component < COMPONENT_BOUND
    # and the semantics are the model's: a near-duplicate pair is closer than an unrelated one
    index = {e["text"]: i for i, e in enumerate(golden["entries"])}
    e = one_by_one
    near = e[index["The cat sat on the mat."]] @ e[index["A cat was sitting on a mat."]]
    far = e[index["The cat sat on the mat."]] @ e[index["Stock markets fell sharply after the announcement."]]
    assert near > far + 0.3


def test_padded_batch_equals_one_by_one(golden, minilm, states_alone, one_by_one):
    ids = [e["input_ids"] for e in golden["entries"]]
    by_length = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    longest, shortest = by_length[-1], by_length[0]
    # a batch of 12 lengths from 2 to the longest short text (padded to ~32, the
    # empty string's 2 ids among them), and the 256-id text with the empty string
    # and "hello" (254 and 253 padded positions)
    short = by_length[:-1]
    first = [short[round(k * (len(short) - 1) / 11)] for k in range(12)]
    second = [longest, shortest, 1]
    for group in (first, second):
        batch = [ids[i] for i in group]
        states, mask = minilm.hidden_states_batch(batch)
        assert states.shape[0] == minilm.config.num_hidden_layers + 1
        assert (mask.sum(axis=1) == [len(t) for t in batch]).all()
        embedded = rb.l2_normalize(rb.pool(states[-1], mask, "mean"))
        diff = np.abs(embedded - one_by_one[group]).max()
        assert diff < 1e-5, f"padded batch differs from one by one by {diff}"
        # each layer's output at the real positions, too
        for row, i in enumerate(group):
            layer_diff = np.abs(states[:, row, :len(ids[i])] - states_alone[i]).max()
            assert layer_diff < 1e-9, f"layer states of {golden['entries'][i]['text'][:30]!r} differ by {layer_diff}"
    # embed() itself (batched and not) on a few
    few = [ids[i] for i in (shortest, 4, 21)]
    assert np.abs(minilm.embed(few) - one_by_one[[shortest, 4, 21]]).max() < 1e-5
    assert np.abs(minilm.embed(few, batched=False) - one_by_one[[shortest, 4, 21]]).max() < 1e-12


def test_golden_ids_equal_tokenizers(golden, minilm_folder):
    texts = [e["text"] for e in golden["entries"]]
    ids = rb.tokenize(minilm_folder, texts)  # truncation at sentence_bert_config.json's 256
    for text, mine, e in zip(texts, ids, golden["entries"]):
        assert mine == e["input_ids"], f"ids differ for {text[:40]!r}"


# ------------------------------------------------------------- tiny folders

TINY_TEXTS = ["hello world", "The quick brown fox jumps over the lazy dog!", "東京 is big", "zzz qqq",
              "a " * 40, "", "Playing drums, eating pasta."]


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("shards", [1, 2])
def test_tiny_folder_reads_back(tmp_path, dtype, shards):
    folder = tiny.make_tiny_bert(str(tmp_path / "tiny"), dtype=dtype, shards=shards, seed=3)
    written = tiny.random_weights(len(tiny.vocabulary()), seed=3)
    read = rb.load_weights(folder)
    assert set(read) == set(written)
    assert os.path.exists(os.path.join(folder, "model.safetensors.index.json")) == (shards == 2)
    # F16 keeps 11 significant bits, BF16 8 (round to nearest: half an ulp)
    rtol = {"f32": 0.0, "f16": 2.0 ** -11, "bf16": 2.0 ** -8}[dtype]
    atol = 2.0 ** -25 if dtype == "f16" else 0.0  # half of F16's smallest subnormal step
    for name, w in written.items():
        r = read[name]
        assert r.shape == w.shape, name
        if w.dtype == np.int64:
            assert r.dtype == np.int64 and (r == w).all(), name
        else:
            assert np.all(np.abs(r.astype(np.float64) - w) <= rtol * np.abs(w) + atol), name


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_tiny_folder_batch_equals_one_by_one(tmp_path, pooling):
    folder = tiny.make_tiny_bert(str(tmp_path / "tiny"), pooling=pooling)
    ref = rb.ReferenceBert(folder)
    assert ref.config.pooling == pooling and ref.config.normalize
    ids = rb.tokenize(folder, TINY_TEXTS)
    assert max(len(t) for t in ids) == tiny.MAX_SEQ_LENGTH, "sentence_bert_config.json's limit, not tokenizer.json's 24"
    assert ids[5] == [2, 3]
    batched, alone = ref.embed(ids), ref.embed(ids, batched=False)
    assert np.abs(batched - alone).max() < 1e-12
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0)
    # distinct texts give distinct embeddings (the model is not degenerate)
    sims = batched @ batched.T
    assert sims[~np.eye(len(ids), dtype=bool)].max() < 0.99
