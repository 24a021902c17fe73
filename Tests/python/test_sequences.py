"""Several sequences in one context (swiftlet_context_decode and the
per-sequence KV operations) and the context shift (SWIFTLET_OVERFLOW_SHIFT),
against the numpy reference (reference_llama.py) on the tiny models:

- a batch of sequences of different lengths, interleaved, gives each
  sequence the logits the reference gives it alone, prompt and steps;
- the mask, directly: a sequence's logits do not change (bit for bit) when
  another sequence's tokens change;
- copy / remove / keep against the reference's own cache operations;
- a shifting context against the reference evaluating the same tokens with
  the same discard rule (reference_llama.forward_with_shifts), also with a
  ring (Gemma 3's sliding-window layers), and rewinds and prefix reuse after a shift;
- a long run with shift in flat memory;
- the C API's errors for bad batches and ids.
Tolerances are reference_llama.Expected's (see there).
"""
from __future__ import annotations

import ctypes
import functools

import numpy as np
import pytest

import make_tiny_models as mk
import reference_llama as R
import swiftlet_ctypes as sw

N_VOCAB = mk.VOCAB.n_vocab
# One of each kind of model: llama (Q8_0, GQA), qwen2 (biases, NEOX RoPE),
# gpt2 (learned and sinusoidal positions: no RoPE to re-rotate), gemma3 (sliding windows).
NAMES = ["tiny-q8_0-gqa4-hd64", "tiny-qwen2-q8_0-gqa2-untied", "tiny-gpt2-q8_0-learned-untied",
         "tiny-gpt2-f16-sinusoidal", "tiny-gemma3-q8_0-w8"]
ROPE_NAMES = [n for n in NAMES if "gpt2" not in n]


def tokens(seed: int, n: int) -> list[int]:
    rng = np.random.default_rng(500 + seed)
    return [int(t) for t in rng.integers(0, 297, n)]


@functools.lru_cache(maxsize=None)
def _expected(path: str, toks: tuple, shift: tuple = (), evaluate_again: bool = False) -> R.Expected:
    ref = R.ReferenceLlama(path)
    if not shift:
        return R.expected_logits(ref, list(toks))
    n_ctx, n_keep, n_discard, batch = shift
    return R.expected_logits(ref, list(toks), forward=functools.partial(
        R.forward_with_shifts, ref, n_ctx=n_ctx, n_keep=n_keep, n_discard=n_discard, batch=batch,
        evaluate_again=evaluate_again))


def assert_close(got: np.ndarray, exp: R.Expected, rows, what: str) -> None:
    got = np.asarray(got, np.float64).reshape(len(rows), -1)
    assert np.all(np.isfinite(got)), what
    for want, tol, kind in ((exp.int8[rows], exp.tol_int8, "int8 emulation"),
                            (exp.exact[rows], exp.tol_exact, "exact reference")):
        assert np.max(np.abs(got - want)) <= tol, f"{what} vs {kind}: {R.describe_mismatch(got, want, tol)}"


def decode(ctx, toks, seqs=None, positions=None, logits=None) -> int:
    """swiftlet_context_decode's status for a batch of these entries."""
    n = len(toks)
    arrays = [sw.token_array(toks), seqs and sw.token_array(seqs), positions and sw.token_array(positions),
              logits and (ctypes.c_int8 * n)(*logits)]
    batch = sw.abi.Batch(struct_size=ctypes.sizeof(sw.abi.Batch), n_tokens=n, tokens=arrays[0], seq_ids=arrays[1],
                         positions=arrays[2], logits=arrays[3])
    return sw.load().swiftlet_context_decode(ctx, ctypes.byref(batch))


def logits_for(ctx, i: int) -> np.ndarray:
    p = sw.load().swiftlet_context_logits_for(ctx, i)
    assert p, f"no logits for entry {i}"
    return np.ctypeslib.as_array(p, shape=(N_VOCAB,)).astype(np.float64)


def seq_length(ctx, s: int) -> int:
    return sw.load().swiftlet_context_seq_length(ctx, s)


# ------------------------------------------------------ reference self-check


