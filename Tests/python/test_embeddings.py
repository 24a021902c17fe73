"""Sentence embeddings (swiftlet_embed): BERT encoders loaded from Hugging Face
folders, against independent references.

- all-MiniLM-L6-v2 against sentence-transformers' own embeddings
  (Tests/goldens/minilm_sentence_transformers.json, made by
  Tests/goldens/make_minilm_goldens.py) and its tokenizer's ids.
- Tiny random BERT folders (make_tiny_bert.py; F32, F16, BF16, sharded, mean
  and CLS pooling) against the numpy reference written from the equations
  (reference_bert.py, itself checked against sentence-transformers in
  test_reference_bert.py).
- Decoders: pooled final hidden states against reference_llama.py.

Tolerance: Swiftlet multiplies int8-rounded activations by int8 weights
(F32 checkpoints are quantized to Q8_0 at load), and keeps keys and values
as fp16: each product carries a relative error of a few 1e-3, so a
normalized embedding sits within cosine 0.999 of the exact one (measured:
see MINIMUM_COSINE's use); an order-of-magnitude mistake (a missing norm,
tanh GELU for erf, a wrong mask) moves it far more (see the wrong-variant
checks below).
"""
from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

import swiftlet_ctypes as sw
from make_tiny_bert import make_tiny_bert
from reference_bert import ReferenceBert, l2_normalize
from reference_bert import tokenize as hf_tokenize

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDENS = os.path.join(HERE, "..", "goldens", "minilm_sentence_transformers.json")
CLI = os.path.join(sw.REPO_ROOT, "build", "bin", "swiftlet")

#: The issue's bar, per sentence, despite int8 products.
MINIMUM_COSINE = 0.999

#: How far one text's normalized embedding may move when it shares a pass with
#: others (or passes are split differently): the products are the same, but
#: sgemm sums in another order for another number of tokens, which can flip
#: the fp16 rounding of a cached key or value: 1e-6 to 2e-5 measured, two
#: orders below the int8 weights' error. A text that saw another's tokens
#: moves by far more (test_packed_sequences_do_not_see_each_other).
REORDERED = 1e-4

TEXTS = ["", "hello", "The quick brown fox jumps over the lazy dog.", "Where is the nearest shop?",
         "naïve café — Ünïcödé", "a b c d e f g h i j k l m n o p q r s t u v w x y z " * 3,
         "[CLS] inside [MASK] text", "word " * 40]


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def model_ids(model, text: str) -> list[int]:
    return sw.tokenize(model, text, sw.abi.TOKENIZE_MODEL_BOS | sw.abi.TOKENIZE_SPECIAL)


@pytest.fixture(scope="module")
def goldens() -> dict:
    with open(GOLDENS) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def minilm(lib, minilm_folder):
    model = sw.model_load(minilm_folder, n_threads=2)
    yield model
    lib.swiftlet_model_free(model)


def n_embd(model) -> int:
    return sw.model_info(model).n_embd


# -- all-MiniLM-L6-v2 against sentence-transformers --------------------------------------------------


def test_minilm_from_its_folder(minilm):
    info = sw.model_info(minilm)
    assert (info.architecture, info.n_embd, info.n_layer, info.n_head) == (b"bert", 384, 6, 12)
    assert sw.meta_value(minilm, "bert.pooling_type") == "1"  # 1_Pooling/config.json: mean


def test_minilm_ids_equal_sentence_transformers(minilm, goldens):
    for case in goldens["entries"]:
        ids = model_ids(minilm, case["text"])
        expected = case["input_ids"]
        # sentence-transformers truncates to max_seq_length (256), [SEP] kept; ours happens in swiftlet_embed.
        if len(ids) > len(expected):
            ids = ids[:len(expected) - 1] + ids[-1:]
        assert ids == expected, case["text"][:60]


