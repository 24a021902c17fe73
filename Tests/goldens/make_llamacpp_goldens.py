"""Generates the llama.cpp goldens for the real model (SmolLM2-135M-Instruct).

llama.cpp is not available where the test suite runs, so this script is run
once, by hand, and its two outputs are committed next to it:

  llamacpp_q8_0_tensors.json  per tensor of llama.cpp's own Q8_0 requantization
                              of the shipped Q4_1 file: name, ggml type, shape and
                              sha256 of the data bytes (+ the output's metadata keys).
                              `swiftlet quantize` must reproduce every tensor bit
                              for bit.
  llamacpp_smollm2.json       for the shipped Q4_1 file and for llama.cpp's Q8_0
                              file: greedy continuations of six prompts, evaluated
                              one token per llama eval (step records: chosen token,
                              top-2 logit margin, top-5 ids + log-probabilities),
                              and a teacher-forced pass over a long text evaluated
                              in one batch (the same records at every position),
                              plus llama.cpp's own batched-vs-one-token disagreement.

Tests/python/test_llamacpp_agreement.py checks Swiftlet against both files.
make_llamacpp_quant_goldens.py imports this module (quantize, evaluate_file,
settings) for the k-quant / IQ4 files.

Requirements: llama-cpp-python (the `llama_cpp` package, built from source),
numpy, gguf and jinja2, all in one interpreter. On the dev machine:

    ~/.cache/swiftlet/llama-venv/bin/pip install gguf jinja2
    ~/.cache/swiftlet/llama-venv/bin/python Tests/goldens/make_llamacpp_goldens.py \\
        --model /path/to/SmolLM2-135M-Instruct.Q4_1.gguf

The model defaults to $SWIFTLET_MODEL_Q4_1. The Q8_0 file is written outside
the repository: --q8-out, default $SWIFTLET_CACHE (or ~/.cache/swiftlet)
/SmolLM2-135M-Instruct.llamacpp-Q8_0.gguf. Re-running on the same llama.cpp
build gives the same files; a different build may move near-tie steps, which
the tests tolerate (see their thresholds).
"""
from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import statistics
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
from llamacpp_compare import sha256_file  # noqa: E402  (shared with the tests)
OUT_GOLDENS = os.path.join(HERE, "llamacpp_smollm2.json")
OUT_TENSORS = os.path.join(HERE, "llamacpp_q8_0_tensors.json")

LLAMA_FTYPE_MOSTLY_Q8_0 = 7

N_THREADS = 2
N_CTX = 2048
N_BATCH = 1024          # >= the long text's token count: it is evaluated in one batch
SEED = 1234
MAX_NEW_TOKENS = 48
TOP_K = 5
SELF_PREFIX = 64        # prefix of the long text evaluated one token at a time too
DECIMALS = 4

# Prompts were picked (from a larger pool, by running this llama.cpp build) so that
# llama.cpp's greedy path stays clear of near ties (top-2 margin < 0.5) for most of
# the 48 steps on both files: a comparison stops at the first near tie, so prompts
# whose first tokens are coin flips for a 135M model ("Once upon a time", "What is
# the capital of France?" as a chat) would compare almost nothing.
RAW_PROMPTS = [
    ("capital", "The capital of France is"),
    ("code", "def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):"),
    ("list", "1, 2, 3, 4, 5, 6,"),
]

CHAT_PROMPTS = [
    ("chat_count", [{"role": "user", "content": "Count from 1 to 20."}]),
    ("chat_primes", [{"role": "user", "content": "What are the first ten prime numbers?"}]),
    ("chat_code", [
        {"role": "system", "content": "You are a concise assistant that answers with code."},
        {"role": "user", "content": "Write a Python function that returns the square of a number."},
    ]),
]

