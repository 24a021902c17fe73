"""Writes tiny random GGUF models for Swiftlet's tests: `llama` (the standard
set), `qwen2`, `gpt2` and `gemma3` (ARCHITECTURE_SPECS), and `llama` with the
types converted at load, Q5_x, k-quants and IQ4_x (QUANT_SPECS).

Everything is deterministic (fixed seeds), so the same spec always gives the
same bytes. The models follow llama.cpp's GGUF conventions:

  token_embd.weight        ggml dims [n_embd, n_vocab]      (numpy shape (n_vocab, n_embd))
  blk.N.attn_norm.weight   [n_embd]                         F32
  blk.N.attn_q.weight      [n_embd, n_head*hd]
  blk.N.attn_k.weight      [n_embd, n_head_kv*hd]
  blk.N.attn_v.weight      [n_embd, n_head_kv*hd]
  blk.N.attn_output.weight [n_head*hd, n_embd]
  blk.N.ffn_norm.weight    [n_embd]                         F32
  blk.N.ffn_gate.weight    [n_embd, n_ff]
  blk.N.ffn_up.weight      [n_embd, n_ff]
  blk.N.ffn_down.weight    [n_ff, n_embd]
  output_norm.weight       [n_embd]                         F32
  output.weight            [n_embd, n_vocab]                (absent when tied)

`qwen2` adds blk.N.attn_q.bias / attn_k.bias / attn_v.bias [n_head*hd] /
[n_head_kv*hd]. `gpt2` (llama.cpp's converter's names) has instead:

  position_embd.weight     [n_embd, n_ctx_train]            (absent with sinusoidal positions,
                                                             metadata gpt2.position_encoding)
  blk.N.attn_norm.weight / .bias, blk.N.ffn_norm.weight / .bias, output_norm.weight / .bias
  blk.N.attn_qkv.weight    [n_embd, 3*n_embd]  + .bias      Q, K, V rows at 0, n_embd, 2*n_embd
  blk.N.attn_output.weight [n_embd, n_embd]    + .bias
  blk.N.ffn_up.weight      [n_embd, n_ff]      + .bias
  blk.N.ffn_down.weight    [n_ff, n_embd]      + .bias

`gemma3` has the llama tensors (hd = attention.key_length, not n_embd/n_head)
plus, per layer, four more norms (RMSNorm weights as stored; Gemma's "1 +"
is already folded in by llama.cpp's converter):

  blk.N.attn_q_norm.weight          [hd]   F32   over each query head
  blk.N.attn_k_norm.weight          [hd]   F32   over each key head
  blk.N.post_attention_norm.weight  [n_embd] F32 on the attention output
  blk.N.post_ffw_norm.weight        [n_embd] F32 on the FFN output

and metadata attention.key_length / value_length and attention.sliding_window;
no rope.dimension_count (as in Google's files: it defaults to key_length).

A numpy matrix of shape (rows, cols) is a ggml tensor with dims [cols, rows]:
each row is one output unit, contiguous along the input dimension (so the
32-blocks of the quantized types run along the input dimension).

The tokenizer is a minimal GPT-2 style byte-level BPE: the 256 byte tokens
(GPT-2's bytes_to_unicode spelling), a few merges, and three control tokens.

Run as a script to write the standard set into a directory:
    python make_tiny_models.py OUT_DIR
"""
from __future__ import annotations

import dataclasses
import os
import sys
from typing import Optional

import numpy as np

import gguf
from gguf import GGMLQuantizationType as QT

import gguf_corpus

# ----------------------------------------------------------------- tokenizer


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable unicode character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_UNICODE = bytes_to_unicode()
UNICODE_TO_BYTE = {c: b for b, c in BYTE_TO_UNICODE.items()}

