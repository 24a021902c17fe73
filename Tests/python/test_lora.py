"""LoRA adapters (swiftlet_adapter_*, swiftlet_context_set_adapters) against
the numpy reference (reference_llama.py with `adapters=`), on the tiny random
models of every architecture, and on SmolLM2.

The reference computes an adapter two ways: "exact" merges W + f B A into the
weights in float64 (f = scale * alpha / r); "int8" adds f (x A^T) B^T in
float64 to the int8 product, unmerged, as Swiftlet does. The tolerances are
the ones test_reference_forward.py uses (reference_llama.expected_logits, run
with the adapters). The random adapters are large enough that the reference
predicts a change of the logits many times those tolerances (asserted), so a
Swiftlet that ignored an adapter, or applied it with the wrong factor or
transposed, would fail.
"""
from __future__ import annotations

import ctypes
import functools
import os

import numpy as np
import pytest

from gguf import GGMLQuantizationType as QT

import lora_tools as L
import make_tiny_models as mk
import reference_llama as R
import swiftlet_ctypes as sw
from test_reference_forward import MAIN, N_TOKENS, N_VOCAB, assert_logits

# One model per architecture and layout: llama tied and untied (a head to
# adapt), 4-bit and k-quant bases (products on blocks as stored), qwen2 (Q/K/V
# biases), gpt2 (the fused attn_qkv, a GELU MLP), gemma3 (QK norms, GeGLU,
# sliding windows).
MODELS = ["tiny-f32-mha-tied", "tiny-f16-gqa2-untied", "tiny-q4_1-mqa-untied", "tiny-q4_k-gqa2-hd64",
          "tiny-qwen2-q8_0-gqa2-untied", "tiny-gpt2-q8_0-learned-untied", "tiny-gemma3-f32-w8"]
RANK, ALPHA, GAIN = 4, 8.0, 0.5
# The reference's change of the logits must exceed this many times tol_int8.
MIN_EFFECT = 5.0


@functools.lru_cache(maxsize=None)
def reference(path: str) -> R.ReferenceLlama:
    return R.ReferenceLlama(path)


def shapes(ref: R.ReferenceLlama) -> dict[str, tuple]:
    return {name: t.shape for name, t in ref.tensors.items() if t.ndim == 2}


def expected(ref: R.ReferenceLlama, adapters, tokens=MAIN) -> R.Expected:
    def forward(tokens, mode, dtype=np.float64, **options):
        return ref.forward(tokens, mode, dtype, adapters=adapters, **options)
    return R.expected_logits(ref, tokens, forward=forward if adapters else None)


@functools.lru_cache(maxsize=None)
def base_expected(path: str) -> R.Expected:
    return expected(reference(path), None)


def full_adapter(ref: R.ReferenceLlama, seed: int = 1, rank: int = RANK):
    """Random pairs on every weight an adapter may change (the head where the model has its own)."""
    s = shapes(ref)
    return L.random_pairs(s, L.adaptable(s), rank, seed, GAIN)


@pytest.fixture
def write(tmp_path):
    """write(model_ref, pairs, alpha=ALPHA, qtype=F32, **options) -> adapter path."""
    counter = iter(range(1_000_000))

    def make(ref, pairs, alpha=ALPHA, qtype=QT.F32, architecture=None, **options):
        path = str(tmp_path / f"adapter-{next(counter)}.gguf")
        return L.write_adapter(path, architecture or ref.hp.arch, pairs, alpha, qtype, **options)

    return make


@pytest.fixture
def adapters(lib):
    """load(model, path) -> adapter handle, freed after the test."""
    made = []

    def load(model, path):
        adapter = L.adapter_load(model, path)
        made.append(adapter)
        return adapter

    yield load
    for adapter in made:
        lib.swiftlet_adapter_free(adapter)