def test_minilm_embeddings_match_sentence_transformers(minilm, make_context, goldens):
    context = make_context(minilm, n_threads=2)
    texts = [case["text"] for case in goldens["entries"]]
    ours = sw.embed(context, texts, n_embd(minilm))
    expected = np.array([case["embedding"] for case in goldens["entries"]], dtype=np.float64)
    cosines = cosine(ours, expected)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= MINIMUM_COSINE, (cosines.min(), texts[worst][:60])
    assert np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)


def test_minilm_batch_equals_one_by_one(minilm, make_context, goldens):
    """Sentences of different lengths packed into one pass (no padding) give what each gives alone."""
    context = make_context(minilm, n_threads=2)
    texts = [case["text"] for case in goldens["entries"]]
    together = sw.embed(context, texts, n_embd(minilm))
    alone = np.concatenate([sw.embed(context, [text], n_embd(minilm)) for text in texts])
    np.testing.assert_allclose(together, alone, atol=REORDERED, rtol=0)
    assert cosine(together, alone).min() >= 0.99999


def test_packed_sequences_do_not_see_each_other(lib, make_context, tmp_path):
    """The mask is what keeps packed texts apart: the same text next to different
    neighbours embeds the same, while prepending a neighbour's words to it changes it."""
    folder = make_tiny_bert(str(tmp_path / "tiny"), seed=6)
    model = sw.model_load(folder, n_threads=2)
    try:
        context = make_context(model, n_threads=2)
        width = n_embd(model)
        text = "the cat sat on the mat"
        a = sw.embed(context, ["hello world", text], width)[1]
        b = sw.embed(context, ["a b c d e f g h", text, "world"], width)[1]
        joined = sw.embed(context, ["hello world " + text], width)[0]
        np.testing.assert_allclose(a, b, atol=REORDERED, rtol=0)
        assert cosine(a, joined) < 0.99
    finally:
        lib.swiftlet_model_free(model)


def test_minilm_truncates_at_max_seq_length(minilm, make_context, minilm_folder):
    """Past 256 tokens (sentence_bert_config.json) nothing changes the embedding, and the
    embedding is the reference's of the truncated ids."""
    context = make_context(minilm, n_threads=2)
    long_text = " ".join(f"word{i}" for i in range(400))
    ids = model_ids(minilm, long_text)
    assert len(ids) > 300
    vectors = np.concatenate([sw.embed(context, [text], n_embd(minilm))
                              for text in (long_text, long_text + " and a different ending entirely")])
    np.testing.assert_array_equal(vectors[0], vectors[1])  # the same 256 tokens, the same pass
    truncated = ids[:255] + ids[-1:]
    assert truncated == hf_tokenize(minilm_folder, [long_text])[0]
    reference = ReferenceBert(minilm_folder).embed([truncated])
    assert cosine(vectors[0], reference[0]) >= MINIMUM_COSINE


def test_minilm_pooling_and_normalization(minilm, make_context, minilm_folder):
    context = make_context(minilm, n_threads=2)
    texts = ["", "one two three", "The capital of France is Paris."]
    ids = [model_ids(minilm, t) for t in texts]
    reference = ReferenceBert(minilm_folder)
    for pooling, name in [(sw.abi.POOLING_MEAN, "mean"), (sw.abi.POOLING_CLS, "cls"), (sw.abi.POOLING_LAST, "last")]:
        raw = sw.embed(context, texts, n_embd(minilm), pooling=pooling, normalize=0)
        expected = reference.embed(ids, pooling=name, normalize=False)
        assert cosine(raw, expected).min() >= MINIMUM_COSINE, name
        # Unnormalized lengths agree too (a missing or doubled scale would not).
        np.testing.assert_allclose(np.linalg.norm(raw, axis=1), np.linalg.norm(expected, axis=1), rtol=0.02)
    model_default = sw.embed(context, texts, n_embd(minilm), pooling=sw.abi.POOLING_MODEL)
    mean = sw.embed(context, texts, n_embd(minilm), pooling=sw.abi.POOLING_MEAN)
    np.testing.assert_array_equal(model_default, mean)


# -- tiny BERT folders against the numpy reference ----------------------------------------------------