@pytest.mark.parametrize("name", NAMES)
def test_incremental_reference_is_the_full_forward(references, name):
    """The reference's cache (Past) gives what its full forward gives, so the
    shift reference built on it computes the equations, not a variant."""
    ref = references[name]
    toks = tokens(0, 30)
    for mode in ("exact", "int8"):
        past = R.Past()
        parts = [ref.forward(toks[a:b], mode, past=past) for a, b in ((0, 11), (11, 12), (12, 30))]
        assert np.max(np.abs(np.concatenate(parts) - ref.forward(toks, mode))) < 1e-9


# ------------------------------------------------------- batched decoding


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n_batch", [8, 64])
def test_batch_of_sequences_matches_each_alone(tiny_model, tiny_paths, make_context, name, n_batch):
    """Three sequences of 9, 20 and 4 tokens, interleaved in one batch with
    every entry's logits kept, then four steps of one token each: every row
    equals the reference for that sequence alone. n_batch 8 splits the
    batch into passes (and gives Gemma 3's window layers rings); 64 takes the
    sgemm path for the long pass."""
    model = tiny_model(name)
    ctx = make_context(model, n_ctx=48, n_batch=n_batch, n_seq_max=3)
    prompts = [tokens(1, 9), tokens(2, 20), tokens(3, 4)]
    steps = [tokens(10 + s, 4) for s in range(3)]
    # Round robin: the sequences' entries interleaved, each sequence's in order.
    entries = [(s, p[i]) for i in range(20) for s, p in enumerate(prompts) if i < len(p)]
    assert sw.OK == decode(ctx, [t for _, t in entries], [s for s, _ in entries], logits=[1] * len(entries))
    got = [np.stack([logits_for(ctx, k) for k, (s2, _) in enumerate(entries) if s2 == s]) for s in range(3)]
    for step in range(4):
        assert sw.OK == decode(ctx, [steps[s][step] for s in range(3)], [0, 1, 2])
        for s in range(3):
            got[s] = np.vstack([got[s], logits_for(ctx, s)[None]])
    for s in range(3):
        full = prompts[s] + steps[s]
        assert seq_length(ctx, s) == len(full)
        assert_close(got[s], _expected(tiny_paths[name], tuple(full)), list(range(len(full))), f"sequence {s}")


@pytest.mark.parametrize("name", ["tiny-q8_0-gqa4-hd64", "tiny-gemma3-q8_0-w8"])
def test_other_sequences_tokens_do_not_reach_a_sequence(tiny_model, make_context, name):
    """The mask, checked directly: sequence 0's logits are bit for bit the
    same whatever sequence 1 holds (same lengths, so the same kernels run)."""
    model = tiny_model(name)
    results = []
    for other in (tokens(5, 14), tokens(6, 14)):
        ctx = make_context(model, n_ctx=32, n_seq_max=2)
        mine = tokens(4, 10)
        assert sw.OK == decode(ctx, mine + other, [0] * 10 + [1] * 14, logits=[1] * 24)
        rows = [logits_for(ctx, i) for i in range(10)]
        assert sw.OK == decode(ctx, [7, other[0]], [0, 1])
        results.append(np.stack(rows + [logits_for(ctx, 0)]))
    assert not np.array_equal(tokens(5, 14), tokens(6, 14))
    assert np.array_equal(results[0], results[1])


def test_decode_defaults_and_sequence_zero_calls(tiny_model, tiny_paths, make_context):
    """seq_ids NULL = sequence 0, logits NULL = each sequence's last entry;
    eval, logits and rewind act on sequence 0 next to decode."""
    name = "tiny-q8_0-gqa4-hd64"
    lib = sw.load()
    ctx = make_context(tiny_model(name), n_ctx=32, n_seq_max=2)
    a, b = tokens(7, 6), tokens(8, 5)
    assert sw.OK == decode(ctx, a)
    assert not lib.swiftlet_context_logits_for(ctx, 4) and lib.swiftlet_context_logits_for(ctx, 5)
    assert sw.OK == decode(ctx, b, [1] * 5)
    assert lib.swiftlet_context_position(ctx) == 6 and seq_length(ctx, 1) == 5
    sw.eval_tokens(ctx, [3])
    exp = _expected(tiny_paths[name], tuple(a + [3]))
    last = np.ctypeslib.as_array(lib.swiftlet_context_logits(ctx), shape=(N_VOCAB,))
    assert_close(last[None], exp, [6], "eval after decode")
    # each sequence's own logits: sample greedily from sequence 1
    sampler = sw.sampler_create(temperature=0.0)
    try:
        token = ctypes.c_int32()
        sw.check(lib.swiftlet_sampler_sample_seq(sampler, ctx, 1, ctypes.byref(token)))
        assert token.value == int(np.argmax(_expected(tiny_paths[name], tuple(b)).int8[4]))
    finally:
        lib.swiftlet_sampler_free(sampler)