# Merges in rank order. Each side must already be a token when the merge is
# added (checked in build_vocab). "Ġ" is the byte-mapped space.
MERGE_PAIRS: list[tuple[str, str]] = [
    ("Ġ", "t"), ("h", "e"), ("i", "n"), ("Ġ", "a"), ("e", "r"), ("o", "n"),
    ("Ġt", "he"), ("r", "e"), ("Ġ", "s"), ("a", "t"), ("Ġ", "w"), ("o", "r"),
    ("in", "g"), ("e", "n"), ("Ġ", "c"), ("l", "l"), ("Ġ", "o"), ("i", "s"),
    ("Ġ", "b"), ("e", "s"), ("a", "n"), ("Ġ", "f"), ("i", "t"), ("Ġ", "p"),
    ("Ġ", "m"), ("Ġ", "h"), ("Ġ", "i"), ("e", "d"), ("a", "r"), ("Ġo", "f"),
    ("Ġ", "d"), ("Ġa", "n"), ("Ġan", "d"), ("Ġ", "l"), ("l", "o"), ("he", "ll"),
    ("hell", "o"), ("Ġ", "Ġ"), ("Ċ", "Ċ"), ("Ġw", "or"), ("Ġwor", "l"),
]
# ("he","ll") -> "hell", ("hell","o") -> "hello"; "Ġwor"+"l" -> "Ġworl"

CONTROL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

TOKEN_TYPE_NORMAL = 1
TOKEN_TYPE_CONTROL = 3


@dataclasses.dataclass(frozen=True)
class Vocab:
    tokens: list[str]
    token_types: list[int]
    merges: list[str]
    bos_id: int
    eos_id: int
    eot_id: int  # <|im_end|>

    @property
    def n_vocab(self) -> int:
        return len(self.tokens)

    def token_bytes(self, tid: int) -> bytes:
        """The raw bytes a normal token stands for."""
        return bytes(UNICODE_TO_BYTE[c] for c in self.tokens[tid])


def build_vocab() -> Vocab:
    tokens = [BYTE_TO_UNICODE[b] for b in range(256)]
    known = set(tokens)
    merges = []
    for a, b in MERGE_PAIRS:
        assert a in known and b in known, (a, b)
        merged = a + b
        assert merged not in known, merged
        tokens.append(merged)
        known.add(merged)
        merges.append(f"{a} {b}")
    types = [TOKEN_TYPE_NORMAL] * len(tokens)
    base = len(tokens)
    tokens += CONTROL_TOKENS
    types += [TOKEN_TYPE_CONTROL] * len(CONTROL_TOKENS)
    assert len(tokens) == 300, len(tokens)
    return Vocab(tokens=tokens, token_types=types, merges=merges,
                 bos_id=base + 1, eos_id=base + 0, eot_id=base + 2)


VOCAB = build_vocab()

# -------------------------------------------------------------------- models


@dataclasses.dataclass(frozen=True)
class TinySpec:
    name: str
    wtype: QT = QT.F32          # type of every 2-D weight (token_embd and output too)
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int = 4
    n_ff: int = 96
    n_ctx_train: int = 128
    rope_base: float = 10000.0
    rms_eps: float = 1e-5
    tied: bool = True
    seed: int = 0
    # gains chosen so attention is far from uniform (RoPE and the causal mask
    # matter) while int8 noise stays well below the logit spread (see
    # reference_llama.py on tolerances): q/k 1.5, residual branches 0.5.
    qk_gain: float = 1.5
    out_gain: float = 4.0
    branch_gain: float = 0.5
    # knobs for negative tests (not used by the standard set)
    architecture: str = "llama"
    drop_tensor: Optional[str] = None
    tokenizer_model: str = "gpt2"
    tokenizer_pre: str = "gpt-2"
    omit_key: Optional[str] = None       # leave this metadata key out
    transpose_tensor: Optional[str] = None  # store this matrix with its dims swapped
    positions: str = "learned"           # gpt2 only: "learned" (position_embd) or "sinusoidal"
    key_length: Optional[int] = None     # gemma3: the head dimension, written as attention.key_length
    sliding_window: int = 0              # gemma3: attention.sliding_window (positions a local layer sees)

    @property
    def head_dim(self) -> int:
        return self.key_length or self.n_embd // self.n_head


