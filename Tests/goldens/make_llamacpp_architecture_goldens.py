"""Generates llama.cpp goldens for the tiny qwen2, gpt2 and gemma3 models
(make_tiny_models.ARCHITECTURE_SPECS; the sinusoidal gpt2 variant is
Swiftlet's own and llama.cpp cannot load it). Run once, by hand; its output,
llamacpp_architectures.json beside it, is committed and read by
Tests/python/test_llamacpp_architectures.py.

For each model (its sha256 recorded, so the test knows it has the same bytes):
  - teacher-forced: the suite's main 20-token sequence evaluated in one batch;
    per position llama.cpp's top-5 ids, their log-probabilities and the top-2
    logit margin;
  - greedy: 24 tokens continued from the sequence's first 4, one llama eval
    per token, with the same records per step.

Requirements: llama-cpp-python (built from source), numpy, gguf and pytest in
one interpreter. On the dev machine:

    ~/.cache/swiftlet/llama-venv/bin/pip install gguf pytest
    ~/.cache/swiftlet/llama-venv/bin/python Tests/goldens/make_llamacpp_architecture_goldens.py
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import make_tiny_models as mk  # noqa: E402
from test_reference_forward import MAIN  # noqa: E402  (the suite's main token sequence)

OUT = os.path.join(HERE, "llamacpp_architectures.json")
GREEDY_PROMPT = 4
GREEDY_STEPS = 24
TOP_K = 5
DECIMALS = 4


def records(logits: np.ndarray) -> dict:
    """Top-k ids, their log-probabilities and the top-2 margin of each row."""
    x = np.asarray(logits, dtype=np.float64)
    m = x.max(axis=-1, keepdims=True)
    lp = x - (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))
    order = np.argsort(-x, axis=-1, kind="stable")
    top = order[:, :TOP_K]
    sorted_logits = np.take_along_axis(x, order[:, :2], axis=-1)
    return {
        "top_ids": top.tolist(),
        "top_logprobs": np.round(np.take_along_axis(lp, top, axis=-1), DECIMALS).tolist(),
        "margin": np.round(sorted_logits[:, 0] - sorted_logits[:, 1], DECIMALS).tolist(),
    }


def main() -> int:
    import llama_cpp

    goldens = {"llama_cpp_python": llama_cpp.__version__, "models": []}
    with tempfile.TemporaryDirectory() as d:
        for spec in mk.ARCHITECTURE_SPECS:
            if spec.positions == "sinusoidal":
                continue
            path = mk.write_model(spec, os.path.join(d, spec.name + ".gguf"))
            sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
            # F32 KV cache (type 0), one thread: llama.cpp's most exact settings.
            llm = llama_cpp.Llama(model_path=path, logits_all=True, n_ctx=128, n_batch=128, verbose=False,
                                  n_threads=1, type_k=0, type_v=0, flash_attn=False)
            llm.eval(MAIN)
            teacher = records(np.array(llm.scores[:len(MAIN)]))
            llm.reset()
            prompt = MAIN[:GREEDY_PROMPT]
            llm.eval(prompt)
            steps = {"token": [], "margin": [], "top_ids": [], "top_logprobs": []}
            for _ in range(GREEDY_STEPS):
                row = records(np.array(llm.scores[llm.n_tokens - 1:llm.n_tokens]))
                token = row["top_ids"][0][0]
                steps["token"].append(token)
                steps["margin"].append(row["margin"][0])
                steps["top_ids"].append(row["top_ids"][0])
                steps["top_logprobs"].append(row["top_logprobs"][0])
                llm.eval([token])
            goldens["models"].append({
                "name": spec.name, "sha256": sha, "tokens": MAIN, "teacher_forced": teacher,
                "greedy": {"name": spec.name, "prompt_tokens": prompt, "steps": steps}})
            del llm
    with open(OUT, "w") as f:
        json.dump(goldens, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
