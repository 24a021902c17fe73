#!/usr/bin/env python3
"""Cross-checks the tokenizer goldens against llama.cpp, and writes goldens
for llama.cpp's "default" pre-tokenizer (no tokenizer.ggml.pre key).

1. Tokenizes every case of tokenizer_smollm2.json with llama.cpp
   (llama-cpp-python, vocab_only) and reports where llama.cpp and HF
   tokenizers disagree.
2. Writes a tensor-less copy of the model's metadata without
   tokenizer.ggml.pre, tokenizes the same corpus with llama.cpp, and saves
   tokenizer_smollm2_vocab_default_pre_llamacpp.json. HF has no equivalent
   of that split, so llama.cpp is the reference there.

Run with the Python that has llama_cpp, e.g.
  ~/.cache/swiftlet/llama-venv/bin/python compare_tokenizer_llama_cpp.py [MODEL.gguf] [GOLDENS_DIR]
Needs the `gguf` package for step 2 (taken from the system site-packages if
the venv lacks it).
"""
import json
import os
import sys
import tempfile

from llama_cpp import Llama

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = os.path.expanduser("~/.cache/swiftlet/models/SmolLM2-135M-Instruct.Q4_1.gguf")  # scripts/fetch-model.sh


def import_gguf():
    try:
        import gguf
    except ImportError:
        import glob
        for path in glob.glob("/root/.pyenv/versions/*/lib/python3*/site-packages"):
            sys.path.append(path)
        import gguf
    return gguf


def write_metadata_without_pre(source_path, out_path):
    """Copies every metadata key except tokenizer.ggml.pre; no tensors."""
    gguf = import_gguf()
    source = gguf.GGUFReader(source_path)
    architecture = bytes(source.fields["general.architecture"].parts[-1]).decode()
    writer = gguf.GGUFWriter(out_path, architecture)
    for name, field in source.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "tokenizer.ggml.pre"):
            continue
        kind = field.types[0]
        if kind == gguf.GGUFValueType.ARRAY:
            if field.types[1] == gguf.GGUFValueType.STRING:
                writer.add_array(name, [bytes(field.parts[i]).decode() for i in field.data])
            else:
                writer.add_array(name, [field.parts[i].tolist()[0] for i in field.data])
        elif kind == gguf.GGUFValueType.STRING:
            writer.add_string(name, bytes(field.parts[field.data[0]]).decode())
        else:
            writer.add_key_value(name, field.parts[field.data[0]].tolist()[0], kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def tokenize_all(llm, cases):
    return [llm.tokenize(case["text"].encode("utf-8"), add_bos=False, special=case["parse_special"]) for case in cases]


def main():
    model_path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL
    goldens_dir = sys.argv[2] if len(sys.argv) > 2 else HERE
    with open(os.path.join(goldens_dir, "tokenizer_smollm2.json"), encoding="utf-8") as handle:
        document = json.load(handle)
    cases = document["cases"]

    llm = Llama(model_path=model_path, vocab_only=True, verbose=False)
    disagreements = 0
    for case, ids in zip(cases, tokenize_all(llm, cases)):
        if ids != case["ids"]:
            disagreements += 1
            print(f"DISAGREE {case['name']}: {case['text'][:60]!r}\n  HF        {case['ids'][:30]}\n  llama.cpp {ids[:30]}")
    print(f"llama.cpp vs HF tokenizers (smollm): {len(cases) - disagreements}/{len(cases)} agree")

    with tempfile.TemporaryDirectory() as scratch:
        no_pre_path = os.path.join(scratch, "no_pre.gguf")
        write_metadata_without_pre(model_path, no_pre_path)
        default_llm = Llama(model_path=no_pre_path, vocab_only=True, verbose=False)
        default_ids = tokenize_all(default_llm, cases)
    out = {
        "description": "Token ids from llama.cpp for the SmolLM2 vocabulary with tokenizer.ggml.pre removed "
                       "(llama.cpp's \"default\" BPE pre-tokenizer). Same corpus as tokenizer_smollm2.json. "
                       "Made by compare_tokenizer_llama_cpp.py.",
        "model_file": os.path.basename(model_path),
        "pre_tokenizer": None,
        "llama_cpp_python_version": __import__("llama_cpp").__version__,
        "cases": [
            {key: case[key] for key in ("name", "text", "text_hex", "parse_special", "add_bos")}
            | {"ids": ids, "round_trips": case["round_trips"]}
            for case, ids in zip(cases, default_ids)
        ],
    }
    out_path = os.path.join(goldens_dir, "tokenizer_smollm2_vocab_default_pre_llamacpp.json")
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(out, handle, ensure_ascii=True, indent=1)
    print(f"wrote {len(cases)} cases to {out_path}")


if __name__ == "__main__":
    main()
