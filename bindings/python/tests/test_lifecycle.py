"""Models, contexts, samplers and streams freed in any order, explicitly or by
the garbage collector, without a crash or a leak.

Leak signals (as in Tests/python/test_leaks.py): the library's own byte
counts (swiftlet.memory_info: exact, so they must return to the baseline),
the thread count (exact), and the resident set size after a warm-up, which
must stay within 4 MiB over 150 iterations. A leaked tiny model + context is
>= 135 KiB, so a real leak would show as > 20 MiB; the allowance is for
Python's own heap settling."""
from __future__ import annotations

import gc
import os
import random
import threading

import pytest

import swiftlet

from conftest import PARIS_PROMPT, THREADS
from raw_c import RawC

MiB = 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def library_bytes() -> tuple[int, int]:
    info = swiftlet.memory_info()
    return info.bytes_allocated, info.bytes_mapped


def test_model_closed_before_its_context(tiny_path: str) -> None:
    """The library keeps a context's model alive: after model.close() (the C
    model freed by the binding at once) the context goes on generating the
    same text, and everything is released with the context."""
    gc.collect()
    baseline = library_bytes()
    model = swiftlet.Model(tiny_path, n_threads=THREADS)
    context = model.context()
    expected = context.generate("hello", max_tokens=8, temperature=0)
    model.close()
    assert library_bytes() != baseline  # the weights live on in the context
    context.reset()
    assert context.generate("hello", max_tokens=8, temperature=0) == expected
    context.eval([5, 6])
    assert context.logits is not None
    with pytest.raises(ValueError, match="closed"):
        context.model.tokenize("hello")  # the Model object itself is closed
    context.close()
    assert library_bytes() == baseline


def test_model_collected_while_its_context_lives(tiny_path: str) -> None:
    gc.collect()
    baseline = library_bytes()
    context = swiftlet.Model(tiny_path, n_threads=THREADS).context()  # no name keeps the model
    gc.collect()
    assert context.generate("hello", max_tokens=4, temperature=0)
    assert context.model.n_vocab == 300
    del context
    gc.collect()
    assert library_bytes() == baseline


def test_context_freed_from_its_own_streaming_callback(model_path: str) -> None:
    """Raw ctypes: swiftlet_context_free inside swiftlet_generate's callback
    (the model freed before, too) stops the generation with CANCELLED, no
    callback comes after it, and nothing is left allocated."""
    gc.collect()
    baseline = library_bytes()
    status, tokens, stop_reason = RawC(swiftlet.library_path()).free_from_callback(model_path, PARIS_PROMPT, 3)
    assert status == swiftlet.Status.CANCELLED and stop_reason == swiftlet.StopReason.CANCELLED
    assert len(tokens) == 3
    assert library_bytes() == baseline


def test_closing_a_context_while_its_stream_runs_on_another_thread(tiny_path: str) -> None:
    gc.collect()
    baseline, thread_baseline = library_bytes(), threads()
    model = swiftlet.Model(tiny_path, n_threads=THREADS)
    context = model.context(n_ctx=256)
    stream = context.generate("hello", max_tokens=200, temperature=0.5, seed=1, stream=True)
    next(stream)
    closer = threading.Thread(target=context.close)
    closer.start()
    closer.join(30)
    assert not closer.is_alive() and context.closed
    try:  # the stream ends: what the worker had queued, then the end (or CancelledError)
        assert len(list(stream)) <= 8
    except swiftlet.CancelledError:
        pass
    del stream
    model.close()
    gc.collect()
    assert library_bytes() == baseline
    assert threads() == thread_baseline


def test_abandoned_stream_is_stopped_and_freed(tiny_path: str) -> None:
    gc.collect()
    baseline, thread_baseline = library_bytes(), threads()
    model = swiftlet.Model(tiny_path, n_threads=THREADS)
    context = model.context(n_ctx=128)
    stream = context.generate("hello", max_tokens=100, temperature=0.5, seed=1, stream=True)
    next(stream)
    del model, context  # the stream still holds the context, which holds the model
    gc.collect()
    assert next(stream)
    del stream  # stops the generation and frees everything
    gc.collect()
    assert library_bytes() == baseline
    assert threads() == thread_baseline


def _one_lifecycle(tiny_path: str, rng: random.Random) -> None:
    model = swiftlet.Model(tiny_path, n_threads=THREADS)
    contexts = [model.context(n_ctx=64) for _ in range(2)]
    sampler = swiftlet.Sampler(temperature=0.7, seed=rng.randrange(1000))
    contexts[0].eval([1, 2, 3])
    sampler.sample(contexts[0])
    stream = contexts[1].generate("hello", max_tokens=20, temperature=0.7, seed=2, stream=True)
    next(stream)
    objects: list[object] = [model, sampler, stream, *contexts]
    rng.shuffle(objects)
    for item in objects:
        if rng.random() < 0.5:
            close = getattr(item, "close")
            close()
    del item, objects, model, contexts, sampler, stream
    if rng.random() < 0.3:
        gc.collect()


def test_no_leak_over_many_lifecycles(tiny_path: str) -> None:
    rng = random.Random(11)
    for _ in range(20):  # warm-up: allocator caches and Python's heap settle
        _one_lifecycle(tiny_path, rng)
    gc.collect()
    bytes_before, threads_before, rss_before = library_bytes(), threads(), rss()
    for _ in range(150):
        _one_lifecycle(tiny_path, rng)
    gc.collect()
    assert library_bytes() == bytes_before
    assert threads() == threads_before
    growth = rss() - rss_before
    assert growth < 4 * MiB, f"resident set grew by {growth / MiB:.1f} MiB"