# ------------------------------------------------ per-sequence KV operations


@pytest.mark.parametrize("name", NAMES)
def test_copy_remove_keep(tiny_model, tiny_paths, make_context, name):
    """A shared prefix evaluated once and copied to two sequences, each
    continued differently; a middle range removed (keys re-rotated, or the
    kept tokens evaluated again without RoPE) and continued; keep."""
    lib = sw.load()
    ctx = make_context(tiny_model(name), n_ctx=40, n_batch=8, n_seq_max=3)
    prefix, x, y = tokens(20, 12), tokens(21, 5), tokens(22, 6)
    assert sw.OK == decode(ctx, prefix)
    sw.check(lib.swiftlet_context_seq_copy(ctx, 0, 1, -1))
    sw.check(lib.swiftlet_context_seq_copy(ctx, 0, 2, 7))
    assert [seq_length(ctx, s) for s in range(3)] == [12, 12, 7]
    assert sw.OK == decode(ctx, x + y + x[:2], [1] * 5 + [2] * 6 + [0] * 2, logits=[1] * 13)
    path = tiny_paths[name]
    assert_close(np.stack([logits_for(ctx, i) for i in range(5)]), _expected(path, tuple(prefix + x)),
                 list(range(12, 17)), "copied prefix + continuation")
    assert_close(np.stack([logits_for(ctx, i) for i in range(5, 11)]), _expected(path, tuple(prefix[:7] + y)),
                 list(range(7, 13)), "copied part of a prefix + continuation")

    # Remove positions 3..9 of sequence 1 (prefix + x, 17 tokens), then go on.
    sw.check(lib.swiftlet_context_seq_remove(ctx, 1, 3, 9))
    assert seq_length(ctx, 1) == 11
    more = tokens(23, 3)
    assert sw.OK == decode(ctx, more, [1] * 3, logits=[1] * 3)
    got = np.stack([logits_for(ctx, i) for i in range(3)])
    ref = R.ReferenceLlama(path)
    kept = (prefix + x)[:3] + (prefix + x)[9:]

    def removed_then_more(toks, mode, dtype=np.float64, **options):
        past = R.Past()
        ref.forward(prefix + x, mode, dtype, past=past, **options)
        if ref.hp.positions == "rope":
            past.remove(3, 9)
        else:
            past = R.Past()
            ref.forward(kept, mode, dtype, past=past, **options)
        return ref.forward(toks, mode, dtype, past=past, **options)

    exp = R.expected_logits(ref, more, forward=removed_then_more)
    assert_close(got, exp, [0, 1, 2], "after removing a middle range")

    # A tail removed is a rewind; keep empties the others.
    sw.check(lib.swiftlet_context_seq_remove(ctx, 2, 5, -1))
    assert seq_length(ctx, 2) == 5
    sw.check(lib.swiftlet_context_seq_keep(ctx, 2))
    assert [seq_length(ctx, s) for s in range(3)] == [0, 0, 5]
    assert sw.OK == decode(ctx, y[:2], [2, 2])
    assert_close(logits_for(ctx, 1)[None], _expected(path, tuple(prefix[:5] + y[:2])), [6], "after keep")


# ------------------------------------------------------------ context shift


def shifting_context(make_context, model, n_ctx, n_keep, n_discard, n_batch):
    return make_context(model, n_ctx=n_ctx, n_batch=n_batch, overflow=sw.abi.OVERFLOW_SHIFT, n_keep=n_keep,
                        n_discard=n_discard)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n_keep,n_discard", [(4, 0), (4, 3), (0, 0)])
def test_shift_matches_reference(tiny_model, tiny_paths, make_context, name, n_keep, n_discard):
    """70 tokens through a 24-position context, 5 per pass (several shifts),
    every token's logits against the reference with the same discard rule."""
    model = tiny_model(name)
    ctx = shifting_context(make_context, model, 24, n_keep, n_discard, 5)
    toks = tokens(30, 70)
    got = sw.eval_all_logits(ctx, toks, N_VOCAB)
    assert 0 < sw.load().swiftlet_context_position(ctx) <= 24
    exp = _expected(tiny_paths[name], tuple(toks), (24, n_keep, n_discard, 5))
    assert_close(got, exp, list(range(70)), "shifting context")