def assert_changes(exp: R.Expected, base: R.Expected, what: str):
    effect = float(np.max(np.abs(exp.int8 - base.int8)))
    assert effect > MIN_EFFECT * max(exp.tol_int8, base.tol_int8), \
        f"{what}: the adapter changes the reference's logits by {effect:.3g} only (tolerance {exp.tol_int8:.3g})"


# ------------------------------------------------------ against the reference


@pytest.mark.parametrize("name", MODELS)
def test_adapter_at_scales_matches_reference(tiny_paths, tiny_model, make_context, write, adapters, name):
    ref = reference(tiny_paths[name])
    pairs = full_adapter(ref)
    model = tiny_model(name)
    adapter = adapters(model, write(ref, pairs))
    rank, alpha, count = L.adapter_info(adapter)
    assert (rank, alpha, count) == (RANK, ALPHA, len(pairs))
    ctx = make_context(model, n_ctx=64)
    for scale in (1.0, -0.6, 2.0):
        L.set_adapters(ctx, [(adapter, scale)])
        exp = expected(ref, [(pairs, ALPHA, scale)])
        assert_changes(exp, base_expected(tiny_paths[name]), f"scale {scale}")
        assert_logits(sw.eval_all_logits(ctx, MAIN, N_VOCAB), exp, list(range(N_TOKENS)), f"scale {scale}")
    # one token at a time (the single-row head path), at the last scale
    sw.check(sw.load().swiftlet_context_reset(ctx))
    rows = []
    for t in MAIN:
        sw.eval_tokens(ctx, [t])
        rows.append(sw.logits(ctx, N_VOCAB))
    assert_logits(np.stack(rows), exp, list(range(N_TOKENS)), "one token at a time")


@pytest.mark.parametrize("name", MODELS)
def test_two_adapters_add(tiny_paths, tiny_model, make_context, write, adapters, name):
    """One adapter on the attention, one (rank 2, no alpha: the scale alone)
    on the feed-forward and the query; attached together, their terms add."""
    ref = reference(tiny_paths[name])
    s = shapes(ref)
    attention = L.random_pairs(s, L.adaptable(s, ("attn_q", "attn_k", "attn_v", "attn_qkv", "attn_output"), False),
                               RANK, 2, GAIN)
    ffn = L.random_pairs(s, L.adaptable(s, ("attn_q", "attn_qkv", "ffn_gate", "ffn_up", "ffn_down")), 2, 3, GAIN)
    model = tiny_model(name)
    first, second = adapters(model, write(ref, attention)), adapters(model, write(ref, ffn, alpha=None))
    assert L.adapter_info(second) == (2, 0.0, len(ffn))
    ctx = make_context(model, n_ctx=64)
    L.set_adapters(ctx, [(first, 0.8), (second, -0.5)])
    both = expected(ref, [(attention, ALPHA, 0.8), (ffn, 0.0, -0.5)])
    for alone in (expected(ref, [(attention, ALPHA, 0.8)]), expected(ref, [(ffn, 0.0, -0.5)])):
        assert_changes(both, alone, "the other adapter")
    assert_logits(sw.eval_all_logits(ctx, MAIN, N_VOCAB), both, list(range(N_TOKENS)), "two adapters")


@pytest.mark.parametrize("qtype", [QT.F32, QT.F16, QT.BF16, QT.Q8_0])
def test_adapter_tensor_types(tiny_paths, tiny_model, make_context, write, adapters, qtype):
    """Each tensor type is decoded as stored (rank 32: Q8_0 blocks run along r in lora_b)."""
    name = "tiny-f16-gqa2-untied"
    ref = reference(tiny_paths[name])
    pairs = full_adapter(ref, seed=4, rank=32)
    model = tiny_model(name)
    adapter = adapters(model, write(ref, pairs, alpha=16.0, qtype=qtype))
    ctx = make_context(model, n_ctx=64)
    L.set_adapters(ctx, [(adapter, 0.7)])
    exp = expected(ref, [(L.stored_pairs(pairs, qtype), 16.0, 0.7)])
    assert_changes(exp, base_expected(tiny_paths[name]), qtype.name)
    assert_logits(sw.eval_all_logits(ctx, MAIN, N_VOCAB), exp, list(range(N_TOKENS)), qtype.name)


