"""Runs llama.cpp (llama-cpp-python, in its venv) on a model with and without
a LoRA adapter: greedy continuations of the given prompts, one eval per
generated token, recorded as Tests/goldens/make_llamacpp_goldens.py records
them (chosen token, top-2 margin, top-5 ids and log-probs per step).
test_llamacpp_lora.py runs it in a subprocess and compares Swiftlet with it.

    python llamacpp_lora_run.py --model M.gguf --adapter A.gguf --scale S \\
        --prompts prompts.json --out result.json

prompts.json: [{"name": ..., "prompt_tokens": [...]}, ...]. result.json:
{"base": [prompt + "steps"], "lora": [...], "llama_cpp_python": version}.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "goldens"))
import make_llamacpp_goldens as goldens  # noqa: E402  (greedy(), the settings of the goldens)


def run(model: str, prompts: list[dict], adapter: str | None, scale: float, steps: int) -> list[dict]:
    import llama_cpp
    goldens.MAX_NEW_TOKENS = steps
    llm = llama_cpp.Llama(model_path=model, n_threads=goldens.N_THREADS, n_threads_batch=goldens.N_THREADS,
                          n_ctx=512, n_batch=512, n_ubatch=512, seed=goldens.SEED, logits_all=True,
                          flash_attn=False, verbose=False, lora_path=adapter, lora_scale=scale)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    out = [dict(p, steps=goldens.greedy(llm, vocab, p["prompt_tokens"])) for p in prompts]
    if hasattr(llm, "close"):
        llm.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--adapter", required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import llama_cpp
    with open(args.prompts) as f:
        prompts = json.load(f)
    result = {"llama_cpp_python": llama_cpp.__version__,
              "base": run(args.model, prompts, None, 1.0, args.steps),
              "lora": run(args.model, prompts, args.adapter, args.scale, args.steps)}
    with open(args.out, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