# The standard set: every supported weight type, MHA / GQA(2) / MQA, tied
# and untied output, two RoPE bases, 2 and 3 layers; and 64-dimension heads
# (the grouped attention kernel's shape) with 4 and 2 query heads per
# key/value head (one group of 3 plus one of 1; one group of 2).
STANDARD_SPECS: list[TinySpec] = [
    TinySpec("tiny-f32-mha-tied", QT.F32, n_layer=2, n_head_kv=4, tied=True, rope_base=10000.0, seed=1),
    TinySpec("tiny-f16-gqa2-untied", QT.F16, n_layer=3, n_head_kv=2, tied=False, rope_base=100000.0, seed=2),
    TinySpec("tiny-bf16-gqa2-tied", QT.BF16, n_layer=2, n_head_kv=2, tied=True, rope_base=10000.0, seed=3),
    TinySpec("tiny-q8_0-mqa-tied", QT.Q8_0, n_layer=3, n_head_kv=1, tied=True, rope_base=10000.0, seed=4),
    TinySpec("tiny-q4_0-gqa2-untied", QT.Q4_0, n_layer=2, n_head_kv=2, tied=False, rope_base=100000.0, seed=5),
    TinySpec("tiny-q4_1-mqa-untied", QT.Q4_1, n_layer=3, n_head_kv=1, tied=False, rope_base=10000.0, seed=6),
    TinySpec("tiny-q8_0-gqa4-hd64", QT.Q8_0, n_layer=2, n_embd=256, n_head=4, n_head_kv=1, n_ff=256, tied=True,
             rope_base=10000.0, seed=7),
    TinySpec("tiny-q4_1-gqa2-hd64", QT.Q4_1, n_layer=2, n_embd=256, n_head=4, n_head_kv=2, n_ff=256, tied=False,
             rope_base=100000.0, seed=8),
]
SPECS_BY_NAME = {s.name: s for s in STANDARD_SPECS}

# The other architectures' tiny models (issue: one block for many models):
# qwen2 with GQA and biases on Q, K, V; gpt2 with learned and with
# sinusoidal positions; gemma3 (as Gemma 3 270M: QK norms, post-norms, GELU,
# sliding-window attention on 5 of every 6 layers) with a window of 8, so
# the suite's 20- and 48-token sequences run past it, and 7 layers, so there
# are local layers (0-4, 6) on both sides of a global one (5); head dimension
# != n_embd / n_head as in the real model (640 = 4 heads x 256 would be 160),
# once with MQA and 64-dim heads, once with GQA(2) and 32-dim heads. Not in
# the standard set until the engine runs them.
ARCHITECTURE_SPECS: list[TinySpec] = [
    TinySpec("tiny-qwen2-q8_0-gqa2-untied", QT.Q8_0, architecture="qwen2", n_layer=2, n_head_kv=2, tied=False,
             rope_base=1000000.0, rms_eps=1e-6, seed=21),
    TinySpec("tiny-qwen2-f16-mha-tied", QT.F16, architecture="qwen2", n_layer=2, n_head_kv=4, tied=True, seed=22),
    TinySpec("tiny-gpt2-f32-learned", QT.F32, architecture="gpt2", n_layer=2, tied=True, seed=23),
    TinySpec("tiny-gpt2-q8_0-learned-untied", QT.Q8_0, architecture="gpt2", n_layer=3, tied=False, seed=24),
    TinySpec("tiny-gpt2-f16-sinusoidal", QT.F16, architecture="gpt2", n_layer=2, tied=True, positions="sinusoidal",
             seed=25),
    TinySpec("tiny-gemma3-q8_0-w8", QT.Q8_0, architecture="gemma3", n_layer=7, n_embd=64, n_head=2, n_head_kv=1,
             key_length=64, n_ff=96, tied=True, rope_base=1000000.0, rms_eps=1e-6, sliding_window=8, seed=26),
    TinySpec("tiny-gemma3-f32-w8", QT.F32, architecture="gemma3", n_layer=7, n_embd=64, n_head=4, n_head_kv=2,
             key_length=32, n_ff=96, tied=True, rope_base=1000000.0, rms_eps=1e-6, sliding_window=8, seed=27),
]
SPECS_BY_NAME.update({s.name: s for s in ARCHITECTURE_SPECS})