# An original passage (prose, numbers, code) for the teacher-forced pass.
LONG_TEXT = """\
The lighthouse on Marrow Point was built in 1874, and for most of its life it was tended by \
a single keeper who lived in the small stone cottage at the foot of the tower. The last keeper, \
a patient woman named Elsie Crane, kept a logbook for twenty-two years. Every evening she wrote \
down the time the lamp was lit, the direction of the wind, and the number of ships that passed \
before midnight. On a calm night in July 1931 she counted 14 ships; during the storm of \
November 1937 she counted none at all, and wrote only: "Wind from the north-east, waves over \
the rocks, lamp kept burning until dawn."

When the light was automated in 1952, the logbooks were given to the town library. A few years \
ago a group of volunteers decided to type them up, so that anyone could search them. The work \
took longer than expected. The handwriting was small, the ink had faded, and some pages had \
been damaged by damp. In the end the volunteers transcribed 8,036 entries, and they found that \
the busiest month on record was August 1929, with an average of 11.6 ships per night.

To check their transcription, the volunteers wrote a short program. It reads a file of entries, \
one per line, and reports the average number of ships for each month:

```python
from collections import defaultdict

def monthly_averages(path):
    totals = defaultdict(int)
    counts = defaultdict(int)
    with open(path, encoding="utf-8") as f:
        for line in f:
            date, ships = line.strip().split(",")
            month = date[:7]  # "1929-08"
            totals[month] += int(ships)
            counts[month] += 1
    return {m: totals[m] / counts[m] for m in sorted(totals)}

for month, avg in monthly_averages("marrow_point.csv").items():
    print(f"{month}: {avg:.1f}")
```

The program printed 307 lines, one for each month between March 1915 and September 1940. Two \
of the numbers did not match the totals that Elsie had written at the end of each year, and \
the volunteers went back to the original pages. In both cases the mistake was theirs, not \
hers: a 7 had been read as a 1, and a line had been skipped where two pages were stuck together.

Today the tower is a small museum. Visitors can climb the 96 steps to the lamp room, look at \
a copy of the first logbook, and read the last entry, dated 30 June 1952: "Lamp lit at 9:41 pm. \
Wind light, from the west. Three ships. Goodbye, old friend." Most visitors stay for about \
forty minutes. Some of them, the guides say, stay until the sun goes down, just to watch the \
light come on by itself.
"""


def default_q8_path() -> str:
    base = os.environ.get("SWIFTLET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "swiftlet")
    return os.path.join(base, "SmolLM2-135M-Instruct.llamacpp-Q8_0.gguf")


# ------------------------------------------------------------ quantization


def quantize_q8_0(src: str, dst: str) -> None:
    quantize(src, dst, LLAMA_FTYPE_MOSTLY_Q8_0)


def quantize(src: str, dst: str, ftype: int) -> None:
    """llama.cpp's own quantizer (llama_model_quantize, default params otherwise)."""
    import llama_cpp
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.allow_requantize = True   # the source (the shipped Q4_1 file) is already quantized
    params.nthread = N_THREADS
    rc = llama_cpp.llama_model_quantize(os.fsencode(src), os.fsencode(dst), ctypes.byref(params))
    if rc != 0:
        raise SystemExit(f"llama_model_quantize failed with {rc}")


def gguf_field_value(field):
    try:
        return field.contents()
    except Exception:  # older gguf without contents()
        return None


def tensor_records(path: str) -> dict:
    import gguf
    r = gguf.GGUFReader(path)
    tensors = []
    for t in r.tensors:
        data = np.ascontiguousarray(t.data)
        raw = data.view(np.uint8).tobytes()
        assert len(raw) == int(t.n_bytes), (t.name, len(raw), t.n_bytes)
        tensors.append({
            "name": t.name,
            "type": t.tensor_type.name,
            "type_id": int(t.tensor_type),
            "shape": [int(x) for x in t.shape],
            "n_bytes": int(t.n_bytes),
            "sha256": hashlib.sha256(raw).hexdigest(),
        })
    keys = [k for k in r.fields if not k.startswith("GGUF.")]
    small = {k: gguf_field_value(r.fields[k]) for k in keys
             if k in ("general.file_type", "general.quantization_version")}
    return {"tensors": tensors, "metadata_keys": keys, "metadata": small}


# --------------------------------------------------------------- evaluation


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    m = x.max()
    return x - (m + np.log(np.exp(x - m).sum()))


def record(logits: np.ndarray) -> tuple[int, float, list[int], list[float]]:
    """(argmax, top1-top2 logit margin, top-5 ids, their log-probs)."""
    order = np.argsort(-logits.astype(np.float64), kind="stable")[:TOP_K]
    lp = log_softmax(logits)
    top1, top2 = float(logits[order[0]]), float(logits[order[1]])
    return (int(order[0]), round(top1 - top2, DECIMALS), [int(i) for i in order],
            [round(float(lp[i]), DECIMALS) for i in order])


def render_chat(template_src: str, messages, bos: str, eos: str) -> str:
    import jinja2
    import jinja2.sandbox

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template_src).render(messages=messages, add_generation_prompt=True,
                                                bos_token=bos, eos_token=eos)