# ------------------------------------------------- attach, detach, swap


@pytest.mark.parametrize("name", MODELS)
def test_scale_zero_and_detach_equal_the_base_bit_for_bit(tiny_paths, tiny_model, make_context, write, adapters,
                                                          name):
    ref = reference(tiny_paths[name])
    model = tiny_model(name)
    adapter = adapters(model, write(ref, full_adapter(ref)))
    ctx = make_context(model, n_ctx=64)
    base = sw.eval_all_logits(ctx, MAIN, N_VOCAB)
    L.set_adapters(ctx, [(adapter, 0.0)])
    assert np.array_equal(sw.eval_all_logits(ctx, MAIN, N_VOCAB), base)
    L.set_adapters(ctx, [(adapter, 1.0)])
    assert not np.array_equal(sw.eval_all_logits(ctx, MAIN, N_VOCAB), base)
    L.set_adapters(ctx, [])
    assert np.array_equal(sw.eval_all_logits(ctx, MAIN, N_VOCAB), base)


def test_swap_and_the_set_empties_the_context(lib, tiny_paths, tiny_model, make_context, write, adapters):
    name = "tiny-f16-gqa2-untied"
    ref = reference(tiny_paths[name])
    model = tiny_model(name)
    a = adapters(model, write(ref, full_adapter(ref, seed=5)))
    b = adapters(model, write(ref, full_adapter(ref, seed=6)))
    ctx = make_context(model, n_ctx=64)
    L.set_adapters(ctx, [(a, 1.0)])
    with_a = sw.eval_all_logits(ctx, MAIN, N_VOCAB)
    # the identical set changes nothing: the tokens and logits stay
    L.set_adapters(ctx, [(a, 1.0)])
    assert lib.swiftlet_context_position(ctx) == N_TOKENS
    assert np.array_equal(sw.logits(ctx, N_VOCAB), with_a[-1])
    # another set empties the context (its cache was computed with the old weights)
    L.set_adapters(ctx, [(b, 1.0)])
    assert lib.swiftlet_context_position(ctx) == 0 and sw.logits(ctx, N_VOCAB) is None
    with_b = sw.eval_all_logits(ctx, MAIN, N_VOCAB)
    fresh = make_context(model, n_ctx=64)
    L.set_adapters(fresh, [(b, 1.0)])
    assert np.array_equal(sw.eval_all_logits(fresh, MAIN, N_VOCAB), with_b)
    assert not np.array_equal(with_a, with_b)
    # another scale and another order are other sets too
    L.set_adapters(ctx, [(b, 1.0), (a, 1.0)])
    sw.eval_tokens(ctx, MAIN[:3])
    L.set_adapters(ctx, [(a, 1.0), (b, 1.0)])
    assert lib.swiftlet_context_position(ctx) == 0
    L.set_adapters(ctx, [(a, 1.0)])
    assert np.array_equal(sw.eval_all_logits(ctx, MAIN, N_VOCAB), with_a)
    # one context's set does not touch another's
    other = make_context(model, n_ctx=64)
    assert not np.array_equal(sw.eval_all_logits(other, MAIN, N_VOCAB), with_a)


def test_freed_adapter_stays_attached(lib, tiny_paths, tiny_model, make_context, write):
    """swiftlet_adapter_free releases the caller's reference; the context keeps its own."""
    name = "tiny-gpt2-q8_0-learned-untied"
    ref = reference(tiny_paths[name])
    model = tiny_model(name)
    path = write(ref, full_adapter(ref))
    ctx = make_context(model, n_ctx=64)
    adapter = L.adapter_load(model, path)
    L.set_adapters(ctx, [(adapter, 1.0)])
    lib.swiftlet_adapter_free(adapter)
    got = sw.eval_all_logits(ctx, MAIN, N_VOCAB)
    fresh = make_context(model, n_ctx=64)
    again = L.adapter_load(model, path)
    try:
        L.set_adapters(fresh, [(again, 1.0)])
        assert np.array_equal(sw.eval_all_logits(fresh, MAIN, N_VOCAB), got)
    finally:
        L.set_adapters(fresh, [])
        lib.swiftlet_adapter_free(again)
    L.set_adapters(ctx, [])  # the last reference goes


