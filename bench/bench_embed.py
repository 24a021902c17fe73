#!/usr/bin/env python3
"""Sentence embeddings: Swiftlet vs sentence-transformers vs llama.cpp, on the
same 256 short sentences, threads and model (all-MiniLM-L6-v2).

    python bench/bench_embed.py [--folder DIR] [--gguf MODEL.gguf] [--threads 1 2] [--runs 3]
                                [--engines swiftlet sentence-transformers llama.cpp]

`make bench-embed` runs it; bench/README.md says what is measured. Engines:

  sentence-transformers  SentenceTransformer(folder).encode(texts, batch_size=32,
                         normalize_embeddings=True) after torch.set_num_threads(n), in the
                         st-venv (scripts/st-venv.sh)
  swiftlet               swiftlet.Model(folder, n_threads=n).embed(texts, normalize=True), the
                         checkout's package (bindings/python/src) on build/lib/libswiftlet.so
                         or $SWIFTLET_LIB, in this Python
  llama.cpp              llama_cpp.Llama(gguf, embedding=True, n_threads=n, mean pooling,
                         n_ctx = n_batch = n_ubatch = 128).embed(texts, normalize=True) in the
                         llama-venv (scripts/llama-venv.sh), on a GGUF converted from the folder
                         (`swiftlet convert DIR OUT.gguf`); skipped without --gguf. 128 is its
                         best batch here: Llama.embed packs sentences into one batch whose
                         attention spans all of its tokens (masked), so its cost grows with the
                         square of the batch (1 thread, sentences/s: 81 at 64, 75 at 128, 59 at
                         256, 43 at 512, 33 at 1024); 128 still holds the longest sentence
                         (Llama.embed would silently cut one longer than n_batch)

Each run is a fresh child process (this script in `worker` mode, with that
engine's Python) that loads the model (load ms), encodes the first 32
sentences untimed (warm-up), then encodes all 256 sentences `--passes` times
and reports the median pass as sentences/s; the child's peak RSS comes from
wait4. Runs rotate which engine goes first (bench.py's rotating_runs), the
table shows medians over runs and the ratios Swiftlet ÷ each other engine.
Each worker also returns its first 16 embeddings, and the table's last column
is their lowest cosine against sentence-transformers' (a sanity check that
all engines computed the same thing, not a correctness test).

Results go to bench/results/bench-embed-<UTC time>.json.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench  # noqa: E402  (bench.py: run_child, rotating_runs, machine_facts, git_revision, ratio)

ENGINES = ("swiftlet", "sentence-transformers", "llama.cpp")
SHORT = {"swiftlet": "Swiftlet", "sentence-transformers": "ST", "llama.cpp": "llama"}
WARMUP = 32
CHECKED = 16  # embeddings each worker returns for the agreement column

_WORDS = """the a small large quick slow old new red green blue bright dark quiet loud happy tired
    man woman child teacher doctor farmer artist dog cat bird horse river mountain city village
    road bridge garden kitchen window market school library station ocean forest storm morning
    evening winter summer song book letter picture question answer idea problem story machine
    computer phone car train boat bicycle coffee bread apple music game team friend family
    walks runs reads writes sings paints builds finds opens closes watches carries follows
    crosses explains remembers forgets answers asks plays eats drinks sells buys visits
    quickly slowly carefully quietly suddenly often never always today yesterday again
    near under over behind beside through across into from with without during after before
    and but because while although""".split()


def sentences(count: int = 256, seed: int = 2024) -> list[str]:
    """A fixed list of plausible short sentences, 5 to 20 words each."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(5, 20))]
        out.append(" ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"]))
    return out


# ------------------------------------------------------------------ workers


