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
  OUT/models/llama-untied.gguf, OUT/seeds/adapter/
      The base model the adapter target loads once (llama, 2 layers of
      SMALL, separate q/k/v/o/gate/up/down and an untied head: every
      tensor an adapter can name), and LoRA adapters for it (adapter_seeds()
      below): valid ones of every tensor type (F32, F16, BF16, Q8_0 and
      mixed), ranks 1, 3, 4 and 32, on q/k/v/o, every projection or the head,
      with and without alpha, two whose finite values overflow the logits;
      and malformed ones, one fault each.
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
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "Tests" / "python"))

import numpy as np  # noqa: E402

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


# The adapter target's base model: llama (separate attn_q/k/v/output,
# ffn_gate/up/down) with its own head, two layers so that blk.1 is a layer
# and blk.2 is not. Q8_0 like the other seed models (converted at load).
ADAPTER_BASE = tiny.TinySpec("fuzz-adapter-base", QT.Q8_0, tied=False, seed=31, **{**SMALL, "n_layer": 2})
QKVO = ("attn_q", "attn_k", "attn_v", "attn_output")
EVERY = QKVO + ("ffn_gate", "ffn_up", "ffn_down")


def adapter_base_shapes() -> dict[str, tuple[int, int]]:
    """The numpy shapes (n_out, n_in) of the base model's 2-D weights."""
    return {name: w.shape for name, w in tiny.random_weights(ADAPTER_BASE).items() if w.ndim == 2}