def test_decode_with_adapters_equals_eval(lib, tiny_paths, tiny_model, make_context, write, adapters):
    """swiftlet_context_decode (several sequences in one pass, chosen rows'
    logits) applies the adapters as eval does."""
    name = "tiny-qwen2-q8_0-gqa2-untied"
    ref = reference(tiny_paths[name])
    model = tiny_model(name)
    adapter = adapters(model, write(ref, full_adapter(ref)))
    single = make_context(model, n_ctx=64)
    L.set_adapters(single, [(adapter, 1.5)])
    want = sw.eval_all_logits(single, MAIN[:8], N_VOCAB)[-1]
    ctx = make_context(model, n_ctx=64, n_seq_max=2)
    L.set_adapters(ctx, [(adapter, 1.5)])
    tokens = MAIN[:8] * 2
    seqs = [0] * 8 + [1] * 8
    n = len(tokens)
    arrays = [sw.token_array(tokens), sw.token_array(seqs), (ctypes.c_int8 * n)(*[i % 8 == 7 for i in range(n)])]
    batch = sw.abi.Batch(struct_size=ctypes.sizeof(sw.abi.Batch), n_tokens=n, tokens=arrays[0], seq_ids=arrays[1],
                         positions=None, logits=arrays[2])
    sw.check(lib.swiftlet_context_decode(ctx, ctypes.byref(batch)))
    for index in (7, 15):
        got = np.ctypeslib.as_array(lib.swiftlet_context_logits_for(ctx, index), shape=(N_VOCAB,))
        assert np.allclose(got, want, rtol=0, atol=1e-4)


# ------------------------------------------------------------- bad adapters