class SentenceTransformersEngine:
    def __init__(self, threads: int, batch_size: int) -> None:
        import torch
        torch.set_num_threads(threads)
        self.torch = torch
        self.batch_size = batch_size

    def versions(self) -> dict:
        import sentence_transformers
        import transformers
        return {"sentence_transformers": sentence_transformers.__version__, "torch": self.torch.__version__,
                "transformers": transformers.__version__}

    def load(self, folder: str, gguf: str | None) -> None:
        from sentence_transformers import SentenceTransformer
        self.model = SentenceTransformer(folder, device="cpu")

    def embed(self, texts: list[str]) -> list[list[float]]:
        with self.torch.inference_mode():
            e = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)
        return e


class SwiftletEngine:
    def __init__(self, threads: int, batch_size: int) -> None:
        sys.path.insert(0, os.path.join(REPO, "bindings", "python", "src"))
        import swiftlet
        self.swiftlet = swiftlet
        self.threads = threads

    def versions(self) -> dict:
        return {"swiftlet_package": self.swiftlet.__version__,
                "swiftlet_library": os.path.realpath(self.swiftlet.library_path())}

    def load(self, folder: str, gguf: str | None) -> None:
        self.model = self.swiftlet.Model(folder, n_threads=self.threads)

    def embed(self, texts: list[str]):
        return self.model.embed(texts, normalize=True)


class LlamaCppEngine:
    def __init__(self, threads: int, batch_size: int, llama_batch: int) -> None:
        import llama_cpp
        self.lc = llama_cpp
        self.threads = threads
        self.llama_batch = llama_batch

    def versions(self) -> dict:
        return {"llama_cpp_python": self.lc.__version__,
                "llama_cpp_system_info": self.lc.llama_print_system_info().decode().strip(" |")}

    def load(self, folder: str, gguf: str | None) -> None:
        if not gguf:
            raise RuntimeError("llama.cpp needs --gguf")
        n = self.llama_batch
        self.model = self.lc.Llama(model_path=gguf, embedding=True, n_threads=self.threads,
                                   n_threads_batch=self.threads, n_ctx=n, n_batch=n, n_ubatch=n,
                                   pooling_type=self.lc.LLAMA_POOLING_TYPE_MEAN, verbose=False)

    def embed(self, texts: list[str]):
        longest = max(len(self.model.tokenize(t.encode())) for t in texts)
        if longest > self.llama_batch:  # Llama.embed would cut it silently
            raise RuntimeError(f"a sentence of {longest} tokens > --llama-batch {self.llama_batch}")
        return self.model.embed(texts, normalize=True)


def make_engine(name: str, threads: int, batch_size: int, llama_batch: int):
    if name == "sentence-transformers":
        return SentenceTransformersEngine(threads, batch_size)
    if name == "swiftlet":
        return SwiftletEngine(threads, batch_size)
    if name == "llama.cpp":
        return LlamaCppEngine(threads, batch_size, llama_batch)
    raise ValueError(name)


def worker(args: argparse.Namespace) -> None:
    texts = sentences(args.sentences)
    engine = make_engine(args.engine, args.threads, args.batch_size, args.llama_batch)
    start = time.perf_counter()
    engine.load(args.folder, args.gguf)
    load_ms = (time.perf_counter() - start) * 1e3
    engine.embed(texts[:WARMUP])  # untimed warm-up
    passes, first = [], None
    for _ in range(args.passes):
        start = time.perf_counter()
        out = engine.embed(texts)
        passes.append(time.perf_counter() - start)
        if first is None:
            first = [[float(v) for v in row] for row in list(out)[:CHECKED]]
            if len(out) != len(texts):
                raise RuntimeError(f"{args.engine} returned {len(out)} embeddings for {len(texts)} texts")
    pass_s = statistics.median(passes)
    print(json.dumps({
        "engine": args.engine, "threads": args.threads, "load_ms": load_ms,
        "sentences_per_s": len(texts) / pass_s, "pass_s": passes,
        "dimension": len(first[0]), "embeddings": first, "versions": engine.versions(),
    }))


def worker_argv(engine: str, threads: int, python: str, args: argparse.Namespace) -> list[str]:
    argv = [python, os.path.abspath(__file__), "worker", "--engine", engine, "--threads", str(threads),
            "--folder", args.folder, "--sentences", str(args.sentences), "--passes", str(args.passes),
            "--batch-size", str(args.batch_size), "--llama-batch", str(args.llama_batch)]
    if args.gguf:
        argv += ["--gguf", args.gguf]
    return argv