def write_adapter(path: Path, tensors: dict[str, tuple[np.ndarray, QT]], *, architecture: str = "llama",
                  general_type: str | None = "adapter", adapter_type: str | None = "lora",
                  alpha: float | int | str | None = None) -> None:
    """An adapter file as llama.cpp's convert_lora_to_gguf.py writes it
    (Tests/python/lora_tools.py), each tensor in its own type: `tensors`
    maps a name to (float32 array in numpy layout, type); `alpha` may be an
    int or a str (written as such) or None (left out)."""
    writer = gguf.GGUFWriter(str(path), architecture)
    if general_type is not None:
        writer.add_string("general.type", general_type)
    if adapter_type is not None:
        writer.add_string("adapter.type", adapter_type)
    if isinstance(alpha, str):
        writer.add_string("adapter.lora.alpha", alpha)
    elif isinstance(alpha, int):
        writer.add_uint32("adapter.lora.alpha", alpha)
    elif alpha is not None:
        writer.add_float32("adapter.lora.alpha", alpha)
    for name, (array, qtype) in tensors.items():
        array = np.ascontiguousarray(array, dtype=np.float32)
        if qtype == QT.F32:
            writer.add_tensor(name, array)
        elif qtype == QT.F16:
            writer.add_tensor(name, array.astype(np.float16))
        else:
            writer.add_tensor(name, gguf.quants.quantize(array, qtype), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def lora_tensors(names, rank: int, a_type: QT, b_type: QT | None = None, seed: int = 0, gain: float = 0.5,
                 head: bool = False) -> dict[str, tuple[np.ndarray, QT]]:
    """Random `W.lora_a` (r, n_in) and `W.lora_b` (n_out, r) for the base
    weights of the projections `names` in every layer (and output.weight with
    `head`), B·A·x about `gain` times x (as lora_tools.random_pairs)."""
    shapes = adapter_base_shapes()
    pattern = re.compile(r"blk\.\d+\.(%s)\.weight$" % "|".join(names)) if names else None
    chosen = sorted(n for n in shapes if pattern and pattern.match(n)) + (["output.weight"] if head else [])
    rng = np.random.default_rng(seed)
    tensors = {}
    for name in chosen:
        n_out, n_in = shapes[name]
        tensors[name + ".lora_a"] = (rng.standard_normal((rank, n_in)) / np.sqrt(n_in), a_type)
        b = rng.standard_normal((n_out, rank)) * gain / np.sqrt(rank)
        tensors[name + ".lora_b"] = (b, a_type if b_type is None else b_type)
    return tensors


def without(tensors: dict, *names: str) -> dict:
    return {k: v for k, v in tensors.items() if k not in names}


def replaced(tensors: dict, name: str, array: np.ndarray) -> dict:
    return {**tensors, name: (array, tensors[name][1])}


def adapter_seeds() -> dict[str, tuple[dict, dict]]:
    """Seed name -> (tensors, write_adapter options). Names say what each is."""
    q4 = lora_tensors(["attn_q"], 4, QT.F32, seed=1)
    a, b = q4["blk.0.attn_q.weight.lora_a"][0], q4["blk.0.attn_q.weight.lora_b"][0]
    nan = a.copy()
    nan[1, 3] = np.nan
    seeds = {
        # Valid: each type, ranks 1, 3, 4 and 32 (Q8_0's lora_b needs a rank of whole 32-blocks), every target set.
        "valid-f32-r4-qkvo-alpha8": (lora_tensors(QKVO, 4, QT.F32, seed=1), dict(alpha=8.0)),
        "valid-f16-r1-every-head-noalpha": (lora_tensors(EVERY, 1, QT.F16, seed=2, head=True), {}),
        "valid-bf16-r4-every-head-alpha4": (lora_tensors(EVERY, 4, QT.BF16, seed=3, head=True), dict(alpha=4.0)),
        "valid-q8_0-r32-k-down-head-alpha16": (lora_tensors(["attn_k", "ffn_down"], 32, QT.Q8_0, seed=4, head=True),
                                               dict(alpha=16.0)),
        "valid-q8_0a-f32b-r4-qkvo-alpha8": (lora_tensors(QKVO, 4, QT.Q8_0, QT.F32, seed=5), dict(alpha=8.0)),
        "valid-f32-r4-head-alpha-uint": (lora_tensors([], 4, QT.F32, seed=6, head=True), dict(alpha=2)),
        "valid-f16-r1-ffn_down-alpha0": (
            {k: v for k, v in lora_tensors(["ffn_down"], 1, QT.F16, seed=7).items() if k.startswith("blk.1.")},
            dict(alpha=0.0)),
        "valid-f32-r3-gate-up-negative-alpha": (lora_tensors(["ffn_gate", "ffn_up"], 3, QT.F32, seed=8),
                                                dict(alpha=-1.5)),
        # Valid, but finite values whose products overflow: the activations and logits become inf and NaN.
        "valid-f32-r4-every-head-overflow": (
            {k: (v[0] * np.float32(1e18), v[1]) for k, v in lora_tensors(EVERY, 4, QT.F32, seed=10, head=True).items()},
            dict(alpha=1e30)),
        "valid-f16-r1-qkvo-f16-max": (
            {k: (np.full_like(v[0], 65504.0), v[1]) for k, v in lora_tensors(QKVO, 1, QT.F16, seed=11).items()},
            dict(alpha=65504.0)),
        # Malformed: one fault each.
        "bad-architecture-qwen2": (q4, dict(architecture="qwen2", alpha=8.0)),
        "bad-general-type-model": (q4, dict(general_type="model", alpha=8.0)),
        "bad-no-general-type": (q4, dict(general_type=None)),
        "bad-adapter-type-ia3": (q4, dict(adapter_type="ia3")),
        "bad-no-adapter-type": (q4, dict(adapter_type=None)),
        "bad-alpha-string": (q4, dict(alpha="8")),
        "bad-alpha-inf": (q4, dict(alpha=float("inf"))),
        "bad-missing-lora_b": (without(q4, "blk.0.attn_q.weight.lora_b"), {}),
        "bad-missing-lora_a": (without(q4, "blk.1.attn_q.weight.lora_a"), {}),
        "bad-rank0": (replaced(replaced(q4, "blk.0.attn_q.weight.lora_a", a[:0]), "blk.0.attn_q.weight.lora_b",
                               b[:, :0]), {}),
        "bad-ranks-differ": (replaced(q4, "blk.0.attn_q.weight.lora_b", b[:, :2]), {}),
        "bad-shape-a-transposed": (replaced(q4, "blk.0.attn_q.weight.lora_a", np.ascontiguousarray(a.T)), {}),
        "bad-shape-a-inputs": (replaced(q4, "blk.0.attn_q.weight.lora_a", np.ascontiguousarray(a[:, :16])), {}),
        "bad-shape-b-outputs": (replaced(q4, "blk.0.attn_q.weight.lora_b", np.concatenate([b, b])), {}),
        "bad-3d-tensor": (replaced(q4, "blk.0.attn_q.weight.lora_a", a[None]), {}),
        "bad-nan-value": (replaced(q4, "blk.0.attn_q.weight.lora_a", nan), {}),
        "bad-q4_0-type": (lora_tensors(["ffn_up"], 32, QT.Q4_0, seed=9), {}),
        "bad-layer-2": ({k.replace("blk.1.", "blk.2."): v for k, v in q4.items()}, {}),
        "bad-layer-01": ({k.replace("blk.1.", "blk.01."): v for k, v in q4.items()}, {}),
        "bad-fused-qkv": ({k.replace("attn_q.", "attn_qkv."): v for k, v in q4.items()}, {}),
        "bad-token_embd": ({"token_embd.weight.lora_a": (a, QT.F32), "token_embd.weight.lora_b": (b, QT.F32)}, {}),
        "bad-attn_norm": ({"blk.0.attn_norm.weight.lora_a": (a, QT.F32), "blk.0.attn_norm.weight.lora_b": (b, QT.F32)},
                          {}),
        "bad-plain-tensor": ({**q4, "blk.0.attn_q.weight": (a, QT.F32)}, {}),
        "bad-no-tensors": ({}, dict(alpha=8.0)),
    }
    return seeds


def write_adapter_seeds(out: Path) -> None:
    (out / "models").mkdir(parents=True, exist_ok=True)
    tiny.write_model(ADAPTER_BASE, str(out / "models" / "llama-untied.gguf"))
    d = out / "seeds" / "adapter"
    d.mkdir(parents=True, exist_ok=True)
    for name, (tensors, options) in adapter_seeds().items():
        write_adapter(d / f"{name}.gguf", tensors, **options)


# One line per target whose seeds are generated.
WRITERS = {"gguf": write_gguf_seeds, "tokenizer": write_tokenizer_seeds, "chat_template": write_chat_template_seeds,
           "hf_folder": write_hf_folder_seeds, "adapter": write_adapter_seeds}

if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "fuzz-work")
    write_models(out)
    for writer in WRITERS.values():
        writer(out)