def _bad_cases():
    """(id, model name, make(ref) -> (pairs, write options), status, words the message must contain)."""
    def pair(ref, name, rank=2, a_shape=None, b_shape=None):
        n_out, n_in = ref.tensors[name].shape
        a = np.ones(a_shape or (rank, n_in), np.float32) * 0.1
        b = np.ones(b_shape or (n_out, rank), np.float32) * 0.1
        return a, b

    q = "blk.0.attn_q.weight"
    INVALID = sw.ERROR_INVALID_ARGUMENT
    return [
        ("not-an-adapter", "tiny-f32-mha-tied", lambda r: ({q: pair(r, q)}, {"general_type": "model"}),
         INVALID, ["not an adapter", "'model'"]),
        ("no-general-type", "tiny-f32-mha-tied", lambda r: ({q: pair(r, q)}, {"general_type": None}),
         INVALID, ["not an adapter", "missing"]),
        ("not-lora", "tiny-f32-mha-tied", lambda r: ({q: pair(r, q)}, {"adapter_type": "control_vector"}),
         INVALID, ["not a LoRA adapter", "control_vector"]),
        ("other-architecture", "tiny-f32-mha-tied", lambda r: ({q: pair(r, q)}, {"architecture": "qwen2"}),
         INVALID, ["'qwen2'", "'llama'"]),
        ("missing-base-tensor", "tiny-f32-mha-tied",
         lambda r: ({"blk.7.attn_q.weight": pair(r, q)}, {}), INVALID, ["blk.7.attn_q.weight"]),
        ("gpt2-has-no-attn_q", "tiny-gpt2-q8_0-learned-untied",
         lambda r: ({q: (np.ones((2, 64), np.float32), np.ones((64, 2), np.float32))}, {}),
         INVALID, [q, "not in the model"]),
        ("lora_a-alone", "tiny-f32-mha-tied", lambda r: ({q: (pair(r, q)[0], None)}, {}),
         INVALID, [q + ".lora_a", "no " + q + ".lora_b"]),
        ("lora_b-alone", "tiny-f32-mha-tied", lambda r: ({q: (None, pair(r, q)[1])}, {}),
         INVALID, [q + ".lora_b", "no " + q + ".lora_a"]),
        # A zero-size tensor is refused by the GGUF reader itself, before the adapter's checks.
        ("rank-0", "tiny-f32-mha-tied", lambda r: ({q: pair(r, q, rank=0)}, {}), sw.ERROR_INVALID_FILE,
         [q + ".lora_a", "not a positive size"]),
        ("ranks-differ", "tiny-f32-mha-tied", lambda r: ({q: pair(r, q, b_shape=(64, 3))}, {}),
         INVALID, [q, "ranks"]),
        ("n_in-does-not-fit", "tiny-f32-mha-tied", lambda r: ({q: pair(r, q, a_shape=(2, 96))}, {}),
         INVALID, [q, "does not fit"]),
        ("n_out-does-not-fit", "tiny-f32-mha-tied", lambda r: ({"blk.0.attn_k.weight": pair(
            r, "blk.0.attn_k.weight", b_shape=(96, 2))}, {}), INVALID, ["blk.0.attn_k.weight", "does not fit"]),
        ("transposed", "tiny-f32-mha-tied", lambda r: ({"blk.0.ffn_up.weight": (
            np.ones((2, 96), np.float32), np.ones((64, 2), np.float32))}, {}),
         INVALID, ["blk.0.ffn_up.weight", "does not fit"]),
        ("token-embedding", "tiny-f32-mha-tied", lambda r: ({"token_embd.weight": (
            np.ones((2, 64), np.float32), np.ones((r.hp.n_vocab, 2), np.float32))}, {}),
         INVALID, ["token_embd.weight", "cannot be adapted"]),
        ("norm", "tiny-f32-mha-tied", lambda r: ({"blk.0.attn_norm.weight": (
            np.ones((2, 64), np.float32), np.ones((1, 2), np.float32))}, {}),
         INVALID, ["blk.0.attn_norm.weight", "cannot be adapted"]),
        ("unknown-name", "tiny-f32-mha-tied", lambda r: ({"blk.0.attn_gate.weight": pair(r, q)}, {}),
         INVALID, ["blk.0.attn_gate.weight", "cannot be adapted"]),
        ("tied-head", "tiny-f32-mha-tied", lambda r: ({"output.weight": (
            np.ones((2, 64), np.float32), np.ones((r.hp.n_vocab, 2), np.float32))}, {}),
         INVALID, ["output.weight", "tied"]),
        ("other-tensor", "tiny-f32-mha-tied", lambda r: ({q: pair(r, q)}, {"extra": {q: np.ones((64, 64))}}),
         INVALID, [q, "neither"]),
        ("nan-value", "tiny-f32-mha-tied", lambda r: ({q: (pair(r, q)[0], np.full((64, 2), np.nan, np.float32))}, {}),
         INVALID, [q + ".lora_b", "not finite"]),
        ("infinite-alpha", "tiny-f32-mha-tied", lambda r: ({q: pair(r, q)}, {"raw_alpha": float("inf")}),
         INVALID, ["adapter.lora.alpha", "not a finite"]),
        ("q4_0-tensors", "tiny-f32-mha-tied", lambda r: ({q: pair(r, q, rank=32)}, {"qtype": QT.Q4_0}),
         sw.ERROR_UNSUPPORTED, [q, "Q4_0"]),
        ("no-tensors", "tiny-f32-mha-tied", lambda r: ({}, {}), INVALID, ["no LoRA tensors"]),
    ]