# ------------------------------------------------------------------ parent


def script_python(script: str) -> str:
    """The python a scripts/*-venv.sh prints (it installs the venv the first time)."""
    out = subprocess.run([os.path.join(REPO, "scripts", script)], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def lowest_cosine(a: list[list[float]], b: list[list[float]]) -> float | None:
    if not a or not b:
        return None
    worst = 1.0
    for x, y in zip(a, b):
        dot = sum(p * q for p, q in zip(x, y))
        worst = min(worst, dot / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y)))
    return worst


def render(rows: list[dict], engines: tuple) -> str:
    others = [e for e in engines if e != "swiftlet"]
    head = f"{'thr':>3} |" + "".join(f" {SHORT[e] + ' sent/s':>16}" for e in engines)
    if "swiftlet" in engines:
        head += "".join(f" {'Swiftlet/' + SHORT[e]:>14}" for e in others)
    head += " |" + "".join(f" {SHORT[e] + ' RSS MiB':>15}" for e in engines)
    head += " |" + "".join(f" {SHORT[e] + ' load ms':>15}" for e in engines) + " | min cos vs ST"
    lines = [head, "-" * len(head)]
    for row in rows:
        m = row["medians"]

        def cell(engine, key, width, fmt="{:.0f}"):
            v = m[key].get(engine)
            return (fmt.format(v) if v is not None else "-").rjust(width)
        line = f"{row['threads']:>3} |" + "".join(" " + cell(e, "sentences_per_s", 16, "{:.1f}") for e in engines)
        if "swiftlet" in engines:
            line += "".join(" " + (f"{row['ratios'][e]:.2f}" if row["ratios"].get(e) else "-").rjust(14)
                            for e in others)
        line += " |" + "".join(" " + cell(e, "peak_rss_mib", 15) for e in engines)
        line += " |" + "".join(" " + cell(e, "load_ms", 15) for e in engines)
        cos = ", ".join(f"{SHORT[e]} {c:.5f}" for e, c in row["min_cosine_vs_st"].items() if c is not None)
        lines.append(line + " | " + (cos or "-"))
    return "\n".join(lines)


