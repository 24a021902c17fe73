"""Swiftlet vs llama.cpp on the same GGUF, the same threads, the same tokens.

Both engines are driven the same way, from Python through their C APIs
(Swiftlet via ctypes, llama.cpp via llama-cpp-python's low-level bindings):
evaluate a prompt of N tokens in one call (prompt tokens/s), then generate
greedily one token per call for M tokens (generated tokens/s). Runs alternate
between the engines; medians are reported, with the ratio Swiftlet / llama.cpp.

    python bench/compare_speed.py MODEL.gguf [--threads 1 2] [--prompt 512] [--gen 128] [--runs 3]

llama-cpp-python must be importable (make bench installs it into a cached venv).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "python"))
import swiftlet_ctypes as sw  # noqa: E402


def prompt_tokens(count: int, vocab: int) -> list[int]:
    rng = np.random.default_rng(1234)  # a fixed, plausible-looking id sequence
    return [int(t) for t in rng.integers(100, min(vocab, 20000), size=count)]


class SwiftletEngine:
    name = "swiftlet"

    def __init__(self, path: str, threads: int, n_ctx: int):
        self.lib = sw.load()
        self.model = sw.model_load(path, n_threads=threads)
        self.vocab = sw.model_info(self.model).n_vocab
        self.threads, self.n_ctx = threads, n_ctx

    def run(self, prompt: list[int], generate: int) -> tuple[float, float]:
        ctx = sw.context_create(self.model, n_ctx=self.n_ctx, n_threads=self.threads, n_batch=len(prompt))
        try:
            array = (ctypes.c_int32 * len(prompt))(*prompt)
            start = time.perf_counter()
            sw.check(self.lib.swiftlet_context_eval(ctx, array, len(prompt)))
            prompt_seconds = time.perf_counter() - start
            one = (ctypes.c_int32 * 1)()
            start = time.perf_counter()
            for _ in range(generate):
                logits = np.ctypeslib.as_array(self.lib.swiftlet_context_logits(ctx), shape=(self.vocab,))
                one[0] = int(np.argmax(logits))
                sw.check(self.lib.swiftlet_context_eval(ctx, one, 1))
            generate_seconds = time.perf_counter() - start
            return len(prompt) / prompt_seconds, generate / generate_seconds
        finally:
            self.lib.swiftlet_context_free(ctx)


class LlamaCppEngine:
    name = "llama.cpp"

    def __init__(self, path: str, threads: int, n_ctx: int):
        import llama_cpp
        self.llama_cpp = llama_cpp
        llama_cpp.llama_backend_init()
        params = llama_cpp.llama_model_default_params()
        self.model = llama_cpp.llama_model_load_from_file(path.encode(), params)
        self.vocab_handle = llama_cpp.llama_model_get_vocab(self.model)
        self.vocab = llama_cpp.llama_vocab_n_tokens(self.vocab_handle)
        self.threads, self.n_ctx = threads, n_ctx

    def run(self, prompt: list[int], generate: int) -> tuple[float, float]:
        lc = self.llama_cpp
        params = lc.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = self.n_ctx, len(prompt), len(prompt)
        params.n_threads = params.n_threads_batch = self.threads
        ctx = lc.llama_init_from_model(self.model, params)
        try:
            array = (lc.llama_token * len(prompt))(*prompt)
            start = time.perf_counter()
            assert lc.llama_decode(ctx, lc.llama_batch_get_one(array, len(prompt))) == 0
            prompt_seconds = time.perf_counter() - start
            one = (lc.llama_token * 1)()
            start = time.perf_counter()
            for _ in range(generate):
                logits = np.ctypeslib.as_array(lc.llama_get_logits_ith(ctx, -1), shape=(self.vocab,))
                one[0] = int(np.argmax(logits))
                assert lc.llama_decode(ctx, lc.llama_batch_get_one(one, 1)) == 0
            generate_seconds = time.perf_counter() - start
            return len(prompt) / prompt_seconds, generate / generate_seconds
        finally:
            lc.llama_free(ctx)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--prompt", type=int, default=512)
    parser.add_argument("--gen", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    n_ctx = args.prompt + args.gen + 16
    print(f"{os.path.basename(args.model)}: prompt {args.prompt} tokens, generate {args.gen}, {args.runs} runs, medians")
    print(f"{'threads':>7} {'engine':>10} {'prompt t/s':>11} {'gen t/s':>9}")
    for threads in args.threads:
        engines = [SwiftletEngine(args.model, threads, n_ctx), LlamaCppEngine(args.model, threads, n_ctx)]
        prompt = prompt_tokens(args.prompt, engines[0].vocab)
        results = {e.name: [] for e in engines}
        for _ in range(args.runs):
            for engine in engines:  # alternate, so drift in machine load hits both
                results[engine.name].append(engine.run(prompt, args.gen))
        medians = {}
        for engine in engines:
            pp = statistics.median(r[0] for r in results[engine.name])
            tg = statistics.median(r[1] for r in results[engine.name])
            medians[engine.name] = (pp, tg)
            print(f"{threads:>7} {engine.name:>10} {pp:>11.1f} {tg:>9.1f}")
        s, l = medians["swiftlet"], medians["llama.cpp"]
        print(f"{threads:>7} {'ratio':>10} {s[0] / l[0]:>11.2f} {s[1] / l[1]:>9.2f}")


if __name__ == "__main__":
    main()
