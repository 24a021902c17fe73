"""Gemma 3's sliding-window attention, on the tiny gemma3 models (window
W = 8; layers 0-4 and 6 local, 5 global): a 40-token sequence, five windows
long, evaluated every way that exercises the local layers' key/value ring,
each logits row compared with the numpy reference (reference_llama.py) with
test_reference_forward.py's tolerances.

Why these cases: a local layer only needs the last W positions, so the
engine may keep a ring of W + n_batch - 1 positions for those layers (the
last batch's queries reach W - 1 positions behind its first token). What
can go wrong is then where the ring wraps (one token at a time, batches of
1 and 3, a batch of exactly W), where a batch is larger than the ring would
be for one token (one 40-token batch), and rewinds: to a position the ring
still holds, to one it no longer holds (the engine has to recompute those
keys and values from the tokens), by a single token, and to 0.

The first tests need no library: they check that the window matters on
this sequence at every row past it (so the tests below fail if the engine
ignores it) and that the reference is causal with the window.
"""
from __future__ import annotations

import numpy as np
import pytest

import make_tiny_models as mk
import reference_llama as R
import swiftlet_ctypes as sw
from conftest import TINY_SPECS
from test_reference_forward import _expected, assert_logits, token_sequence

GEMMA3_NAMES = [s.name for s in TINY_SPECS if s.sliding_window]
N_VOCAB = mk.VOCAB.n_vocab
N_LONG = 40
LONG = token_sequence(3, N_LONG)
# The other continuation after a rewind: shifted by one so that it differs
# from LONG at every rewind target (both would have BOS at 0, EOT at 20).
OTHER = token_sequence(4, N_LONG + 1)[1:]


@pytest.fixture
def expected(tiny_paths):
    return lambda name, tokens: _expected(tiny_paths[name], tuple(tokens))


def test_the_tiny_models_have_local_and_global_layers(references):
    assert GEMMA3_NAMES, "no tiny model with a sliding window"
    for name in GEMMA3_NAMES:
        hp = references[name].hp
        kinds = [hp.is_local(il) for il in range(hp.n_layer)]
        assert any(kinds) and not all(kinds), (name, kinds)
        # a local layer after a global one: what it sees must be rebuilt from
        # the global layer's output, not only from the embeddings
        assert kinds[-1] and not kinds[-2], (name, kinds)
        assert N_LONG >= 4 * hp.sliding_window, (name, hp.sliding_window)


# ------------------------------------------------------- reference self-checks


@pytest.mark.parametrize("name", GEMMA3_NAMES)
def test_window_matters_at_every_row_past_it(references, expected, name):
    """The reference without the window mask: the same rows before W (the
    window cannot matter there), and beyond tol_int8 at every row from W
    on, so an engine that ignores the window fails at each of them."""
    ref = references[name]
    W = ref.hp.sliding_window
    e = expected(name, LONG)
    no_window = ref.forward(LONG, "int8", window_mask=False)
    assert np.array_equal(no_window[:W], e.int8[:W])
    per_row = np.abs(no_window - e.int8).max(axis=1)[W:]
    assert np.all(per_row > e.tol_int8), (per_row.round(3).tolist(), e.tol_int8)
    assert np.max(np.abs(ref.forward(LONG, window_mask=False) - e.exact)) > 2 * e.tol_exact


@pytest.mark.parametrize("name", GEMMA3_NAMES)
def test_reference_is_causal_with_the_window(references, name):
    ref = references[name]
    W = ref.hp.sliding_window
    full = ref.forward(LONG)
    for k in (W - 1, W, W + 1, 2 * W + 3, N_LONG - 1):
        assert np.allclose(ref.forward(LONG[:k]), full[:k], rtol=0, atol=1e-9), k


# --------------------------------------------------------- swiftlet vs reference


@pytest.mark.parametrize("name", GEMMA3_NAMES)
def test_one_token_at_a_time_through_the_window(lib, tiny_model, make_context, expected, name):
    ctx = make_context(tiny_model(name), n_ctx=64)
    rows = []
    for i, t in enumerate(LONG):
        sw.eval_tokens(ctx, [t])
        assert lib.swiftlet_context_position(ctx) == i + 1
        rows.append(sw.logits(ctx, N_VOCAB))
    assert_logits(np.stack(rows), expected(name, LONG), list(range(N_LONG)), "one token at a time")


@pytest.mark.parametrize("name", GEMMA3_NAMES)
def test_one_batch_through_the_window(lib, tiny_model, make_context, expected, name):
    ctx = make_context(tiny_model(name), n_ctx=64, n_batch=64)
    rows = sw.eval_all_logits(ctx, LONG, N_VOCAB)
    assert lib.swiftlet_context_position(ctx) == N_LONG
    assert_logits(rows, expected(name, LONG), list(range(N_LONG)), "40-token batch")


