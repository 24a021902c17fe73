"""The tokenizer of the real model (SmolLM2, $SWIFTLET_MODEL_Q4_1) through the
C API, against the goldens in Tests/goldens/tokenizer_smollm2.json.

Those goldens come from an independent implementation (HF `tokenizers`
assembled from the GGUF's vocabulary and merges; see
make_tokenizer_goldens.py), and llama.cpp agrees with every one of them
(compare_tokenizer_llama_cpp.py).

Library: $SWIFTLET_LIB (default <repo>/build/lib/libswiftlet.so), loaded by
the `lib` fixture of conftest.py.
"""
from __future__ import annotations

import ctypes
import json
import os
from ctypes import byref, c_size_t

import pytest

import swiftlet_ctypes as sw

GOLDENS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "goldens", "tokenizer_smollm2.json")

# SmolLM2's special tokens (tokenizer.ggml.* of the GGUF)
ENDOFTEXT, IM_START, IM_END = 0, 1, 2
VOCAB_SIZE = 49152


@pytest.fixture(scope="module")
def goldens() -> dict:
    with open(GOLDENS, encoding="utf-8") as handle:
        document = json.load(handle)
    assert document["vocab_size"] == VOCAB_SIZE
    for case in document["cases"]:
        case["bytes"] = bytes.fromhex(case["text_hex"])
        assert case["bytes"] == case["text"].encode("utf-8"), case["name"]
    return document


@pytest.fixture(scope="module")
def control_ids(real_model) -> set[int]:
    """Ids whose token type is CONTROL (3), read through the metadata API."""
    types = json.loads(sw.meta_value(real_model, "tokenizer.ggml.token_type"))
    assert len(types) == VOCAB_SIZE
    return {token for token, kind in enumerate(types) if kind == 3}


def flags_for(case) -> int:
    return sw.TOKENIZE_SPECIAL if case["parse_special"] else 0


def test_vocabulary(lib, real_model, goldens):
    assert lib.swiftlet_vocab_size(real_model) == VOCAB_SIZE
    info = sw.model_info(real_model)
    assert info.n_vocab == VOCAB_SIZE
    assert (info.bos_token, info.eos_token) == (goldens["bos_id"], goldens["eos_id"]) == (IM_START, IM_END)


def test_every_golden_tokenizes_exactly(real_model, goldens):
    mismatches = []
    for case in goldens["cases"]:
        got = sw.tokenize(real_model, case["bytes"], flags_for(case))
        if got != case["ids"]:
            mismatches.append(f"{case['name']}: got {got[:20]} want {case['ids'][:20]}")
    assert not mismatches, f"{len(mismatches)}/{len(goldens['cases'])} goldens differ:\n" + "\n".join(mismatches[:20])


def test_add_bos_prepends_bos(real_model, goldens):
    for case in goldens["cases"][:60]:
        got = sw.tokenize(real_model, case["bytes"], flags_for(case) | sw.TOKENIZE_ADD_BOS)
        assert got == [IM_START] + case["ids"], case["name"]


def test_size_query_reports_the_count(lib, real_model, goldens):
    case = next(c for c in goldens["cases"] if c["name"] == "prose_and_code_6k")
    data = case["bytes"]
    n = c_size_t(0)
    assert lib.swiftlet_tokenize(real_model, data, len(data), 0, None, 0, byref(n)) == sw.ERROR_BUFFER_TOO_SMALL
    assert n.value == len(case["ids"])
    small = (ctypes.c_int32 * 10)()
    assert lib.swiftlet_tokenize(real_model, data, len(data), 0, small, 10, byref(n)) == sw.ERROR_BUFFER_TOO_SMALL
    assert n.value == len(case["ids"])


def test_token_bytes_round_trip(real_model, goldens):
    """Concatenated token_to_bytes gives the text back (control tokens as their literal text)."""
    cache: dict[int, bytes] = {}

    def token_bytes(token: int) -> bytes:
        if token not in cache:
            cache[token] = sw.token_to_bytes(real_model, token)
        return cache[token]

    checked = 0
    for case in goldens["cases"]:
        if case["round_trips"]:
            assert b"".join(token_bytes(t) for t in case["ids"]) == case["bytes"], case["name"]
            checked += 1
    assert checked > 500


