"""The sampler chain of include/swiftlet.h against an independent numpy
reference: repetition penalty -> temperature (0 = greedy) -> top-k -> top-p ->
min-p -> seeded draw.

The logits are real: they come from evaluating tokens on a tiny model (or the
real model) and are read back with swiftlet_context_logits. The reference
below is written from the header's description (and llama.cpp's sampler
semantics where the header is terse), never from the Swift code:

- repetition penalty: every distinct token among the context's last
  repeat_last_n tokens has its logit divided by the penalty if positive,
  multiplied by it if negative (once per token, however often it occurs);
- temperature: logits / T; T = 0 is argmax (lowest id on ties) and skips the rest;
- top-k: keep the k largest logits (0 = off);
- top-p: over the softmax of what top-k kept, keep the smallest
  highest-first prefix whose mass is >= top_p (1 = off);
- min-p: keep tokens with p >= min_p * p_max (0 = off);
- draw: from the kept tokens with renormalized probabilities.

Every sampling test is deterministic: seeds are fixed, so a pass or a fail
repeats exactly. Tolerances are stated where they are used.
"""
from __future__ import annotations

import ctypes
import math
from ctypes import byref

import numpy as np
import pytest


import make_tiny_models as mk
import swiftlet_ctypes as sw

FLAT_MODEL = "tiny-f16-gqa2-untied"  # untied output: a spread-out distribution
N_SEEDS = 4000                       # one sampler per seed, one draw each

# A decision of the chain (k-th vs (k+1)-th logit, a cumulative mass vs top_p,
# p/p_max vs min_p) closer than this to its threshold is refused by the test
# setup: the library works in float32 (relative error ~1e-6 on probabilities
# and logits of magnitude < 30), the reference in float64, so a margin of 1e-4
# keeps every allowed set identical between the two.
MARGIN = 1e-4


# ---------------------------------------------------------------- reference


class TooClose(AssertionError):
    pass


def penalized(logits: np.ndarray, context_tokens, penalty: float, last_n: int) -> np.ndarray:
    x = logits.astype(np.float64).copy()
    if last_n > 0 and penalty != 1.0:
        for t in set(context_tokens[-last_n:]):
            x[t] = x[t] / penalty if x[t] > 0 else x[t] * penalty
    return x


def reference_chain(logits, context_tokens=(), *, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05,
                    repeat_penalty=1.0, repeat_last_n=64) -> dict[int, float]:
    """{token: probability} of every token the chain may return."""
    x = penalized(logits, list(context_tokens), repeat_penalty, repeat_last_n)
    if temperature == 0:
        return {int(np.argmax(x)): 1.0}  # np.argmax: first (lowest id) of equal maxima
    ids = np.arange(len(x))
    order = np.lexsort((ids, -x))  # by logit descending, then id ascending
    if top_k > 0:
        if top_k < len(order) and abs(x[order[top_k - 1]] - x[order[top_k]]) < MARGIN:
            raise TooClose(f"top_k={top_k}: logits {x[order[top_k - 1]]} vs {x[order[top_k]]}")
        order = order[:top_k]
    z = x[order] / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    if top_p < 1.0:
        cum = np.cumsum(p)
        if np.min(np.abs(cum[:-1] - top_p)) < MARGIN:
            raise TooClose(f"top_p={top_p}: a cumulative mass is within {MARGIN}")
        keep = int(np.searchsorted(cum, top_p) + 1)  # smallest prefix with mass >= top_p
        order, p = order[:keep], p[:keep] / p[:keep].sum()
    if min_p > 0.0:
        ratio = p / p[0]
        if np.min(np.abs(ratio - min_p)) < MARGIN:
            raise TooClose(f"min_p={min_p}: a probability ratio is within {MARGIN}")
        keep = ratio >= min_p
        order, p = order[keep], p[keep] / p[keep].sum()
    return {int(t): float(q) for t, q in zip(order, p)}