@pytest.mark.parametrize("name", ROPE_NAMES)
def test_generation_steps_with_shift_and_rewind_after(tiny_model, tiny_paths, make_context, name):
    """One token at a time (generation) through shifts, then a rewind and a
    different continuation: the cache after a shift is a proper prefix."""
    model = tiny_model(name)
    ctx = shifting_context(make_context, model, 24, 4, 0, 1)
    toks = tokens(31, 50)
    got = np.vstack([sw.eval_all_logits(ctx, [t], N_VOCAB) for t in toks])
    exp = _expected(tiny_paths[name], tuple(toks), (24, 4, 0, 1))
    assert_close(got, exp, list(range(50)), "token by token with shifts")

    # Where the context stands now (the reference's kept tokens), rewind 3 and go on differently.
    position = sw.load().swiftlet_context_position(ctx)
    sw.check(sw.load().swiftlet_context_rewind(ctx, position - 3))
    other = tokens(32, 2)
    got = sw.eval_all_logits(ctx, other, N_VOCAB)
    ref = R.ReferenceLlama(tiny_paths[name])

    def rewound(toks_, mode, dtype=np.float64, **options):
        past = R.Past()
        R_forward = functools.partial(ref.forward, mode=mode, dtype=dtype, past=past, **options)
        # replay the shifts, then drop the last 3
        kept = []
        for t in toks:
            if len(kept) + 1 > 24:
                d = (len(kept) - 4) // 2
                del kept[4:4 + d]
                past.remove(4, 4 + d)
            R_forward([t])
            kept.append(t)
        assert len(kept) == position
        if ref.hp.sliding_window:
            # A ring of window + n_batch - 1 = 8 rows holds no position the
            # rewound window needs: the kept tokens are evaluated again
            # (swiftlet_context_rewind says so).
            past = R.Past()
            ref.forward(kept[:-3], mode, dtype, past=past, **options)
        else:
            past.remove(position - 3, position)
        return ref.forward(toks_, mode, dtype, past=past, **options)

    assert_close(got, R.expected_logits(ref, other, forward=rewound), [0, 1], "rewind after shifts")


def test_shift_evaluates_again_where_a_ring_lost_the_kept_tokens(tiny_model, tiny_paths, make_context):
    """Gemma 3's window layers keep a ring of window + n_batch - 1 positions.
    In a context so small that after a shift the window reaches back to the
    kept tokens, which the ring has overwritten since, the kept tokens are
    evaluated again (their states then come from the kept text alone)."""
    name = "tiny-gemma3-q8_0-w8"
    ctx = shifting_context(make_context, tiny_model(name), 16, 4, 0, 1)
    toks = tokens(35, 40)
    got = np.vstack([sw.eval_all_logits(ctx, [t], N_VOCAB) for t in toks])
    exp = _expected(tiny_paths[name], tuple(toks), (16, 4, 0, 1), evaluate_again=True)
    assert_close(got, exp, list(range(40)), "shifts with the ring's fallback")


def test_shift_runs_long_in_flat_memory(tiny_model, make_context):
    """3000 tokens one by one through a 32-position shifting context: the
    library's allocated bytes after the first shifts stay what they are."""
    lib = sw.load()
    ctx = shifting_context(make_context, tiny_model("tiny-gemma3-q8_0-w8"), 32, 4, 0, 1)
    toks = tokens(33, 3000)

    def allocated() -> int:
        info = sw.new_memory_info()
        sw.check(lib.swiftlet_memory_get_info(ctypes.byref(info)))
        return info.bytes_allocated

    for t in toks[:200]:
        sw.eval_tokens(ctx, [t])
    before = allocated()
    for t in toks[200:]:
        sw.eval_tokens(ctx, [t])
    assert allocated() == before
    assert lib.swiftlet_context_position(ctx) <= 32