# Every 2-D weight in one of the types Swiftlet decodes and converts to Q8_0
# at load (issue: quantization types). The 256-value super-block types need
# rows that are multiples of 256.
QUANT_SPECS: list[TinySpec] = [
    TinySpec("tiny-q5_0-gqa2-tied", QT.Q5_0, n_layer=2, n_head_kv=2, tied=True, seed=31),
    TinySpec("tiny-q5_1-mqa-untied", QT.Q5_1, n_layer=2, n_head_kv=1, tied=False, seed=32),
    TinySpec("tiny-iq4_nl-mha-untied", QT.IQ4_NL, n_layer=2, n_head_kv=4, tied=False, seed=33),
    TinySpec("tiny-q2_k-gqa2-hd64", QT.Q2_K, n_layer=2, n_embd=256, n_head=4, n_head_kv=2, n_ff=256, tied=False,
             seed=34),
    TinySpec("tiny-q3_k-gqa4-hd64", QT.Q3_K, n_layer=2, n_embd=256, n_head=4, n_head_kv=1, n_ff=256, tied=True,
             seed=35),
    TinySpec("tiny-q4_k-gqa2-hd64", QT.Q4_K, n_layer=2, n_embd=256, n_head=4, n_head_kv=2, n_ff=512, tied=False,
             rope_base=100000.0, seed=36),
    TinySpec("tiny-q5_k-mha-hd64", QT.Q5_K, n_layer=2, n_embd=256, n_head=4, n_head_kv=4, n_ff=256, tied=True,
             seed=37),
    TinySpec("tiny-q6_k-gqa2-hd64", QT.Q6_K, n_layer=2, n_embd=256, n_head=4, n_head_kv=2, n_ff=256, tied=False,
             seed=38),
    TinySpec("tiny-iq4_xs-gqa2-hd64", QT.IQ4_XS, n_layer=2, n_embd=256, n_head=4, n_head_kv=2, n_ff=256, tied=True,
             seed=39),
]
SPECS_BY_NAME.update({s.name: s for s in QUANT_SPECS})

# Byte offsets of the fp16 super-scale d and (where the type has one) dmin
# in one block of the types gguf.quants cannot quantize to: their tiny models
# get random blocks (fitted_random_blocks).
SCALE_OFFSETS = {
    QT[name]: (fields + (None,))[:2]
    for name, fields in gguf_corpus.HALF_FIELDS.items()
    if name in ("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS")
}