def test_reference_chain_on_a_hand_example():
    """The reference itself, on numbers worked out by hand."""
    logits = np.log(np.array([0.1, 0.4, 0.2, 0.3]))
    assert reference_chain(logits, temperature=0) == {1: 1.0}
    full = reference_chain(logits, temperature=1, top_k=0, top_p=1, min_p=0)
    assert full == pytest.approx({0: 0.1, 1: 0.4, 2: 0.2, 3: 0.3})
    assert reference_chain(logits, temperature=1, top_k=2, top_p=1, min_p=0) == pytest.approx({1: 4 / 7, 3: 3 / 7})
    # cumulative 0.4, 0.7, 0.9, 1.0: top_p 0.65 keeps {1, 3}; 0.75 keeps {1, 3, 2}
    assert set(reference_chain(logits, temperature=1, top_k=0, top_p=0.65, min_p=0)) == {1, 3}
    assert set(reference_chain(logits, temperature=1, top_k=0, top_p=0.75, min_p=0)) == {1, 3, 2}
    # after top-k=2 the masses are 4/7, 3/7: top_p 0.5 keeps {1} only
    assert reference_chain(logits, temperature=1, top_k=2, top_p=0.5, min_p=0) == {1: 1.0}
    # min_p 0.6: p/p_max = 0.25, 1, 0.5, 0.75 -> keeps {1, 3}
    assert reference_chain(logits, temperature=1, top_k=0, top_p=1, min_p=0.6) == pytest.approx({1: 4 / 7, 3: 3 / 7})
    # T = 2 takes square roots of the probabilities
    sq = np.sqrt([0.1, 0.4, 0.2, 0.3])
    t2 = reference_chain(logits, temperature=2, top_k=0, top_p=1, min_p=0)
    assert [t2[i] for i in range(4)] == pytest.approx(list(sq / sq.sum()))
    # penalty 2 on recent tokens 1 and 3 (token 1 twice: penalized once)
    x = np.array([1.0, 4.0, -2.0, -3.0])
    assert list(penalized(x, [1, 3, 1], 2.0, 64)) == [1.0, 2.0, -2.0, -6.0]
    assert list(penalized(x, [1, 3, 1], 2.0, 1)) == [1.0, 2.0, -2.0, -3.0]  # window: last token only
    assert list(penalized(x, [1, 3, 1], 2.0, 0)) == [1.0, 4.0, -2.0, -3.0]
    with pytest.raises(TooClose):
        reference_chain(logits, temperature=1, top_k=0, top_p=0.7, min_p=0)


# ------------------------------------------------------------------ helpers


def sample_once(lib, context, **params) -> int:
    s = sw.sampler_create(**params)
    try:
        out = ctypes.c_int32(-1)
        sw.check(lib.swiftlet_sampler_sample(s, context, byref(out)))
        return out.value
    finally:
        lib.swiftlet_sampler_free(s)


def sample_seeds(lib, context, n=N_SEEDS, **params) -> np.ndarray:
    """One draw from each of n samplers seeded 0..n-1."""
    return np.array([sample_once(lib, context, seed=seed, **params) for seed in range(n)])


def check_frequencies(draws: np.ndarray, ref: dict[int, float], groups: dict[str, set[int]] | None = None):
    """Empirical counts against n*p. Bins: each token with n*p >= 20 alone,
    the rest lumped, plus any named groups. Bound: 5 binomial standard
    deviations sqrt(n p (1-p)), with the deviation floored at 1 so that bins
    of expected count < 1 are not failed by a single draw. For a sound
    generator a 5-sigma excursion has probability ~6e-7 per bin, ~1e-4 over all
    the bins of this file; the seeds are fixed, so the outcome is reproducible."""
    n = len(draws)
    counts = np.bincount(draws, minlength=max(max(ref) + 1, int(draws.max()) + 1))
    single = {t for t, p in ref.items() if n * p >= 20}
    bins = {f"token {t}": {t} for t in sorted(single)}
    bins["all other allowed tokens"] = set(ref) - single
    bins.update(groups or {})
    failures = []
    for name, tokens in bins.items():
        if not tokens:
            continue
        p = sum(ref.get(t, 0.0) for t in tokens)
        observed = int(sum(counts[t] for t in tokens if t < len(counts)))
        sigma = max(math.sqrt(n * p * (1 - p)), 1.0)
        if abs(observed - n * p) > 5 * sigma:
            failures.append(f"{name}: observed {observed}, expected {n * p:.1f} +- {sigma:.1f}")
    assert not failures, "; ".join(failures)


