"""Observers (swiftlet_context_set_observer): the views a context hands its
callback during evaluation, judged against the numpy reference's own
intermediates (reference_llama.py, `record=`), written from the equations.

Tolerances are measured the way test_reference_forward.py measures the
logits' (reference_llama.expected_logits): the reference's int8 emulation is
re-run as other faithful implementations would run it (float32 with another
order, and with every matmul input perturbed by 1e-6 relative), and Swiftlet
may differ from it by K_ORDER times the largest deviation seen (or the fp32
rounding floor). Attention weights get the same treatment; on top of that,
their structure is checked exactly: every row sums to 1, later positions
weigh exactly 0, and a sliding-window layer gives exactly 0 outside its window.
"""
from __future__ import annotations

import ctypes

import numpy as np
import pytest

import reference_llama as R
import swiftlet_ctypes as sw
from test_reference_forward import token_sequence
from test_sequences import decode

# One tiny model per architecture and attention shape (conftest.TINY_SPECS).
MODELS = ["tiny-f16-gqa2-untied", "tiny-q8_0-mqa-tied", "tiny-qwen2-q8_0-gqa2-untied", "tiny-gpt2-q8_0-learned-untied",
          "tiny-gpt2-f16-sinusoidal", "tiny-gemma3-f32-w8"]
GEMMA3 = "tiny-gemma3-f32-w8"
KINDS = {sw.OBSERVE_HIDDEN: "hidden", sw.OBSERVE_AFTER_ATTENTION: "after_attention",
         sw.OBSERVE_ATTENTION: "attention", sw.OBSERVE_FINAL: "final"}
TOKENS = token_sequence(5, 20)
LONG = token_sequence(3, 40)  # five windows of the tiny gemma3 models (W = 8)


class Recorder:
    """An observer callback that copies every view it is handed."""

    def __init__(self, stop_after: int | None = None):
        self.views: list[dict] = []
        self.stop_after = stop_after
        self.callback = sw.ObserverCallback(self._called)

    def _called(self, observation, _user_data) -> int:
        o = observation.contents
        shape = (o.n_heads, o.n_tokens, o.n_columns)
        values = np.ctypeslib.as_array(o.values, shape=(int(np.prod(shape)),)).reshape(shape).copy()
        self.views.append(dict(kind=KINDS[o.kind], layer=o.layer, seq=o.seq_id, first_token=o.first_token,
                               first_position=o.first_position, struct_size=o.struct_size, values=values))
        return 0 if self.stop_after is not None and len(self.views) >= self.stop_after else 1

    def attach(self, context, kinds: int = sw.OBSERVE_ALL) -> "Recorder":
        sw.check(sw.load().swiftlet_context_set_observer(context, kinds, self.callback, None))
        return self

    def stacked(self, kind: str) -> list[np.ndarray]:
        """Per layer, this kind's views of a single sequence, the passes put
        together: hidden (tokens, n_embd); attention (heads, tokens,
        positions), a pass's missing later columns being the zeros they are."""
        layers: dict[int, list[dict]] = {}
        for view in self.views:
            if view["kind"] == kind:
                layers.setdefault(view["layer"], []).append(view)
        out = []
        for layer in sorted(layers):
            parts = layers[layer]
            if kind != "attention":
                out.append(np.concatenate([p["values"][0] for p in parts]))
                continue
            width = max(p["values"].shape[2] for p in parts)
            out.append(np.concatenate([np.pad(p["values"], ((0, 0), (0, 0), (0, width - p["values"].shape[2])))
                                       for p in parts], axis=1))
        return out


def evaluate(lib, tiny_model, name, tokens, kinds=sw.OBSERVE_ALL, n_batch=0, one_by_one=False):
    model = tiny_model(name)
    context = sw.context_create(model, n_ctx=64, n_threads=2, n_batch=n_batch)
    try:
        recorder = Recorder().attach(context, kinds)
        steps = [[t] for t in tokens] if one_by_one else [tokens]
        for step in steps:
            arr = sw.token_array(step)
            sw.check(lib.swiftlet_context_eval(context, arr, len(step)))
        return recorder, sw.logits(context, sw.model_info(model).n_vocab)
    finally:
        lib.swiftlet_context_free(context)


_views_cache: dict = {}


