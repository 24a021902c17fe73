#!/usr/bin/env python3
"""Swiftlet vs llama.cpp on the same GGUF files, threads and token ids.

    python bench/bench.py MODEL.gguf [MODEL.gguf ...] [--threads 1 2] [--prompt 512]
                          [--gen 128] [--runs 3] [--lib build/lib/libswiftlet.so]

`scripts/bench.sh` (what `make bench` runs) prepares the environment and calls
this with the Q4_1 and Q8_0 files; see bench/README.md for what is measured.

Every measurement runs in its own child process (this script again, in
`worker` mode) that loads one engine only, so the peak RSS the operating
system reports for that child (wait4's ru_maxrss) is that engine's
whole-process peak. Both engines are driven the same way: from Python through
their C APIs (Swiftlet with ctypes via Tests/python/swiftlet_ctypes.py,
llama.cpp via llama-cpp-python's low-level ctypes bindings), with the same
prompt token ids, threads, n_ctx and batch size (= prompt length), greedy
argmax in numpy on each engine's logits pointer.

The batched row has n sequences (1, 4, 8) generate together in one
context, each from its own prompt: one decode call for all prompts, then one
per step with one token per sequence; total generated tokens/s.

The binding row times the Python packages' own one-token loops
(swiftlet's `Context.eval` and llama-cpp-python's `Llama.eval`, each followed
by a greedy pick from the package's logits) against the same loops made with
the bare C calls, so the cost of each binding stays measured.

This parent process imports neither engine nor numpy and stays small, because
Linux counts the parent's RSS at exec time in the child's ru_maxrss.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import mmap
import os
import platform
import random
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ENGINES = ("swiftlet", "llama.cpp")
# The binding row: each package's own one-token loop, and the bare C call as the floor.
BINDING_ENGINES = ("swiftlet", "swiftlet-py", "llama.cpp", "llama-py")
BINDING_LABELS = {"swiftlet": "Swiftlet C call (ctypes)", "swiftlet-py": "swiftlet Context.eval",
                  "llama.cpp": "llama.cpp llama_decode (ctypes)", "llama-py": "llama-cpp-python Llama.eval"}
WARMUP_GEN = 8  # tokens generated in each worker's untimed warm-up pass
# Issue 14's targets for the batched row (8 sequences, 2 threads): printed beside the numbers, not asserted.
BATCH_TARGET_SCALING = 4.0  # Swiftlet's gen tok/s at 8 sequences over 1
BATCH_TARGET_RATIO = 1.5  # Swiftlet over llama.cpp at 8 sequences


# --------------------------------------------------------------- the prompt


def prompt_tokens(count: int, vocab: int, seed: int = 1234) -> list[int]:
    """A fixed, plausible-looking id sequence: the same for both engines
    (the batched row gives each sequence its own seed)."""
    rng = random.Random(seed)
    return [rng.randrange(100, min(vocab, 20000)) for _ in range(count)]


def tokens_digest(tokens: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, tokens)).encode()).hexdigest()[:16]


# ------------------------------------------------------------------ workers


class SwiftletEngine:
    def __init__(self) -> None:
        sys.path.insert(0, os.path.join(REPO, "Tests", "python"))
        import swiftlet_ctypes as sw
        self.sw = sw
        self.lib = sw.load()

    def versions(self) -> dict:
        info = self.sw.memory_info()
        return {"swiftlet": self.lib.swiftlet_version().decode(),
                "swiftlet_library": os.path.realpath(self.sw.library_path()),
                "swiftlet_allocator": info.allocator.decode() if info.allocator else None}

    def load(self, path: str, threads: int) -> None:
        self.model = self.sw.model_load(path, n_threads=threads)
        self.vocab = self.sw.model_info(self.model).n_vocab

    def create_context(self, n_ctx: int, threads: int, batch: int) -> None:
        before = self.sw.memory_info().bytes_allocated
        self.ctx = self.sw.context_create(self.model, n_ctx=n_ctx, n_threads=threads, n_batch=batch)
        # What the context holds in the library's arenas: KV cache, scratch, kernel buffers.
        self.context_mib = {"context": (self.sw.memory_info().bytes_allocated - before) / 2**20}

    def eval(self, array, count: int) -> None:
        self.sw.check(self.lib.swiftlet_context_eval(self.ctx, array, count))

    def logits_pointer(self):
        return self.lib.swiftlet_context_logits(self.ctx)

    def reset(self) -> None:
        self.sw.check(self.lib.swiftlet_context_reset(self.ctx))

    def token_array(self, count: int):
        import ctypes
        return (ctypes.c_int32 * count)()

    def create_batch_context(self, n_ctx: int, threads: int, batch: int, n_seq: int) -> None:
        """A context of n_seq sequences of n_ctx positions each (Swiftlet's
        n_ctx is per sequence), and a batch of `batch` entries to decode."""
        import ctypes
        from ctypes import POINTER, c_float, c_int8, c_int32, c_uint32, c_void_p
        sw, lib = self.sw, self.lib
        before = sw.memory_info().bytes_allocated
        if hasattr(sw.ContextParams, "n_seq_max"):
            self.ctx = sw.context_create(self.model, n_ctx=n_ctx, n_threads=threads, n_batch=batch, n_seq_max=n_seq)
        else:  # swiftlet_ctypes predates the batch API: its layout declared here, defaults spelled out
            class ContextParams(ctypes.Structure):
                _fields_ = [("struct_size", c_uint32)] + [(name, c_int32) for name in (
                    "n_ctx", "n_threads", "n_batch", "n_seq_max", "overflow", "n_keep", "n_discard")]
            params = ContextParams(ctypes.sizeof(ContextParams), n_ctx, threads, batch, n_seq, 0, 4, 0)
            out = c_void_p()
            sw.check(lib.swiftlet_context_create(self.model, ctypes.cast(ctypes.pointer(params),
                                                                         POINTER(sw.ContextParams)), ctypes.byref(out)))
            self.ctx = out.value
        self.context_mib = {"context": (sw.memory_info().bytes_allocated - before) / 2**20}

        class Batch(ctypes.Structure):  # swiftlet_batch, if swiftlet_ctypes does not declare it
            _fields_ = [("struct_size", c_uint32), ("n_tokens", c_int32), ("tokens", POINTER(c_int32)),
                        ("seq_ids", POINTER(c_int32)), ("positions", POINTER(c_int32)), ("logits", POINTER(c_int8))]
        for name, restype, argtypes in (
                ("swiftlet_context_decode", c_int32, [c_void_p, POINTER(Batch)]),
                ("swiftlet_context_logits_for", POINTER(c_float), [c_void_p, c_int32]),
                ("swiftlet_context_seq_remove", c_int32, [c_void_p, c_int32, c_int32, c_int32])):
            function = getattr(lib, name)
            if function.argtypes is None:
                function.restype, function.argtypes = restype, argtypes
        self.n_seq = n_seq
        self.arrays = [(c_int32 * batch)(), (c_int32 * batch)(), (c_int32 * batch)(), (c_int8 * batch)()]
        declared = lib.swiftlet_context_decode.argtypes[1]._type_
        self.batch = declared(ctypes.sizeof(declared), 0, *self.arrays)

    def decode(self, tokens: list[int], seq_ids: list[int], positions: list[int], logits: list[int]) -> None:
        n = len(tokens)
        for array, values in zip(self.arrays, (tokens, seq_ids, positions, logits)):
            array[:n] = values
        self.batch.n_tokens = n
        self.sw.check(self.lib.swiftlet_context_decode(self.ctx, self.batch))  # ctypes passes it by reference

    def logits_at(self, i: int):
        return self.lib.swiftlet_context_logits_for(self.ctx, i)

    def clear(self) -> None:
        for s in range(self.n_seq):
            self.sw.check(self.lib.swiftlet_context_seq_remove(self.ctx, s, 0, -1))

    def free(self) -> None:
        self.lib.swiftlet_context_free(self.ctx)
        self.lib.swiftlet_model_free(self.model)


class LlamaCppEngine:
    def __init__(self) -> None:
        import llama_cpp
        self.lc = llama_cpp
        self.log: list[str] = []  # kept, not printed: its buffer sizes are the context's memory
        self._quiet = llama_cpp.llama_log_callback(lambda level, text, user_data: self.log.append(text.decode()))
        llama_cpp.llama_log_set(self._quiet, None)
        llama_cpp.llama_backend_init()

    def versions(self) -> dict:
        return {"llama_cpp_python": self.lc.__version__,
                "llama_cpp_system_info": self.lc.llama_print_system_info().decode().strip(" |")}

    def load(self, path: str, threads: int) -> None:
        params = self.lc.llama_model_default_params()  # mmap on, as Swiftlet
        self.model = self.lc.llama_model_load_from_file(path.encode(), params)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {path}")
        self.vocab = self.lc.llama_vocab_n_tokens(self.lc.llama_model_get_vocab(self.model))

    def create_context(self, n_ctx: int, threads: int, batch: int, n_seq: int = 0) -> None:
        """With n_seq, n_seq sequences of n_ctx positions each: llama.cpp's
        n_ctx is the whole cache; with kv_unified off (its default, said here)
        each of the n_seq_max sequences gets its own n_ctx / n_seq_max cells
        and attends over those only, as Swiftlet's per-sequence caches."""
        params = self.lc.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = n_ctx * max(n_seq, 1), batch, batch
        if n_seq:
            params.n_seq_max, params.kv_unified = n_seq, False
        params.n_threads = params.n_threads_batch = threads
        logged = len(self.log)
        self.ctx = self.lc.llama_init_from_model(self.model, params)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not create a context")
        self.context_mib = llama_buffer_mib("".join(self.log[logged:]))

    def eval(self, array, count: int) -> None:
        status = self.lc.llama_decode(self.ctx, self.lc.llama_batch_get_one(array, count))
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status}")
        self.lc.llama_synchronize(self.ctx)

    def logits_pointer(self):
        return self.lc.llama_get_logits_ith(self.ctx, -1)

    def reset(self) -> None:
        self.lc.llama_memory_clear(self.lc.llama_get_memory(self.ctx), True)

    def token_array(self, count: int):
        return (self.lc.llama_token * count)()

    def create_batch_context(self, n_ctx: int, threads: int, batch: int, n_seq: int) -> None:
        self.create_context(n_ctx, threads, batch, n_seq)
        self.batch = self.lc.llama_batch_init(batch, 0, 1)  # 1: every token is in one sequence

    def decode(self, tokens: list[int], seq_ids: list[int], positions: list[int], logits: list[int]) -> None:
        b = self.batch
        for i, (token, seq, position, wanted) in enumerate(zip(tokens, seq_ids, positions, logits)):
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, position, 1, wanted
            b.seq_id[i][0] = seq
        b.n_tokens = len(tokens)
        status = self.lc.llama_decode(self.ctx, b)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status}")
        self.lc.llama_synchronize(self.ctx)

    def logits_at(self, i: int):
        return self.lc.llama_get_logits_ith(self.ctx, i)

    def clear(self) -> None:
        self.reset()  # every sequence

    def free(self) -> None:
        if getattr(self, "batch", None) is not None:
            self.lc.llama_batch_free(self.batch)
        self.lc.llama_free(self.ctx)
        self.lc.llama_model_free(self.model)


