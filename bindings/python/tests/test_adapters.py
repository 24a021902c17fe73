"""LoRA adapters from Python: Model.load_adapter, Adapter, Context.set_adapters.
(The numbers are checked against the reference in Tests/python/test_lora.py;
here: the package's surface, lifetimes and errors.)"""
from __future__ import annotations

import os

import numpy as np
import pytest

import swiftlet

import lora_tools as L

TOKENS = [1, 40, 41, 42, 43, 44, 45, 46]


def _adapter_file(path: str, model_path: str, seed: int, names=L.PROJECTIONS, rank: int = 4, alpha=8.0,
                  architecture: str = "llama", gain: float = 0.5) -> str:
    shapes = L.file_shapes(model_path)
    pairs = L.random_pairs(shapes, L.adaptable(shapes, names), rank, seed, gain)
    return L.write_adapter(path, architecture, pairs, alpha)


@pytest.fixture
def adapter_paths(tmp_path, tiny_path):
    return [_adapter_file(str(tmp_path / f"a{seed}.gguf"), tiny_path, seed) for seed in (1, 2)]


def test_load_and_info(tiny, adapter_paths):
    with tiny.load_adapter(adapter_paths[0]) as adapter:
        assert isinstance(adapter, swiftlet.Adapter)
        assert (adapter.rank, adapter.alpha) == (4, 8.0)
        assert adapter.n_tensors == 2 * 7  # 2 layers x q, k, v, o, gate, up, down (the head is tied)
        assert adapter.path == adapter_paths[0]
        assert "rank=4" in repr(adapter) and not adapter.closed
    assert adapter.closed and "closed" in repr(adapter)
    adapter.close()  # idempotent


def test_attach_stack_detach_swap(tiny, adapter_paths):
    first, second = (tiny.load_adapter(p) for p in adapter_paths)
    ctx = tiny.context(n_ctx=64)
    base = ctx.eval_all_logits(TOKENS)
    ctx.set_adapters({first: 1.0})
    assert ctx.position == 0 and ctx.adapters == {first: 1.0}
    one = ctx.eval_all_logits(TOKENS)
    assert not np.array_equal(one, base)
    ctx.set_adapters({first: 1.0})  # the same set: nothing changes
    assert ctx.position == len(TOKENS)
    ctx.set_adapters({first: 1.0, second: -0.5})
    both = ctx.eval_all_logits(TOKENS)
    ctx.set_adapters({second: 1.0})
    swapped = ctx.eval_all_logits(TOKENS)
    assert len({one.tobytes(), both.tobytes(), swapped.tobytes(), base.tobytes()}) == 4
    ctx.set_adapters({first: 0.0})
    assert np.array_equal(ctx.eval_all_logits(TOKENS), base)
    ctx.set_adapters({})
    assert ctx.adapters == {} and np.array_equal(ctx.eval_all_logits(TOKENS), base)
    ctx.set_adapters({first: 1.0})
    ctx.set_adapters(None)
    assert np.array_equal(ctx.eval_all_logits(TOKENS), base)


def test_closed_adapter_stays_attached_but_cannot_be_attached(tiny, adapter_paths):
    adapter = tiny.load_adapter(adapter_paths[0])
    ctx = tiny.context(n_ctx=64)
    ctx.set_adapters({adapter: 1.0})
    want = ctx.eval_all_logits(TOKENS)
    adapter.close()
    ctx.reset()
    assert np.array_equal(ctx.eval_all_logits(TOKENS), want)  # the context holds its own reference
    with pytest.raises(ValueError, match="adapter is closed"):
        ctx.set_adapters({adapter: 0.5})


def test_errors(tiny, tiny_paths, tmp_path, adapter_paths):
    # another architecture
    wrong = _adapter_file(str(tmp_path / "qwen.gguf"), tiny_paths["tiny-f32-mha-tied"], 3, architecture="qwen2")
    with pytest.raises(swiftlet.InvalidArgumentError, match="architecture 'qwen2'"):
        tiny.load_adapter(wrong)
    # shapes of another model (n_head_kv 2: attn_k/attn_v have other shapes)
    other_shapes = _adapter_file(str(tmp_path / "gqa.gguf"), tiny_paths["tiny-bf16-gqa2-tied"], 4)
    with pytest.raises(swiftlet.InvalidArgumentError, match="does not fit"):
        tiny.load_adapter(other_shapes)
    with pytest.raises(swiftlet.FileIOError):
        tiny.load_adapter(str(tmp_path / "missing.gguf"))
    # an adapter of another model
    with swiftlet.Model(tiny_paths["tiny-bf16-gqa2-tied"], n_threads=1) as other:
        q_only = _adapter_file(str(tmp_path / "q.gguf"), tiny_paths["tiny-f32-mha-tied"], 5, names=("attn_q",))
        foreign = other.load_adapter(q_only)
        ctx = tiny.context(n_ctx=64)
        with pytest.raises(swiftlet.InvalidArgumentError, match="another model"):
            ctx.set_adapters({foreign: 1.0})
        mine = tiny.load_adapter(adapter_paths[0])
        with pytest.raises(swiftlet.InvalidArgumentError, match="not finite"):
            ctx.set_adapters({mine: float("nan")})
        with pytest.raises(TypeError):
            ctx.set_adapters({"not an adapter": 1.0})  # type: ignore[dict-item]
        assert ctx.adapters == {}
    tiny.close()
    with pytest.raises(ValueError, match="model is closed"):
        tiny.load_adapter(adapter_paths[0])


def test_bert_from_a_folder(minilm, tmp_path):
    """A BERT loaded from its Hugging Face folder has GGUF tensor names: its
    projections can be adapted (embeddings change; detached, they are back)."""
    e, ff = minilm.info.n_embd, minilm.info.n_ff
    shapes = {f"blk.{i}.{n}.weight": s for i in range(minilm.info.n_layer)
              for n, s in (("attn_q", (e, e)), ("attn_v", (e, e)), ("ffn_up", (ff, e)), ("ffn_down", (e, ff)))}
    pairs = L.random_pairs(shapes, sorted(shapes), 8, 7, 0.5)
    path = L.write_adapter(str(tmp_path / "bert.gguf"), "bert", pairs, 16.0)
    adapter = minilm.load_adapter(path)
    assert adapter.n_tensors == len(shapes)
    ctx = minilm.context()
    texts = ["a small fast bird", "the capital of France"]
    base = ctx.embed(texts)
    ctx.set_adapters({adapter: 1.0})
    adapted = ctx.embed(texts)
    assert float(np.max(np.abs(adapted - base))) > 1e-2
    ctx.set_adapters({})
    assert np.array_equal(ctx.embed(texts), base)


def test_compat_lora_path(tiny_path, adapter_paths):
    """swiftlet.compat.Llama(lora_path=, lora_scale=) as llama-cpp-python's."""
    from swiftlet.compat import Llama
    with swiftlet.Model(tiny_path, n_threads=1) as model:
        adapter = model.load_adapter(adapter_paths[0])
        ctx = model.context(n_ctx=64)
        ctx.set_adapters({adapter: 0.5})
        want = ctx.eval_all_logits(TOKENS)[-1]
    llm = Llama(tiny_path, n_ctx=64, n_threads=1, lora_path=adapter_paths[0], lora_scale=0.5, verbose=False)
    try:
        llm.eval(TOKENS)
        assert np.array_equal(llm._context.logits, want)
    finally:
        llm.close()