TINY_VARIANTS = [("f32", 1, "mean"), ("f16", 1, "cls"), ("bf16", 2, "mean"), ("f32", 2, "cls")]


@pytest.mark.parametrize("dtype,shards,pooling", TINY_VARIANTS)
def test_tiny_bert_matches_reference(lib, make_context, tmp_path, dtype, shards, pooling):
    folder = make_tiny_bert(str(tmp_path / "tiny"), dtype=dtype, shards=shards, pooling=pooling, seed=3)
    model = sw.model_load(folder, n_threads=2)
    try:
        context = make_context(model, n_threads=2)
        texts = ["hello world", "", "the cat sat on the mat", "unknownword xyz"] + TEXTS[2:5]
        ids = [model_ids(model, t) for t in texts]
        assert ids == hf_tokenize(folder, texts)
        reference = ReferenceBert(folder)
        ours = sw.embed(context, texts, n_embd(model))
        expected = reference.embed(ids)  # the folder's pooling, normalized
        assert cosine(ours, expected).min() >= MINIMUM_COSINE
        # The check can fail: the reference without position embeddings is
        # outside the tolerance.
        wrong = ReferenceBert(folder)
        wrong.w["embeddings.position_embeddings.weight"][:] = 0
        assert cosine(ours, wrong.embed(ids)).min() < MINIMUM_COSINE
    finally:
        lib.swiftlet_model_free(model)


def test_tiny_bert_packed_passes_split_by_n_batch(lib, make_context, tmp_path):
    """With a small n_batch, texts go in several passes; each text still gets its own vector,
    and a text longer than n_batch is a clean error."""
    folder = make_tiny_bert(str(tmp_path / "tiny"), seed=4)
    model = sw.model_load(folder, n_threads=2)
    try:
        texts = ["hello world"] * 3 + ["the cat sat on the mat and the dog sat on the log"] * 2
        wide = sw.embed(make_context(model, n_threads=2), texts, n_embd(model))
        narrow_context = make_context(model, n_threads=2, n_batch=20)
        narrow = sw.embed(narrow_context, texts, n_embd(model))
        np.testing.assert_allclose(narrow, wide, atol=REORDERED, rtol=0)
        with pytest.raises(sw.SwiftletError) as error:
            sw.embed(narrow_context, ["word " * 30], n_embd(model))
        assert error.value.status == sw.ERROR_INVALID_ARGUMENT and "n_batch" in error.value.message
    finally:
        lib.swiftlet_model_free(model)


# -- swiftlet convert: the GGUF llama.cpp's converter writes --------------------------------------------


def test_convert_writes_the_converters_gguf(lib, make_context, tmp_path, minilm_folder, minilm):
    gguf = pytest.importorskip("gguf")
    out = tmp_path / "minilm.gguf"
    subprocess.run([CLI, "convert", minilm_folder, str(out)], check=True, capture_output=True, timeout=300)
    reader = gguf.GGUFReader(str(out))
    config = json.load(open(os.path.join(minilm_folder, "config.json")))

    def field(key):
        f = reader.fields[key]
        return f.contents()

    assert field("general.architecture") == "bert"
    assert field("bert.context_length") == config["max_position_embeddings"]
    assert field("bert.embedding_length") == config["hidden_size"]
    assert field("bert.feed_forward_length") == config["intermediate_size"]
    assert field("bert.block_count") == config["num_hidden_layers"]
    assert field("bert.attention.head_count") == config["num_attention_heads"]
    assert field("bert.attention.causal") is False
    assert field("bert.pooling_type") == int(gguf.PoolingType.MEAN)
    assert field("tokenizer.ggml.model") == "bert"
    # Tensor names: gguf-py's own BERT mapping of the checkpoint's names.
    names = gguf.TensorNameMap(gguf.MODEL_ARCH.BERT, config["num_hidden_layers"])
    header = _safetensors_header(os.path.join(minilm_folder, "model.safetensors"))
    expected = {}
    for name, entry in header.items():
        if name == "__metadata__" or name in ("embeddings.position_ids",) or name.startswith("pooler."):
            continue
        base, suffix = name.rsplit(".", 1)
        expected[f"{names.get_name(base)}.{suffix}"] = list(reversed(entry["shape"]))
    written = {t.name: [int(d) for d in t.shape] for t in reader.tensors}
    assert written == expected
    # The same weights: loading the GGUF gives the folder's embeddings exactly.
    converted = sw.model_load(str(out), n_threads=2)
    try:
        texts = TEXTS
        a = sw.embed(make_context(minilm, n_threads=2), texts, 384)
        b = sw.embed(make_context(converted, n_threads=2), texts, 384)
        np.testing.assert_array_equal(a, b)
    finally:
        lib.swiftlet_model_free(converted)