BAD = _bad_cases()


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_adapter_is_a_clean_error(tiny_paths, tiny_model, write, case):
    _, name, make, status, words = case
    ref = reference(tiny_paths[name])
    pairs, options = make(ref)
    qtype = options.pop("qtype", QT.F32)
    alpha = options.pop("alpha", ALPHA)
    path = write(ref, pairs, alpha=alpha, qtype=qtype, **options)
    got, adapter, message = L.load_status(tiny_model(name), path)
    assert adapter is None
    assert got == status, message
    assert path in message, message
    for word in words:
        assert word in message, message


def test_unreadable_files(tiny_paths, tiny_model, tmp_path):
    model = tiny_model("tiny-f32-mha-tied")
    status, _, message = L.load_status(model, str(tmp_path / "missing.gguf"))
    assert status == sw.ERROR_IO, message
    text = tmp_path / "text.gguf"
    text.write_bytes(b"not a gguf file at all, just text\n" * 4)
    status, _, message = L.load_status(model, str(text))
    assert status == sw.ERROR_INVALID_FILE, message
    # a model file is not an adapter
    status, _, message = L.load_status(model, tiny_paths["tiny-f32-mha-tied"])
    assert status == sw.ERROR_INVALID_ARGUMENT and "not an adapter" in message, message


def test_set_adapters_misuse(lib, tiny_paths, tiny_model, make_context, write, adapters):
    name, other_name = "tiny-f32-mha-tied", "tiny-bf16-gqa2-tied"  # both llama with the same attn_q shapes
    ref = reference(tiny_paths[name])
    model, other_model = tiny_model(name), tiny_model(other_name)
    pairs = L.random_pairs(shapes(ref), ["blk.0.attn_q.weight"], RANK, 1)
    mine, theirs = adapters(model, write(ref, pairs)), adapters(other_model, write(ref, pairs))
    ctx = make_context(model, n_ctx=64)
    L.set_adapters(ctx, [(mine, 1.0)])
    sw.eval_tokens(ctx, MAIN[:4])

    def refused(entries, words):
        assert L.set_status(ctx, entries) == sw.ERROR_INVALID_ARGUMENT
        message = sw.last_error()
        for word in words:
            assert word in message, message
        assert lib.swiftlet_context_position(ctx) == 4, "a refused set must change nothing"

    refused([(theirs, 1.0)], ["another model"])
    refused([(mine, 1.0), (mine, 0.5)], ["adapter 1 is adapter 0 again"])
    refused([(mine, float("nan"))], ["not finite"])
    refused([(mine, float("inf"))], ["not finite"])
    assert lib.swiftlet_context_set_adapters(ctx, None, None, -1) == sw.ERROR_INVALID_ARGUMENT
    handles = (ctypes.c_void_p * 65)(*([mine] * 65))
    scales = (ctypes.c_float * 65)(*([1.0] * 65))
    assert lib.swiftlet_context_set_adapters(ctx, handles, scales, 65) == sw.ERROR_INVALID_ARGUMENT
    assert "64" in sw.last_error()
    assert lib.swiftlet_context_set_adapters(ctx, None, scales, 1) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_context_set_adapters(ctx, handles, None, 1) == sw.ERROR_INVALID_ARGUMENT
    nulls = (ctypes.c_void_p * 1)(None)
    assert lib.swiftlet_context_set_adapters(ctx, nulls, scales, 1) == sw.ERROR_INVALID_ARGUMENT
    assert "adapters[0]" in sw.last_error()
    assert lib.swiftlet_context_set_adapters(None, None, None, 0) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_context_position(ctx) == 4
    # NULL arguments of load and info; NULL outs of info are skipped
    out = ctypes.c_void_p()
    assert lib.swiftlet_adapter_load(None, b"x", ctypes.byref(out)) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_adapter_load(model, None, ctypes.byref(out)) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_adapter_load(model, b"x", None) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_adapter_info(None, None, None, None) == sw.ERROR_INVALID_ARGUMENT
    sw.check(lib.swiftlet_adapter_info(mine, None, None, None))
    lib.swiftlet_adapter_free(None)