def fitted_random_blocks(arr: np.ndarray, qtype: QT, rng: np.random.Generator) -> np.ndarray:
    """Blocks of `qtype` for the matrix `arr` where gguf.quants has no
    quantizer: random bytes (random sub-block scales and values), with each
    block's fp16 d (and dmin) chosen so the block decodes to values of about
    the same spread as `arr`'s block, centred on 0 (all-zero blocks stay
    zero). Not a quantization of `arr`, but weights of the right size; the
    reference reads back whatever gguf.quants.dequantize makes of them."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    rows, cols = arr.shape
    assert cols % block == 0, (qtype.name, arr.shape)
    n = rows * cols // block
    raw = rng.integers(0, 256, size=(n, size), dtype=np.uint8)
    d_at, dmin_at = SCALE_OFFSETS[qtype]

    def decoded(d: float, dmin: float) -> np.ndarray:
        trial = raw.copy()
        trial[:, d_at:d_at + 2] = np.full((n, 1), d, "<f2").view(np.uint8)
        if dmin_at is not None:
            trial[:, dmin_at:dmin_at + 2] = np.full((n, 1), dmin, "<f2").view(np.uint8)
        return gguf.quants.dequantize(trial, qtype).reshape(n, block).astype(np.float64)

    scaled = decoded(1.0, 0.0)
    ratio = np.zeros(n)
    if dmin_at is not None:  # value = d·(scaled part) − dmin·(min part): pick dmin / d to centre each block
        minimum = decoded(0.0, 1.0)
        ratio = -scaled.mean(axis=1) / np.minimum(minimum.mean(axis=1), -1e-3)
        scaled = scaled + ratio[:, None] * minimum
    target = arr.astype(np.float64).reshape(n, block).std(axis=1)
    d = target / np.maximum(scaled.std(axis=1), 1e-6)
    raw[:, d_at:d_at + 2] = d.astype("<f2").reshape(n, 1).view(np.uint8)
    if dmin_at is not None:
        raw[:, dmin_at:dmin_at + 2] = (d * ratio).astype("<f2").reshape(n, 1).view(np.uint8)
    return raw.reshape(rows, cols // block * size)


def random_weights(spec: TinySpec) -> dict[str, np.ndarray]:
    """float32 weights in numpy layout (rows = output units), before storage rounding."""
    rng = np.random.default_rng(spec.seed)
    E, hd, V = spec.n_embd, spec.head_dim, VOCAB.n_vocab

    def mat(rows, cols, gain=1.0):
        # std 1/sqrt(fan_in) keeps activations O(1) through the stack.
        return (rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    def bias(n, scale=0.1):
        return (scale * rng.standard_normal(n)).astype(np.float32)

    w: dict[str, np.ndarray] = {}
    embd = (0.5 * rng.standard_normal((V, E))).astype(np.float32)
    output_norm_gain = 1.0
    if spec.architecture == "gemma3":
        # Gemma scales the embedding by sqrt(E) and means it to come out at
        # RMS ~1 (Gemma 3 270M: 1.03). At 0.5 * sqrt(E) = 4 it would outweigh
        # the layers' post-normed outputs and, the output being tied, the model
        # would predict its own input token (measured: at 19 of 20 positions),
        # leaving llama.cpp's goldens little to check. The output norm takes
        # the factor instead, so the logits keep their spread of ~4.
        embd *= np.float32(1 / (0.5 * np.sqrt(E)))
        output_norm_gain = 4.0
    w["token_embd.weight"] = embd
    if spec.architecture == "gpt2":
        if spec.positions == "learned":
            w["position_embd.weight"] = (0.3 * rng.standard_normal((spec.n_ctx_train, E))).astype(np.float32)
        for i in range(spec.n_layer):
            p = f"blk.{i}."
            w[p + "attn_norm.weight"], w[p + "attn_norm.bias"] = norm(E), bias(E)
            # Q and K rows carry the q/k gain (attention far from uniform), V's do not.
            qkv = np.concatenate([mat(E, E, spec.qk_gain), mat(E, E, spec.qk_gain), mat(E, E)])
            w[p + "attn_qkv.weight"], w[p + "attn_qkv.bias"] = qkv, bias(3 * E)
            w[p + "attn_output.weight"], w[p + "attn_output.bias"] = mat(E, E, spec.branch_gain), bias(E)
            w[p + "ffn_norm.weight"], w[p + "ffn_norm.bias"] = norm(E), bias(E)
            w[p + "ffn_up.weight"], w[p + "ffn_up.bias"] = mat(spec.n_ff, E), bias(spec.n_ff)
            w[p + "ffn_down.weight"], w[p + "ffn_down.bias"] = mat(E, spec.n_ff, spec.branch_gain), bias(E)
        w["output_norm.weight"], w["output_norm.bias"] = norm(E), bias(E)
        if not spec.tied:
            w["output.weight"] = mat(V, E, spec.out_gain)
        out_name = "token_embd.weight" if spec.tied else "output.weight"
        for tid in (VOCAB.eos_id, VOCAB.eot_id):
            w[out_name][tid, :] = 0.0
        return w
    for i in range(spec.n_layer):
        p = f"blk.{i}."
        w[p + "attn_norm.weight"] = norm(E)
        w[p + "attn_q.weight"] = mat(spec.n_head * hd, E, spec.qk_gain)
        w[p + "attn_k.weight"] = mat(spec.n_head_kv * hd, E, spec.qk_gain)
        w[p + "attn_v.weight"] = mat(spec.n_head_kv * hd, E)
        w[p + "attn_output.weight"] = mat(E, spec.n_head * hd, spec.branch_gain)
        w[p + "ffn_norm.weight"] = norm(E)
        w[p + "ffn_gate.weight"] = mat(spec.n_ff, E)
        w[p + "ffn_up.weight"] = mat(spec.n_ff, E)
        w[p + "ffn_down.weight"] = mat(E, spec.n_ff, spec.branch_gain)
        if spec.architecture == "qwen2":
            w[p + "attn_q.bias"] = bias(spec.n_head * hd)
            w[p + "attn_k.bias"] = bias(spec.n_head_kv * hd)
            w[p + "attn_v.bias"] = bias(spec.n_head_kv * hd)
        if spec.architecture == "gemma3":
            # drawn after the llama tensors, so other architectures' draws are unchanged
            w[p + "attn_q_norm.weight"] = norm(hd)
            w[p + "attn_k_norm.weight"] = norm(hd)
            w[p + "post_attention_norm.weight"] = norm(E)
            w[p + "post_ffw_norm.weight"] = norm(E)
    w["output_norm.weight"] = norm(E) * np.float32(output_norm_gain)
    if not spec.tied:
        w["output.weight"] = mat(V, E, spec.out_gain)
    # The EOS / end-of-turn rows of the output matrix are zero, so their
    # logits are exactly 0 while the largest logit of ~300 random ones is far
    # above 0: generation on these models never ends by itself, which makes
    # max_tokens / callback / cancel tests deterministic.
    out_name = "token_embd.weight" if spec.tied else "output.weight"
    for tid in (VOCAB.eos_id, VOCAB.eot_id):
        w[out_name][tid, :] = 0.0
    return w


def write_model(spec: TinySpec, path: str, weights: Optional[dict] = None,
                leading_string_arrays: Optional[dict] = None) -> str:
    """Writes `spec` as a GGUF file at `path` and returns the path. `weights`
    replaces the spec's random weights; `leading_string_arrays` are metadata
    keys written before all others (bulk for the parser in leak tests)."""
    weights = random_weights(spec) if weights is None else weights
    writer = gguf.GGUFWriter(path, spec.architecture)
    arch = spec.architecture
    for key, values in (leading_string_arrays or {}).items():
        writer.add_array(key, values)
    writer.add_name(spec.name)
    writer.add_uint32(f"{arch}.block_count", spec.n_layer)
    writer.add_uint32(f"{arch}.context_length", spec.n_ctx_train)
    writer.add_uint32(f"{arch}.embedding_length", spec.n_embd)
    writer.add_uint32(f"{arch}.feed_forward_length", spec.n_ff)
    writer.add_uint32(f"{arch}.attention.head_count", spec.n_head)
    if arch == "gpt2":
        writer.add_float32(f"{arch}.attention.layer_norm_epsilon", spec.rms_eps)
        if spec.positions == "sinusoidal":
            writer.add_string(f"{arch}.position_encoding", "sinusoidal")
    else:
        writer.add_uint32(f"{arch}.attention.head_count_kv", spec.n_head_kv)
        writer.add_float32(f"{arch}.rope.freq_base", spec.rope_base)
        writer.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", spec.rms_eps)
        if arch == "gemma3":
            writer.add_uint32(f"{arch}.attention.key_length", spec.head_dim)
            writer.add_uint32(f"{arch}.attention.value_length", spec.head_dim)
            writer.add_uint32(f"{arch}.attention.sliding_window", spec.sliding_window)
        else:
            writer.add_uint32(f"{arch}.rope.dimension_count", spec.head_dim)
    writer.add_uint32(f"{arch}.vocab_size", VOCAB.n_vocab)
    writer.add_tokenizer_model(spec.tokenizer_model)
    writer.add_tokenizer_pre(spec.tokenizer_pre)
    writer.add_token_list(VOCAB.tokens)
    writer.add_token_types(VOCAB.token_types)
    writer.add_token_merges(VOCAB.merges)
    writer.add_bos_token_id(VOCAB.bos_id)
    writer.add_eos_token_id(VOCAB.eos_id)
    writer.add_add_bos_token(False)

    if spec.omit_key is not None:
        assert spec.omit_key in writer.kv_data[0], spec.omit_key
        del writer.kv_data[0][spec.omit_key]
    for name, arr in weights.items():
        if name == spec.drop_tensor:
            continue
        if name == spec.transpose_tensor:
            arr = np.ascontiguousarray(arr.T)
        if arr.ndim == 1 or spec.wtype == QT.F32:
            writer.add_tensor(name, arr.astype(np.float32))
        elif spec.wtype == QT.F16:
            writer.add_tensor(name, arr.astype(np.float16))
        elif spec.wtype in SCALE_OFFSETS:
            rng = np.random.default_rng([spec.seed, sum(name.encode())])
            writer.add_tensor(name, fitted_random_blocks(arr, spec.wtype, rng), raw_dtype=spec.wtype)
        else:
            q = gguf.quants.quantize(arr, spec.wtype)
            writer.add_tensor(name, q, raw_dtype=spec.wtype)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_standard_set(out_dir: str, specs: Optional[list[TinySpec]] = None) -> dict[str, str]:
    os.makedirs(out_dir, exist_ok=True)
    return {s.name: write_model(s, os.path.join(out_dir, s.name + ".gguf")) for s in (specs or STANDARD_SPECS)}


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "tiny-models"
    for name, p in write_standard_set(out).items():
        print(name, p, os.path.getsize(p))