# A batch longer than ExecutionPlan.windowQueryChunk (64): a local layer's
# batch attention runs in chunks of queries, each over only the positions
# its tokens see (the last chunk here is partial).
N_CHUNKED = 150
CHUNKED = token_sequence(6, N_CHUNKED)


@pytest.mark.parametrize("name", GEMMA3_NAMES)
def test_batch_in_query_chunks(lib, tiny_model, make_context, expected, name):
    ctx = make_context(tiny_model(name), n_ctx=256, n_batch=256)
    rows = sw.eval_all_logits(ctx, CHUNKED, N_VOCAB)
    assert_logits(rows, expected(name, CHUNKED), list(range(N_CHUNKED)), f"{N_CHUNKED}-token batch")


@pytest.mark.parametrize("name", GEMMA3_NAMES)
@pytest.mark.parametrize("n_batch", [1, 3, 8, 13])
def test_small_batches_through_the_window(lib, tiny_model, make_context, expected, name, n_batch):
    """The input split into batches of n_batch: 1 and 3 as the ring's
    smallest sizes, 8 = W, 13 leaves a partial last batch."""
    ctx = make_context(tiny_model(name), n_ctx=64, n_batch=n_batch)
    rows = sw.eval_all_logits(ctx, LONG, N_VOCAB)
    assert lib.swiftlet_context_position(ctx) == N_LONG
    assert_logits(rows, expected(name, LONG), list(range(N_LONG)), f"n_batch={n_batch}")
    ctx2 = make_context(tiny_model(name), n_ctx=64, n_batch=n_batch)
    sw.eval_tokens(ctx2, LONG)
    assert_logits(sw.logits(ctx2, N_VOCAB), expected(name, LONG), [N_LONG - 1], f"eval, n_batch={n_batch}")


def _rewind_and_continue(lib, ctx, expected, name, position: int, what: str):
    """Rewinds `ctx` (holding LONG) to `position`, evaluates OTHER from
    there and checks its rows; then rewinds there again and finishes LONG
    one token at a time, checking the last row."""
    sw.check(lib.swiftlet_context_rewind(ctx, position))
    assert lib.swiftlet_context_position(ctx) == position
    assert sw.logits(ctx, N_VOCAB) is None, "logits must be unavailable after a rewind"
    other = LONG[:position] + OTHER[position:]
    rows = sw.eval_all_logits(ctx, OTHER[position:], N_VOCAB)
    assert lib.swiftlet_context_position(ctx) == N_LONG
    assert_logits(rows, expected(name, other), list(range(position, N_LONG)), f"{what}, other tokens")
    sw.check(lib.swiftlet_context_rewind(ctx, position))
    for t in LONG[position:]:
        sw.eval_tokens(ctx, [t])
    assert lib.swiftlet_context_position(ctx) == N_LONG
    assert_logits(sw.logits(ctx, N_VOCAB), expected(name, LONG), [N_LONG - 1], f"{what}, original tokens")


# Where to rewind from position 40, with the ring of W + n_batch - 1
# positions a local layer needs: 36 is inside it for every n_batch below,
# 20 and 0 behind it, 39 one token back.
REWIND_TO = {"within the ring": 36, "behind the ring": 20, "by one token": N_LONG - 1, "to 0": 0}


@pytest.mark.parametrize("name", GEMMA3_NAMES)
@pytest.mark.parametrize("n_batch", [1, 3])
@pytest.mark.parametrize("where", list(REWIND_TO))
def test_rewind_through_the_window(lib, tiny_model, make_context, expected, name, n_batch, where):
    ctx = make_context(tiny_model(name), n_ctx=64, n_batch=n_batch)
    sw.eval_tokens(ctx, LONG)
    assert lib.swiftlet_context_position(ctx) == N_LONG
    _rewind_and_continue(lib, ctx, expected, name, REWIND_TO[where], f"rewind {where}, n_batch={n_batch}")


@pytest.mark.parametrize("name", GEMMA3_NAMES)
def test_rewinds_one_after_another(lib, tiny_model, make_context, expected, name):
    """All the rewinds on one context, each starting from the state the
    previous one left (a ring refilled by recomputation, then rewound into)."""
    ctx = make_context(tiny_model(name), n_ctx=64, n_batch=1)
    sw.eval_tokens(ctx, LONG)
    for where, position in REWIND_TO.items():
        _rewind_and_continue(lib, ctx, expected, name, position, f"rewind {where} (in a chain)")