def llama_buffer_mib(log: str) -> dict:
    """The buffers llama.cpp reports allocating for a context ("... KV buffer
    size = 576.00 MiB", "... compute buffer size = ..."), summed by kind."""
    sizes = {"kv": 0.0, "context": 0.0}
    for kind, mib in re.findall(r"(\w+) buffer size\s*=\s*([\d.]+) MiB", log):
        sizes["context"] += float(mib)
        if kind == "KV":
            sizes["kv"] += float(mib)
    return sizes


class SwiftletPackageEngine:
    """The swiftlet package (bindings/python/src, the checkout's own) on the
    same library: `Context.eval` and `Context.logits`, as a user's loop calls them."""

    def __init__(self) -> None:
        sys.path.insert(0, os.path.join(REPO, "bindings", "python", "src"))
        import swiftlet
        self.swiftlet = swiftlet

    def versions(self) -> dict:
        return {"swiftlet_package": self.swiftlet.__version__,
                "swiftlet_package_library": os.path.realpath(self.swiftlet.library_path())}

    def load(self, path: str, threads: int) -> None:
        self.model = self.swiftlet.Model(path, n_threads=threads)
        self.vocab = self.model.n_vocab

    def create_context(self, n_ctx: int, threads: int, batch: int) -> None:
        self.ctx = self.model.context(n_ctx=n_ctx, n_threads=threads, n_batch=batch)

    def eval_prompt(self, tokens: list[int]) -> None:
        self.ctx.eval(tokens)

    def pick(self) -> int:
        import numpy as np
        return int(np.argmax(self.ctx.logits))

    def step(self, token: int) -> int:
        self.ctx.eval([token])
        return self.pick()

    def reset(self) -> None:
        self.ctx.reset()

    def free(self) -> None:
        self.ctx.close()
        self.model.close()