def test_tokens_after_shifts_are_the_kept_ones(tiny_model, make_context):
    """swiftlet_context_tokens after shifts: the first n_keep tokens, then the
    most recent, by the documented rule (half of those not kept discarded)."""
    lib = sw.load()
    ctx = shifting_context(make_context, tiny_model("tiny-q8_0-gqa4-hd64"), 16, 4, 0, 1)
    toks, kept = tokens(36, 40), []
    for t in toks:
        if len(kept) == 16:
            del kept[4:4 + 6]
        kept.append(t)
        sw.eval_tokens(ctx, [t])
    count = ctypes.c_size_t()
    assert lib.swiftlet_context_tokens(ctx, 0, None, 0, ctypes.byref(count)) == sw.ERROR_BUFFER_TOO_SMALL
    held = (ctypes.c_int32 * count.value)()
    sw.check(lib.swiftlet_context_tokens(ctx, 0, held, count.value, ctypes.byref(count)))
    assert list(held) == kept
    assert lib.swiftlet_context_tokens(ctx, 1, held, count.value, None) == sw.ERROR_INVALID_ARGUMENT


def test_error_policy_is_still_context_full(tiny_model, make_context):
    ctx = make_context(tiny_model("tiny-q8_0-gqa4-hd64"), n_ctx=8)
    with pytest.raises(sw.SwiftletError) as e:
        sw.eval_tokens(ctx, tokens(34, 9))
    assert e.value.status == sw.ERROR_CONTEXT_FULL


# ------------------------------------------------------------------- errors


def test_bad_batches_and_ids_change_nothing(tiny_model, make_context):
    lib = sw.load()
    ctx = make_context(tiny_model("tiny-q8_0-gqa4-hd64"), n_ctx=8, n_seq_max=2)
    assert sw.OK == decode(ctx, [1, 2, 3], [1, 1, 1])
    cases = {
        "seq id out of range": ([4], [2], None),
        "negative seq id": ([4], [-1], None),
        "position not the next": ([4], [1], [2]),
        "token outside the vocabulary": ([N_VOCAB], [0], None),
    }
    for what, (toks, seqs, positions) in cases.items():
        assert decode(ctx, toks, seqs, positions) == sw.ERROR_INVALID_ARGUMENT, what
    assert decode(ctx, [1] * 6, [1] * 6) == sw.ERROR_CONTEXT_FULL
    assert decode(ctx, [4], [1], [3]) == sw.OK
    assert [seq_length(ctx, 0), seq_length(ctx, 1)] == [0, 4]
    batch = sw.abi.Batch(struct_size=8, n_tokens=1, tokens=sw.token_array([1]))
    assert lib.swiftlet_context_decode(ctx, ctypes.byref(batch)) == sw.ERROR_INVALID_ARGUMENT
    batch = sw.abi.Batch(struct_size=ctypes.sizeof(sw.abi.Batch), n_tokens=0, tokens=sw.token_array([1]))
    assert lib.swiftlet_context_decode(ctx, ctypes.byref(batch)) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_context_decode(ctx, None) == sw.ERROR_INVALID_ARGUMENT
    assert not lib.swiftlet_context_logits_for(ctx, 1) and not lib.swiftlet_context_logits_for(ctx, -1)
    assert seq_length(ctx, 2) == -1 and seq_length(None, 0) == -1
    assert lib.swiftlet_context_seq_remove(ctx, 1, 3, 2) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_context_seq_remove(ctx, 1, 0, 9) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_context_seq_copy(ctx, 1, 0, 5) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_context_seq_copy(ctx, 1, 2, -1) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_context_seq_keep(ctx, 5) == sw.ERROR_INVALID_ARGUMENT
    assert [seq_length(ctx, 0), seq_length(ctx, 1)] == [0, 4]
    params = sw.new_context_params(n_seq_max=257)
    out = sw.ContextP()
    assert lib.swiftlet_context_create(tiny_model("tiny-q8_0-gqa4-hd64"), ctypes.byref(params),
                                       ctypes.byref(out)) == sw.ERROR_INVALID_ARGUMENT
    for fields in ({"overflow": 2}, {"overflow": 1, "n_keep": 8, "n_ctx": 8}, {"overflow": 1, "n_discard": -1}):
        params = sw.new_context_params(**fields)
        assert lib.swiftlet_context_create(tiny_model("tiny-q8_0-gqa4-hd64"), ctypes.byref(params),
                                           ctypes.byref(out)) == sw.ERROR_INVALID_ARGUMENT, fields


