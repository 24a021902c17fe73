#!/usr/bin/env python3
"""Writes Tests/goldens/minilm_sentence_transformers.json: all-MiniLM-L6-v2's
sentence embeddings and input ids as sentence-transformers itself computes
them, for a corpus that exercises the tokenizer and the encoder (empty string,
one word, accents, uppercase, CJK, emoji, numbers, punctuation, code, a text
far past max_seq_length 256 so truncation matters, near-duplicates and
unrelated pairs).

Runs in the st-venv (scripts/st-venv.sh prints its python):

    "$(scripts/st-venv.sh)" Tests/goldens/make_minilm_goldens.py [FOLDER]

FOLDER defaults to $SWIFTLET_MODEL_MINILM, then scripts/fetch-minilm.sh's
cache path. What is stored per text:

  input_ids   model.preprocess([text])'s (model.tokenize's) ids under its attention mask: [CLS] … [SEP],
              truncated to model.max_seq_length (256) by the model's own tokenizer
  embedding   model.encode(texts, normalize_embeddings=True) (float32, 7 significant digits)

Tests/python/test_reference_bert.py checks the numpy reference against these.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "minilm_sentence_transformers.json")

# ~260 words of plain English: well past 256 WordPiece tokens, so the stored ids
# end with the 254th content token and [SEP].
LONG_TEXT = " ".join(
    f"Paragraph {i}: the small fast bird crossed the valley at dawn, counting rivers, "
    f"stones and clouds while the village below slowly woke up." for i in range(1, 13))

CORPUS = [
    "",
    "hello",
    "Hello world",
    "HELLO WORLD",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "A man is eating pasta.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "What is the capital of France?",
    "Paris is the capital and largest city of France.",
    "How do I reset my password?",
    "Quantum chromodynamics describes the strong interaction.",
    "Café crème, naïve façade, résumé, jalapeño, Ångström.",
    "Ça va? Où est la bibliothèque?",
    "Straße, Größe, Übermäßig",
    "東京は日本の首都です。",
    "我喜欢自然语言处理",
    "한국어 문장도 처리합니다",
    "Привет, как дела?",
    "مرحبا بالعالم",
    "I love pizza 🍕🍕 and 👨‍👩‍👧 family time! 🎉",
    "The price rose 3.14% to $1,234,567.89 on 2024-01-15 at 09:30.",
    "Call 555-0199 or e-mail support@example.com before 5pm!!!",
    "Wait... what?! (Really?) [yes] {no} <maybe> \"quoted\" 'single'",
    "def add(a, b):\n    return a + b  # sum two numbers",
    "for (int i = 0; i < n; ++i) { sum += x[i] * y[i]; }",
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\nmixed",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "The cat sat on the mat.",
    "The cat sat on the mat!",
    "A cat was sitting on a mat.",
    "Stock markets fell sharply after the announcement.",
    LONG_TEXT,
]


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_folder() -> str:
    folder = os.environ.get("SWIFTLET_MODEL_MINILM")
    if folder:
        return folder
    cache = os.environ.get("SWIFTLET_CACHE", os.path.expanduser("~/.cache/swiftlet"))
    return os.path.join(cache, "models", "all-MiniLM-L6-v2")


def main() -> None:
    folder = sys.argv[1] if len(sys.argv) > 1 else default_folder()
    import numpy as np
    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(folder, device="cpu")
    model.eval()

    # the model's own preprocessing (sentence-transformers >= 6 calls it preprocess;
    # tokenize, its older name, is deprecated there)
    preprocess = getattr(model, "preprocess", None) or model.tokenize
    ids = []
    for text in CORPUS:
        features = preprocess([text])
        mask = features["attention_mask"][0].bool()
        ids.append([int(t) for t in features["input_ids"][0][mask]])

    embeddings = model.encode(CORPUS, normalize_embeddings=True, convert_to_numpy=True, batch_size=64)
    embeddings = np.asarray(embeddings, dtype=np.float32)

    entries = [{"text": text, "input_ids": tid, "embedding": [float(f"{v:.7g}") for v in e]}
               for text, tid, e in zip(CORPUS, ids, embeddings)]
    golden = {
        "comment": "all-MiniLM-L6-v2 through sentence-transformers; written by "
                   "Tests/goldens/make_minilm_goldens.py (run it in the st-venv to regenerate)",
        "model": {
            "folder_name": os.path.basename(os.path.normpath(folder)),
            "model_safetensors_sha256": sha256(os.path.join(folder, "model.safetensors")),
            "max_seq_length": model.max_seq_length,
            "dimension": int(embeddings.shape[1]),
            "modules": [type(m).__name__ for m in model],
        },
        "call": "SentenceTransformer(folder, device='cpu').encode(texts, normalize_embeddings=True, batch_size=64)",
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "entries": entries,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {OUT}: {len(entries)} texts, longest {max(len(t) for t in ids)} ids")


if __name__ == "__main__":
    main()
