"""Never leaks: Swiftlet's failing paths and handle lifecycles, run in loops,
must leave the process as they found it.

What is measured, and why each signal:

- bytes_allocated / bytes_mapped (swiftlet_memory_get_info): exact. Every
  arena byte and every mapped model byte must be given back once every handle
  is freed, after any number of failures.
- Threads (/proc/self/task): exact. swiftlet_context_free frees "its worker
  threads"; a load's conversion threads end with the load.
- Resident set (/proc/self/statm, after a warm-up so allocator caches and
  Python's own heap are in their steady state): growth < 2 MiB over 200
  iterations, i.e. < 10 KiB per iteration. A leak-free run measures 0.00 MiB
  here (measured with the private jemalloc run as SWIFTLET_JE_MALLOC_CONF=
  retain:false, which removes the per-arena growth of this build), so 2 MiB is pure
  allowance for Python's heap taking one or two more 1 MiB arenas. What a real
  leak costs: the big failing-path files carry a 0.6 MiB metadata array, so a
  parser that leaks what it read leaks 120 MiB; one leaked tiny model +
  context is >= 135 KiB (asserted below from bytes_allocated), 27 MiB in all.
- Address space (VmSize, /proc/self/statm): growth < 64 MiB. A correct library
  measures 0.0 MiB (same measurement). A leaked mapping, thread stack (8 MiB of address space
  each) or allocator region grows it even when few of its pages are resident,
  which RSS alone would miss.
"""
from __future__ import annotations

import ctypes
import dataclasses
import gc
import os
import struct
from ctypes import byref

import numpy as np
import pytest

import gguf

import make_tiny_models as mk
import swiftlet_ctypes as sw

MiB = 1 << 20
ITERATIONS = 200
WARMUP = 20
PAGE = os.sysconf("SC_PAGE_SIZE")

# Bounds, justified in the module docstring.
RSS_BOUND = 2 * MiB
VMSIZE_BOUND = 64 * MiB
BIG_ARRAY_STRINGS = 16384  # 16 Ki strings of 31 bytes: 0.6 MiB of metadata per big file


# ------------------------------------------------------------------ probes


def rss_bytes() -> int:
    return int(open("/proc/self/statm").read().split()[1]) * PAGE


def vmsize_bytes() -> int:
    return int(open("/proc/self/statm").read().split()[0]) * PAGE


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def lib_bytes() -> tuple[int, int]:
    info = sw.memory_info()
    return info.bytes_allocated, info.bytes_mapped


class Snapshot:
    def __init__(self):
        gc.collect()
        self.rss = rss_bytes()
        self.vm = vmsize_bytes()
        self.threads = thread_count()
        self.allocated, self.mapped = lib_bytes()

    def growth_report(self, other: "Snapshot") -> str:
        return (f"RSS {(other.rss - self.rss) / MiB:+.2f} MiB, VmSize {(other.vm - self.vm) / MiB:+.1f} MiB, "
                f"threads {self.threads} -> {other.threads}, bytes_allocated {self.allocated} -> "
                f"{other.allocated}, bytes_mapped {self.mapped} -> {other.mapped}")


def assert_no_growth(before: Snapshot, after: Snapshot, what: str):
    report = f"{what}: {before.growth_report(after)}"
    assert after.allocated == before.allocated, report
    assert after.mapped == before.mapped, report
    assert after.threads == before.threads, report
    assert after.rss - before.rss < RSS_BOUND, report
    assert after.vm - before.vm < VMSIZE_BOUND, report


# -------------------------------------------------------------- bad files


def write_llama(path: str, *, architecture: str = "llama", drop_tensor: str | None = None,
                big_array: bool = True) -> str:
    """A tiny llama GGUF (the standard F16 spec's weights) with an optional
    0.6 MiB string-array metadata key placed before the hyperparameters."""
    spec = dataclasses.replace(mk.SPECS_BY_NAME["tiny-f16-gqa2-untied"], architecture=architecture,
                               drop_tensor=drop_tensor)
    padding = {"test.padding": ["%031d" % i for i in range(BIG_ARRAY_STRINGS)]} if big_array else None
    return mk.write_model(spec, path, leading_string_arrays=padding)