def _safetensors_header(path: str) -> dict:
    with open(path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(length))


# -- decoders: pooled final hidden states -------------------------------------------------------------


@pytest.mark.parametrize("name", ["tiny-q8_0-gqa4-hd64", "tiny-gpt2-f32-learned", "tiny-gemma3-q8_0-w8"])
def test_decoder_embeddings_pool_final_hidden_states(tiny_model, references, make_context, name):
    model = tiny_model(name)
    context = make_context(model, n_threads=2)
    width = n_embd(model)
    texts = ["hello there", "a longer text with more words in it", "x"]
    ids = [model_ids(model, t) for t in texts]
    for pooling, pick in [(sw.abi.POOLING_MEAN, lambda h: h.mean(0)), (sw.abi.POOLING_LAST, lambda h: h[-1]),
                          (sw.abi.POOLING_MODEL, lambda h: h[-1])]:
        ours = sw.embed(context, texts, width, pooling=pooling, normalize=0)
        expected = np.array([pick(references[name].forward(i, hidden_states=True)) for i in ids])
        assert cosine(ours, expected).min() >= MINIMUM_COSINE
    assert sw.load().swiftlet_context_position(context) == 0  # a decoder's context is emptied


# -- the C interface's errors -------------------------------------------------------------------------


def test_embed_errors(lib, minilm, make_context):
    import ctypes
    context = make_context(minilm, n_threads=2)
    texts = (ctypes.c_char_p * 2)(b"one", b"two")
    count = ctypes.c_size_t(0)
    params = sw.new_embed_params()
    # Size query, then too small a buffer: BUFFER_TOO_SMALL with the size, nothing evaluated.
    assert lib.swiftlet_embed(context, texts, 2, ctypes.byref(params), None, 0, ctypes.byref(count)) \
        == sw.ERROR_BUFFER_TOO_SMALL
    assert count.value == 2 * 384
    small = (ctypes.c_float * 10)()
    assert lib.swiftlet_embed(context, texts, 2, ctypes.byref(params), small, 10, ctypes.byref(count)) \
        == sw.ERROR_BUFFER_TOO_SMALL
    out = (ctypes.c_float * 768)()
    assert lib.swiftlet_embed(context, None, 2, None, out, 768, ctypes.byref(count)) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_embed(context, texts, 0, None, out, 768, ctypes.byref(count)) == sw.ERROR_INVALID_ARGUMENT
    with_null = (ctypes.c_char_p * 2)(b"one", None)
    assert lib.swiftlet_embed(context, with_null, 2, None, out, 768, ctypes.byref(count)) == sw.ERROR_INVALID_ARGUMENT
    assert "texts[1]" in sw.last_error()
    bad = sw.new_embed_params(pooling=7)
    assert lib.swiftlet_embed(context, texts, 2, ctypes.byref(bad), out, 768, ctypes.byref(count)) \
        == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_embed(None, texts, 2, None, out, 768, ctypes.byref(count)) == sw.ERROR_INVALID_ARGUMENT
    # An encoder has no logits: eval and generate say so.
    with pytest.raises(sw.SwiftletError) as error:
        sw.eval_tokens(context, [101, 102])
    assert error.value.status == sw.ERROR_UNSUPPORTED and "encoder" in error.value.message
    assert lib.swiftlet_embed(context, texts, 2, None, out, 768, ctypes.byref(count)) == sw.OK