@pytest.fixture(scope="module")
def flat(tiny_model):
    """A context on the untied tiny model after "in the beginning"."""
    lib = sw.load()
    m = tiny_model(FLAT_MODEL)
    c = sw.context_create(m, n_threads=1, n_ctx=128)
    tokens = sw.tokenize(m, "in the beginning")
    sw.eval_tokens(c, tokens)
    logits = sw.logits(c, sw.model_info(m).n_vocab)
    yield c, tokens, logits
    lib.swiftlet_context_free(c)


@pytest.fixture(scope="module")
def recent(tiny_model):
    """A context of 48 distinct byte tokens (a fixed permutation), for the
    repetition penalty: some have positive logits, some negative (that this
    matters is checked by test_penalty_cases_have_power)."""
    lib = sw.load()
    m = tiny_model(FLAT_MODEL)
    c = sw.context_create(m, n_threads=1, n_ctx=128)
    tokens = [int(t) for t in np.random.default_rng(0).permutation(np.arange(32, 127))[:48]]
    sw.eval_tokens(c, tokens)
    logits = sw.logits(c, sw.model_info(m).n_vocab)
    yield c, tokens, logits
    lib.swiftlet_context_free(c)


# -------------------------------------------------------------- greedy, top-k=1


def test_temperature_zero_is_argmax(lib, flat, recent):
    for c, tokens, logits in (flat, recent):
        want = int(np.argmax(logits))
        for seed in (0, 1, 12345):
            assert sample_once(lib, c, temperature=0.0, seed=seed) == want
        # greedy skips the filters whatever they are
        assert sample_once(lib, c, temperature=0.0, top_k=3, top_p=0.1, min_p=0.9) == want


def test_top_k_one_is_argmax_at_any_temperature(lib, flat):
    c, _, logits = flat
    want = int(np.argmax(logits))
    for temperature in (0.1, 1.0, 5.0, 1000.0):
        draws = sample_seeds(lib, c, n=50, temperature=temperature, top_k=1, top_p=1.0, min_p=0.0)
        assert set(draws.tolist()) == {want}, temperature


def test_min_p_one_is_argmax(lib, flat):
    c, _, logits = flat
    draws = sample_seeds(lib, c, n=50, temperature=3.0, top_k=0, top_p=1.0, min_p=1.0)
    assert set(draws.tolist()) == {int(np.argmax(logits))}