class LlamaPythonEngine:
    """llama-cpp-python's high-level `Llama`: `Llama.eval`, then the last
    logits through `Llama.ctx` (with logits_all off, as here and by default,
    `Llama.eval` no longer copies them into `Llama.scores`; its own sampling
    reads the context's), argmax without a copy."""

    def __init__(self) -> None:
        import llama_cpp
        self.lc = llama_cpp

    def versions(self) -> dict:
        return {"llama_cpp_python": self.lc.__version__}

    def load(self, path: str, threads: int) -> None:
        self.path, self.threads = path, threads  # Llama loads and makes its context in one call

    def create_context(self, n_ctx: int, threads: int, batch: int) -> None:
        self.llm = self.lc.Llama(model_path=self.path, n_ctx=n_ctx, n_batch=batch, n_ubatch=batch,
                                 n_threads=threads, n_threads_batch=threads, logits_all=False, verbose=False)
        self.vocab = self.llm.n_vocab()

    def eval_prompt(self, tokens: list[int]) -> None:
        self.llm.eval(tokens)

    def pick(self) -> int:
        import numpy as np
        logits = self.lc.llama_get_logits_ith(self.llm.ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(logits, shape=(self.vocab,))))

    def step(self, token: int) -> int:
        self.llm.eval([token])
        return self.pick()

    def reset(self) -> None:
        self.llm.reset()

    def free(self) -> None:
        self.llm.close()