def test_detokenize_round_trip(real_model, goldens, control_ids):
    """detokenize gives the text back, minus the text of control tokens."""
    for case in goldens["cases"]:
        if not case["round_trips"]:
            continue
        ids = case["ids"]
        if any(t in control_ids for t in ids):
            expected = b"".join(b"" if t in control_ids else sw.token_to_bytes(real_model, t) for t in ids)
            assert sw.detokenize(real_model, ids).encode("utf-8") == expected, case["name"]
        else:
            assert sw.detokenize(real_model, ids) == case["text"], case["name"]


def test_special_tokens_only_with_the_flag(lib, real_model):
    assert sw.tokenize(real_model, "<|im_start|>", sw.TOKENIZE_SPECIAL) == [IM_START]
    turn = sw.tokenize(real_model, "<|im_start|>user\nhi<|im_end|>", sw.TOKENIZE_SPECIAL)
    assert turn[0] == IM_START and turn[-1] == IM_END and len(turn) > 2
    plain = sw.tokenize(real_model, "<|im_start|>user\nhi<|im_end|>")
    assert IM_START not in plain and IM_END not in plain
    assert sw.detokenize(real_model, turn) == "user\nhi"  # control tokens produce no text
    assert sw.detokenize(real_model, plain) == "<|im_start|>user\nhi<|im_end|>"
    assert sw.token_to_bytes(real_model, IM_START) == b"<|im_start|>"


def test_end_of_generation(lib, real_model):
    assert lib.swiftlet_token_is_end_of_generation(real_model, IM_END) == 1  # EOS
    assert lib.swiftlet_token_is_end_of_generation(real_model, ENDOFTEXT) == 1  # "<|endoftext|>"
    assert lib.swiftlet_token_is_end_of_generation(real_model, IM_START) == 0
    hello = sw.tokenize(real_model, "Hello")
    assert lib.swiftlet_token_is_end_of_generation(real_model, hello[0]) == 0
    assert lib.swiftlet_token_is_end_of_generation(real_model, -1) == 0
    assert lib.swiftlet_token_is_end_of_generation(real_model, VOCAB_SIZE) == 0


@pytest.mark.parametrize("data", [
    b"a\xe4\xbdb",                 # a character cut short
    b"\xed\xa0\x80 surrogate",    # an encoded surrogate
    b"\xc0\xaf overlong",          # an overlong form (0xC0 has no token in this vocabulary)
    b"\x80\x80\x80",               # stray continuation bytes
    b"ok \xf0\x9f\x91",            # an emoji cut at the end
    b"\xff\xfe\xfd",               # bytes never valid in UTF-8 (no tokens in this vocabulary)
])
def test_invalid_utf8_is_encoded_not_rejected(real_model, data):
    ids = sw.tokenize(real_model, data)
    # Every byte that has a byte token comes back, in order; the vocabulary
    # lacks tokens for a few bytes (0xC0, 0xC1, 0xF5-0xFF, ...), which are
    # dropped as HF tokenizers and llama.cpp drop them.
    single = {b: sw.tokenize(real_model, bytes([b])) for b in set(data)}
    kept = bytes(b for b in data if single[b])
    assert b"".join(sw.token_to_bytes(real_model, t) for t in ids) == kept
    # detokenize repairs what is not UTF-8, one U+FFFD per maximal ill-formed subpart
    assert sw.detokenize(real_model, ids) == kept.decode("utf-8", "replace")


def test_bad_token_ids(lib, real_model):
    n = c_size_t(0)
    buf = ctypes.create_string_buffer(64)
    for bad in (-1, VOCAB_SIZE, 1 << 30):
        assert lib.swiftlet_token_to_bytes(real_model, bad, buf, 64, byref(n)) == sw.ERROR_INVALID_ARGUMENT
        assert lib.swiftlet_detokenize(real_model, sw.token_array([5, bad]), 2, buf, 64, byref(n)) \
            == sw.ERROR_INVALID_ARGUMENT