def gguf_header(n_tensors: int, n_kv: int) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, tuple[str, int]]:
    """name -> (path, the status swiftlet_model_load must return)."""
    d = tmp_path_factory.mktemp("leak-files")
    p = lambda name: str(d / name)  # noqa: E731
    good = write_llama(p("good-big-meta.gguf"))
    data = open(good, "rb").read()
    r = gguf.GGUFReader(good)
    tensor_data_start = min(int(t.data_offset) for t in r.tensors)
    files = {}

    def raw(name, content, status):
        with open(p(name), "wb") as f:
            f.write(content)
        files[name] = (p(name), status)

    pad = r.fields["test.padding"]
    pad_end = pad.offset + sum(part.nbytes for part in pad.parts)
    raw("truncated-in-big-array.gguf", data[: (pad.offset + pad_end) // 2], sw.ERROR_INVALID_FILE)
    raw("truncated-in-tensor-infos.gguf", data[: tensor_data_start - 300], sw.ERROR_INVALID_FILE)
    raw("truncated-in-tensor-data.gguf", data[: (tensor_data_start + len(data)) // 2], sw.ERROR_INVALID_FILE)
    raw("magic-only.gguf", b"GGUF", sw.ERROR_INVALID_FILE)
    raw("empty.gguf", b"", sw.ERROR_INVALID_FILE)
    raw("not-gguf.txt", b"this is not a model\n" * 1000, sw.ERROR_INVALID_FILE)
    # absurd counts must be refused, not allocated
    raw("huge-kv-count.gguf", gguf_header(0, 1 << 60) + b"\0" * 64, sw.ERROR_INVALID_FILE)
    key = b"general.name"
    raw("huge-string.gguf", gguf_header(0, 1) + struct.pack("<Q", len(key)) + key
        + struct.pack("<IQ", 8, 1 << 62) + b"x" * 64, sw.ERROR_INVALID_FILE)
    files["missing-file.gguf"] = (p("does-not-exist.gguf"), sw.ERROR_IO)
    files["unknown-architecture.gguf"] = (write_llama(p("unknown-arch.gguf"), architecture="notallama"),
                                          sw.ERROR_UNSUPPORTED)
    # a late tensor is missing: everything before it may already be converted.
    # (Not output.weight: a missing output matrix legitimately falls back to
    # the tied token_embd, as in llama.cpp.)
    files["missing-tensor.gguf"] = (write_llama(p("missing-tensor.gguf"), drop_tensor="output_norm.weight"),
                                    sw.ERROR_NOT_FOUND)
    return files


def failing_load(lib, path: str, n_threads: int = 1) -> int:
    sentinel = 0x5EED
    out = sw.ModelP(sentinel)
    params = sw.new_model_params(n_threads=n_threads)
    st = lib.swiftlet_model_load(os.fsencode(path), byref(params), byref(out))
    assert out.value == sentinel, f"{path}: out_model written on failure"
    return st


# ------------------------------------------------------------------- tests


def test_bad_files_fail_with_documented_status(lib, bad_files):
    for name, (path, want) in bad_files.items():
        st = failing_load(lib, path)
        assert st == want, (f"{name}: got {sw.STATUS_NAMES.get(st, st)}, want {sw.STATUS_NAMES[want]} "
                            f"({sw.last_error()!r})")
        assert sw.last_error(), name


def test_failing_loads_do_not_leak(lib, bad_files):
    """Single-threaded loads, so this test is about memory; the threads of a
    load that fails half-way are checked separately below."""
    paths = [path for path, _ in bad_files.values()]
    for _ in range(WARMUP):
        for path in paths:
            assert failing_load(lib, path) != sw.OK
    before = Snapshot()
    for _ in range(ITERATIONS):
        for path in paths:
            assert failing_load(lib, path) != sw.OK
    assert_no_growth(before, Snapshot(), f"{ITERATIONS} x {len(paths)} failing loads")


def lifecycle(lib, model_path: str, n_threads: int) -> None:
    """One full life: load, context, tokenize/detokenize, generate, sample, free."""
    m = sw.model_load(model_path, n_threads=n_threads)
    try:
        c = sw.context_create(m, n_threads=n_threads, n_ctx=512)
        try:
            ids = sw.tokenize(m, "hello the world")
            assert sw.detokenize(m, ids) == "hello the world"
            params = sw.new_generate_params(max_tokens=4, sampling={"seed": 7})
            st, res = sw.generate(c, "hello", params)
            assert st == sw.OK and res.n_generated_tokens == 4, (st, res.n_generated_tokens)
            s = sw.sampler_create(seed=1)
            tok = ctypes.c_int32(-1)
            sw.check(lib.swiftlet_sampler_sample(s, c, byref(tok)))
            lib.swiftlet_sampler_free(s)
        finally:
            lib.swiftlet_context_free(c)
    finally:
        lib.swiftlet_model_free(m)


def test_one_lifecycle_is_big_enough_to_be_seen(lib, tiny_paths):
    """The RSS bound is meaningful only if leaking a model + context per
    iteration would exceed it many times over."""
    start = lib_bytes()[0]
    m = sw.model_load(tiny_paths["tiny-f16-gqa2-untied"], n_threads=1)
    c = sw.context_create(m, n_threads=1, n_ctx=512)
    held = lib_bytes()[0] - start
    lib.swiftlet_context_free(c)
    lib.swiftlet_model_free(m)
    assert held * ITERATIONS > 4 * RSS_BOUND, held


@pytest.mark.parametrize("name", ["tiny-f16-gqa2-untied", "tiny-q8_0-mqa-tied"])
def test_lifecycle_loop_single_thread_does_not_leak(lib, tiny_paths, name):
    """F16 weights are converted into an arena; Q8_0 weights are used from the
    mapping: both kinds of memory must come back."""
    for _ in range(WARMUP):
        lifecycle(lib, tiny_paths[name], n_threads=1)
    before = Snapshot()
    for _ in range(ITERATIONS):
        lifecycle(lib, tiny_paths[name], n_threads=1)
    assert_no_growth(before, Snapshot(), f"{ITERATIONS} lifecycles of {name} (1 thread)")


def test_lifecycle_loop_with_worker_threads_does_not_leak(lib, tiny_paths):
    """20 iterations suffice: one leaked thread per life is exact to count."""
    for _ in range(3):
        lifecycle(lib, tiny_paths["tiny-f16-gqa2-untied"], n_threads=2)
    before = Snapshot()
    for _ in range(20):
        lifecycle(lib, tiny_paths["tiny-f16-gqa2-untied"], n_threads=2)
    assert_no_growth(before, Snapshot(), "20 lifecycles with n_threads=2")


def warm_up_threads(lib, m):
    """Process-lifetime threads (e.g. a BLAS pool started on first use) must
    exist before a count is taken: one full eval on a throwaway context."""
    c = sw.context_create(m, n_threads=2, n_ctx=64)
    sw.eval_tokens(c, list(range(1, 40)))
    lib.swiftlet_context_free(c)


def test_context_free_ends_its_worker_threads(lib, tiny_model):
    m = tiny_model("tiny-f32-mha-tied")
    warm_up_threads(lib, m)
    start = thread_count()
    c = sw.context_create(m, n_threads=3, n_ctx=64)
    sw.eval_tokens(c, [1, 2, 3])
    assert thread_count() <= start + 2  # the calling thread is one of the 3 workers
    lib.swiftlet_context_free(c)
    assert thread_count() == start, "swiftlet_context_free left worker threads running"


def test_model_load_threads_end_with_the_load(lib, tiny_paths):
    lib.swiftlet_model_free(sw.model_load(tiny_paths["tiny-f16-gqa2-untied"], n_threads=3))  # warm-up
    start = thread_count()
    m = sw.model_load(tiny_paths["tiny-f16-gqa2-untied"], n_threads=3)
    after_load = thread_count()
    lib.swiftlet_model_free(m)
    assert (after_load, thread_count()) == (start, start), "load-time conversion threads outlive the load"


def test_failed_load_ends_its_conversion_threads(lib, bad_files):
    """missing-tensor.gguf fails after conversion has started."""
    path, want = bad_files["missing-tensor.gguf"]
    failing_load(lib, path, n_threads=3)  # warm-up
    start = thread_count()
    for _ in range(3):
        assert failing_load(lib, path, n_threads=3) == want
    assert thread_count() == start, "a failed load left its conversion threads running"


@pytest.mark.parametrize("models_first", [False, True], ids=["contexts-first", "models-first"])
def test_memory_info_returns_to_start_after_everything(lib, tiny_paths, real_model_path, models_first):
    """Many handles alive at once (models sharing nothing, several contexts per
    model, the real model mapped), freed in a different order than created:
    free order never matters, models may go before their contexts."""
    start = lib_bytes()
    models = [sw.model_load(path, n_threads=1) for path in tiny_paths.values()]
    real = sw.model_load(real_model_path, n_threads=2)
    models.append(real)
    mid = lib_bytes()
    assert mid[0] > start[0] and mid[1] >= start[1] + os.path.getsize(real_model_path) // 2, (start, mid)
    contexts = [sw.context_create(m, n_threads=1, n_ctx=64) for m in models for _ in range(2)]
    for c in contexts[::2]:
        sw.eval_tokens(c, [1, 2])
    def free_contexts():
        for c in reversed(contexts):
            lib.swiftlet_context_free(c)

    def free_models():
        for m in models[1::2] + models[0::2]:
            lib.swiftlet_model_free(m)

    if models_first:
        free_models()
        assert lib_bytes()[1] >= os.path.getsize(real_model_path) // 2  # the contexts keep the files mapped
        for c in contexts[1::2]:
            sw.eval_tokens(c, [3])  # and usable
        free_contexts()
    else:
        free_contexts()
        free_models()
    assert lib_bytes() == start
