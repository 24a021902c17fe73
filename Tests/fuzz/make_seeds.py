"""Writes what the fuzz targets start from (scripts/fuzz.sh runs it once per
build into build/fuzz/work):

  OUT/models/gpt2.gguf, OUT/models/smollm.gguf
      The models the tokenizer and chat-template targets load once: the tiny
      byte-level BPE vocabulary of make_tiny_models.py (256 byte tokens, 41
      merges, 3 control tokens), with the `gpt-2` and the `smollm`
      pre-tokenizer, a ChatML template, one layer of 32-wide Q4_0 weights.
  OUT/seeds/gguf/
      Loadable tiny models of every supported tensor type (tied and untied
      output, with and without a chat template), the other architectures'
      tiny models (make_tiny_models.ARCHITECTURE_SPECS), and the valid and
      malformed files of Tests/python/gguf_corpus.py.
  OUT/seeds/tokenizer/
      Every text of the tokenizer goldens (Tests/goldens/tokenizer_smollm2.json).
  OUT/models/hf_bert/, OUT/models/hf_bert_sharded/
      The Hugging Face folders the hf_folder target copies: make_tiny_bert.py's
      tiny BERT (321-token WordPiece vocabulary, hidden 64, 2 layers), F16, in
      one model.safetensors and in two shards with model.safetensors.index.json.
  OUT/seeds/hf_folder/
      Each file of those folders the target replaces, its selector byte first
      (HF_FOLDER_FILES below, in the target's order), plus model.safetensors
      in F32 and BF16 and the CLS-pooling 1_Pooling/config.json.
  OUT/seeds/chat_template/
      Every template of Tests/goldens/chat_templates.json, as the target reads
      its input: template, NUL, then the message contents separated by NUL.

Generated rather than committed: the binaries come from the same code as the
tests' own models, so they follow it. Hand-written seeds live in
Tests/fuzz/corpus/<target>/. A new target whose seeds are generated adds one
line to WRITERS below.

    python3 Tests/fuzz/make_seeds.py OUT
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "Tests" / "python"))

import gguf  # noqa: E402
from gguf import GGMLQuantizationType as QT  # noqa: E402

import gguf_corpus  # noqa: E402
import make_tiny_bert  # noqa: E402
import make_tiny_models as tiny  # noqa: E402

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content']"
          " + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

# Small enough that a mutated file loads in well under a millisecond: one
# layer, 32-wide (one quantization block per row), two heads sharing one KV head.
SMALL = dict(n_layer=1, n_embd=32, n_head=2, n_head_kv=1, n_ff=32, n_ctx_train=64)


def write_model(spec: tiny.TinySpec, path: Path, chat_template: str | None) -> None:
    """make_tiny_models.write_model, with a chat template added to the metadata."""
    class WriterWithTemplate(gguf.GGUFWriter):
        def write_header_to_file(self, *args, **kwargs):
            if chat_template is not None:  # the last moment metadata can still be added
                self.add_chat_template(chat_template)
            super().write_header_to_file(*args, **kwargs)

    original, tiny.gguf.GGUFWriter = tiny.gguf.GGUFWriter, WriterWithTemplate
    try:
        tiny.write_model(spec, str(path))
    finally:
        tiny.gguf.GGUFWriter = original


def write_models(out: Path) -> None:
    (out / "models").mkdir(parents=True, exist_ok=True)
    for pre in ("gpt2", "smollm"):
        spec = tiny.TinySpec(f"fuzz-{pre}", QT.Q4_0, tokenizer_pre="gpt-2" if pre == "gpt2" else pre, seed=11, **SMALL)
        write_model(spec, out / "models" / f"{pre}.gguf", CHATML)


def write_gguf_seeds(out: Path) -> None:
    d = out / "seeds" / "gguf"
    d.mkdir(parents=True, exist_ok=True)
    for i, (wtype, tied, template) in enumerate([
        (QT.Q4_0, True, CHATML), (QT.Q4_1, False, None), (QT.Q8_0, True, None),
        (QT.F16, True, None), (QT.BF16, True, None), (QT.F32, True, None),
    ]):
        spec = tiny.TinySpec(f"seed-{wtype.name.lower()}", wtype, tied=tied, seed=20 + i, **SMALL)
        write_model(spec, d / f"{wtype.name.lower()}.gguf", template)
    # The other architectures make_tiny_models.py writes, made as small.
    for spec in getattr(tiny, "ARCHITECTURE_SPECS", []):
        write_model(dataclasses.replace(spec, **SMALL), d / f"{spec.name}.gguf", CHATML)
    data, _ = gguf_corpus.valid_sample()
    (d / "corpus-valid-sample.gguf").write_bytes(data)
    for case in gguf_corpus.malformed_cases():
        path = d / f"corpus-{case.__name__.removeprefix('case_')}.gguf"
        case(path)
        if path.is_dir():  # a case about paths, not bytes
            path.rmdir()


def write_chat_template_seeds(out: Path) -> None:
    d = out / "seeds" / "chat_template"
    d.mkdir(parents=True, exist_ok=True)
    goldens = json.loads((REPO / "Tests" / "goldens" / "chat_templates.json").read_text())
    contents: dict[str, list[str]] = {}
    for case in goldens["cases"]:  # the first case of each template gives its messages
        contents.setdefault(case["template"], [m["content"] for m in case["messages"]])
    for name, source in goldens["templates"].items():
        parts = [source] + (contents.get(name) or ["Hello!"])
        (d / f"{name}.bin").write_bytes(b"\0".join(p.encode() for p in parts))


def write_tokenizer_seeds(out: Path) -> None:
    d = out / "seeds" / "tokenizer"
    d.mkdir(parents=True, exist_ok=True)
    goldens = json.loads((REPO / "Tests" / "goldens" / "tokenizer_smollm2.json").read_text())
    texts = {bytes.fromhex(case["text_hex"]) for case in goldens["cases"]}
    for i, text in enumerate(sorted(texts)):
        (d / f"golden-{i:03}.txt").write_bytes(text)


# The files the hf_folder target replaces, in the order of its selector byte
# (input[0] % 7), and which seed folder each is replaced in.
HF_FOLDER_FILES = [("hf_bert", "model.safetensors"), ("hf_bert", "config.json"), ("hf_bert", "tokenizer.json"),
                   ("hf_bert", "1_Pooling/config.json"), ("hf_bert", "sentence_bert_config.json"),
                   ("hf_bert", "modules.json"), ("hf_bert_sharded", "model.safetensors.index.json")]


def write_hf_folder_seeds(out: Path) -> None:
    models = out / "models"
    make_tiny_bert.make_tiny_bert(str(models / "hf_bert"), dtype="f16", seed=5)
    make_tiny_bert.make_tiny_bert(str(models / "hf_bert_sharded"), dtype="f16", shards=2, seed=5)
    d = out / "seeds" / "hf_folder"
    d.mkdir(parents=True, exist_ok=True)
    for selector, (folder, name) in enumerate(HF_FOLDER_FILES):
        stem = name.replace("/", "-")
        (d / f"{selector}-{stem}").write_bytes(bytes([selector]) + (models / folder / name).read_bytes())
    variants = out / "hf_variants"
    for dtype in ("f32", "bf16"):
        make_tiny_bert.make_tiny_bert(str(variants / dtype), dtype=dtype, seed=5)
        (d / f"0-model-{dtype}.safetensors").write_bytes(b"\0" + (variants / dtype / "model.safetensors").read_bytes())
    make_tiny_bert.make_tiny_bert(str(variants / "cls"), pooling="cls", seed=5)
    (d / "3-1_Pooling-config-cls.json").write_bytes(b"\3" + (variants / "cls" / "1_Pooling" / "config.json").read_bytes())


# One line per target whose seeds are generated.
WRITERS = {"gguf": write_gguf_seeds, "tokenizer": write_tokenizer_seeds, "chat_template": write_chat_template_seeds,
           "hf_folder": write_hf_folder_seeds}

if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "fuzz-work")
    write_models(out)
    for writer in WRITERS.values():
        writer(out)
