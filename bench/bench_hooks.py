#!/usr/bin/env python3
"""What looking inside and adapting cost (issue 16): prompt and generation
speed of one library with no observer and no adapter, beside the same
library with an observer (the final state only; every view) and with a
LoRA adapter (rank 8 on q, k, v and o of every layer, random, written here
with the `gguf` package), and optionally beside another build of the
library with none of the hooks (`--baseline-lib`, e.g. the commit before
them), which is what "no observer, no adapter: unchanged" is measured against.

Each configuration runs in its own child process, in `--runs` rounds whose
order rotates (bench.py's rotating_runs); the table gives medians and each
configuration's ratio to `plain` (the same library, no hooks) from the same
command. A round: `--prompt` tokens evaluated in one call, then `--gen`
tokens one per call (greedy on the logits, as bench.py's generation loop).

    bench/bench_hooks.py [--model M.gguf] [--threads 2] [--runs 5] [--prompt 256] [--gen 128]
                         [--lib build/lib/libswiftlet.so] [--baseline-lib OLD.so]
"""
from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench  # noqa: E402  (bench.py: run_child, rotating_runs, machine_facts, git_revision)

CONFIGS = ("plain", "observe-final", "observe-all", "adapter-r8")


def write_adapter(model_path: str, path: str, rank: int = 8, seed: int = 0) -> None:
    """A random LoRA adapter on attn_q/k/v/output of every layer (llama.cpp's layout)."""
    import gguf
    import numpy as np
    reader = gguf.GGUFReader(model_path)
    arch = str(reader.fields["general.architecture"].contents())
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(path, arch)
    writer.add_type("adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(rank))
    for tensor in reader.tensors:
        if tensor.name.split(".")[-2] in ("attn_q", "attn_k", "attn_v", "attn_output"):
            n_in, n_out = int(tensor.shape[0]), int(tensor.shape[1])
            writer.add_tensor(tensor.name + ".lora_a", (rng.standard_normal((rank, n_in)) * 0.02).astype(np.float32))
            writer.add_tensor(tensor.name + ".lora_b", (rng.standard_normal((n_out, rank)) * 0.02).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def child(args: argparse.Namespace) -> None:
    os.environ["SWIFTLET_LIB"] = args.lib
    sys.path.insert(0, os.path.join(REPO, "Tests", "python"))
    import numpy as np
    import swiftlet_ctypes as sw
    # Declared by hand: a baseline build lacks the newer functions, which sw.load() would refuse.
    lib = ctypes.CDLL(args.lib)
    for name, (restype, argtypes) in sw.abi.FUNCTIONS.items():
        if hasattr(lib, name):
            function = getattr(lib, name)
            function.restype, function.argtypes = restype, argtypes
    sw._lib = lib
    model = sw.model_load(args.model, n_threads=args.threads)
    n_vocab = sw.model_info(model).n_vocab
    context = sw.context_create(model, n_ctx=args.prompt + args.gen + 8, n_threads=args.threads,
                                n_batch=args.prompt)
    views = [0]

    def seen(_observation, _user_data):
        views[0] += 1
        return 1
    callback = sw.ObserverCallback(seen)
    if args.child.startswith("observe"):
        kinds = sw.OBSERVE_FINAL if args.child == "observe-final" else sw.OBSERVE_ALL
        sw.check(lib.swiftlet_context_set_observer(context, kinds, callback, None))
    adapter = ctypes.c_void_p()
    if args.child == "adapter-r8":
        sw.check(lib.swiftlet_adapter_load(model, args.adapter.encode(), ctypes.byref(adapter)))
        adapters, scales = (ctypes.c_void_p * 1)(adapter), (ctypes.c_float * 1)(1.0)
        sw.check(lib.swiftlet_context_set_adapters(context, adapters, scales, 1))
    prompt = [int(t) for t in np.random.default_rng(1).integers(100, n_vocab - 100, args.prompt)]
    warm = sw.token_array(prompt[:8])
    sw.check(lib.swiftlet_context_eval(context, warm, 8))
    sw.check(lib.swiftlet_context_reset(context))
    start = time.perf_counter()
    sw.check(lib.swiftlet_context_eval(context, sw.token_array(prompt), len(prompt)))
    prompt_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(args.gen):
        token = int(np.argmax(sw.logits(context, n_vocab)))
        sw.check(lib.swiftlet_context_eval(context, sw.token_array([token]), 1))
    gen_s = time.perf_counter() - start
    print(json.dumps({"prompt_tok_s": args.prompt / prompt_s, "gen_tok_s": args.gen / gen_s, "views": views[0],
                      "versions": {}}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.environ.get("SWIFTLET_MODEL_Q4_1"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--prompt", type=int, default=256)
    parser.add_argument("--gen", type=int, default=128)
    parser.add_argument("--lib", default=os.environ.get("SWIFTLET_LIB", os.path.join(REPO, "build", "lib",
                                                                                    "libswiftlet.so")))
    parser.add_argument("--baseline-lib", help="another build without the hooks (a 'baseline' row)")
    parser.add_argument("--results", default=os.path.join(HERE, "results"))
    parser.add_argument("--child", choices=(*CONFIGS, "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--adapter", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.model:
        parser.error("--model (or $SWIFTLET_MODEL_Q4_1) is required")
    if args.child:
        child(args)
        return 0

    configs = CONFIGS + (("baseline",) if args.baseline_lib else ())
    with tempfile.TemporaryDirectory() as scratch:
        adapter = os.path.join(scratch, "adapter.gguf")
        write_adapter(args.model, adapter)

        def argv(config: str) -> list[str]:
            lib = args.baseline_lib if config == "baseline" else args.lib
            return [sys.executable, os.path.abspath(__file__), "--child", "plain" if config == "baseline" else config,
                    "--model", args.model, "--threads", str(args.threads), "--prompt", str(args.prompt),
                    "--gen", str(args.gen), "--lib", os.path.abspath(lib), "--adapter", adapter]
        results, errors = bench.rotating_runs(configs, args.runs, "hooks", argv, dict(os.environ), {})

    def median(config: str, key: str) -> float:
        return statistics.median(r[key] for r in results[config]) if results[config] else float("nan")
    print(f"\n{os.path.basename(args.model)}, {args.threads} threads, prompt {args.prompt}, gen {args.gen}, "
          f"{args.runs} runs (medians; ratio = / plain, same command)")
    print(f"{'config':<15} {'prompt tok/s':>12} {'ratio':>6} {'gen tok/s':>10} {'ratio':>6} {'views/run':>10}")
    for config in configs:
        p, g = median(config, "prompt_tok_s"), median(config, "gen_tok_s")
        views = int(median(config, "views")) if results[config] else 0
        print(f"{config:<15} {p:>12.1f} {p / median('plain', 'prompt_tok_s'):>6.3f} {g:>10.1f} "
              f"{g / median('plain', 'gen_tok_s'):>6.3f} {views:>10}")
    os.makedirs(args.results, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = os.path.join(args.results, f"bench-hooks-{stamp}.json")
    with open(out, "w") as f:
        json.dump({"args": vars(args), "results": results, "errors": errors, "machine": bench.machine_facts(),
                   "revision": bench.git_revision()}, f, indent=1)
    print(f"wrote {out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