def test_smollm2_generates_far_past_its_context_in_flat_memory(real_model, make_context):
    """SmolLM2 with a 128-token context that shifts: 1500 sampled tokens
    (more than 11 contexts' worth) are all generated, the context never holds
    more than 128, and the library's allocated bytes do not grow after the
    first shifts. (`make test-long` runs 10,000 tokens on 512.)"""
    lib = sw.load()
    ctx = make_context(real_model, n_ctx=128, overflow=sw.abi.OVERFLOW_SHIFT, n_keep=4)
    info = sw.new_memory_info()
    sizes, positions = [], []

    def measure(collector):  # (exceptions raised in a ctypes callback are lost: record, check after)
        if len(collector.tokens) in (300, 1499):
            lib.swiftlet_memory_get_info(ctypes.byref(info))
            sizes.append(info.bytes_allocated)
        positions.append(lib.swiftlet_context_position(ctx))

    collector = sw.Collector(on_token=measure)
    params = sw.new_generate_params(max_tokens=1500, sampling={"temperature": 1.0, "seed": 3, "top_k": 0,
                                                               "top_p": 1.0, "min_p": 0.0})
    status, result = sw.generate(ctx, "Once upon a time", params, collector)
    assert status == sw.OK, sw.last_error()
    if result.stop_reason == sw.abi.STOP_END_OF_GENERATION:
        pytest.fail(f"the model ended after {result.n_generated_tokens} tokens; pick another seed")
    assert result.n_generated_tokens == 1500 and result.stop_reason == sw.abi.STOP_MAX_TOKENS
    assert len(sizes) == 2 and sizes[0] == sizes[1]
    assert max(positions) <= 128 and len(positions) == 1500


def test_generate_batch_c_api(tiny_model, make_context):
    """swiftlet_generate_batch: each sequence's tokens reach the callback with
    its id and match that prompt generated alone (greedy); results are filled
    per prompt; a callback returning 0 stops its sequence only; bad calls
    are INVALID_ARGUMENT or CONTEXT_FULL."""
    lib = sw.load()
    model = tiny_model("tiny-q8_0-gqa4-hd64")
    prompts = [b"hello world", b"the cat sat", b"a"]
    arr = (ctypes.c_char_p * 3)(*prompts)
    seen: dict[int, list[int]] = {0: [], 1: [], 2: []}

    def on_token(seq, piece, length, token, user):
        if token >= 0:
            seen[seq].append(token)
        return 0 if seq == 1 and len(seen[1]) == 3 else 1

    callback = sw.abi.BatchTokenCallback(on_token)
    results = (sw.abi.GenerateResult * 3)()
    for r in results:
        r.struct_size = ctypes.sizeof(sw.abi.GenerateResult)
    params = sw.new_generate_params(max_tokens=6, sampling={"temperature": 0.0})
    ctx = make_context(model, n_ctx=32, n_seq_max=3)
    sw.check(lib.swiftlet_generate_batch(ctx, arr, 3, ctypes.byref(params), callback, None, results))
    for s, prompt in enumerate(prompts):
        alone = make_context(model, n_ctx=32)
        collector = sw.Collector(stop_after=3 if s == 1 else None)
        status, result = sw.generate(alone, prompt.decode(), params, collector)
        assert status == sw.OK
        assert seen[s] == [t for t in collector.tokens if t >= 0], s
        assert (results[s].n_generated_tokens, results[s].stop_reason) == (result.n_generated_tokens,
                                                                            result.stop_reason)
        assert results[s].n_prompt_tokens == result.n_prompt_tokens
    assert results[1].stop_reason == sw.abi.STOP_CALLBACK and results[0].stop_reason != sw.abi.STOP_CALLBACK
    nothing = sw.abi.BatchTokenCallback(lambda *args: 1)
    assert lib.swiftlet_generate_batch(ctx, arr, 0, None, nothing, None, None) == sw.ERROR_INVALID_ARGUMENT
    four = (ctypes.c_char_p * 4)(*prompts, b"x")
    assert lib.swiftlet_generate_batch(ctx, four, 4, None, nothing, None, None) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_generate_batch(ctx, None, 1, None, nothing, None, None) == sw.ERROR_INVALID_ARGUMENT
    holes = (ctypes.c_char_p * 2)(b"hi", None)
    assert lib.swiftlet_generate_batch(ctx, holes, 2, None, nothing, None, None) == sw.ERROR_INVALID_ARGUMENT
    long_prompt = (ctypes.c_char_p * 1)(b"word " * 40)
    assert lib.swiftlet_generate_batch(ctx, long_prompt, 1, None, nothing, None, None) == sw.ERROR_CONTEXT_FULL
