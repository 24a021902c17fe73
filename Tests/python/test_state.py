"""Context state save and load (swiftlet_context_state_*): a state round
trips on every architecture -- evaluation after a load gives bit for bit the
logits the context gave before it was saved and goes on identically -- one
sequence or all, in memory, through a file, and in another process; every
kind of bad state is a clear error that leaves the context unchanged.
"""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import make_tiny_models as mk
import swiftlet_ctypes as sw
from conftest import TINY_NAMES

N_VOCAB = mk.VOCAB.n_vocab
ALL = sw.abi.STATE_ALL_SEQUENCES


def tokens(seed: int, n: int) -> list[int]:
    return [int(t) for t in np.random.default_rng(900 + seed).integers(0, 297, n)]


def save(ctx, seq=ALL) -> bytes:
    lib = sw.load()
    size = ctypes.c_size_t()
    sw.check(lib.swiftlet_context_state_size(ctx, seq, ctypes.byref(size)))
    buf = ctypes.create_string_buffer(size.value)
    written = ctypes.c_size_t()
    sw.check(lib.swiftlet_context_state_save(ctx, seq, buf, size.value, ctypes.byref(written)))
    assert written.value == size.value
    return buf.raw


def load(ctx, data: bytes, seq=ALL) -> int:
    return sw.load().swiftlet_context_state_load(ctx, seq, data, len(data))


def last_logits(ctx) -> np.ndarray:
    p = sw.load().swiftlet_context_logits(ctx)
    return None if not p else np.ctypeslib.as_array(p, shape=(N_VOCAB,)).copy()


@pytest.mark.parametrize("name", TINY_NAMES)
def test_round_trip_continues_identically(tiny_model, make_context, name):
    """Save after 23 tokens; a fresh context (another n_batch) loads it: the
    same last logits, and the next 9 tokens give exactly what the original
    context gives for them. Both n_batch stay under 8, where every kernel
    set runs the row kernels (from 8 tokens on, AVX-512 VNNI machines take
    the packed kernel, which rounds otherwise)."""
    model = tiny_model(name)
    first, rest = tokens(1, 23), tokens(2, 9)
    original = make_context(model, n_ctx=48, n_batch=7)
    sw.eval_tokens(original, first)
    state = save(original)
    expected_last = last_logits(original)
    expected_rest = sw.eval_all_logits(original, rest, N_VOCAB)

    restored = make_context(model, n_ctx=48, n_batch=5)
    sw.eval_tokens(restored, tokens(3, 4))  # something to be replaced
    sw.check(load(restored, state))
    assert sw.load().swiftlet_context_position(restored) == 23
    assert np.array_equal(last_logits(restored), expected_last)
    assert np.array_equal(sw.eval_all_logits(restored, rest, N_VOCAB), expected_rest)


def test_one_sequence_into_another_id_and_all_sequences(tiny_model, make_context):
    """One sequence saved and loaded into another id next to other
    sequences; a whole-context state brings every sequence back."""
    lib = sw.load()
    model = tiny_model("tiny-gemma3-q8_0-w8")
    ctx = make_context(model, n_ctx=40, n_batch=8, n_seq_max=3)
    prompts = {0: tokens(4, 30), 1: tokens(5, 12), 2: tokens(6, 3)}
    for s, p in prompts.items():
        batch = sw.abi.Batch(struct_size=ctypes.sizeof(sw.abi.Batch), n_tokens=len(p), tokens=sw.token_array(p),
                             seq_ids=sw.token_array([s] * len(p)))
        sw.check(lib.swiftlet_context_decode(ctx, ctypes.byref(batch)))
    one = save(ctx, 0)
    whole = save(ctx)
    assert len(one) < len(whole)

    other = make_context(model, n_ctx=40, n_batch=16, n_seq_max=2)
    sw.eval_tokens(other, tokens(7, 5))
    sw.check(load(other, one, 1))
    assert [lib.swiftlet_context_seq_length(other, s) for s in (0, 1)] == [5, 30]
    step = tokens(8, 1)
    batch = sw.abi.Batch(struct_size=ctypes.sizeof(sw.abi.Batch), n_tokens=1, tokens=sw.token_array(step),
                         seq_ids=sw.token_array([1]))
    sw.check(lib.swiftlet_context_decode(other, ctypes.byref(batch)))
    got = np.ctypeslib.as_array(lib.swiftlet_context_logits_for(other, 0), shape=(N_VOCAB,)).copy()
    sw.eval_tokens(ctx, step)  # sequence 0 of the original
    assert np.array_equal(got, last_logits(ctx))

    # The whole context needs its three ids; a 2-sequence context has not.
    assert load(other, whole) == sw.ERROR_INVALID_ARGUMENT
    assert load(other, whole, 1) == sw.ERROR_INVALID_ARGUMENT  # a whole-context state takes no id
    third = make_context(model, n_ctx=40, n_seq_max=3)
    sw.check(load(third, whole))
    assert [lib.swiftlet_context_seq_length(third, s) for s in range(3)] == [30, 12, 3]