def test_set_adapters_from_a_callback_is_busy(lib, tiny_paths, tiny_model, make_context, write, adapters):
    name = "tiny-f32-mha-tied"
    ref = reference(tiny_paths[name])
    model = tiny_model(name)
    adapter = adapters(model, write(ref, full_adapter(ref)))
    ctx = make_context(model, n_ctx=64)
    seen = []

    def on_token(piece, length, token, user_data):
        seen.append(L.set_status(ctx, [(adapter, 1.0)]))
        return 0  # stop

    callback = sw.abi.TokenCallback(on_token)
    params = sw.new_generate_params(max_tokens=4)
    result = sw.abi.GenerateResult(struct_size=ctypes.sizeof(sw.abi.GenerateResult))
    lib.swiftlet_generate(ctx, b"ab", ctypes.byref(params), callback, None, ctypes.byref(result))
    assert seen and seen[0] == sw.ERROR_BUSY


# ------------------------------------------------------------------ SmolLM2

SMOL_PROMPTS = [[1, 504, 3158, 282, 4649, 314], [1, 9690, 198, 2683, 359, 253, 5356, 30]]


def smol_adapter(ref: R.ReferenceLlama, seed: int = 11):
    """A random rank-8 adapter on q/k/v/o of every layer of SmolLM2 (alpha 16: factor 2·scale)."""
    s = shapes(ref)
    return L.random_pairs(s, L.adaptable(s, ("attn_q", "attn_k", "attn_v", "attn_output"), False), 8, seed, 0.25)


@pytest.fixture(scope="module")
def smol_reference(real_model_path):
    return R.ReferenceLlama(real_model_path)


def test_smollm2_adapter_changes_logits_as_the_reference_predicts(lib, real_model, smol_reference, tmp_path,
                                                                  make_context):
    """The change of the last token's logits (adapter - base) on a few
    prompts, Swiftlet's vs the reference's (int8 mode). On 30 layers the two
    int8 runs drift apart by themselves: the base logits differ by 0.5-0.9
    (max |diff|, measured), so each run of the pair carries that much, and
    the changes differ by about as much: measured 1.0-1.1 against changes of
    6.9-10.6 (correlation 0.991). Allowed: 2.5x the base's own deviation and
    a quarter of the change, correlation above 0.98. An adapter applied with
    half its factor (alpha ignored) would be off by half the change."""
    ref = smol_reference
    pairs = smol_adapter(ref)
    path = L.write_adapter(str(tmp_path / "smol-lora.gguf"), "llama", pairs, 16.0)
    adapter = L.adapter_load(real_model, path)
    try:
        assert L.adapter_info(adapter) == (8, 16.0, 4 * ref.hp.n_layer)
        n_vocab = ref.hp.n_vocab
        ctx = make_context(real_model, n_ctx=64)
        for tokens in SMOL_PROMPTS:
            L.set_adapters(ctx, [])
            sw.eval_tokens(ctx, tokens)
            base = sw.logits(ctx, n_vocab).astype(np.float64)
            L.set_adapters(ctx, [(adapter, 1.0)])
            sw.eval_tokens(ctx, tokens)
            adapted = sw.logits(ctx, n_vocab).astype(np.float64)
            want_base = ref.forward(tokens, "int8")[-1]
            want = ref.forward(tokens, "int8", adapters=[(pairs, 16.0, 1.0)])[-1]
            predicted, got = want - want_base, adapted - base
            size = float(np.max(np.abs(predicted)))
            drift = float(np.max(np.abs(base - want_base)))
            assert size > 4 * drift, f"the adapter changes the logits by {size:.3g} only (drift {drift:.3g})"
            err = float(np.max(np.abs(got - predicted)))
            assert err <= min(2.5 * drift, 0.25 * size), \
                f"{tokens}: change off by {err:.3g} (the change is {size:.3g}, the base drift {drift:.3g})"
            assert np.corrcoef(got, predicted)[0, 1] > 0.98
    finally:
        L.set_adapters(ctx, [])
        lib.swiftlet_adapter_free(adapter)
