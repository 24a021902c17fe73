"""Saved context state: Context.save_state / load_state (bytes) and
save_state_file / load_state_file, and swiftlet.compat.Llama's
save_state / load_state.

The reference for a loaded context is the context it was saved from: both
continue from the same tokens, logits and KV cache, and evaluate the same
single tokens afterwards (the same row kernels, in the same order), so greedy
tokens are compared exactly, and logits bit for bit. Sampled tokens too, with
a sampler of the same seed on each side: samplers are not part of the state.
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from typing import Iterator, Sequence

import numpy as np
import pytest

import swiftlet
from swiftlet.compat import Llama, LlamaState

from conftest import PARIS_PROMPT, THREADS

STEPS = 16
N_CTX = 128


@pytest.fixture
def evaluated(model: swiftlet.Model) -> Iterator[swiftlet.Context]:
    """A context that has evaluated PARIS_PROMPT."""
    with model.context(n_ctx=N_CTX) as context:
        context.eval(model.tokenize(PARIS_PROMPT))
        yield context


def greedy(context: swiftlet.Context, steps: int = STEPS, seq: int = 0) -> list[int]:
    """`steps` greedy tokens of sequence `seq`, each evaluated before the next is chosen."""
    tokens = []
    for _ in range(steps):
        token = context.sample(temperature=0, seq=seq)
        tokens.append(token)
        if seq == 0 and context.n_seq_max == 1:
            context.eval([token])
        else:
            context.decode([token], [seq])
    return tokens


def sampled(context: swiftlet.Context, sampler: swiftlet.Sampler, steps: int = STEPS) -> list[int]:
    tokens = []
    for _ in range(steps):
        token = sampler.sample(context)
        tokens.append(token)
        context.eval([token])
    return tokens


# ------------------------------------------------------------ round trips


def test_a_loaded_context_continues_as_the_saved_one(model: swiftlet.Model, evaluated: swiftlet.Context) -> None:
    state = evaluated.save_state()
    assert isinstance(state, bytes) and state.startswith(b"SWLTSTAT")
    with model.context(n_ctx=N_CTX) as loaded, model.context(n_ctx=N_CTX) as generating:
        loaded.load_state(state)
        assert loaded.position == evaluated.position
        original_logits, loaded_logits = evaluated.logits, loaded.logits
        assert original_logits is not None and loaded_logits is not None
        assert np.array_equal(loaded_logits, original_logits)
        generating.load_state(bytearray(state))  # any bytes-like object
        stream = generating.generate("", max_tokens=STEPS, temperature=0, stream=True)  # continues from the logits
        stream.text()
        expected = greedy(evaluated)
        assert greedy(loaded) == expected
        assert stream.result is not None and list(stream.result.tokens) == expected[:len(stream.result.tokens)]
        assert len(stream.result.tokens) == STEPS


def test_a_state_file_round_trip_samples_the_same_tokens_for_the_same_seed(
        model: swiftlet.Model, evaluated: swiftlet.Context, tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "paris.state")
    evaluated.save_state_file(path)
    assert not os.path.exists(path + ".partial")
    with model.context(n_ctx=N_CTX) as loaded:
        loaded.load_state_file(path)
        def sampler() -> swiftlet.Sampler:
            return swiftlet.Sampler(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, repeat_penalty=1.3, seed=7)

        with sampler() as a, sampler() as b:
            expected = sampled(evaluated, a)
            assert sampled(loaded, b) == expected
        assert len(set(expected)) > 1  # really sampled, not one token over and over


def test_after_a_load_the_kept_sampler_starts_again(model: swiftlet.Model, evaluated: swiftlet.Context) -> None:
    """Context.sample's own sampler is not part of the state: a load drops it,
    so the same seed draws the same tokens again from the same point."""
    state = evaluated.save_state()

    def draw() -> list[int]:
        tokens = []
        for _ in range(8):
            tokens.append(evaluated.sample(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=11))
            evaluated.eval([tokens[-1]])
        return tokens

    first = draw()
    evaluated.load_state(state)
    assert draw() == first


def test_one_sequence_loads_into_another_id(model: swiftlet.Model, evaluated: swiftlet.Context) -> None:
    prompt = model.tokenize(PARIS_PROMPT)
    other = model.tokenize("Once upon a time")
    # Passes of one prompt's size at most, so the decode rounds as the prompt alone did (on
    # AVX-512 VNNI machines a pass of 8 or more tokens takes the packed kernel, which rounds otherwise).
    with model.context(n_ctx=N_CTX, n_seq_max=2, n_batch=len(prompt)) as source, \
            model.context(n_ctx=N_CTX, n_seq_max=2) as target:
        source.decode(prompt + other, [0] * len(prompt) + [1] * len(other))
        state = source.save_state(seq=0)
        assert len(state) < len(source.save_state())
        target.decode(other, [0] * len(other))
        before = target.save_state(seq=0)
        target.load_state(state, seq=1)
        assert (target.seq_length(0), target.seq_length(1)) == (len(other), len(prompt))
        assert target.save_state(seq=0) == before  # sequence 0 untouched
        assert greedy(target, seq=1) == greedy(evaluated)
        with pytest.raises(swiftlet.InvalidArgumentError):  # a whole-context state of two sequences, into one id
            target.load_state(source.save_state(), seq=1)


# ------------------------------------------------------------ errors


def test_a_corrupted_or_truncated_state_is_an_invalid_file(model: swiftlet.Model,
                                                           evaluated: swiftlet.Context) -> None:
    state = evaluated.save_state()
    with model.context(n_ctx=N_CTX) as context:
        context.eval(model.tokenize("Once upon a time"))
        logits = context.logits
        assert logits is not None
        for bad in (_flip(state, len(state) // 2), _flip(state, len(state) - 1), state[:-1], state[:100],
                    b"", b"not a state at all"):
            with pytest.raises(swiftlet.InvalidFileError):
                context.load_state(bad)
        after = context.logits
        assert context.position == 4 and after is not None and np.array_equal(after, logits)  # unchanged
        with pytest.raises(TypeError):
            context.load_state("SWLTSTAT")  # type: ignore[arg-type]


def test_a_newer_format_is_unsupported(model: swiftlet.Model, evaluated: swiftlet.Context) -> None:
    state = evaluated.save_state()
    version = struct.unpack_from("<I", state, 8)[0]
    with model.context(n_ctx=N_CTX) as context, pytest.raises(swiftlet.UnsupportedError):
        context.load_state(_with_checksum(state[:8] + struct.pack("<I", version + 1) + state[12:-8]))


def test_another_models_state_is_refused(evaluated: swiftlet.Context, tiny: swiftlet.Model) -> None:
    state = evaluated.save_state()
    with tiny.context() as context, pytest.raises(swiftlet.InvalidArgumentError, match="another model"):
        context.load_state(state)
    with tiny.context() as context:
        context.eval([1, 2, 3])
        with pytest.raises(swiftlet.InvalidArgumentError):
            evaluated.load_state(context.save_state())


def test_bad_ids_and_a_context_too_small(model: swiftlet.Model, evaluated: swiftlet.Context) -> None:
    state = evaluated.save_state()
    for seq in (-1, 1):  # None, not -1, means every sequence; one sequence here
        with pytest.raises(swiftlet.InvalidArgumentError):
            evaluated.save_state(seq=seq)
        with pytest.raises(swiftlet.InvalidArgumentError):
            evaluated.load_state(state, seq=seq)
    with model.context(n_ctx=4) as small, pytest.raises(swiftlet.ContextFullError):
        small.load_state(state)  # 5 tokens


def test_file_errors_are_io_errors(evaluated: swiftlet.Context, tmp_path: os.PathLike[str]) -> None:
    missing = os.path.join(tmp_path, "missing.state")
    with pytest.raises(swiftlet.FileIOError) as caught:
        evaluated.load_state_file(missing)
    assert isinstance(caught.value, OSError)
    unwritable = os.path.join(tmp_path, "no-such-folder", "x.state")
    with pytest.raises(swiftlet.FileIOError):
        evaluated.save_state_file(unwritable)
    not_a_state = os.path.join(tmp_path, "text.state")
    with open(not_a_state, "w") as f:
        f.write("hello")
    with pytest.raises(swiftlet.InvalidFileError):
        evaluated.load_state_file(not_a_state)
    with pytest.raises(ValueError):
        evaluated.save_state_file(missing + "\0")


def test_a_state_file_continues_in_another_process(model_path: str, evaluated: swiftlet.Context,
                                                   tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "paris.state")
    evaluated.save_state_file(path)
    child = ("import json, sys, swiftlet\n"
             "model = swiftlet.Model(sys.argv[1], n_threads=1)\n"
             f"context = model.context(n_ctx={N_CTX})\n"
             "context.load_state_file(sys.argv[2])\n"
             "tokens = []\n"
             f"for _ in range({STEPS}):\n"
             "    tokens.append(context.sample(temperature=0))\n"
             "    context.eval(tokens[-1:])\n"
             "print(json.dumps(tokens))\n")
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(swiftlet.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", child, model_path, path], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == greedy(evaluated)


# ------------------------------------------------------------ compat.Llama


@pytest.fixture
def llm(model_path: str) -> Iterator[Llama]:
    with Llama(model_path=model_path, n_ctx=256, n_threads=THREADS, seed=1, verbose=False) as loaded:
        yield loaded


def _text(out: object) -> str:
    return str(out["choices"][0]["text"])  # type: ignore[index]


def test_compat_load_state_repeats_what_followed_the_save(llm: Llama) -> None:
    first = _text(llm(PARIS_PROMPT, max_tokens=12, temperature=0))
    state = llm.save_state()
    assert isinstance(state, LlamaState)
    assert state.n_tokens == llm.n_tokens == len(llm.tokenize(PARIS_PROMPT.encode())) + 12
    assert list(state.input_ids[:state.n_tokens]) == list(llm.input_ids[:llm.n_tokens])
    assert state.llama_state_size == len(state.llama_state) and state.scores.shape == (1, llm.n_vocab())
    following = [_text(llm(PARIS_PROMPT + first, max_tokens=12, temperature=0)),
                 _text(llm("Once upon a time", max_tokens=12, temperature=0.8))]  # no seed: the Llama's sequence
    llm("Something else entirely", max_tokens=4)
    llm.load_state(state)
    assert llm.n_tokens == state.n_tokens
    again = [_text(llm(PARIS_PROMPT + first, max_tokens=12, temperature=0)),
             _text(llm("Once upon a time", max_tokens=12, temperature=0.8))]
    assert again == following


def test_compat_completions_reuse_the_loaded_prefix(llm: Llama, model_path: str) -> None:
    prompt = llm.tokenize(PARIS_PROMPT.encode())
    llm.eval(prompt)
    assert llm.n_tokens == len(prompt)
    state = llm.save_state()
    llm.reset()
    llm.load_state(state)
    evaluated: list[int] = []
    context = llm._context
    original_eval = context.eval

    def counting_eval(tokens: Sequence[int]) -> None:
        evaluated.append(len(tokens))
        original_eval(tokens)

    context.eval = counting_eval  # type: ignore[method-assign]
    exact = _text(llm(PARIS_PROMPT, max_tokens=8, temperature=0))
    assert evaluated == []  # the whole prompt and its logits were loaded
    llm.load_state(state)
    longer = _text(llm(PARIS_PROMPT + " a city", max_tokens=8, temperature=0))
    assert evaluated == [len(llm.tokenize((PARIS_PROMPT + " a city").encode())) - len(prompt)]
    with Llama(model_path=model_path, n_ctx=256, n_threads=THREADS, verbose=False) as fresh:
        assert _text(fresh(PARIS_PROMPT, max_tokens=8, temperature=0)) == exact
        assert _text(fresh(PARIS_PROMPT + " a city", max_tokens=8, temperature=0)) == longer


def test_compat_load_state_refuses_what_it_cannot_load(llm: Llama, tiny_path: str) -> None:
    llm.eval(llm.tokenize(PARIS_PROMPT.encode()))
    state = llm.save_state()
    with Llama(model_path=tiny_path, n_ctx=64, n_threads=THREADS, verbose=False) as other:
        with pytest.raises(swiftlet.InvalidArgumentError):
            other.load_state(state)
    foreign = LlamaState(state.input_ids, state.scores, state.n_tokens, b"llama.cpp state bytes", 21, 0)
    with pytest.raises(swiftlet.InvalidFileError):
        llm.load_state(foreign)
    for bad in (LlamaState(state.input_ids, state.scores, state.n_tokens, state.llama_state,
                           state.llama_state_size + 1, 0),
                LlamaState(state.input_ids, state.scores, state.n_tokens + 1, state.llama_state,
                           state.llama_state_size, 0)):
        with pytest.raises(ValueError):
            llm.load_state(bad)


# ------------------------------------------------------------ helpers


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def _with_checksum(body: bytes) -> bytes:
    """`body` with the checksum a state ends with: Sources/SwiftletCore/Runtime/
    StableHasher.swift over every byte before it (little-endian 64-bit words,
    then the tail's length and bytes in one word)."""
    mask = (1 << 64) - 1
    value = 0xcbf29ce484222325

    def mix(word: int) -> int:
        mixed = ((value ^ word) * 0x100000001b3) & mask
        return mixed ^ (mixed >> 29)

    words = len(body) // 8
    for word in np.frombuffer(body[:words * 8], dtype="<u8").tolist():
        value = mix(word)
    tail = (len(body) - words * 8) << 56
    for k, byte in enumerate(body[words * 8:]):
        tail |= byte << (8 * k)
    value = mix(tail)
    return body + struct.pack("<Q", value)