def corruptions(state: bytes) -> dict[str, bytes]:
    flipped = bytearray(state)
    flipped[len(state) // 2] ^= 0x10
    newer = bytearray(state)
    newer[8:12] = (99).to_bytes(4, "little")
    return {"empty": b"", "not a state": b"GGUF" + state[4:], "truncated": state[:-100],
            "header only": state[:40], "one bit flipped": bytes(flipped), "trailing bytes": state + b"\0" * 8,
            "version changed": bytes(newer)}


def test_bad_states_leave_the_context_unchanged(tiny_model, make_context, tiny_paths, tmp_path):
    model = tiny_model("tiny-q8_0-gqa4-hd64")
    ctx = make_context(model, n_ctx=32)
    sw.eval_tokens(ctx, tokens(9, 10))
    state = save(ctx)
    target = make_context(model, n_ctx=32)
    sw.eval_tokens(target, tokens(10, 6))
    before = last_logits(target)
    statuses = {}
    for what, data in corruptions(state).items():
        statuses[what] = load(target, data) if data else sw.load().swiftlet_context_state_load(target, ALL, b"\0", 0)
    # The checksum catches every change (a newer format with a valid checksum: the next test).
    assert statuses == {"empty": sw.ERROR_INVALID_FILE, "not a state": sw.ERROR_INVALID_FILE,
                        "truncated": sw.ERROR_INVALID_FILE, "header only": sw.ERROR_INVALID_FILE,
                        "one bit flipped": sw.ERROR_INVALID_FILE, "trailing bytes": sw.ERROR_INVALID_FILE,
                        "version changed": sw.ERROR_INVALID_FILE}
    # Another model's state, and a state longer than the context.
    other = make_context(tiny_model("tiny-q4_1-gqa2-hd64"), n_ctx=32)
    sw.eval_tokens(other, tokens(11, 4))
    assert load(target, save(other)) == sw.ERROR_INVALID_ARGUMENT
    assert "another model" in sw.last_error()
    small = make_context(model, n_ctx=8)
    assert load(small, state) == sw.ERROR_CONTEXT_FULL
    assert sw.load().swiftlet_context_position(target) == 6
    assert np.array_equal(last_logits(target), before)
    # Files: a missing one is IO; a save over an existing file replaces it whole.
    path = str(tmp_path / "ctx.state")
    assert sw.load().swiftlet_context_state_load_file(target, ALL, path.encode()) == sw.ERROR_IO
    sw.check(sw.load().swiftlet_context_state_save_file(ctx, ALL, path.encode()))
    sw.check(sw.load().swiftlet_context_state_save_file(ctx, ALL, path.encode()))
    assert sorted(os.listdir(tmp_path)) == ["ctx.state"]
    with open(path, "rb") as f:
        assert f.read() == state
    bad = make_context(model, n_ctx=32)
    assert sw.load().swiftlet_context_state_save_file(bad, 5, path.encode()) == sw.ERROR_INVALID_ARGUMENT
    assert sw.load().swiftlet_context_state_save(ctx, ALL, None, 0, None) == sw.ERROR_BUFFER_TOO_SMALL


def test_newer_format_is_unsupported(tiny_model, make_context):
    """A state whose format version is newer (checksum redone, as a newer
    library would write it) is UNSUPPORTED, not read as garbage."""
    model = tiny_model("tiny-q8_0-gqa4-hd64")
    ctx = make_context(model, n_ctx=32)
    sw.eval_tokens(ctx, tokens(12, 5))
    state = bytearray(save(ctx))
    state[8:12] = (2).to_bytes(4, "little")
    state[-8:] = stable_hash(bytes(state[:-8])).to_bytes(8, "little")
    target = make_context(model, n_ctx=32)
    assert load(target, bytes(state)) == sw.ERROR_UNSUPPORTED
    assert "newer" in sw.last_error()


def stable_hash(data: bytes) -> int:
    """The state format's checksum as its definition says (the format comment
    in ContextState.swift, StableHasher): FNV-1a's prime over little-endian
    8-byte words, each followed by h ^= h >> 29, then one word of the tail's
    length (top byte) and bytes. Needed to write a state as a newer library would."""
    mask = (1 << 64) - 1
    h = 0xcbf29ce484222325

    def mix(word: int) -> None:
        nonlocal h
        h = ((h ^ word) * 0x100000001b3) & mask
        h ^= h >> 29

    whole = len(data) // 8 * 8
    for i in range(0, whole, 8):
        mix(int.from_bytes(data[i:i + 8], "little"))
    tail = data[whole:]
    mix((len(tail) << 56) | int.from_bytes(tail, "little"))
    return h


def test_checksum_is_the_documented_hash(tiny_model, make_context):
    ctx = make_context(tiny_model("tiny-q8_0-gqa4-hd64"), n_ctx=32)
    sw.eval_tokens(ctx, tokens(13, 7))
    state = save(ctx)
    assert state[:8] == b"SWLTSTAT"
    assert int.from_bytes(state[-8:], "little") == stable_hash(state[:-8])


def test_state_loads_in_another_process_and_generation_continues(real_model_path, tmp_path):
    """SmolLM2: one process evaluates a prompt, saves, generates 24 greedy and
    24 sampled (seed 5) tokens; another loads the file and generates the
    same tokens."""
    path = str(tmp_path / "smollm2.state")
    script = textwrap.dedent(f"""
        import ctypes, json, sys
        sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
        import swiftlet_ctypes as sw
        lib = sw.load()
        model = sw.model_load({real_model_path!r})
        ctx = sw.context_create(model, n_ctx=256)
        if sys.argv[1] == "save":
            prompt = "The three primary colours are"
            toks = (ctypes.c_int32 * 64)(); n = ctypes.c_size_t()
            sw.check(lib.swiftlet_tokenize(model, prompt.encode(), len(prompt), sw.abi.TOKENIZE_MODEL_BOS, toks, 64, ctypes.byref(n)))
            sw.check(lib.swiftlet_context_eval(ctx, toks, n.value))
            sw.check(lib.swiftlet_context_state_save_file(ctx, -1, {path!r}.encode()))
        else:
            sw.check(lib.swiftlet_context_state_load_file(ctx, -1, {path!r}.encode()))
        out = []
        for temperature, seed in ((0.0, 0), (0.8, 5)):  # greedy, then sampled on from there
            sampler = sw.sampler_create(temperature=temperature, seed=seed)
            for _ in range(24):
                t = ctypes.c_int32()
                sw.check(lib.swiftlet_sampler_sample(sampler, ctx, ctypes.byref(t)))
                out.append(t.value)
                sw.check(lib.swiftlet_context_eval(ctx, sw.token_array([t.value]), 1))
            lib.swiftlet_sampler_free(sampler)
        print(json.dumps(out))
    """)

    def run(mode: str) -> list[int]:
        done = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return eval(done.stdout.strip().splitlines()[-1])

    saved = run("save")
    assert len(saved) == 48
    assert run("load") == saved
