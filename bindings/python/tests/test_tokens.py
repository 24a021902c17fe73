"""Tokenization of the real model through the package, against the goldens in
Tests/goldens/tokenizer_smollm2.json (made by HF `tokenizers`, an independent
implementation, on a hard corpus: whitespace runs, digits, accents, CJK,
emoji with joiners, code, special tokens)."""
from __future__ import annotations

import json
import os
from typing import Any

import pytest

import swiftlet

from conftest import REPO

GOLDENS = os.path.join(REPO, "Tests", "goldens", "tokenizer_smollm2.json")
IM_START, IM_END = 1, 2


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    with open(GOLDENS, encoding="utf-8") as handle:
        document = json.load(handle)
    assert len(document["cases"]) > 500
    return list(document["cases"])


def test_every_golden_tokenizes_exactly(model: swiftlet.Model, cases: list[dict[str, Any]]) -> None:
    wrong = [case["name"] for case in cases
             if model.tokenize(case["text"], add_bos=False, special=case["parse_special"]) != case["ids"]]
    assert not wrong, f"{len(wrong)} cases differ, e.g. {wrong[:5]}"


def test_round_trips(model: swiftlet.Model, cases: list[dict[str, Any]]) -> None:
    """detokenize(tokenize(text)) == text for plain text, and the raw token
    bytes always concatenate to the text's bytes."""
    checked = 0
    for case in cases:
        if case["parse_special"]:
            continue
        text: str = case["text"]
        if not case["round_trips"]:  # e.g. bytes SmolLM2's vocabulary has no token for
            continue
        tokens = model.tokenize(text, add_bos=False)
        assert b"".join(model.token_to_bytes(t) for t in tokens) == text.encode("utf-8"), case["name"]
        assert model.detokenize(tokens) == text, case["name"]
        checked += 1
    assert checked > 200


def test_bytes_input_and_invalid_utf8(model: swiftlet.Model) -> None:
    assert model.tokenize(b"Hello world") == model.tokenize("Hello world")
    raw = b"ab\xc3(\xe2\x82"  # a lead byte without its continuation; a cut 3-byte character
    tokens = model.tokenize(raw)
    assert b"".join(model.token_to_bytes(t) for t in tokens) == raw
    assert model.detokenize(tokens) == raw.decode("utf-8", "replace") == "ab\ufffd(\ufffd"


def test_special_tokens_and_bos(model: swiftlet.Model) -> None:
    assert (model.bos, model.eos) == (IM_START, IM_END)
    text = "<|im_start|>user"
    assert model.tokenize(text, special=True)[0] == IM_START
    assert IM_START not in model.tokenize(text, special=False)
    plain = model.tokenize("Hi", add_bos=False)
    assert model.tokenize("Hi", add_bos=True) == [IM_START] + plain
    assert model.tokenize("Hi") == plain  # SmolLM2's metadata does not ask for BOS
    assert model.detokenize([IM_START] + plain + [IM_END]) == "Hi"  # control tokens give no text
    assert model.token_to_bytes(IM_END) == b"<|im_end|>"
    assert model.is_end_of_generation(IM_END)
    assert not model.is_end_of_generation(plain[0])


def test_long_text_needs_no_retry_logic_from_the_caller(model: swiftlet.Model) -> None:
    text = "naïve café " * 2000
    tokens = model.tokenize(text)
    assert model.detokenize(tokens) == text
    assert model.tokenize("") == []
    assert model.detokenize([]) == ""


def test_info_and_metadata(model: swiftlet.Model) -> None:
    info = model.info
    assert (info.architecture, info.n_vocab, info.n_layer, info.n_head, info.n_head_kv) == ("llama", 49152, 30, 9, 3)
    assert info.n_ctx_train == 8192 and info.n_embd == 576 and info.n_ff == 1536
    assert 130e6 < info.n_params < 140e6
    assert model.metadata("general.architecture") == "llama"
    assert model.metadata("llama.block_count") == "30"
    keys = model.metadata_keys()
    assert "tokenizer.chat_template" in keys and len(keys) > 20
    assert json.loads(model.metadata("tokenizer.ggml.token_type"))[:3] == [3, 3, 3]
