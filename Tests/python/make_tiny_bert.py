"""Writes tiny random BERT encoders as Hugging Face / sentence-transformers
folders, laid out like all-MiniLM-L6-v2's, for unit tests of the safetensors
reader, the WordPiece tokenizer and the encoder:

  config.json                  BertModel: hidden 64, 2 layers, 4 heads, intermediate 128,
                               max_position_embeddings 64, type_vocab_size 2, gelu, eps 1e-12
  model.safetensors            HF's tensor names (below), F32 / F16 / BF16; or with shards=2
                               model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
  tokenizer.json               WordPiece, BertNormalizer (lowercase), BertPreTokenizer,
                               [CLS] $A [SEP] template, WordPiece decoder: the shape of
                               MiniLM's, with a ~300-entry vocabulary
  tokenizer_config.json, special_tokens_map.json
  1_Pooling/config.json        mean or cls pooling
  sentence_bert_config.json    max_seq_length 32
  modules.json                 Transformer, Pooling, Normalize

Tensor names (PyTorch's Linear layout: weight is (out, in), y = x·Wᵀ + b):

  embeddings.word_embeddings.weight          (vocab, H)
  embeddings.position_embeddings.weight      (max_position_embeddings, H)
  embeddings.token_type_embeddings.weight    (type_vocab_size, H)
  embeddings.LayerNorm.{weight,bias}         (H)
  embeddings.position_ids                    (1, max_position_embeddings) I64 -- a buffer; loaders ignore it
  encoder.layer.N.attention.self.{query,key,value}.{weight,bias}   (H, H), (H)
  encoder.layer.N.attention.output.dense.{weight,bias}             (H, H), (H)
  encoder.layer.N.attention.output.LayerNorm.{weight,bias}         (H)
  encoder.layer.N.intermediate.dense.{weight,bias}                 (I, H), (I)
  encoder.layer.N.output.dense.{weight,bias}                       (H, I), (H)
  encoder.layer.N.output.LayerNorm.{weight,bias}                   (H)
  pooler.dense.{weight,bias}                 (H, H), (H) -- BertModel's pooler; sentence
                                             embeddings do not use it, loaders ignore it

Like MiniLM's tokenizer.json (truncation 128, padding Fixed 128 while
sentence_bert_config.json says 256), the tiny tokenizer.json carries its own
truncation / padding at 24 while max_seq_length is 32: sentence-transformers
truncates at max_seq_length and pads only to the batch, so an engine must too.

Deterministic: the same arguments always give the same bytes.

    make_tiny_bert(path, dtype="f32", shards=1, pooling="mean", seed=0) -> path
    python make_tiny_bert.py OUT_DIR [--dtype f16] [--shards 2] [--pooling cls] [--seed 1]
"""
from __future__ import annotations

import argparse
import json
import os
import struct
from typing import Optional

import numpy as np

HIDDEN = 64
LAYERS = 2
HEADS = 4
INTERMEDIATE = 128
MAX_POSITIONS = 64
TYPE_VOCAB = 2
MAX_SEQ_LENGTH = 32
TOKENIZER_JSON_LIMIT = 24  # tokenizer.json's own truncation / padding, which sentence-transformers overrides

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORDS = """the a an of and to in is was for on that with as it at by from this be are or his her
    their they we you he she i my your our not but have has had will would can could do does did
    what which who when where why how all any some one two three four five six seven eight nine ten
    man woman men women child children girl boy baby people person dog cat bird horse fish food bread
    pasta pizza water tea coffee music violin drums guitar city country world house home school work
    day night time year morning evening sun moon sky river mountain tree flower car road street
    eat eating ate play playing played ride riding run running walk walking sing singing read reading
    write writing sit sitting sat carry carrying push pushed see saw look looking go going went come
    small big large fast slow good bad new old hot cold red white black green blue happy sad quick
    brown fox jumps over lazy hello mat capital france paris stock market fell rose price
    un ##s ##ing ##ed ##er ##est ##ly ##es ##ion ##tion ##ness ##ment ##able ##ful ##less ##y ##al
    ##ic ##ous ##ive ##en ##re ##un ##d ##n ##t""".split()
_PUNCTUATION = list(".,!?;:'\"()[]{}<>-_/\\@#$%&*+=~`|^")
_CJK = list("東京日本語中文我你好")


