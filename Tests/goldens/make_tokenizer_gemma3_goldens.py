#!/usr/bin/env python3
"""Goldens for the SentencePiece (tokenizer.ggml.model = "llama") path: llama.cpp's token ids
for a hard corpus on the Gemma 3 270M Q4_K_M vocabulary (262,144 tokens).

Run with the llama-cpp-python venv:
    ~/.cache/swiftlet/llama-venv/bin/python Tests/goldens/make_tokenizer_gemma3_goldens.py [GGUF]
(GGUF defaults to $SWIFTLET_MODEL_GEMMA3). Writes Tests/goldens/tokenizer_gemma3_llamacpp.json.
Each case is tokenized four ways: add_bos (llama.cpp's add_special) x special (parse_special).
Texts are stored as hex so that any bytes (including ill-formed UTF-8) survive the JSON.

Gemma's file sets tokenizer.ggml.add_space_prefix = false, so a second set ("space_prefix_cases")
runs the same corpus on a metadata-only copy of the file with add_space_prefix = true (made by
space_prefix_copy, which the test imports to build the same copy): llama.cpp then prefixes "▁" to
the text at the start and after every special token.
"""
import hashlib
import json
import os
import sys
from pathlib import Path

import gguf

CORPUS: list[bytes] = [s.encode("utf-8") if isinstance(s, str) else s for s in [
    "",
    "Hello world",
    "The capital of France is",
    " Hello",
    "  two leading spaces",
    "trailing spaces   ",
    "multiple    spaces   inside  words",
    " ",
    "   ",
    "line one\nline two\n\nline four\n\n\n",
    "\ttab\tseparated\t\tvalues\n",
    "\r\nwindows\r\nline endings",
    "1 12 123 1234 12345 3.14159 2026-12-01 1,000,000",
    "31415926535897932384626433832795028841971693993751",
    "café naïve résumé Ærøskøbing façade coöperate",
    "Crème brûlée à la française",
    "東京は日本の首都です。",
    "北京欢迎你！中文分词测试",
    "한국어 텍스트와 日本語のテキスト",
    "Привет, мир! Ελληνικά κείμενα",
    "مرحبا بالعالم",
    "हिन्दी भाषा",
    "emoji 😀🎉👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵",
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
    "<html><body><div class=\"x\">hi</div></body></html>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "rare symbols: \u2603 \u2fd5 \U0001d54f \U0001f9ff \u0f3a \ua9c1 \U00010348",
    "private use \ue000\uf8ff and \U000f0000",
    "control chars \x01\x02\x7f and nul-free",
    b"invalid utf8 \xff\xfe end",
    b"truncated \xe2\x82 sequence",
    b"lone continuation \x80\xbf bytes",
    b"\xc3\x28 overlong \xc0\xaf",
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
    "<start_of_turn>user",
    "text <bos> with bos and <eos> eos",
    "<pad><unk><mask>",
    "a<start_of_turn> b",
    "<start_of_image> image token",
    "user-defined?\n\n\n\n tokens\t\t\t",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "▁ already has the space marker ▁▁",
    "MiXeD CaSe and ALLCAPS and snake_case and camelCase",
    "It's don't we'll they've I'm",
    "https://example.com/path?query=1&b=2#frag",
    "Mathematics: ∀x∈ℝ, x² ≥ 0; ∑ᵢ aᵢ = ∫ f(x) dx",
]]


def space_prefix_copy(source: Path, target: Path) -> None:
    """`source`'s metadata (no tensors) with tokenizer.ggml.add_space_prefix = true."""
    reader = gguf.GGUFReader(str(source))
    writer = gguf.GGUFWriter(str(target), reader.fields["general.architecture"].contents())
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        if key == "tokenizer.ggml.add_space_prefix":
            writer.add_bool(key, True)
        elif field.types[0] == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(key, field.contents(), gguf.GGUFValueType.ARRAY, sub_type=field.types[1])
        else:
            writer.add_key_value(key, field.contents(), field.types[0])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def tokenize_corpus(path: Path) -> list[dict]:
    from llama_cpp import Llama
    llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
    cases = []
    for text in CORPUS:
        entry = {"text_hex": text.hex(), "text": text.decode("utf-8", "replace")}
        for add_bos in (False, True):
            for special in (False, True):
                key = f"bos{int(add_bos)}_special{int(special)}"
                entry[key] = llm.tokenize(text, add_bos=add_bos, special=special)
        # llama.cpp's own detokenization of the plain ids (no BOS, special tokens not rendered).
        entry["detokenized_hex"] = llm.detokenize(entry["bos0_special0"]).hex()
        cases.append(entry)
    return cases


def main() -> None:
    import tempfile
    import llama_cpp
    path = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ["SWIFTLET_MODEL_GEMMA3"])
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    cases = tokenize_corpus(path)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "space_prefix.gguf"
        space_prefix_copy(path, copy)
        space_prefix_cases = tokenize_corpus(copy)
    out = {
        "source": "llama-cpp-python Llama(vocab_only=True).tokenize(text, add_bos=..., special=...)",
        "llama_cpp_python_version": llama_cpp.__version__,
        "model_file": path.name,
        "model_sha256": sha,
        "cases": cases,
        "space_prefix_cases": space_prefix_cases,
    }
    target = Path(__file__).with_name("tokenizer_gemma3_llamacpp.json")
    target.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} + {len(space_prefix_cases)} cases to {target}")


if __name__ == "__main__":
    main()