def write_tie_model(path: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """A tiny untied llama whose output matrix is zero except rows 40 and 50
    (both v) and rows 60 and 70 (both -v). Identical rows give bit-identical
    logits, so the maximum is a tie (40, 50) or (60, 70), whatever the sign of
    h.v; every other logit is exactly 0."""
    spec = mk.TinySpec("tie", mk.QT.F32, n_layer=2, n_head_kv=2, tied=False, seed=11)
    weights = mk.random_weights(spec)
    v = np.random.default_rng(12).standard_normal(spec.n_embd).astype(np.float32)
    out = np.zeros_like(weights["output.weight"])
    out[40] = out[50] = v
    out[60] = out[70] = -v
    weights["output.weight"] = out
    mk.write_model(spec, path, weights=weights)
    return (40, 50), (60, 70)


def test_greedy_ties_go_to_the_lowest_id_and_penalty_breaks_them(lib, tmp_path):
    pair_v, pair_minus_v = write_tie_model(str(tmp_path / "tie.gguf"))
    m = sw.model_load(str(tmp_path / "tie.gguf"), n_threads=1)
    c = sw.context_create(m, n_ctx=32, n_threads=1)
    try:
        context_tokens = [pair_v[0], pair_minus_v[0], 100, 101]  # the lower id of each pair is recent
        sw.eval_tokens(c, context_tokens)
        logits = sw.logits(c, mk.VOCAB.n_vocab)
        low, high = pair_v if logits[pair_v[0]] > 0 else pair_minus_v
        assert logits[low] == logits[high] == logits.max() and logits[low] > 0, "the construction must tie"
        assert np.count_nonzero(logits == logits.max()) == 2
        assert sample_once(lib, c, temperature=0.0) == low == reference_chain(logits, temperature=0).popitem()[0]
        # penalty 2 halves logit[low] (recent); high is not recent and now wins alone
        got = sample_once(lib, c, temperature=0.0, repeat_penalty=2.0, repeat_last_n=64)
        want = reference_chain(logits, context_tokens, temperature=0, repeat_penalty=2.0, repeat_last_n=64)
        assert want == {high: 1.0} and got == high
    finally:
        lib.swiftlet_context_free(c)
        lib.swiftlet_model_free(m)


# ----------------------------------------------------- allowed sets, frequencies

FILTER_CASES = {
    "softmax only": dict(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0),
    "top_k": dict(temperature=1.0, top_k=5, top_p=1.0, min_p=0.0),
    "top_p": dict(temperature=1.0, top_k=0, top_p=0.6, min_p=0.0),
    "min_p": dict(temperature=1.0, top_k=0, top_p=1.0, min_p=0.1),
    "cold, all three": dict(temperature=0.7, top_k=20, top_p=0.8, min_p=0.05),
    "hot, all three": dict(temperature=2.5, top_k=50, top_p=0.9, min_p=0.02),
    "header defaults": dict(temperature=0.8, top_k=40, top_p=0.95, min_p=0.05),
}


@pytest.mark.parametrize("case", list(FILTER_CASES))
def test_draws_are_allowed_and_frequencies_match(lib, flat, case):
    params = FILTER_CASES[case]
    c, tokens, logits = flat
    ref = reference_chain(logits, tokens, **params)
    draws = sample_seeds(lib, c, **params)
    outside = sorted(set(draws.tolist()) - set(ref))
    assert not outside, f"{case}: drew tokens outside the allowed set {sorted(ref)}: {outside}"
    check_frequencies(draws, ref)


def test_the_filter_cases_are_not_trivial(flat):
    """Each filter case keeps a set of a different size, neither 1 token nor
    everything, so a filter that is skipped or misapplied changes the set."""
    _, tokens, logits = flat
    sizes = {case: len(reference_chain(logits, tokens, **p)) for case, p in FILTER_CASES.items()}
    assert sizes["softmax only"] == len(logits)
    for case in ("top_k", "top_p", "min_p", "cold, all three", "hot, all three", "header defaults"):
        assert 2 <= sizes[case] < 60, sizes
    # top-p measured on what top-k kept (renormalized, as llama.cpp does) and
    # top-p measured on the full distribution keep different counts in both
    # combined cases, so those cases pin the reading down
    for case in ("cold, all three", "hot, all three"):
        p = FILTER_CASES[case]
        z = np.sort(logits.astype(np.float64))[::-1] / p["temperature"]
        q = np.exp(z - z.max())
        kept = (q / q.sum())[: p["top_k"]]
        renormalized = np.searchsorted(np.cumsum(kept / kept.sum()), p["top_p"]) + 1
        full = min(np.searchsorted(np.cumsum(kept), p["top_p"]) + 1, p["top_k"])
        assert renormalized != full, case


PENALTY_CASES = {
    # hot enough that the recent tokens with negative logits carry mass:
    # multiplying (right) vs dividing (wrong) them differs by >9 sigma there
    "penalty 3, whole context": dict(temperature=3.0, top_k=0, top_p=1.0, min_p=0.0,
                                     repeat_penalty=3.0, repeat_last_n=64),
    "penalty 1.5, last 16, with filters": dict(temperature=2.0, top_k=30, top_p=1.0, min_p=0.01,
                                               repeat_penalty=1.5, repeat_last_n=16),
}


@pytest.mark.parametrize("case", list(PENALTY_CASES))
def test_penalized_draws_are_allowed_and_frequencies_match(lib, recent, case):
    params = PENALTY_CASES[case]
    c, tokens, logits = recent
    ref = reference_chain(logits, tokens, **params)
    window = set(tokens[-params["repeat_last_n"]:])
    groups = {"recent, negative logit": {t for t in window if logits[t] < 0},
              "recent, positive logit": {t for t in window if logits[t] > 0}}
    draws = sample_seeds(lib, c, **params)
    outside = sorted(set(draws.tolist()) - set(ref))
    assert not outside, f"{case}: drew tokens outside the allowed set: {outside}"
    check_frequencies(draws, ref, groups)


def test_penalty_cases_have_power(recent):
    """The penalty cases would catch the likely mistakes: no penalty at all,
    dividing negative logits too, and penalizing outside the window."""
    _, tokens, logits = recent
    n = N_SEEDS

    def mass(ref, group):
        return sum(ref.get(t, 0.0) for t in group)

    p = PENALTY_CASES["penalty 3, whole context"]
    right = reference_chain(logits, tokens, **p)
    negative = {t for t in set(tokens) if logits[t] < 0}
    positive = {t for t in set(tokens) if logits[t] > 0}
    unpenalized = reference_chain(logits, tokens, **{**p, "repeat_penalty": 1.0})
    x = logits.astype(np.float64).copy()  # the "divide negative logits too" chain
    for t in set(tokens):
        x[t] /= 3.0
    wrong = reference_chain(x, (), **{**p, "repeat_penalty": 1.0})
    for other, group in ((unpenalized, positive), (wrong, negative)):
        a, b = mass(right, group), mass(other, group)
        sigma = max(math.sqrt(n * a * (1 - a)), 1.0)
        assert abs(a - b) * n > 8 * sigma, (a, b)
    q = PENALTY_CASES["penalty 1.5, last 16, with filters"]
    inside = reference_chain(logits, tokens, **q)
    everywhere = reference_chain(logits, tokens, **{**q, "repeat_last_n": 64})
    assert set(inside) != set(everywhere)


# --------------------------------------------------- repetition penalty, greedy


@pytest.fixture(scope="module")
def weekdays(real_model):
    """The real model after "Monday, Tuesday, Wednesday. Monday, Tuesday,":
    greedy repeats a token of the context (" Wednesday")."""
    lib = sw.load()
    c = sw.context_create(real_model, n_ctx=64)
    tokens = sw.tokenize(real_model, "Monday, Tuesday, Wednesday. Monday, Tuesday,")
    sw.eval_tokens(c, tokens)
    logits = sw.logits(c, sw.model_info(real_model).n_vocab)
    yield c, tokens, logits
    lib.swiftlet_context_free(c)


def test_repetition_penalty_greedy_on_the_real_model(lib, weekdays):
    c, tokens, logits = weekdays
    g = int(np.argmax(logits))
    assert g in tokens, "setup: greedy must pick a token of the context"
    assert sample_once(lib, c, temperature=0.0) == g
    d = next(k for k in range(1, len(tokens) + 1) if tokens[-k] == g)  # g is the d-th token from the end

    def greedy(penalty, last_n):
        return sample_once(lib, c, temperature=0.0, repeat_penalty=penalty, repeat_last_n=last_n)

    # Cases whose outcome follows from the construction (margins of whole logits):
    # a penalty of 100 divides g's logit (> 10) below 1, far under the runner-up.
    assert greedy(100.0, 64) != g
    assert greedy(100.0, d) != g        # the window just reaches g
    assert greedy(100.0, d - 1) == g    # the window stops just short of g
    assert greedy(100.0, 0) == g        # repeat_last_n 0: no penalty at all
    assert greedy(1.0, 64) == g         # penalty 1: no penalty at all
    # Exact agreement with the reference over a sweep of penalties and windows.
    # Cases where the reference's top two are within 0.01 are left out: float32
    # logits of ~20 carry errors ~1e-5, far below that.
    compared, switched = 0, set()
    for penalty in (1.02, 1.05, 1.1, 1.2, 1.5, 2.0, 4.0, 100.0):
        for last_n in (1, 2, d - 1, d, d + 1, 64):
            x = penalized(logits, tokens, penalty, last_n)
            top2 = np.sort(x)[-2:]
            if top2[1] - top2[0] < 0.01:
                continue
            want = int(np.argmax(x))
            assert greedy(penalty, last_n) == want, f"penalty {penalty}, last {last_n}: reference {want}"
            compared += 1
            switched.add(want != g)
    assert compared >= 40 and switched == {True, False}

def test_repeat_last_n_zero_or_penalty_one_changes_nothing(lib, recent):
    c, _, logits = recent
    plain = sample_seeds(lib, c, n=300, temperature=1.5, top_k=0, top_p=1.0, min_p=0.0)
    for penalty, last_n in ((5.0, 0), (1.0, 64)):
        same = sample_seeds(lib, c, n=300, temperature=1.5, top_k=0, top_p=1.0, min_p=0.0,
                            repeat_penalty=penalty, repeat_last_n=last_n)
        assert np.array_equal(plain, same), (penalty, last_n)


def test_sampling_does_not_change_the_context(lib, flat):
    c, _, logits = flat
    pos = lib.swiftlet_context_position(c)
    sample_once(lib, c, temperature=1.0, repeat_penalty=3.0)
    assert lib.swiftlet_context_position(c) == pos
    assert np.array_equal(sw.logits(c, len(logits)), logits)


# --------------------------------------------------------------- determinism


def test_same_seed_same_draws_different_seed_different_draws(lib, flat):
    c, _, _ = flat

    def draws(seed, n=200):
        s = sw.sampler_create(seed=seed, temperature=1.5, top_k=0, top_p=1.0, min_p=0.0)
        out, seq = ctypes.c_int32(), []
        for _ in range(n):
            sw.check(lib.swiftlet_sampler_sample(s, c, byref(out)))
            seq.append(out.value)
        lib.swiftlet_sampler_free(s)
        return seq

    a = draws(7)
    assert a == draws(7)
    assert a != draws(8)
    assert len(set(a)) > 10  # the generator advances between draws


def test_generate_same_seed_same_text(lib, tiny_model, make_context):
    c = make_context(tiny_model(FLAT_MODEL), n_ctx=128, n_threads=1)

    def text(seed):
        lib.swiftlet_context_reset(c)
        col = sw.Collector()
        params = sw.new_generate_params(max_tokens=48, tokenize_flags=0,
                                        sampling={"temperature": 0.8, "seed": seed})
        st, res = sw.generate(c, "in the beginning", params, col)
        sw.check(st)
        assert res.n_generated_tokens == 48  # EOS logits are 0 on the tiny models: no early stop
        return col.tokens, b"".join(col.pieces)

    first = text(1234)
    assert len(set(first[0])) > 5, "the draw must not be near-deterministic for this test to mean anything"
    assert text(1234) == first
    assert text(1235)[1] != first[1]


# ------------------------------------------------------------ parameter checks


def test_sampler_defaults_are_the_documented_ones(lib):
    p = sw.SamplerParams()
    lib.swiftlet_sampler_params_init_sized(byref(p), ctypes.sizeof(p))
    assert p.struct_size == ctypes.sizeof(sw.SamplerParams)
    assert not p.grammar
    assert (p.temperature, p.top_k, p.top_p, p.min_p, p.repeat_penalty, p.repeat_last_n, p.seed) == \
        (pytest.approx(0.8), 40, pytest.approx(0.95), pytest.approx(0.05), 1.0, 64, 0)
    out = sw.SamplerP()
    sw.check(lib.swiftlet_sampler_create(None, byref(out)))  # NULL params = defaults
    lib.swiftlet_sampler_free(out)
    lib.swiftlet_sampler_free(None)


def test_null_params_sample_like_the_defaults(lib, flat):
    c, _, _ = flat
    out = sw.SamplerP()
    sw.check(lib.swiftlet_sampler_create(None, byref(out)))
    tok = ctypes.c_int32()
    sw.check(lib.swiftlet_sampler_sample(out, c, byref(tok)))
    lib.swiftlet_sampler_free(out)
    assert tok.value == sample_once(lib, c, seed=0)


INVALID = [
    ("temperature", float("nan")), ("temperature", -0.5),
    ("top_k", -1),
    ("top_p", 0.0), ("top_p", 1.5), ("top_p", -0.1), ("top_p", float("nan")),
    ("min_p", -0.1), ("min_p", 1.5), ("min_p", float("nan")),
    ("repeat_penalty", 0.0), ("repeat_penalty", -1.0), ("repeat_penalty", float("nan")),
    ("repeat_last_n", -1),
]


@pytest.mark.parametrize("field,value", INVALID, ids=[f"{f}={v}" for f, v in INVALID])
def test_invalid_params_are_invalid_argument(lib, field, value):
    p = sw.new_sampler_params(**{field: value})
    out = sw.SamplerP(0x5EED)
    st = lib.swiftlet_sampler_create(byref(p), byref(out))
    assert st == sw.ERROR_INVALID_ARGUMENT, (field, value, sw.STATUS_NAMES.get(st, st))
    assert sw.last_error() != ""
    assert out.value == 0x5EED, "out_sampler written on failure"


def test_boundary_params_are_valid(lib):
    for fields in ({"temperature": 0.0}, {"top_k": 0}, {"top_p": 1.0}, {"top_p": 1e-6}, {"min_p": 0.0},
                   {"min_p": 1.0}, {"repeat_penalty": 1.0}, {"repeat_last_n": 0}, {"seed": 2**64 - 1}):
        lib.swiftlet_sampler_free(sw.sampler_create(**fields))


def test_sample_needs_logits(lib, tiny_model, make_context):
    m = tiny_model(FLAT_MODEL)
    c = make_context(m, n_ctx=32, n_threads=1)
    s = sw.sampler_create()
    tok = ctypes.c_int32(-7)
    try:
        assert lib.swiftlet_sampler_sample(s, c, byref(tok)) == sw.ERROR_INVALID_ARGUMENT  # fresh
        sw.eval_tokens(c, [1, 2, 3])
        sw.check(lib.swiftlet_context_rewind(c, 1))
        assert lib.swiftlet_sampler_sample(s, c, byref(tok)) == sw.ERROR_INVALID_ARGUMENT  # rewound
        assert lib.swiftlet_sampler_sample(None, c, byref(tok)) == sw.ERROR_INVALID_ARGUMENT
        assert lib.swiftlet_sampler_sample(s, None, byref(tok)) == sw.ERROR_INVALID_ARGUMENT
        assert tok.value == -7
        sw.eval_tokens(c, [5])
        assert lib.swiftlet_sampler_sample(s, c, None) == sw.ERROR_INVALID_ARGUMENT
    finally:
        lib.swiftlet_sampler_free(s)


def test_nan_logits_do_not_break_top_k(lib, real_model):
    """A broken model's NaN logits (the gguf fuzz target found one) still give
    a token at the default top_k, with and without a grammar: nothing to
    select from is no reason to crash."""
    from grammar_tools import gbnf, sample_logits, sampler_for
    n_vocab = lib.swiftlet_vocab_size(real_model)
    for logits in (np.full(n_vocab, np.nan, dtype=np.float32),
                   np.where(np.arange(n_vocab) % 3 == 0, np.nan, 1.0).astype(np.float32)):
        for grammar in (None, gbnf('root ::= [a-z]+')):
            sampler = sampler_for(grammar, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05)
            try:
                assert 0 <= sample_logits(sampler, real_model, logits) < n_vocab
            finally:
                lib.swiftlet_sampler_free(sampler)