def vocabulary() -> list[str]:
    """[PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then a-z and ##a-##z, digits,
    punctuation, a few CJK characters (BERT splits each into its own word) and
    common words and suffixes."""
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    pieces = (letters + ["##" + c for c in letters] + [str(d) for d in range(10)]
              + ["##" + str(d) for d in range(10)] + _PUNCTUATION + _CJK + _WORDS)
    seen, vocab = set(SPECIAL_TOKENS), list(SPECIAL_TOKENS)
    for p in pieces:
        if p not in seen:
            seen.add(p)
            vocab.append(p)
    return vocab


def tokenizer_json(vocab: list[str]) -> dict:
    ids = {t: i for i, t in enumerate(vocab)}
    return {
        "version": "1.0",
        "truncation": {"max_length": TOKENIZER_JSON_LIMIT, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": TOKENIZER_JSON_LIMIT}, "direction": "Right", "pad_to_multiple_of": None,
                    "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": [{"id": ids[t], "special": True, "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False} for t in SPECIAL_TOKENS],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }


# ------------------------------------------------------------- safetensors


def _to_bf16_bits(a: np.ndarray) -> np.ndarray:
    """float32 → bfloat16 bits, round to nearest even (as torch does)."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def _encode(array: np.ndarray, dtype: str) -> tuple[str, bytes]:
    if array.dtype == np.int64:
        return "I64", array.astype("<i8").tobytes()
    if dtype == "f32":
        return "F32", array.astype("<f4").tobytes()
    if dtype == "f16":
        return "F16", array.astype("<f2").tobytes()
    if dtype == "bf16":
        return "BF16", _to_bf16_bits(array).astype("<u2").tobytes()
    raise ValueError(f"dtype {dtype!r}: f32, f16 or bf16")


def write_safetensors(path: str, tensors: dict[str, np.ndarray], dtype: str) -> int:
    """One .safetensors file: u64 header length, JSON header (sorted names,
    data_offsets relative to the data start, padded with spaces to 8 bytes),
    then the data. Returns the data's size."""
    header: dict = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        tag, data = _encode(tensors[name], dtype)
        header[name] = {"dtype": tag, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    return offset


# ---------------------------------------------------------------- weights


def random_weights(vocab_size: int, seed: int, pooler: bool = True, position_ids: bool = True) -> dict[str, np.ndarray]:
    """Weights whose activations stay moderate (LayerNorm keeps every residual
    at unit scale) yet make each part matter: query / key N(0, 0.15) so
    attention is far from uniform (scores' std ~1.4), value / attention output
    N(0, 0.15) so attention moves the residual by about its own size (with
    smaller ones [CLS] barely depends on the text and cls pooling gives ~0.997
    cosine between any two texts), FFN N(0, 0.1), the rest N(0, 0.05) or as
    written; biases N(0, 0.02), LayerNorm weights 1 + N(0, 0.05)."""
    rng = np.random.default_rng(seed)
    H, I = HIDDEN, INTERMEDIATE

    def normal(shape, std):
        return rng.normal(0.0, std, size=shape).astype(np.float32)

    def ln(prefix):
        return {f"{prefix}.weight": (1.0 + normal((H,), 0.05)).astype(np.float32), f"{prefix}.bias": normal((H,), 0.02)}

    w = {
        "embeddings.word_embeddings.weight": normal((vocab_size, H), 0.5),
        "embeddings.position_embeddings.weight": normal((MAX_POSITIONS, H), 0.2),
        "embeddings.token_type_embeddings.weight": normal((TYPE_VOCAB, H), 0.2),
        **ln("embeddings.LayerNorm"),
    }
    if position_ids:
        w["embeddings.position_ids"] = np.arange(MAX_POSITIONS, dtype=np.int64)[None, :]
    for n in range(LAYERS):
        p = f"encoder.layer.{n}"
        for name, std in (("query", 0.15), ("key", 0.15), ("value", 0.15)):
            w[f"{p}.attention.self.{name}.weight"] = normal((H, H), std)
            w[f"{p}.attention.self.{name}.bias"] = normal((H,), 0.02)
        w[f"{p}.attention.output.dense.weight"] = normal((H, H), 0.15)
        w[f"{p}.attention.output.dense.bias"] = normal((H,), 0.02)
        w.update(ln(f"{p}.attention.output.LayerNorm"))
        w[f"{p}.intermediate.dense.weight"] = normal((I, H), 0.1)
        w[f"{p}.intermediate.dense.bias"] = normal((I,), 0.02)
        w[f"{p}.output.dense.weight"] = normal((H, I), 0.1)
        w[f"{p}.output.dense.bias"] = normal((H,), 0.02)
        w.update(ln(f"{p}.output.LayerNorm"))
    if pooler:
        w["pooler.dense.weight"] = normal((H, H), 0.05)
        w["pooler.dense.bias"] = normal((H,), 0.02)
    return w


def _write_json(path: str, value) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")


def make_tiny_bert(path: str, dtype: str = "f32", shards: int = 1, pooling: str = "mean", seed: int = 0,
                   normalize: bool = True, pooler: bool = True, position_ids: bool = True,
                   max_seq_length: Optional[int] = MAX_SEQ_LENGTH) -> str:
    """Writes a tiny BERT folder at `path` (created if needed) and returns `path`.

    dtype: "f32", "f16" or "bf16" for the float tensors (position_ids stays I64).
    shards: 1 (model.safetensors) or 2 (two files + model.safetensors.index.json).
    pooling: "mean" or "cls" (1_Pooling/config.json). normalize: modules.json lists Normalize.
    pooler / position_ids: include the tensors an encoder loader must ignore."""
    if shards not in (1, 2):
        raise ValueError("shards: 1 or 2")
    if pooling not in ("mean", "cls"):
        raise ValueError("pooling: mean or cls")
    os.makedirs(path, exist_ok=True)
    vocab = vocabulary()
    weights = random_weights(len(vocab), seed, pooler=pooler, position_ids=position_ids)

    _write_json(os.path.join(path, "config.json"), {
        "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "hidden_size": HIDDEN, "initializer_range": 0.02,
        "intermediate_size": INTERMEDIATE, "layer_norm_eps": 1e-12, "max_position_embeddings": MAX_POSITIONS,
        "model_type": "bert", "num_attention_heads": HEADS, "num_hidden_layers": LAYERS, "pad_token_id": 0,
        "position_embedding_type": "absolute", "type_vocab_size": TYPE_VOCAB, "vocab_size": len(vocab),
        "torch_dtype": {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[dtype],
    })

    if shards == 1:
        write_safetensors(os.path.join(path, "model.safetensors"), weights, dtype)
    else:
        names = sorted(weights)
        # embeddings and layer 0 in the first file; layer 1 and the pooler in the second
        first = [n for n in names if n.startswith("embeddings.") or n.startswith("encoder.layer.0.")]
        parts = [first, [n for n in names if n not in first]]
        weight_map, total = {}, 0
        for i, part in enumerate(parts, 1):
            file = f"model-{i:05d}-of-{len(parts):05d}.safetensors"
            total += write_safetensors(os.path.join(path, file), {n: weights[n] for n in part}, dtype)
            weight_map.update({n: file for n in part})
        _write_json(os.path.join(path, "model.safetensors.index.json"),
                    {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})

    _write_json(os.path.join(path, "tokenizer.json"), tokenizer_json(vocab))
    _write_json(os.path.join(path, "tokenizer_config.json"), {
        "do_lower_case": True, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
        "cls_token": "[CLS]", "mask_token": "[MASK]", "tokenize_chinese_chars": True, "strip_accents": None,
        "tokenizer_class": "BertTokenizer", "model_max_length": MAX_POSITIONS})
    _write_json(os.path.join(path, "special_tokens_map.json"), {
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
        "mask_token": "[MASK]"})
    _write_json(os.path.join(path, "1_Pooling", "config.json"), {
        "word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False})
    if max_seq_length is not None:
        _write_json(os.path.join(path, "sentence_bert_config.json"),
                    {"max_seq_length": max_seq_length, "do_lower_case": False})
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    _write_json(os.path.join(path, "modules.json"), modules)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16"])
    parser.add_argument("--shards", type=int, default=1, choices=[1, 2])
    parser.add_argument("--pooling", default="mean", choices=["mean", "cls"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(make_tiny_bert(args.out, args.dtype, args.shards, args.pooling, args.seed))
