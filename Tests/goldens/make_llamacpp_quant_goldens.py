"""Generates the llama.cpp goldens for SmolLM2 requantized to the k-quant and IQ4 types.

The shipped SmolLM2-135M-Instruct Q4_1 file is requantized by llama.cpp's own
quantizer (llama_model_quantize, allow_requantize, default params otherwise:
no importance matrix) to the seven mixes people download -- Q4_K_M, Q5_K_M,
Q6_K, Q3_K_M, Q2_K, IQ4_NL, IQ4_XS. SmolLM2's 576-wide rows are not a
multiple of 256, so llama.cpp falls back to Q5_0 / Q5_1 / Q8_0 / IQ4_NL for
some tensors: each file mixes several types (recorded per file).

The files are written outside the repository (--out-dir, default
$SWIFTLET_CACHE/models, or ~/.cache/swiftlet/models), and one output is
committed next to this script:

  llamacpp_smollm2_quants.json  per file: the llama ftype, the file's sha256 and
                                size, its tensor types (counts per type and per
                                tensor), and goldens made exactly as
                                make_llamacpp_goldens.py makes them for the
                                Q4_1/Q8_0 files (its evaluate_file: greedy
                                continuations of its prompts one token per eval,
                                the teacher-forced pass over its long text with
                                top-5 ids, log-probs and the top-2 margin, and
                                llama.cpp's own batched-vs-one-token gap).

Tests/python/test_llamacpp_quant_types.py checks Swiftlet against it. The test
also runs this script with `--make NAME --out PATH` (only the quantization) to
make a missing file; the goldens' sha256 then says whether it is the same file.

Requirements as make_llamacpp_goldens.py's (llama-cpp-python, numpy, gguf,
jinja2 in one interpreter). On the dev machine:

    ~/.cache/swiftlet/llama-venv/bin/python Tests/goldens/make_llamacpp_quant_goldens.py \\
        --model "$(scripts/fetch-model.sh)"
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import make_llamacpp_goldens as base  # noqa: E402

OUT_GOLDENS = os.path.join(HERE, "llamacpp_smollm2_quants.json")

# name -> (llama_ftype from llama.h, label). Values checked against the
# llama.h shipped with llama-cpp-python 0.3.36 (enum llama_ftype).
QUANTS = {
    "q4_k_m": (15, "Q4_K_M"),   # LLAMA_FTYPE_MOSTLY_Q4_K_M
    "q5_k_m": (17, "Q5_K_M"),   # LLAMA_FTYPE_MOSTLY_Q5_K_M
    "q6_k": (18, "Q6_K"),       # LLAMA_FTYPE_MOSTLY_Q6_K
    "q3_k_m": (12, "Q3_K_M"),   # LLAMA_FTYPE_MOSTLY_Q3_K_M
    "q2_k": (10, "Q2_K"),       # LLAMA_FTYPE_MOSTLY_Q2_K
    "iq4_nl": (25, "IQ4_NL"),   # LLAMA_FTYPE_MOSTLY_IQ4_NL
    "iq4_xs": (30, "IQ4_XS"),   # LLAMA_FTYPE_MOSTLY_IQ4_XS
}


def default_out_dir() -> str:
    cache = os.environ.get("SWIFTLET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "swiftlet")
    return os.path.join(cache, "models")


def file_name(name: str) -> str:
    return f"SmolLM2-135M-Instruct.llamacpp-{QUANTS[name][1]}.gguf"


def make_file(src: str, name: str, dst: str) -> None:
    """Quantizes src to QUANTS[name] at dst, written beside it first and renamed into place."""
    ftype, _ = QUANTS[name]
    partial = f"{dst}.partial-{os.getpid()}"
    try:
        base.quantize(src, partial, ftype)
        os.replace(partial, dst)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def tensor_types(path: str) -> tuple[dict, dict]:
    """({type: count}, {tensor name: type}) read with the gguf package."""
    import gguf
    r = gguf.GGUFReader(path)
    per_tensor = {t.name: t.tensor_type.name for t in r.tensors}
    counts = collections.Counter(per_tensor.values())
    return dict(sorted(counts.items())), per_tensor


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.environ.get("SWIFTLET_MODEL_Q4_1"),
                    help="the shipped SmolLM2-135M-Instruct.Q4_1.gguf (default $SWIFTLET_MODEL_Q4_1)")
    ap.add_argument("--out-dir", default=default_out_dir(), help="where the quantized files go")
    ap.add_argument("--only", nargs="+", choices=sorted(QUANTS), help="a subset (default: all seven)")
    ap.add_argument("--make", choices=sorted(QUANTS),
                    help="only quantize this one type to --out (no goldens); prints the file's sha256")
    ap.add_argument("--out", help="with --make: the output path")
    args = ap.parse_args()
    if not args.model or not os.path.isfile(args.model):
        ap.error("--model (or $SWIFTLET_MODEL_Q4_1) must name the Q4_1 GGUF")

    version = base.llama_version()
    if args.make:
        if not args.out:
            ap.error("--make needs --out")
        make_file(args.model, args.make, args.out)
        print(base.sha256_file(args.out))
        return 0

    names = args.only or list(QUANTS)
    doc = {
        "generator": "Tests/goldens/make_llamacpp_quant_goldens.py",
        "llama_cpp": version,
        "quantize": {"function": "llama_model_quantize", "allow_requantize": True,
                     "params": "llama_model_quantize_default_params() (no imatrix)",
                     "nthread": base.N_THREADS},
        "settings": base.settings(),
        "source": {"file": os.path.basename(args.model), "sha256": base.sha256_file(args.model)},
        "long_text": base.LONG_TEXT,
        "files": {},
    }
    if args.only and os.path.isfile(OUT_GOLDENS):   # update a subset in place
        with open(OUT_GOLDENS) as f:
            old = json.load(f)
        doc["files"] = old.get("files", {})

    for name in names:
        ftype, label = QUANTS[name]
        path = os.path.join(args.out_dir, file_name(name))
        print(f"[{name}] quantizing to {path} (ftype {ftype})", file=sys.stderr)
        make_file(args.model, name, path)
        counts, per_tensor = tensor_types(path)
        print(f"[{name}] {os.path.getsize(path)} bytes; tensor types {counts}", file=sys.stderr)
        ev = base.evaluate_file(path, name)
        doc["files"][name] = {"ftype": ftype, "ftype_name": f"LLAMA_FTYPE_MOSTLY_{label}",
                              "size": os.path.getsize(path), "tensor_type_counts": counts,
                              "tensor_types": per_tensor, **ev}
    doc["files"] = {n: doc["files"][n] for n in QUANTS if n in doc["files"]}
    with open(OUT_GOLDENS, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT_GOLDENS} ({os.path.getsize(OUT_GOLDENS)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