# -- hostile folders -----------------------------------------------------------------------------------


def _load_error(path: str) -> tuple[int, str]:
    with pytest.raises(sw.SwiftletError) as error:
        sw.model_load(path, n_threads=1)
    return error.value.status, error.value.message


def _rewrite_json(path, change):
    with open(path) as f:
        value = json.load(f)
    change(value)
    with open(path, "w") as f:
        json.dump(value, f)


def test_hostile_folders(lib, tmp_path):
    def fresh(name: str) -> str:
        return make_tiny_bert(str(tmp_path / name), seed=5)

    folder = fresh("no-config")
    os.remove(os.path.join(folder, "config.json"))
    status, message = _load_error(folder)
    assert status == sw.ERROR_NOT_FOUND and "config.json" in message

    folder = fresh("no-tokenizer")
    os.remove(os.path.join(folder, "tokenizer.json"))
    status, message = _load_error(folder)
    assert status == sw.ERROR_NOT_FOUND and "tokenizer.json" in message

    folder = fresh("no-weights")
    os.remove(os.path.join(folder, "model.safetensors"))
    assert _load_error(folder)[0] == sw.ERROR_NOT_FOUND

    folder = fresh("wrong-width")  # the config disagrees with the tensors
    _rewrite_json(os.path.join(folder, "config.json"), lambda c: c.update(hidden_size=c["hidden_size"] * 2))
    status, message = _load_error(folder)
    assert status == sw.ERROR_INVALID_FILE and "shape" in message

    folder = fresh("fewer-layers-claimed")  # a tensor the config has no place for is not ignored silently
    _rewrite_json(os.path.join(folder, "config.json"), lambda c: c.update(num_hidden_layers=c["num_hidden_layers"] + 1))
    status, message = _load_error(folder)
    assert status == sw.ERROR_NOT_FOUND and "blk." in message

    folder = fresh("gpt2")
    _rewrite_json(os.path.join(folder, "config.json"), lambda c: c.update(model_type="gpt2"))
    status, message = _load_error(folder)
    assert status == sw.ERROR_UNSUPPORTED and "gpt2" in message

    folder = fresh("relu")
    _rewrite_json(os.path.join(folder, "config.json"), lambda c: c.update(hidden_act="relu"))
    status, message = _load_error(folder)
    assert status == sw.ERROR_UNSUPPORTED and "relu" in message

    folder = fresh("bpe")
    _rewrite_json(os.path.join(folder, "tokenizer.json"), lambda t: t["model"].update(type="BPE"))
    status, message = _load_error(folder)
    assert status == sw.ERROR_UNSUPPORTED and "BPE" in message

    folder = fresh("max-pooling")
    _rewrite_json(os.path.join(folder, "1_Pooling", "config.json"),
                  lambda p: p.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True))
    status, message = _load_error(folder)
    assert status == sw.ERROR_UNSUPPORTED and "max" in message

    folder = fresh("bad-json")
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write('{"model_type": "bert", ')
    assert _load_error(folder)[0] == sw.ERROR_INVALID_FILE

    folder = fresh("lying-offsets")  # the header claims more bytes than the file holds
    path = os.path.join(folder, "model.safetensors")
    with open(path, "rb") as f:
        data = f.read()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    first = next(k for k in header if k != "__metadata__")
    header[first]["data_offsets"][1] += 4
    encoded = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(len(encoded).to_bytes(8, "little") + encoded + data[8 + length:])
    status, message = _load_error(folder)
    assert status == sw.ERROR_INVALID_FILE

    folder = fresh("stray-tensor")
    path = os.path.join(folder, "model.safetensors")
    from make_tiny_bert import random_weights, write_safetensors
    weights = random_weights(200, 5)
    weights["encoder.layer.0.attention.self.rotary.weight"] = np.zeros((4, 4), np.float32)
    write_safetensors(path, weights, "f32")
    status, message = _load_error(folder)
    assert status in (sw.ERROR_UNSUPPORTED, sw.ERROR_INVALID_FILE) and "rotary" in message