def make_llama(path: str):
    import llama_cpp
    return llama_cpp.Llama(model_path=path, n_threads=N_THREADS, n_threads_batch=N_THREADS,
                           n_ctx=N_CTX, n_batch=N_BATCH, n_ubatch=N_BATCH, seed=SEED,
                           logits_all=True, flash_attn=False, verbose=False)


def greedy(llm, vocab, prompt_ids: list[int]) -> dict:
    import llama_cpp
    llm.reset()
    llm.eval(prompt_ids)                       # the prompt in one batch
    steps = {"token": [], "margin": [], "top_ids": [], "top_logprobs": []}
    for _ in range(MAX_NEW_TOKENS):
        logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        tok, margin, ids, lps = record(logits)
        steps["token"].append(tok)
        steps["margin"].append(margin)
        steps["top_ids"].append(ids)
        steps["top_logprobs"].append(lps)
        if llama_cpp.llama_vocab_is_eog(vocab, tok):
            break                              # a generator stops here; EOG is not evaluated
        llm.eval([tok])                        # one eval per generated token
    return steps


def teacher_forced(llm, ids: list[int]) -> tuple[dict, np.ndarray]:
    llm.reset()
    llm.eval(ids)                              # len(ids) <= N_BATCH: one batch
    scores = np.array(llm.scores[: len(ids)], dtype=np.float32)
    recs = {"margin": [], "top_ids": [], "top_logprobs": []}
    for row in scores:
        _, margin, top, lps = record(row)
        recs["margin"].append(margin)
        recs["top_ids"].append(top)
        recs["top_logprobs"].append(lps)
    return recs, scores


def self_disagreement(llm, ids: list[int], batched: np.ndarray) -> dict:
    """llama.cpp one token per eval vs the batched pass, on the first SELF_PREFIX positions."""
    llm.reset()
    deltas, agree, mismatch_margins = [], 0, []
    n = min(SELF_PREFIX, len(ids))
    for i in range(n):
        llm.eval([ids[i]])
        one = np.array(llm.scores[i], dtype=np.float32)
        lb, lo = log_softmax(batched[i]), log_softmax(one)
        top = np.argsort(-batched[i].astype(np.float64), kind="stable")[:TOP_K]
        deltas.extend(abs(float(lb[t] - lo[t])) for t in top)
        if int(np.argmax(one)) == int(top[0]):
            agree += 1
        else:
            mismatch_margins.append(round(float(batched[i][top[0]] - batched[i][top[1]]), DECIMALS))
    return {"prefix_tokens": n,
            "median_abs_dlogprob": round(statistics.median(deltas), DECIMALS),
            "max_abs_dlogprob": round(max(deltas), DECIMALS),
            "top1_agreement": round(agree / n, DECIMALS),
            "top1_mismatch_batched_margins": mismatch_margins}


def evaluate_file(path: str, label: str) -> dict:
    import llama_cpp
    llm = make_llama(path)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    meta = llm.metadata
    add_bos = str(meta.get("tokenizer.ggml.add_bos_token", "false")).lower() == "true"
    template = meta["tokenizer.chat_template"]
    bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8")
    eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8")

    prompts = []
    for name, text in RAW_PROMPTS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False)
        prompts.append({"name": name, "kind": "raw", "text": text, "special": False,
                        "prompt_tokens": ids, "steps": greedy(llm, vocab, ids)})
    for name, messages in CHAT_PROMPTS:
        text = render_chat(template, messages, bos, eos)
        ids = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        prompts.append({"name": name, "kind": "chat", "messages": messages, "text": text,
                        "special": True, "prompt_tokens": ids, "steps": greedy(llm, vocab, ids)})

    long_ids = llm.tokenize(LONG_TEXT.encode("utf-8"), add_bos=add_bos, special=False)
    assert len(long_ids) <= N_BATCH, len(long_ids)
    recs, scores = teacher_forced(llm, long_ids)
    selfd = self_disagreement(llm, long_ids, scores)
    for p in prompts:
        gen = llm.detokenize(p["steps"]["token"], special=True).decode("utf-8", "replace")
        print(f"[{label}] {p['name']}: {len(p['steps']['token'])} steps: {gen!r}", file=sys.stderr)
    print(f"[{label}] long text: {len(long_ids)} tokens; self-disagreement {selfd}", file=sys.stderr)
    out = {
        "file": os.path.basename(path),
        "file_sha256": sha256_file(path),
        "add_bos": add_bos,
        "prompts": prompts,
        "long_text": {"tokens": long_ids, **recs},
        "self_disagreement": selfd,
    }
    if hasattr(llm, "close"):
        llm.close()
    return out