def reference_views(ref: R.ReferenceLlama, tokens) -> tuple[dict, dict]:
    """The int8 emulation's intermediates and, per kind, the tolerance."""
    key = (ref.path, tuple(tokens))
    if key in _views_cache:
        return _views_cache[key]

    def run(**options):
        record: dict = {}
        ref.forward(tokens, "int8", record=record, **options)
        return {kind: np.array(value) for kind, value in record.items()}

    b = run()
    others = [run(dtype=np.float32)] + [run(perturb=np.random.default_rng(seed), perturb_rel=R.PERTURB_REL)
                                        for seed in range(R.N_PERTURBED)]
    tolerances = {}
    for kind, values in b.items():
        deviation = max(float(np.max(np.abs(values - other[kind]))) for other in others)
        tolerances[kind] = max(R.K_ORDER * deviation, R.EPS_FLOOR_FACTOR * R.FP32_EPS * float(np.max(np.abs(values))))
    _views_cache[key] = (b, tolerances)
    return b, tolerances


def assert_close(got, want, tolerance, what):
    got = np.asarray(got, np.float64)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    assert np.max(np.abs(got - want)) <= tolerance, f"{what}: {R.describe_mismatch(got, want, tolerance)}"


@pytest.mark.parametrize("name", MODELS)
def test_views_equal_the_reference_intermediates(lib, tiny_model, references, name):
    ref = references[name]
    recorder, _ = evaluate(lib, tiny_model, name, TOKENS)
    want, tolerances = reference_views(ref, TOKENS)
    for kind in ("hidden", "after_attention", "attention"):
        got = recorder.stacked(kind)
        assert len(got) == ref.hp.n_layer, kind
        for layer, values in enumerate(got):
            assert_close(values, want[kind][layer], tolerances[kind], f"{name} {kind} layer {layer}")
    (final,) = recorder.stacked("final")
    assert_close(final, want["final"], tolerances["final"], f"{name} final")
    # the tolerance is tight enough to tell neighbouring layers apart
    hidden = want["hidden"]
    assert np.max(np.abs(hidden[-1] - hidden[-2])) > 3 * tolerances["hidden"]


@pytest.mark.parametrize("name", MODELS)
def test_attention_rows_are_distributions_over_earlier_positions(lib, tiny_model, references, name):
    hp = references[name].hp
    recorder, _ = evaluate(lib, tiny_model, name, LONG)
    for layer, weights in enumerate(recorder.stacked("attention")):
        assert weights.shape == (hp.n_head, len(LONG), len(LONG))
        np.testing.assert_allclose(weights.sum(axis=2), 1.0, atol=1e-5)
        assert np.all(weights >= 0)
        later = np.triu(np.ones((len(LONG), len(LONG)), bool), k=1)
        assert np.all(weights[:, later] == 0), f"layer {layer} attends to later positions"
        if not hp.is_local(layer):  # (a sliding window's zeros: the next test)
            assert np.all(weights[:, ~later] > 0), f"layer {layer}: an earlier position weighs 0"


def test_sliding_window_layers_attend_only_inside_the_window(lib, tiny_model, references):
    hp = references[GEMMA3].hp
    W = hp.sliding_window
    recorder, _ = evaluate(lib, tiny_model, GEMMA3, LONG, kinds=sw.OBSERVE_ATTENTION)
    query, key = np.indices((len(LONG), len(LONG)))
    inside = (key <= query) & (key > query - W)
    for layer, weights in enumerate(recorder.stacked("attention")):
        if hp.is_local(layer):
            assert np.all(weights[:, ~inside] == 0), f"local layer {layer} attends outside its window"
            assert np.all(weights[:, inside] > 0)
        else:
            assert np.all(weights[:, (key <= query) & ~inside] > 0), f"global layer {layer} is windowed"