def benchmark(args: argparse.Namespace) -> int:
    engines = tuple(e for e in ENGINES if e in args.engines)
    if "llama.cpp" in engines and not args.gguf:
        print("no --gguf: llama.cpp is left out (convert the folder with `swiftlet convert DIR OUT.gguf`)",
              file=sys.stderr)
        engines = tuple(e for e in engines if e != "llama.cpp")
    pythons = {"swiftlet": args.swiftlet_python or sys.executable}
    if "sentence-transformers" in engines:
        pythons["sentence-transformers"] = args.st_python or script_python("st-venv.sh")
    if "llama.cpp" in engines:
        pythons["llama.cpp"] = args.llama_python or script_python("llama-venv.sh")
    env = dict(os.environ)
    if args.lib:
        env["SWIFTLET_LIB"] = os.path.abspath(args.lib)
    # the package's own variable (as bench.py sets it): the checkout's library, not a bundled one
    env["SWIFTLET_LIBRARY"] = env.get("SWIFTLET_LIB") or os.path.join(REPO, "build", "lib", "libswiftlet.so")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")  # HF tokenizers' own threads would break the thread count

    texts = sentences(args.sentences)
    print(f"{len(texts)} sentences of {min(len(t.split()) for t in texts)}-{max(len(t.split()) for t in texts)} "
          f"words; engines {', '.join(engines)}; threads {args.threads}; {args.runs} runs", file=sys.stderr)
    machine = bench.machine_facts()
    versions: dict = {}
    rows, all_errors = [], []
    for threads in args.threads:
        results, errors = bench.rotating_runs(
            engines, args.runs, f"{threads} thread(s)",
            lambda engine: worker_argv(engine, threads, pythons[engine], args), env, versions)
        all_errors += errors
        medians = {key: {e: statistics.median(r[key] for r in results[e]) if results[e] else None for e in engines}
                   for key in ("sentences_per_s", "peak_rss_mib", "load_ms")}
        st_first = results.get("sentence-transformers", [{}])[0].get("embeddings") if results.get(
            "sentence-transformers") else None
        rows.append({
            "threads": threads, "medians": medians,
            "ratios": {e: bench.ratio(medians["sentences_per_s"].get("swiftlet"), medians["sentences_per_s"][e])
                       for e in engines if e != "swiftlet"},
            "min_cosine_vs_st": {e: lowest_cosine(results[e][0]["embeddings"], st_first) if results[e] else None
                                 for e in engines if e != "sentence-transformers"},
            "runs": {e: [{k: v for k, v in r.items() if k != "embeddings"} for r in results[e]] for e in engines},
        })

    table = render(rows, engines)
    print(table)
    print(f"\nsentences/s: {len(texts)} sentences per pass, median of {args.passes} passes per run, "
          f"median of {args.runs} runs; ratio = Swiftlet ÷ that engine (above 1: Swiftlet faster). "
          f"ST batch_size {args.batch_size}; llama.cpp n_batch {args.llama_batch}.")
    if machine["load_average_at_start"][0] > 0.5:
        print(f"warning: load average {machine['load_average_at_start'][0]:.2f} at start: "
              "another busy process skews the 2-thread numbers", file=sys.stderr)
    for e in all_errors:
        lines = [line for line in e.splitlines() if line.strip()]
        print(f"error: {lines[0]} ... {lines[-1]}", file=sys.stderr)

    machine["load_average_at_end"] = os.getloadavg()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", f"bench-embed-{stamp}.json")
    with open(out, "w") as f:
        json.dump({
            "settings": {"folder": args.folder, "gguf": args.gguf, "threads": args.threads, "runs": args.runs,
                         "passes": args.passes, "sentences": len(texts), "st_batch_size": args.batch_size,
                         "llama_batch": args.llama_batch, "engines": list(engines), "pythons": pythons},
            "machine": machine,
            "versions": {**versions, "python": platform.python_version(), "swiftlet_git": bench.git_revision()},
            "rows": rows, "table": table, "errors": all_errors,
        }, f, indent=1)
    print(f"wrote {os.path.relpath(out, REPO)}", file=sys.stderr)
    return 1 if all_errors else 0


def default_folder() -> str:
    if os.environ.get("SWIFTLET_MODEL_MINILM"):
        return os.environ["SWIFTLET_MODEL_MINILM"]
    cache = os.environ.get("SWIFTLET_CACHE", os.path.expanduser("~/.cache/swiftlet"))
    return os.path.join(cache, "models", "all-MiniLM-L6-v2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "worker"])
    parser.add_argument("--folder", default=default_folder(), help="the Hugging Face folder (all-MiniLM-L6-v2)")
    parser.add_argument("--gguf", help="the same model as GGUF, for llama.cpp (swiftlet convert DIR OUT.gguf)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--passes", type=int, default=3, help="timed passes over the sentences in each run")
    parser.add_argument("--sentences", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32, help="sentence-transformers' encode batch_size")
    parser.add_argument("--llama-batch", type=int, default=128, help="llama.cpp n_ctx = n_batch = n_ubatch")
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--lib", help="libswiftlet.so (default: $SWIFTLET_LIB or build/lib/libswiftlet.so)")
    parser.add_argument("--st-python", help="default: what scripts/st-venv.sh prints")
    parser.add_argument("--llama-python", help="default: what scripts/llama-venv.sh prints")
    parser.add_argument("--swiftlet-python", help="default: this Python")
    parser.add_argument("--engine", choices=list(ENGINES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.folder = os.path.abspath(args.folder)
    if args.gguf:
        args.gguf = os.path.abspath(args.gguf)
    if args.mode == "worker":
        args.threads = args.threads[0]
        worker(args)
        return 0
    return benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