class CallLoop:
    """The bare C engines as `prompt`/`step`: one-token eval through ctypes,
    greedy argmax over the engine's logits pointer (no copy)."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def __getattr__(self, name: str):
        return getattr(self.engine, name)

    def create_context(self, n_ctx: int, threads: int, batch: int) -> None:
        self.engine.create_context(n_ctx, threads, batch)
        self.one = self.engine.token_array(1)

    def pick(self) -> int:
        import numpy as np
        return int(np.argmax(np.ctypeslib.as_array(self.engine.logits_pointer(), shape=(self.engine.vocab,))))

    def eval_prompt(self, tokens: list[int]) -> None:
        array = self.engine.token_array(len(tokens))
        array[:] = tokens
        self.engine.eval(array, len(tokens))

    def step(self, token: int) -> int:
        self.one[0] = token
        self.engine.eval(self.one, 1)
        return self.pick()


def make_engine(name: str):
    if name == "swiftlet":
        return CallLoop(SwiftletEngine())
    if name == "llama.cpp":
        return CallLoop(LlamaCppEngine())
    if name == "swiftlet-py":
        return SwiftletPackageEngine()
    if name == "llama-py":
        return LlamaPythonEngine()
    raise ValueError(name)


def worker(args: argparse.Namespace) -> None:
    """One engine, one file, one thread count: prints one JSON line."""
    import numpy as np  # every engine's worker (and the baseline) imports it
    if args.engine == "none":  # the floor: Python + numpy, no engine
        print(json.dumps({"engine": "none", "numpy": np.__version__}))
        return
    if args.seqs:
        batch_worker(args)
        return
    engine = make_engine(args.engine)

    start = time.perf_counter()
    engine.load(args.model, args.threads)
    load_ms = (time.perf_counter() - start) * 1e3
    engine.create_context(args.n_ctx, args.threads, args.prompt)
    prompt = prompt_tokens(args.prompt, engine.vocab)

    # Untimed warm-up over the same path: first-touch page faults of weights,
    # KV cache and scratch, lazily built buffers, thread start-up.
    engine.eval_prompt(prompt)
    token = engine.pick()
    for _ in range(WARMUP_GEN):
        token = engine.step(token)
    engine.reset()

    start = time.perf_counter()
    engine.eval_prompt(prompt)  # in one call
    prompt_done = time.perf_counter()
    generated = [engine.pick()]
    first_token = time.perf_counter()
    for _ in range(args.gen):  # one token per call, greedy
        generated.append(engine.step(generated[-1]))
    gen_done = time.perf_counter()
    engine.free()

    print(json.dumps({
        "engine": args.engine,
        "prompt_digest": tokens_digest(prompt),
        "load_ms": load_ms,
        "prompt_tps": len(prompt) / (prompt_done - start),
        "ttft_ms": (first_token - start) * 1e3,
        "gen_tps": args.gen / (gen_done - first_token),
        "generated": generated,
        "context_mib": getattr(engine, "context_mib", None),
        "versions": engine.versions(),
    }))


def batch_worker(args: argparse.Namespace) -> None:
    """args.seqs sequences at once, each its own prompt: one decode of all
    prompts (logits for each one's last token), then args.gen decodes of one
    token per sequence, greedy, end-of-generation ignored. Prints one JSON line."""
    import numpy as np
    engine = {"swiftlet": SwiftletEngine, "llama.cpp": LlamaCppEngine}[args.engine]()
    n, length = args.seqs, args.prompt
    start = time.perf_counter()
    engine.load(args.model, args.threads)
    load_ms = (time.perf_counter() - start) * 1e3
    engine.create_batch_context(args.n_ctx, args.threads, n * length, n)  # the prompts in one pass
    prompts = [prompt_tokens(length, engine.vocab, seed=1234 + s) for s in range(n)]  # sequence 0: the main rows'
    prompt_batch = ([t for p in prompts for t in p], [s for s in range(n) for _ in range(length)],
                    list(range(length)) * n, ([0] * (length - 1) + [1]) * n)

    def pick(i: int) -> int:
        return int(np.argmax(np.ctypeslib.as_array(engine.logits_at(i), shape=(engine.vocab,))))

    def prompt_phase() -> list[list[int]]:
        engine.decode(*prompt_batch)
        return [[pick(s * length + length - 1)] for s in range(n)]

    def step(generated: list[list[int]], position: int) -> None:
        engine.decode([g[-1] for g in generated], list(range(n)), [position] * n, [1] * n)
        for s, g in enumerate(generated):
            g.append(pick(s))

    generated = prompt_phase()  # untimed warm-up over the same path, as in worker()
    for k in range(WARMUP_GEN):
        step(generated, length + k)
    engine.clear()

    start = time.perf_counter()
    generated = prompt_phase()
    prompt_done = time.perf_counter()
    for k in range(args.gen):
        step(generated, length + k)
    gen_done = time.perf_counter()
    engine.free()

    print(json.dumps({
        "engine": args.engine, "seqs": n,
        "prompt_digest": tokens_digest([t for p in prompts for t in p]),
        "load_ms": load_ms,
        "prompt_s": prompt_done - start,  # the prompts' decode and each sequence's first greedy token
        "gen_s": gen_done - prompt_done,
        "prompt_tps": n * length / (prompt_done - start),
        "gen_tps": n * args.gen / (gen_done - prompt_done),
        "total_tps": n * args.gen / (gen_done - start),
        "generated": generated,
        "context_mib": engine.context_mib,
        "versions": engine.versions(),
    }))


# ------------------------------------------------------- child processes


def run_child(argv: list[str], env: dict) -> dict:
    """Runs argv, returns its JSON line plus what wait4 says about it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[2:])} exited {proc.returncode}:\n{stderr[-2000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mib"] = usage.ru_maxrss / 1024  # KiB on Linux
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    result["wall_s"] = wall
    return result


def worker_argv(engine: str, model: str, threads: int, args: argparse.Namespace) -> list[str]:
    return [sys.executable, os.path.abspath(__file__), "worker", "--engine", engine, "--model", model,
            "--threads", str(threads), "--prompt", str(args.prompt), "--gen", str(args.gen),
            "--n-ctx", str(args.n_ctx)]


def agreeing(a: list[int], b: list[int]) -> int:
    """How many leading tokens two greedy generations share."""
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


# ---------------------------------------------------------------- GGUF


# ggml type id -> (name, elements per block, bytes per block)
GGML_TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
    26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 30: ("BF16", 1, 2),
}
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def gguf_tensors(path: str) -> tuple[dict, list[dict]]:
    """Scalar/string metadata and (name, type, elements, bytes) of every tensor."""
    with open(path, "rb") as f:  # mapped, so only the header's pages are read (~3 MB here)
        head = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        return _parse_gguf(path, head)
    finally:
        head.close()


def _parse_gguf(path: str, head) -> tuple[dict, list[dict]]:
    pos = 0

    def take(fmt: str):
        nonlocal pos
        value = struct.unpack_from(fmt, head, pos)
        pos += struct.calcsize(fmt)
        return value[0]

    def string() -> str:
        nonlocal pos
        n = take("<Q")
        pos += n
        return head[pos - n:pos].decode("utf-8", "replace")

    def value(kind: int):
        if kind in _SCALARS:
            return take(_SCALARS[kind])
        if kind == 8:
            return string()
        if kind == 9:
            item, n = take("<I"), take("<Q")
            for _ in range(n):
                value(item)
            return f"[{n} items]"
        raise ValueError(f"{path}: unknown GGUF value type {kind}")

    if head[:4] != b"GGUF":
        raise ValueError(f"{path} is not a GGUF file")
    pos = 4
    version, n_tensors, n_kv = take("<I"), take("<Q"), take("<Q")
    meta = {"gguf_version": version}
    for _ in range(n_kv):
        key = string()
        meta[key] = value(take("<I"))
    tensors = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("<Q") for _ in range(take("<I"))]
        kind, _offset = take("<I"), take("<Q")
        elements = 1
        for d in dims:
            elements *= d
        type_name, block, block_bytes = GGML_TYPES.get(kind, (f"type{kind}", None, None))
        if block is None:
            raise ValueError(f"{path}: tensor {name} has a ggml type this script does not size ({kind})")
        tensors.append({"name": name, "type": type_name, "elements": elements,
                        "bytes": elements // block * block_bytes})
    return meta, tensors


def weight_accounting(path: str) -> dict:
    """Bytes of tensor data one generated token reads.

    Every tensor is read once per token (each layer's projections and norms,
    the final norm, the output head). The token embedding is only indexed (one
    row per token) unless it is also the output head (tied embeddings, no
    `output.weight`): then it is counted once, as the head. KV-cache reads and
    activations are not weights and not counted."""
    meta, tensors = gguf_tensors(path)
    names = {t["name"] for t in tensors}
    tied = "output.weight" not in names
    counted, by_type = 0, {}
    for t in tensors:
        if t["name"] == "token_embd.weight" and not tied:
            continue
        counted += t["bytes"]
        by_type[t["type"]] = by_type.get(t["type"], 0) + t["bytes"]
    return {"path": path, "file_bytes": os.path.getsize(path), "n_tensors": len(tensors),
            "tensor_bytes": sum(t["bytes"] for t in tensors), "tied_embeddings": tied,
            "weight_bytes_per_token": counted, "weight_bytes_by_type": by_type,
            "architecture": meta.get("general.architecture"), "name": meta.get("general.name")}


# ----------------------------------------------------------- bandwidth


class BandwidthProbe:
    """bench/bandwidth.c, compiled once per benchmark. The machine's bandwidth
    drifts (other tenants share the memory: 28 to 46 GB/s at 2 threads within
    minutes here), so each row's roofline uses probes taken between its own
    runs, not one taken at the start."""

    def __init__(self, directory: str) -> None:
        self.cc = os.environ.get("CC", "cc")
        self.exe = os.path.join(directory, "bandwidth")
        subprocess.run([self.cc, "-O3", "-march=native", "-pthread", os.path.join(HERE, "bandwidth.c"),
                        "-o", self.exe], check=True)

    def run(self, threads: list[int], passes: int) -> dict:
        out = subprocess.run([self.exe, "256", str(passes), *map(str, threads)], check=True, capture_output=True,
                             text=True)
        result = json.loads(out.stdout)
        result["compiler"] = command_line_version([self.cc, "--version"])
        return result


# ------------------------------------------------------------- machine


def command_line_version(argv: list[str]) -> str | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()[0].strip()
    except (OSError, subprocess.CalledProcessError, IndexError):
        return None


def machine_facts() -> dict:
    cpuinfo = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
    flags = re.search(r"^flags\s*:\s*(.*)$", cpuinfo, re.M)
    flags = set(flags.group(1).split()) if flags else set()
    interesting = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl",
                   "avx512_vnni", "avx512_bf16", "amx_int8"]
    mem = re.search(r"^MemTotal:\s*(\d+)", open("/proc/meminfo").read(), re.M) if os.path.exists("/proc/meminfo") else None
    os_name = None
    if os.path.exists("/etc/os-release"):
        m = re.search(r'^PRETTY_NAME="?(.*?)"?$', open("/etc/os-release").read(), re.M)
        os_name = m.group(1) if m else None
    return {
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "hypervisor": "hypervisor" in flags,
        "flags": {f: f in flags for f in interesting},
        "mem_total_mib": int(mem.group(1)) // 1024 if mem else None,
        "kernel": platform.release(),
        "os": os_name,
        "machine": platform.machine(),
        "load_average_at_start": os.getloadavg(),
    }


def git_revision() -> str | None:
    rev = command_line_version(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    if rev and subprocess.run(["git", "-C", REPO, "diff", "--quiet", "HEAD"], capture_output=True).returncode:
        rev += "-dirty"
    return rev


# --------------------------------------------------------------- report


def label(path: str) -> str:
    m = re.search(r"(Q\d_[01K]|Q\d_K_[SML]|F16|BF16|F32)", os.path.basename(path), re.I)
    return m.group(1).upper() if m else os.path.basename(path)


def model_name(path: str) -> str:
    """SmolLM2-135M-Instruct.Q4_1.gguf -> SmolLM2-135M-Instruct"""
    name = re.sub(r"\.gguf$", "", os.path.basename(path), flags=re.I)
    return re.sub(r"[.-]" + re.escape(label(path)) + "$", "", name, flags=re.I)


def ratio(a, b):
    return a / b if a and b else None


def render_table(rows: list[dict], settings: dict, bandwidth: dict) -> str:
    metrics = [("prompt_tps", "prompt tok/s", "{:.0f}"), ("gen_tps", "gen tok/s", "{:.1f}"),
               ("ttft_ms", "TTFT ms", "{:.0f}"), ("peak_rss_mib", "peak RSS MiB", "{:.0f}"),
               ("load_ms", "load ms", "{:.0f}")]

    def cell(value, fmt, width):
        return (fmt.format(value) if value is not None else "-").rjust(width)

    line1 = f"{'':8} |" + "".join(f" {title:^22} |" for _, title, _ in metrics) + f" {'gen roofline':^22}"
    line2 = f"{'file':4} {'thr':>3} |" + "".join(f" {'Swiftlet':>8}{'llama':>8}{'ratio':>6} |" for _ in metrics) \
        + f"{'tok/s':>7}{'Swiftlet':>9}{'llama':>7}"
    lines = [line1, line2, "-" * len(line2)]
    for row in rows:
        text = f"{row['file']:4} {row['threads']:>3} |"
        for key, _, fmt in metrics:
            m = row["metrics"][key]
            text += " " + cell(m["swiftlet"], fmt, 8) + cell(m["llama.cpp"], fmt, 8) + cell(m["ratio"], "{:.2f}", 6) + " |"
        roof = row["roofline"]
        text += cell(roof["tokens_s"], "{:.0f}", 7)
        for engine, width in (("swiftlet", 9), ("llama.cpp", 7)):
            text += cell(roof["fraction"][engine] and roof["fraction"][engine] * 100, "{:.0f}%", width)
        lines.append(text)
    bw = ", ".join(f"{t} thread{'s' if t != '1' else ''} {v['best_gb_s']:.1f} GB/s"
                   for t, v in bandwidth["threads"].items())
    lines += [
        "",
        f"Medians of {settings['runs']} alternating runs per engine, each in its own process; prompt "
        f"{settings['prompt']} tokens in one call, then {settings['gen']} greedy tokens one per call; n_ctx "
        f"{settings['n_ctx']}, batch {settings['prompt']}.",
        "ratio = Swiftlet / llama.cpp (tok/s: higher is better; ms and MiB: lower is better). "
        "TTFT = prompt eval + first greedy token.",
        "Roofline = read bandwidth / weight bytes read per token, the bandwidth being each row's own: the median "
        "over its rounds of a probe run before each round (best of 5 passes over 256 MiB); Swiftlet and llama "
        "columns: gen tok/s as % of it. " + f"At the start (best of 15 passes): {bw}.",
    ]
    return "\n".join(lines)


def summarize(runs: dict[str, list[dict]], weights: dict, bandwidth_gb_s: float) -> dict:
    keys = ["prompt_tps", "gen_tps", "ttft_ms", "peak_rss_mib", "load_ms"]
    metrics = {}
    for key in keys:
        med = {e: statistics.median(r[key] for r in runs[e]) if runs[e] else None for e in ENGINES}
        metrics[key] = {**med, "ratio": ratio(med["swiftlet"], med["llama.cpp"])}
    roof = bandwidth_gb_s * 1e9 / weights["weight_bytes_per_token"]
    a, b = (runs[e][0]["generated"] if runs[e] else [] for e in ENGINES)
    agree = agreeing(a, b)
    return {
        "metrics": metrics,
        "roofline": {"bandwidth_gb_s": bandwidth_gb_s, "weight_bytes_per_token": weights["weight_bytes_per_token"],
                     "tokens_s": roof,
                     "fraction": {e: metrics["gen_tps"][e] / roof if metrics["gen_tps"][e] else None
                                  for e in ENGINES}},
        "greedy_tokens_agreeing": agree, "greedy_tokens": len(a),
    }


def rotating_runs(engines: tuple, runs: int, what: str, argv, env: dict,
                  versions: dict) -> tuple[dict[str, list[dict]], list[str]]:
    """`runs` rounds of every engine, each in its own child (`argv(engine)`),
    the order rotating so that who goes first changes from round to round:
    the results per engine, and the errors of the children that failed."""
    results: dict[str, list[dict]] = {e: [] for e in engines}
    errors = []
    for r in range(runs):
        for engine in engines[r % len(engines):] + engines[:r % len(engines)]:
            print(f"{what}, run {r + 1}/{runs}: {engine} ...", file=sys.stderr)
            try:
                result = run_child(argv(engine), env)
            except RuntimeError as error:
                errors.append(str(error))
                print(error, file=sys.stderr)
                continue
            versions.update(result.pop("versions"))
            results[engine].append(result)
    return results, errors


def binding_row(path: str, threads: int, runs: int, args: argparse.Namespace, env: dict,
                versions: dict) -> dict:
    """The binding row: each Python package's one-token loop against the same
    loop made with the bare C call, on one file and thread count. Rounds
    rotate which engine goes first; gen tok/s medians."""
    results, errors = rotating_runs(BINDING_ENGINES, runs, f"binding row, {label(path)} {threads} thread(s)",
                                    lambda engine: worker_argv(engine, path, threads, args), env, versions)
    gen = {e: statistics.median(r["gen_tps"] for r in results[e]) if results[e] else None for e in BINDING_ENGINES}
    return {
        "file": label(path), "path": path, "threads": threads, "gen_tps": gen,
        "ratios": {"swiftlet_package_over_c_call": ratio(gen["swiftlet-py"], gen["swiftlet"]),
                   "llama_package_over_c_call": ratio(gen["llama-py"], gen["llama.cpp"]),
                   "swiftlet_package_over_llama_package": ratio(gen["swiftlet-py"], gen["llama-py"])},
        "runs": results, "errors": errors,
    }


def render_binding_row(row: dict, runs: int, gen: int) -> str:
    gen_tps, ratios = row["gen_tps"], row["ratios"]
    floors = {"swiftlet": "swiftlet", "swiftlet-py": "swiftlet", "llama.cpp": "llama.cpp", "llama-py": "llama.cpp"}
    lines = [f"Binding row ({row['file']}, {row['threads']} threads): {gen} tokens, one eval call each, then a "
             f"greedy pick through each API; medians of {runs} rotating runs.",
             f"  {'loop':32}{'gen tok/s':>10}{'vs its C call':>15}"]
    for engine in BINDING_ENGINES:
        value = gen_tps[engine]
        versus = ratio(value, gen_tps[floors[engine]])
        lines.append(f"  {BINDING_LABELS[engine]:32}{value if value is None else round(value, 1)!s:>10}"
                     f"{'-' if versus is None else f'{versus:.3f}':>15}")
    between = ratios["swiftlet_package_over_llama_package"]
    lines.append(f"  swiftlet Context.eval / llama-cpp-python Llama.eval: "
                 f"{'-' if between is None else f'{between:.2f}'}")
    return "\n".join(lines)


def long_context_row(path: str, threads: int, runs: int, args: argparse.Namespace, env: dict,
                     versions: dict) -> dict:
    """Memory at a long context: both engines with n_ctx = args.long_context
    on one file (the same prompt and generation as the main rows), alternating;
    peak RSS (wait4) and the context's own memory as each engine reports it."""
    long_args = argparse.Namespace(**{**vars(args), "n_ctx": args.long_context})
    results, errors = rotating_runs(ENGINES, runs, f"long context {args.long_context}, {label(path)} "
                                    f"{threads} thread(s)",
                                    lambda engine: worker_argv(engine, path, threads, long_args), env, versions)

    def median(engine, pick):
        values = [v for v in (pick(r) for r in results[engine]) if v is not None]
        return statistics.median(values) if values else None
    metrics = {
        "peak_rss_mib": {e: median(e, lambda r: r["peak_rss_mib"]) for e in ENGINES},
        "context_mib": {e: median(e, lambda r: (r.get("context_mib") or {}).get("context")) for e in ENGINES},
        "kv_mib": {e: median(e, lambda r: (r.get("context_mib") or {}).get("kv")) for e in ENGINES},
        "gen_tps": {e: median(e, lambda r: r["gen_tps"]) for e in ENGINES},
    }
    for values in metrics.values():
        values["ratio"] = ratio(values["swiftlet"], values["llama.cpp"])
    return {"file": label(path), "path": path, "threads": threads, "n_ctx": args.long_context,
            "metrics": metrics, "runs": results, "errors": errors}


def render_long_context_row(row: dict, runs: int, args: argparse.Namespace) -> str:
    m = row["metrics"]

    def cell(value, fmt="{:.0f}"):
        return "-" if value is None else fmt.format(value)
    lines = [f"Long context ({model_name(row['path'])} {row['file']}, n_ctx {row['n_ctx']}, {row['threads']} threads, "
             f"{args.prompt}-token prompt + {args.gen} generated; medians of {runs} alternating runs):",
             f"  {'':28}{'Swiftlet':>10}{'llama.cpp':>11}{'ratio':>7}"]
    for key, title in (("peak_rss_mib", "peak RSS MiB"), ("context_mib", "context memory MiB"),
                       ("kv_mib", "KV cache MiB (llama.cpp log)"), ("gen_tps", "gen tok/s")):
        fmt = "{:.1f}" if key == "gen_tps" else "{:.0f}"
        lines.append(f"  {title:28}{cell(m[key]['swiftlet'], fmt):>10}{cell(m[key]['llama.cpp'], fmt):>11}"
                     f"{cell(m[key]['ratio'], '{:.2f}'):>7}")
    lines.append("  context memory: Swiftlet's arena bytes taken by swiftlet_context_create (KV cache, scratch, "
                 "kernel buffers); llama.cpp's buffer sizes from its own log (KV, compute, output).")
    return "\n".join(lines)


def batched_row(path: str, threads: int, args: argparse.Namespace, env: dict, versions: dict) -> dict:
    """Batched generation on one file and thread count: each engine at every
    count of sequences, each (engine, count) in its own child, in rounds whose
    first case rotates, so machine drift hits the 1- and 8-sequence runs alike."""
    seqs = sorted(set(args.batch_seqs))
    n_ctx = -(-(args.batch_prompt + args.batch_gen) // 256) * 256  # per sequence, in both engines
    batch_args = argparse.Namespace(**{**vars(args), "prompt": args.batch_prompt, "gen": args.batch_gen,
                                       "n_ctx": n_ctx})
    cases = {f"{engine} x{n}": (engine, n) for n in seqs for engine in args.batch_engines}
    results, errors = rotating_runs(
        tuple(cases), args.batch_runs, f"batched row, {label(path)} {threads} thread(s)",
        lambda case: worker_argv(cases[case][0], path, threads, batch_args) + ["--seqs", str(cases[case][1])],
        env, versions)

    def median(engine: str, n: int, key: str):
        runs = results.get(f"{engine} x{n}", [])
        return statistics.median(r[key] for r in runs) if runs else None
    metrics, agreement = {}, {}
    for n in seqs:
        metrics[n] = {}
        for key in ("gen_tps", "total_tps", "prompt_tps"):
            values = {e: median(e, n, key) for e in ENGINES}
            metrics[n][key] = {**values, "ratio": ratio(values["swiftlet"], values["llama.cpp"])}
        first = [results.get(f"{e} x{n}") for e in ENGINES]
        if all(first):  # per sequence, first runs: a sanity check, not a test
            agreement[n] = [agreeing(a, b) for a, b in zip(first[0][0]["generated"], first[1][0]["generated"])]
        digests = {r["prompt_digest"] for e in ENGINES for r in results.get(f"{e} x{n}", [])}
        if len(digests) > 1:
            errors.append(f"engines saw different prompts at {n} sequences: {digests}")
    return {"file": label(path), "path": path, "threads": threads, "seqs": seqs, "prompt": args.batch_prompt,
            "gen": args.batch_gen, "n_ctx_per_seq": n_ctx, "metrics": metrics,
            "scaling": {e: ratio(metrics[seqs[-1]]["gen_tps"][e], metrics[seqs[0]]["gen_tps"][e]) for e in ENGINES},
            "greedy_tokens_agreeing": agreement, "runs": results, "errors": errors}


def render_batched_row(row: dict, runs: int) -> str:
    def cell(value, fmt="{:.1f}", width=9):
        return ("-" if value is None else fmt.format(value)).rjust(width)
    first, last = row["seqs"][0], row["seqs"][-1]
    lines = [f"Batched generation ({model_name(row['path'])} {row['file']}, {row['threads']} threads): n sequences, "
             f"each its own {row['prompt']}-token prompt, all prompts in one decode, then {row['gen']} decodes of "
             f"one token per sequence, greedy; tok/s of all sequences together; medians of {runs} rotating runs.",
             f"  {'seqs':>4} |{'gen tok/s':^27}|{'gen tok/s incl. prompt':^27}|{'prompt tok/s':^27}| agreeing",
             f"  {'':4} |" + f"{'Swiftlet':>9}{'llama':>9}{'ratio':>8} |" * 3]
    for n in row["seqs"]:
        m = row["metrics"][n]
        text = f"  {n:>4} |" + "".join(cell(m[k]["swiftlet"]) + cell(m[k]["llama.cpp"]) +
                                        cell(m[k]["ratio"], "{:.2f}", 8) + " |"
                                        for k in ("gen_tps", "total_tps", "prompt_tps"))
        agree = row["greedy_tokens_agreeing"].get(n)
        text += f" {min(agree)}/{row['gen'] + 1}" if agree else " -"
        if n == 8:
            text += f"   target: gen ratio >= {BATCH_TARGET_RATIO}"
        lines.append(text)
    scaling = row["scaling"]
    target = f" (target >= {BATCH_TARGET_SCALING})" if (first, last) == (1, 8) else ""
    lines += [f"  gen tok/s at {last} sequences / at {first}: Swiftlet{cell(scaling['swiftlet'], '{:.2f}', 6)}"
              f"{target}, llama.cpp{cell(scaling['llama.cpp'], '{:.2f}', 6)}",
              f"  ratio = Swiftlet / llama.cpp; agreeing = greedy tokens identical in both engines, fewest over the "
              f"sequences (first runs); targets (issue 14) are for 2 threads; n_ctx {row['n_ctx_per_seq']} per "
              f"sequence, batch = all prompts."]
    return "\n".join(lines)


def benchmark(args: argparse.Namespace) -> int:
    args.n_ctx = args.n_ctx or -(-(args.prompt + args.gen) // 256) * 256
    env = dict(os.environ)
    if args.lib:
        env["SWIFTLET_LIB"] = os.path.abspath(args.lib)
    # the package (binding row) measures the same library as the ctypes engine
    env["SWIFTLET_LIBRARY"] = env.get("SWIFTLET_LIB") or os.path.join(REPO, "build", "lib", "libswiftlet.so")
    settings = {"prompt": args.prompt, "gen": args.gen, "runs": args.runs, "threads": args.threads,
                "n_ctx": args.n_ctx, "batch": args.prompt, "warmup_gen": WARMUP_GEN,
                "binding_runs": args.binding_runs, "batch_seqs": args.batch_seqs, "batch_prompt": args.batch_prompt,
                "batch_gen": args.batch_gen, "batch_runs": args.batch_runs}
    report = {"schema": 1, "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "settings": settings, "machine": machine_facts(), "versions": {}}
    start = time.perf_counter()

    chunk = bytearray(1 << 20)
    for path in args.models:  # into the page cache, so the first load is not a disk read
        with open(path, "rb") as f:
            while f.readinto(chunk):
                pass

    print(f"bandwidth probe ({args.threads} threads) ...", file=sys.stderr)
    probe_directory = tempfile.TemporaryDirectory()
    probe = BandwidthProbe(probe_directory.name)
    report["bandwidth"] = probe.run(args.threads, 15)
    baseline = run_child(worker_argv("none", "-", 1, args), env)
    report["baseline_rss_mib"] = {"python_numpy_worker": baseline["peak_rss_mib"]}

    rows, failures = [], 0
    for path in args.models if args.runs > 0 else []:  # --runs 0: the binding row only
        for threads in args.threads:
            runs = {e: [] for e in ENGINES}
            errors = []
            probes = []  # best GB/s of a short probe before each round
            for r in range(args.runs):
                probes.append(probe.run([threads], 5)["threads"][str(threads)]["best_gb_s"])
                for engine in (ENGINES if r % 2 == 0 else ENGINES[::-1]):  # alternate who goes first
                    print(f"{label(path)} {threads} thread(s), run {r + 1}/{args.runs}: {engine} ...",
                          file=sys.stderr)
                    try:
                        result = run_child(worker_argv(engine, path, threads, args), env)
                    except RuntimeError as error:
                        errors.append(str(error))
                        print(error, file=sys.stderr)
                        continue
                    runs[engine].append(result)
                    report["versions"].update(result.pop("versions"))
            digests = {r["prompt_digest"] for e in ENGINES for r in runs[e]}
            if len(digests) > 1:
                errors.append(f"engines saw different prompts: {digests}")
            failures += len(errors)
            rows.append({"file": label(path), "path": path, "threads": threads, "runs": runs, "errors": errors,
                         "bandwidth_probes_gb_s": probes})

    binding = None
    if args.binding_runs > 0:
        binding_path = args.binding_model or args.models[-1]
        binding = binding_row(binding_path, args.binding_threads or max(args.threads), args.binding_runs, args, env,
                              report["versions"])
        failures += len(binding["errors"])
        report["binding"] = binding

    long_context = None
    if args.long_context > 0:
        long_context = long_context_row(args.long_context_model or args.models[-1], max(args.threads),
                                        max(1, args.runs), args, env, report["versions"])
        failures += len(long_context["errors"])
        report["long_context"] = long_context

    batched = []
    batch_threads = (args.batch_threads or args.threads) if args.batch_seqs and args.batch_runs > 0 else []
    for threads in batch_threads:
        batched.append(batched_row(args.batch_model or args.models[0], threads, args, env, report["versions"]))
        failures += len(batched[-1]["errors"])
    report["batched"] = batched

    weights = {path: weight_accounting(path) for path in args.models}
    probe_directory.cleanup()
    for row in rows:
        bandwidth = statistics.median(row["bandwidth_probes_gb_s"])
        row.update(summarize(row["runs"], weights[row["path"]], bandwidth))
    report["models"] = {label(p): w for p, w in weights.items()}
    report["versions"].update({"swiftlet_git": git_revision(), "python": platform.python_version(),
                               "numpy": _numpy_version()})
    report["rows"] = rows
    report["parent_peak_rss_mib"] = __import__("resource").getrusage(0).ru_maxrss / 1024
    report["duration_s"] = time.perf_counter() - start
    report["machine"]["load_average_at_end"] = os.getloadavg()

    table = render_table(rows, settings, report["bandwidth"])
    machine = report["machine"]
    versions = report["versions"]
    header = (f"Swiftlet {versions.get('swiftlet', '?')} ({versions.get('swiftlet_git')}) vs llama.cpp "
              f"(llama-cpp-python {versions.get('llama_cpp_python', '?')}) on "
              f"{', '.join(sorted({model_name(p) for p in weights}))}\n"
              f"{machine['cpu_model']}, {machine['usable_cpus']} CPUs, Linux {machine['kernel']}, "
              + " ".join(f for f, on in machine["flags"].items() if on))
    agreement = "; ".join(f"{row['file']}/{row['threads']}t {row['greedy_tokens_agreeing']}/{row['greedy_tokens']}"
                          for row in rows)
    report["table"] = table
    print()
    print(header)
    if rows:
        print(table)
        print(f"Greedy tokens identical in both engines (first run): {agreement}. "
              f"Python + numpy alone peak at {report['baseline_rss_mib']['python_numpy_worker']:.0f} MiB.")
    if binding is not None:
        report["binding_table"] = render_binding_row(binding, args.binding_runs, args.gen)
        print()
        print(report["binding_table"])
        for error in binding["errors"]:
            print(f"ERROR binding row: {error.splitlines()[0]}")
    if long_context is not None:
        report["long_context_table"] = render_long_context_row(long_context, max(1, args.runs), args)
        print()
        print(report["long_context_table"])
        for error in long_context["errors"]:
            print(f"ERROR long context: {error.splitlines()[0]}")
    for row in batched:
        report.setdefault("batched_tables", []).append(render_batched_row(row, args.batch_runs))
        print()
        print(report["batched_tables"][-1])
        for error in row["errors"]:
            print(f"ERROR batched row: {error.splitlines()[0]}")
    busy = report["machine"]["load_average_at_start"][0]
    if busy > 0.5:
        print(f"WARNING: load average was {busy:.2f} when the benchmark started: other processes share "
              f"these {machine['usable_cpus']} CPUs, so the numbers (2 threads most) are not reliable.")
    for row in rows:
        for error in row["errors"]:
            print(f"ERROR {row['file']} {row['threads']} threads: {error.splitlines()[0]}")

    os.makedirs(args.results, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = os.path.join(args.results, f"bench-{stamp}.json")
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(f"\nwritten: {os.path.relpath(out)} ({report['duration_s']:.0f} s)")
    return 1 if failures else 0


def _numpy_version() -> str | None:
    out = subprocess.run([sys.executable, "-c", "import numpy; print(numpy.__version__)"],
                         capture_output=True, text=True)
    return out.stdout.strip() or None


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        parser = argparse.ArgumentParser(prog="bench.py worker")
        parser.add_argument("--engine", choices=[*BINDING_ENGINES, "none"], required=True)
        parser.add_argument("--model", required=True)
        parser.add_argument("--threads", type=int, required=True)
        parser.add_argument("--prompt", type=int, required=True)
        parser.add_argument("--gen", type=int, required=True)
        parser.add_argument("--n-ctx", type=int, required=True)
        parser.add_argument("--seqs", type=int, default=0, help="sequences at once (the batched row); 0: one")
        worker(parser.parse_args(sys.argv[2:]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="GGUF files, each benchmarked with both engines")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--prompt", type=int, default=512, help="prompt tokens, evaluated in one call")
    parser.add_argument("--gen", type=int, default=128, help="tokens generated greedily, one per call")
    parser.add_argument("--runs", type=int, default=3,
                        help="alternating runs per engine (median reported); 0: none of the main rows")
    parser.add_argument("--n-ctx", type=int, default=0, help="default: prompt + gen rounded up to 256")
    parser.add_argument("--lib", help="libswiftlet.so (default $SWIFTLET_LIB or build/lib/libswiftlet.so)")
    parser.add_argument("--binding-runs", type=int, default=5,
                        help="rotating runs of the binding row (0: no binding row)")
    parser.add_argument("--binding-model", help="the binding row's file (default: the last model)")
    parser.add_argument("--long-context", type=int, default=0,
                        help="also measure memory with this n_ctx (0: not), on --long-context-model")
    parser.add_argument("--long-context-model", help="the long-context row's file (default: the last model)")
    parser.add_argument("--binding-threads", type=int, help="the binding row's threads (default: the most given)")
    parser.add_argument("--batch-seqs", type=int, nargs="*", default=[1, 4, 8],
                        help="the batched row's sequence counts (none given: no batched row)")
    parser.add_argument("--no-batch", dest="batch_seqs", action="store_const", const=[], help="no batched row")
    parser.add_argument("--batch-prompt", type=int, default=64, help="the batched row's prompt tokens per sequence")
    parser.add_argument("--batch-gen", type=int, default=128, help="the batched row's tokens per sequence")
    parser.add_argument("--batch-runs", type=int, default=3, help="rotating runs of the batched row")
    parser.add_argument("--batch-model", help="the batched row's file (default: the first model)")
    parser.add_argument("--batch-threads", type=int, nargs="+", help="the batched row's threads (default: --threads)")
    parser.add_argument("--batch-engines", nargs="+", choices=ENGINES, default=list(ENGINES),
                        help="the batched row's engines (default: both)")
    parser.add_argument("--results", default=os.path.join(HERE, "results"), help="directory for the JSON")
    return benchmark(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
