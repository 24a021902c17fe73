"""Helpers for the grammar tests: compile and match through the C API, the
vocabulary's token texts, and random walks of a grammar through the real
sampler (random logits, so every allowed continuation can be taken).

The walks are the "sample the language" half of the grammar tests: what a
walk produces must pass an independent check (json.loads, jsonschema,
Python's re); what a test writes by hand must match.
"""
from __future__ import annotations

import ctypes
from ctypes import byref
from typing import Optional

import numpy as np

import swiftlet_ctypes as sw


def compile_gbnf(text: str | bytes, root: Optional[str] = None, model=None) -> tuple[int, object]:
    """(status, handle or last error text)."""
    lib = sw.load()
    out = ctypes.c_void_p()
    data = text.encode() if isinstance(text, str) else text
    status = lib.swiftlet_grammar_create(model, data, root.encode() if root else None, byref(out))
    return (status, out) if status == sw.OK else (status, sw.last_error())


def gbnf(text: str | bytes, root: Optional[str] = None) -> ctypes.c_void_p:
    status, value = compile_gbnf(text, root)
    assert status == sw.OK, value
    return value


def match(grammar, text: str | bytes) -> int:
    """SWIFTLET_GRAMMAR_NO_MATCH / PREFIX / COMPLETE."""
    data = text.encode() if isinstance(text, str) else text
    out = ctypes.c_int32()
    sw.check(sw.load().swiftlet_grammar_match(grammar, data, len(data), byref(out)))
    return out.value


class Vocabulary:
    """Each token's bytes, which tokens add text (control tokens do not), and
    the end-of-generation tokens: what the grammar sees of a model."""

    def __init__(self, model) -> None:
        lib = sw.load()
        self.size = lib.swiftlet_vocab_size(model)
        self.bytes = [sw.token_to_bytes(model, t) for t in range(self.size)]
        self.has_text = [self._detokenizes(model, t) for t in range(self.size)]
        self.end_of_generation = {t for t in range(self.size) if lib.swiftlet_token_is_end_of_generation(model, t)}

    @staticmethod
    def _detokenizes(model, token: int) -> bool:
        buf = ctypes.create_string_buffer(64)
        n = ctypes.c_size_t()
        status = sw.load().swiftlet_detokenize(model, sw.token_array([token]), 1, buf, 64, byref(n))
        return status == sw.ERROR_BUFFER_TOO_SMALL or (status == sw.OK and n.value > 0)

    def allowed_after(self, grammar, prefix: bytes) -> set[int]:
        """Brute force, token by token through swiftlet_grammar_match: the
        tokens a mask after `prefix` must allow."""
        allowed = {t for t in range(self.size)
                   if self.has_text[t] and t not in self.end_of_generation
                   and match(grammar, prefix + self.bytes[t]) != sw.abi.GRAMMAR_NO_MATCH}
        if match(grammar, prefix) == sw.abi.GRAMMAR_COMPLETE:
            allowed |= self.end_of_generation
        return allowed


def sampler_for(grammar, **params) -> ctypes.c_void_p:
    fields = dict(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=0)
    fields.update(params)
    p = sw.new_sampler_params(grammar=grammar, **fields)
    out = ctypes.c_void_p()
    sw.check(sw.load().swiftlet_sampler_create(byref(p), byref(out)))
    return out


def sample_logits(sampler, model, logits: np.ndarray) -> int:
    logits = np.ascontiguousarray(logits, dtype=np.float32)
    out = ctypes.c_int32()
    sw.check(sw.load().swiftlet_sampler_sample_logits(
        sampler, model, logits.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), logits.size, byref(out)))
    return out.value


def random_walk(model, vocabulary: Vocabulary, grammar, seed: int, max_tokens: int = 400,
                closing: bytes = b"", short_bias: float = 0.0) -> Optional[bytes]:
    """Samples tokens from random logits under `grammar` until an
    end-of-generation token: the text, or None if `max_tokens` came first.
    As the walk grows, end-of-generation and tokens holding a byte of
    `closing` are favoured more and more, so walks of nested languages end;
    `short_bias` favours short tokens (more grammar steps per token)."""
    rng = np.random.default_rng(seed)
    sampler = sampler_for(grammar, seed=seed)
    eog = np.array(sorted(vocabulary.end_of_generation))
    closers = np.array([any(b in closing for b in text) for text in vocabulary.bytes])
    lengths = np.array([len(text) for text in vocabulary.bytes], dtype=np.float32)
    text = b""
    try:
        for step in range(max_tokens):
            logits = rng.normal(0.0, 2.0, vocabulary.size).astype(np.float32) - short_bias * lengths
            logits[eog] += 4.0 + step / 10
            logits[closers] += step / 20
            token = sample_logits(sampler, model, logits)
            if token in vocabulary.end_of_generation:
                return text
            text += vocabulary.bytes[token]
        return None
    finally:
        sw.load().swiftlet_sampler_free(sampler)
