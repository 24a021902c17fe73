"""Model.embed / Context.embed and compat's embeddings, as a user calls them.
(Numerical agreement with sentence-transformers and the numpy reference is
Tests/python/test_embeddings.py's business; here: shapes, options, errors.)"""
from __future__ import annotations

import numpy as np
import pytest

import swiftlet
from swiftlet.compat import Llama


def test_the_issues_one_liner(minilm_path: str) -> None:
    model = swiftlet.Model(minilm_path)
    assert model.embed(["hello"]).shape == (1, 384)
    model.close()


def test_embed_shapes_and_options(minilm: swiftlet.Model) -> None:
    texts = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.", ""]
    vectors = minilm.embed(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    # Related sentences are closer than unrelated ones.
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    raw = minilm.embed(texts, normalize=False)
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), vectors, atol=1e-6)
    cls = minilm.embed(texts, pooling="cls")
    assert not np.allclose(cls, vectors)
    assert minilm.embed([]).shape == (0, 384)
    with minilm.context() as context:
        np.testing.assert_allclose(context.embed(texts), vectors, atol=1e-4)


def test_bert_tokenize_frames_with_cls_and_sep(minilm: swiftlet.Model) -> None:
    assert minilm.tokenize("Hello world!") == [101, 7592, 2088, 999, 102]
    assert minilm.tokenize("Hello world!", add_bos=False) == [7592, 2088, 999]


def test_embed_errors(minilm: swiftlet.Model) -> None:
    with pytest.raises(TypeError):
        minilm.embed("one string, not a list")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        minilm.embed(["a\0b"])
    with pytest.raises(ValueError):
        minilm.embed(["a"], pooling="max")  # type: ignore[arg-type]
    with pytest.raises(swiftlet.UnsupportedError):
        minilm.generate("an encoder cannot generate", max_tokens=4)


def test_decoder_embeddings(model: swiftlet.Model) -> None:
    vectors = model.embed(["The capital of France is Paris.", "The capital of France is Paris.", "Bananas."])
    assert vectors.shape == (3, model.info.n_embd)
    np.testing.assert_array_equal(vectors[0], vectors[1])
    assert not np.allclose(vectors[0], vectors[2])


def test_compat_embeddings(minilm_path: str) -> None:
    llm = Llama(model_path=minilm_path, embedding=True, verbose=False)
    one = llm.embed("hello")
    assert isinstance(one, list) and len(one) == 384 and isinstance(one[0], float)
    many = llm.embed(["hello", "world"], normalize=True)
    assert len(many) == 2 and abs(np.linalg.norm(many[1]) - 1) < 1e-5
    assert abs(np.linalg.norm(one) - 1) > 1e-3  # llama-cpp-python does not normalize by default
    result = llm.create_embedding(["hello", "world"])
    assert result["object"] == "list" and [d["index"] for d in result["data"]] == [0, 1]
    assert result["data"][0]["object"] == "embedding" and len(result["data"][0]["embedding"]) == 384
    assert result["usage"]["prompt_tokens"] == result["usage"]["total_tokens"] == 6  # [CLS] word [SEP] twice
    with pytest.raises(NotImplementedError):
        llm.embed("hello", truncate=False)
    llm.close()
    plain = Llama(model_path=minilm_path, verbose=False)
    with pytest.raises(RuntimeError):
        plain.embed("hello")
    plain.close()
