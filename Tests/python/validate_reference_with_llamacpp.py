"""One-off validation of reference_llama.py against llama.cpp -- NOT part of
the test suite (pytest does not collect it: no test_ prefix).

Writes the tiny models, evaluates the same token sequence with the numpy
reference (both modes) and with llama.cpp (llama-cpp-python, run in its own
virtualenv through a subprocess because that venv has no `gguf`), and prints
the max |difference| of the logits per model.

Expected: on the F32 model, reference mode (a) == llama.cpp up to float32
rounding (llama.cpp computes F32 weights in fp32; the KV cache is set to F32
too). For the quantized models llama.cpp quantizes activations itself (Q8_0
with fp16 scales for Q8_0/Q4_0/Q4_1 weights, fp16 for F16), so it lands near
mode (b) for Q8_0 and near mode (a) for F16.

With --architectures it does the same for the qwen2, gpt2 and gemma3 tiny
models (make_tiny_models.ARCHITECTURE_SPECS; the sinusoidal gpt2 variant is
Swiftlet's own and llama.cpp cannot load it, so it is skipped). The gemma3
models are also run on test_sliding_window.py's 40-token sequence and the
48-token one (five and six windows long). For the GELU models a fourth
column compares llama.cpp with mode (a) computing GELU as llama.cpp's CPU
backend does (an fp16 lookup table, reference_llama.gelu_fp16_table): on
the F32 gemma3 model that leaves ~1e-3, which is what moving GELU inputs by
an fp32 ulp or two (across fp16 rounding boundaries) does to the reference.

    python3 validate_reference_with_llamacpp.py [--llama-python PATH] [--architectures]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tiny_models as mk  # noqa: E402
import reference_llama as R  # noqa: E402

LLAMA_SNIPPET = r"""
import json, sys, numpy as np, llama_cpp
path, toks, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
llm = llama_cpp.Llama(model_path=path, logits_all=True, n_ctx=128, n_batch=128, verbose=False,
                      n_threads=1, type_k=0, type_v=0, flash_attn=False)
assert llm.n_vocab() == 300, llm.n_vocab()
llm.eval(toks)
np.save(out, np.array(llm.scores[:len(toks)], dtype=np.float64))
detok = [llm.detokenize([t]).hex() for t in range(256)]
json.dump({"detok": detok, "tok": llm.tokenize(b"hello the world and", add_bos=False, special=False)},
          open(out + ".json", "w"))
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-python", default=os.environ.get("LLAMA_PYTHON", os.path.expanduser("~/.cache/swiftlet/llama-venv/bin/python")))
    ap.add_argument("--architectures", action="store_true", help="the qwen2, gpt2 and gemma3 tiny models instead")
    args = ap.parse_args()
    from test_reference_forward import LARGE, MAIN  # the suite's main token sequence, and a longer one
    from test_sliding_window import LONG
    specs = ([s for s in mk.ARCHITECTURE_SPECS if s.positions != "sinusoidal"] if args.architectures
             else mk.STANDARD_SPECS)
    with tempfile.TemporaryDirectory() as d:
        paths = mk.write_standard_set(d, specs)
        for name, path in paths.items():
            ref = R.ReferenceLlama(path)
            gelu = ref.hp.arch in ("gpt2", "gemma3")
            sequences = {"": MAIN}
            if ref.hp.sliding_window:
                sequences.update({"(40)": LONG, "(48)": LARGE})
            for label, tokens in sequences.items():
                out = os.path.join(d, name + ".npy")
                subprocess.run([args.llama_python, "-c", LLAMA_SNIPPET, path, json.dumps(tokens), out], check=True)
                lc = np.load(out)
                extra = json.load(open(out + ".json"))
                a = ref.forward(tokens, "exact")
                b = ref.forward(tokens, "int8")
                byte_ok = all(bytes.fromhex(h) == bytes([i]) for i, h in enumerate(extra["detok"]))
                table = (f"|llama.cpp - exact, fp16 GELU|={np.abs(lc - ref.forward(tokens, gelu_table=True)).max():.3e}  "
                         if gelu else "")
                print(f"{name + label:34s} max|logit|={np.abs(a).max():6.2f}  |llama.cpp - exact|={np.abs(lc - a).max():.3e}  "
                      f"|llama.cpp - int8|={np.abs(lc - b).max():.3e}  |exact - int8|={np.abs(a - b).max():.3e}  "
                      f"{table}byte tokens decode: {byte_ok}  tokenize('hello the world and')={extra['tok']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