def llama_version() -> dict:
    """Initializes llama.cpp; the llama-cpp-python release and the build's system info."""
    import llama_cpp
    llama_cpp.llama_backend_init()
    return {"llama_cpp_python": llama_cpp.__version__,
            "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()}


def settings() -> dict:
    """How evaluate_file runs llama.cpp (recorded in every goldens file it feeds)."""
    return {"n_threads": N_THREADS, "n_ctx": N_CTX, "n_batch": N_BATCH, "n_ubatch": N_BATCH,
            "seed": SEED, "max_new_tokens": MAX_NEW_TOKENS, "top_k": TOP_K,
            "kv_cache": "llama.cpp default (f16)", "flash_attn": False,
            "decimals": DECIMALS,
            "greedy": "prompt in one eval, then one eval per generated token; stops after an "
                      "end-of-generation token (recorded, not evaluated)",
            "records": "margin = logit[top1] - logit[top2]; top_logprobs = log_softmax at top_ids; "
                       "greedy step i = logits after the prompt + i generated tokens; long-text "
                       "position i = logits after tokens[0..i] (predicting tokens[i+1])",
            "self_disagreement": f"llama.cpp's own batched vs one-token path on the long text's "
                                 f"first {SELF_PREFIX} tokens: |d log-prob| over its top-{TOP_K}"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.environ.get("SWIFTLET_MODEL_Q4_1"),
                    help="the shipped SmolLM2-135M-Instruct.Q4_1.gguf (default $SWIFTLET_MODEL_Q4_1)")
    ap.add_argument("--q8-out", default=default_q8_path(), help="where llama.cpp's Q8_0 file goes")
    args = ap.parse_args()
    if not args.model or not os.path.isfile(args.model):
        ap.error("--model (or $SWIFTLET_MODEL_Q4_1) must name the Q4_1 GGUF")

    version = llama_version()

    quantize_q8_0(args.model, args.q8_out)
    q8 = tensor_records(args.q8_out)
    src = tensor_records(args.model)
    src_by_name = {t["name"]: t for t in src["tensors"]}
    q8_doc = {
        "generator": "Tests/goldens/make_llamacpp_goldens.py",
        "llama_cpp": version,
        "quantize": {"ftype": LLAMA_FTYPE_MOSTLY_Q8_0, "allow_requantize": True,
                     "params": "llama_model_quantize_default_params()"},
        "source": {"file": os.path.basename(args.model), "sha256": sha256_file(args.model),
                   "metadata_keys": src["metadata_keys"]},
        "output": {"file": os.path.basename(args.q8_out), "sha256": sha256_file(args.q8_out),
                   "size": os.path.getsize(args.q8_out), "metadata_keys": q8["metadata_keys"],
                   "metadata": q8["metadata"]},
        "tensors": q8["tensors"],
    }
    with open(OUT_TENSORS, "w") as f:
        json.dump(q8_doc, f, indent=1)
        f.write("\n")
    kept = {}
    for t in q8["tensors"]:
        s = src_by_name[t["name"]]
        key = f"{s['type']}->{t['type']}" + (" unchanged" if s["sha256"] == t["sha256"] else "")
        kept.setdefault(key, []).append(t["name"])
    for key, names in sorted(kept.items()):
        print(f"  {key}: {len(names)} tensors, e.g. {names[:3]}", file=sys.stderr)

    doc = {
        "generator": "Tests/goldens/make_llamacpp_goldens.py",
        "llama_cpp": version,
        "settings": settings(),
        "long_text": LONG_TEXT,
        "files": {
            "q4_1": evaluate_file(args.model, "q4_1"),
            "q8_0": evaluate_file(args.q8_out, "q8_0"),
        },
    }
    with open(OUT_GOLDENS, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT_TENSORS} ({os.path.getsize(OUT_TENSORS)} bytes), "
          f"{OUT_GOLDENS} ({os.path.getsize(OUT_GOLDENS)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