@pytest.mark.parametrize("name", [GEMMA3, "tiny-qwen2-q8_0-gqa2-untied"])
def test_batched_and_one_by_one_give_the_same_views(lib, tiny_model, references, name):
    """Under 8 tokens a pass takes the same kernels token by token or
    batched, so the views are equal; longer passes may round differently
    (DESIGN decision 6 on VNNI machines): there they agree within the
    reference tolerance."""
    short = LONG[:7]
    batched, _ = evaluate(lib, tiny_model, name, short, n_batch=7)
    single, _ = evaluate(lib, tiny_model, name, short, one_by_one=True)
    for kind in ("hidden", "after_attention", "final"):
        for a, b in zip(batched.stacked(kind), single.stacked(kind), strict=True):
            assert np.array_equal(a, b), kind
    for a, b in zip(batched.stacked("attention"), single.stacked("attention"), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    _, tolerances = reference_views(references[name], LONG)
    batched, _ = evaluate(lib, tiny_model, name, LONG, n_batch=32)
    single, _ = evaluate(lib, tiny_model, name, LONG, one_by_one=True)
    for kind in KINDS.values():
        for layer, (a, b) in enumerate(zip(batched.stacked(kind), single.stacked(kind), strict=True)):
            assert_close(a, b, tolerances[kind], f"{name} {kind} layer {layer}")


def test_views_arrive_in_order_with_their_shapes(lib, tiny_model, references):
    name = "tiny-f16-gqa2-untied"
    hp = references[name].hp
    recorder, _ = evaluate(lib, tiny_model, name, TOKENS[:5], n_batch=3)
    order = [(v["kind"], v["layer"], v["first_position"], v["values"].shape) for v in recorder.views]
    expected = []
    for start, count in ((0, 3), (3, 2)):
        for layer in range(hp.n_layer):
            expected += [("attention", layer, start, (hp.n_head, count, start + count)),
                         ("after_attention", layer, start, (1, count, hp.n_embd)),
                         ("hidden", layer, start, (1, count, hp.n_embd))]
        expected.append(("final", hp.n_layer, start, (1, count, hp.n_embd)))
    assert order == expected
    assert all(v["struct_size"] == ctypes.sizeof(sw.Observation) and v["seq"] == 0 and v["first_token"] == 0
               for v in recorder.views)


def test_only_the_kinds_asked_for(lib, tiny_model):
    recorder, _ = evaluate(lib, tiny_model, GEMMA3, TOKENS, kinds=sw.OBSERVE_FINAL | sw.OBSERVE_HIDDEN)
    assert {v["kind"] for v in recorder.views} == {"final", "hidden"}


def test_observing_changes_no_logit(lib, tiny_model):
    for name in MODELS:
        _, observed = evaluate(lib, tiny_model, name, LONG)
        _, plain = evaluate(lib, tiny_model, name, LONG, kinds=0)
        assert np.array_equal(observed, plain), name


def test_decode_views_each_sequence_separately(lib, tiny_model, references):
    """Two sequences in one pass: a view per sequence, each over its own positions."""
    name = "tiny-qwen2-q8_0-gqa2-untied"
    hp = references[name].hp
    context = sw.context_create(tiny_model(name), n_ctx=32, n_threads=2, n_seq_max=2)
    try:
        first, second = TOKENS[:6], TOKENS[6:9]
        for seq, tokens in ((0, first), (1, second)):
            sw.check(decode(context, tokens, seqs=[seq] * len(tokens)))
        recorder = Recorder().attach(context, sw.OBSERVE_ATTENTION | sw.OBSERVE_HIDDEN)
        sw.check(decode(context, [TOKENS[10], TOKENS[11], TOKENS[12]], seqs=[0, 1, 1]))
        attention = [v for v in recorder.views if v["kind"] == "attention" and v["layer"] == 0]
        assert [(v["seq"], v["first_token"], v["first_position"], v["values"].shape) for v in attention] == [
            (0, 0, 6, (hp.n_head, 1, 7)), (1, 1, 3, (hp.n_head, 2, 5))]
        # the same tokens continuing each sequence alone: the same weights
        ref_first, _ = reference_views(references[name], first + [TOKENS[10]])
        np.testing.assert_allclose(attention[0]["values"], ref_first["attention"][0][:, -1:], atol=2e-3)
    finally:
        lib.swiftlet_context_free(context)


def test_a_false_return_cancels_and_keeps_the_context(lib, tiny_model):
    name = "tiny-f16-gqa2-untied"
    context = sw.context_create(tiny_model(name), n_ctx=64, n_threads=2)
    try:
        arr = sw.token_array(TOKENS[:4])
        sw.check(lib.swiftlet_context_eval(context, arr, 4))
        stopper = Recorder(stop_after=2).attach(context)
        arr = sw.token_array(TOKENS[4:8])
        assert lib.swiftlet_context_eval(context, arr, 4) == sw.ERROR_CANCELLED
        assert len(stopper.views) == 2
        assert lib.swiftlet_context_position(context) == 4
        sw.check(lib.swiftlet_context_set_observer(context, 0, sw.ObserverCallback(), None))  # removed
        sw.check(lib.swiftlet_context_eval(context, arr, 4))
        assert len(stopper.views) == 2 and lib.swiftlet_context_position(context) == 8
    finally:
        lib.swiftlet_context_free(context)


def test_set_observer_errors(lib, tiny_model):
    context = sw.context_create(tiny_model("tiny-f16-gqa2-untied"), n_ctx=16, n_threads=1)
    try:
        recorder = Recorder()
        assert lib.swiftlet_context_set_observer(context, 16, recorder.callback, None) == sw.ERROR_INVALID_ARGUMENT
        assert "kinds" in sw.last_error()
        assert lib.swiftlet_context_set_observer(None, 1, recorder.callback, None) == sw.ERROR_INVALID_ARGUMENT
        statuses = []

        def reentrant(_observation, _user_data):
            statuses.append(lib.swiftlet_context_set_observer(context, 0, sw.ObserverCallback(), None))
            statuses.append(lib.swiftlet_context_reset(context))
            return 1
        callback = sw.ObserverCallback(reentrant)
        sw.check(lib.swiftlet_context_set_observer(context, sw.OBSERVE_FINAL, callback, None))
        arr = sw.token_array(TOKENS[:2])
        sw.check(lib.swiftlet_context_eval(context, arr, 2))
        assert statuses == [sw.ERROR_BUSY, sw.ERROR_BUSY]
    finally:
        lib.swiftlet_context_free(context)


def test_freeing_the_context_from_the_callback_stops_the_pass(lib, tiny_model):
    context = sw.context_create(tiny_model("tiny-f16-gqa2-untied"), n_ctx=16, n_threads=1)
    calls = []

    def free_it(_observation, _user_data):
        calls.append(1)
        lib.swiftlet_context_free(context)
        return 1
    callback = sw.ObserverCallback(free_it)
    sw.check(lib.swiftlet_context_set_observer(context, sw.OBSERVE_ALL, callback, None))
    arr = sw.token_array(TOKENS[:3])
    assert lib.swiftlet_context_eval(context, arr, 3) == sw.ERROR_CANCELLED
    assert len(calls) == 1


def test_encoder_views_per_text_equal_the_reference(lib, make_context, tmp_path):
    """BERT (post-norm, bidirectional), three texts embedded in one packed
    pass: a view per text and layer, each over its own tokens only, equal to
    reference_bert's float intermediates within the int8 weights' error (the
    encoder's reference has no int8 emulation, so the bar is
    test_embeddings.py's cosine, per token, and for attention weights the
    absolute error measured on these texts: 0.014, with 0.03 allowed)."""
    from make_tiny_bert import make_tiny_bert
    from reference_bert import ReferenceBert
    from test_embeddings import MINIMUM_COSINE, cosine, model_ids
    folder = make_tiny_bert(str(tmp_path / "tiny"), seed=3)
    model = sw.model_load(folder, n_threads=2)
    try:
        context = make_context(model)
        recorder = Recorder().attach(context, sw.OBSERVE_ATTENTION | sw.OBSERVE_HIDDEN | sw.OBSERVE_FINAL)
        texts = ["hello world", "the cat sat on the mat", "unknownword xyz"]
        sw.embed(context, texts, sw.model_info(model).n_embd)
        ids = [model_ids(model, t) for t in texts]
        weights: list = []
        states, _ = ReferenceBert(folder).hidden_states_batch(ids, attention=weights)
        n_layer = len(weights)
        starts = np.cumsum([0] + [len(i) for i in ids])
        for view in recorder.views:
            seq, n = view["seq"], len(ids[view["seq"]])
            assert view["first_token"] == starts[seq] and view["first_position"] == 0
            if view["kind"] == "attention":
                got = view["values"]
                want = weights[view["layer"]][seq][:, :n, :n]
                assert got.shape == want.shape  # its own tokens only
                np.testing.assert_allclose(got.sum(axis=2), 1.0, atol=1e-5)
                assert np.max(np.abs(got - want)) < 0.03, (view["layer"], np.max(np.abs(got - want)))
            else:
                layer = n_layer - 1 if view["kind"] == "final" else view["layer"]
                assert view["values"].shape == (1, n, states.shape[-1])
                assert cosine(view["values"][0], states[layer + 1][seq][:n]).min() >= MINIMUM_COSINE
        assert len(recorder.views) == len(texts) * (2 * n_layer + 1)
    finally:
        lib.swiftlet_model_free(model)
