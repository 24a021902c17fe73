"""llama.cpp's embeddings of all-MiniLM-L6-v2, loaded from the GGUF `swiftlet
convert` writes of its Hugging Face folder.

llama.cpp is not available where the test suite runs, so this script is run
once, by hand, and its output is committed next to it:

  llamacpp_minilm.json  the converted file's sha256 and metadata; for every
                        text of minilm_sentence_transformers.json, llama.cpp's
                        token ids and its normalized mean-pooled embedding.

Tests/python/test_llamacpp_minilm.py checks it against sentence-transformers
(so the converted file is one llama.cpp reads as the model it is) and
against Swiftlet.

Requirements: llama-cpp-python and numpy in one interpreter, and a built
swiftlet CLI. On the dev machine:

    ~/.cache/swiftlet/llama-venv/bin/python Tests/goldens/make_llamacpp_minilm_goldens.py

The folder defaults to $SWIFTLET_MODEL_MINILM (scripts/fetch-minilm.sh).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=os.environ.get("SWIFTLET_MODEL_MINILM"))
    parser.add_argument("--out", default=os.path.join(HERE, "llamacpp_minilm.json"))
    args = parser.parse_args()
    if not args.folder:
        raise SystemExit("give --folder or set SWIFTLET_MODEL_MINILM")
    import llama_cpp

    with open(os.path.join(HERE, "minilm_sentence_transformers.json")) as f:
        texts = [entry["text"] for entry in json.load(f)["entries"]]
    with tempfile.TemporaryDirectory() as work:
        gguf = os.path.join(work, "minilm.gguf")
        subprocess.run([os.path.join(REPO, "build", "bin", "swiftlet"), "convert", args.folder, gguf], check=True)
        with open(gguf, "rb") as f:
            sha256 = hashlib.sha256(f.read()).hexdigest()
        # n_ctx = n_batch = n_ubatch = 512: the longest text (256 tokens) fits one
        # batch, which a non-causal model needs.
        llm = llama_cpp.Llama(model_path=gguf, embedding=True, n_ctx=512, n_batch=512, n_ubatch=512, n_threads=2,
                              pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN, verbose=False)
        entries = []
        for text in texts:
            ids = llm.tokenize(text.encode(), add_bos=True, special=True)
            vector = np.asarray(llm.embed(text, normalize=True), dtype=np.float64)
            entries.append({"text": text, "input_ids": ids, "embedding": [float(f"{v:.7g}") for v in vector]})
    result = {
        "comment": "llama.cpp's embeddings of the GGUF swiftlet convert writes of all-MiniLM-L6-v2 "
                   "(Tests/goldens/make_llamacpp_minilm_goldens.py)",
        "gguf_sha256": sha256,
        "llama_cpp_python": llama_cpp.__version__,
        "entries": entries,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {args.out}: {len(entries)} texts")


if __name__ == "__main__":
    main()
