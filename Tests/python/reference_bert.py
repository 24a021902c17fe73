"""A numpy reference forward pass of a BERT encoder (sentence embeddings),
written from the equations of the BERT paper and Hugging Face's BertModel
layout, not from Swiftlet's code. It reads a Hugging Face folder directly:

  config.json                 hidden_size, num_hidden_layers, num_attention_heads,
                              intermediate_size, layer_norm_eps, hidden_act (gelu)
  model.safetensors           (or model.safetensors.index.json + shards) F32/F16/BF16,
                              parsed here from the raw bytes (no safetensors package)
  1_Pooling/config.json       mean / cls / last pooling (sentence-transformers)
  modules.json                a sentence_transformers.models.Normalize module → L2 normalize
  sentence_bert_config.json   max_seq_length (used by `tokenize` only)

The equations, for token ids t_0..t_{T-1} of one sentence (token type 0):

  x_p   = LN(word[t_p] + position[p] + token_type[0])
  per layer:
    q, k, v = x·Wqᵀ + bq, x·Wkᵀ + bk, x·Wvᵀ + bv        split into heads of d = H / heads
    a       = softmax(q·kᵀ / √d + mask) · v              mask: 0 for real keys, −inf for padding
    x       = LN(x + a·Woᵀ + bo)                          attention.output.{dense,LayerNorm}
    h       = gelu(x·W1ᵀ + b1)                            gelu(z) = z · ½(1 + erf(z/√2)), exact erf
    x       = LN(x + h·W2ᵀ + b2)                          output.{dense,LayerNorm}
  LN(y) = (y − mean) / √(var + eps) · γ + β, over the hidden dimension

  pooling: mean of x over the non-padded tokens, or x_0 (cls), or the last
  non-padded token (last); then, with Normalize, e / ‖e‖₂.

Arithmetic is float64 throughout (the weights are widened once at load), so
this reference is more precise than any float32 engine it checks.

Entry points:

  ReferenceBert(folder, dtype=np.float64)
    .hidden_states(ids)                 -> (layers+1, T, H): the embeddings' output, then each layer's
    .hidden_states_batch(batch)         -> ((layers+1, B, T_max, H), mask (B, T_max) bool): padded batch
    .embed(batch, pooling=None, normalize=None, batched=True) -> (B, H)
  pool(hidden, mask, mode)              -> (B, H)
  tokenize(folder, texts, max_length=None) -> list[list[int]]  (HF `tokenizers`, truncation to
                                           sentence_bert_config.json's max_seq_length)
  read_safetensors(path), load_weights(folder), erf(x), gelu_erf(x)
"""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import math
import os
import struct
import subprocess
import sys
from typing import Optional, Sequence

import numpy as np

# ------------------------------------------------------------- safetensors

_SAFETENSORS_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    """All tensors of one .safetensors file, as numpy arrays in their stored type
    (BF16 is widened to float32: numpy has no bfloat16).

    Layout: u64 little-endian N, N bytes of JSON {name: {dtype, shape,
    data_offsets: [begin, end]}, "__metadata__": {...}}, then the data; offsets
    are relative to the first byte after the header."""
    with open(path, "rb") as f:
        raw = f.read()
    (header_len,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + header_len].decode("utf-8"))
    base = 8 + header_len
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        data = raw[base + begin: base + end]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(data, dtype=_SAFETENSORS_DTYPES[info["dtype"]])
        count = int(np.prod(shape)) if shape else 1
        if array.size != count:
            raise ValueError(f"{path}: {name} has {array.size} values for shape {shape}")
        tensors[name] = array.reshape(shape)
    return tensors


def load_weights(folder: str) -> dict[str, np.ndarray]:
    """The folder's tensors: model.safetensors, or the shards listed by
    model.safetensors.index.json's weight_map."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        tensors: dict[str, np.ndarray] = {}
        for shard in sorted(set(weight_map.values())):
            tensors.update(read_safetensors(os.path.join(folder, shard)))
        missing = set(weight_map) - set(tensors)
        if missing:
            raise ValueError(f"{folder}: index names tensors no shard holds: {sorted(missing)[:5]}")
        return tensors
    return read_safetensors(os.path.join(folder, "model.safetensors"))


# ------------------------------------------------------------------ config


@dataclasses.dataclass
class BertConfig:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    layer_norm_eps: float
    hidden_act: str
    max_position_embeddings: int
    type_vocab_size: int
    vocab_size: int
    pooling: str            # "mean", "cls" or "last" (1_Pooling/config.json; mean without it)
    normalize: bool         # modules.json lists sentence_transformers.models.Normalize
    max_seq_length: Optional[int]  # sentence_bert_config.json

    @classmethod
    def from_folder(cls, folder: str) -> "BertConfig":
        with open(os.path.join(folder, "config.json")) as f:
            c = json.load(f)
        return cls(
            hidden_size=c["hidden_size"], num_hidden_layers=c["num_hidden_layers"],
            num_attention_heads=c["num_attention_heads"], intermediate_size=c["intermediate_size"],
            layer_norm_eps=float(c.get("layer_norm_eps", 1e-12)), hidden_act=c.get("hidden_act", "gelu"),
            max_position_embeddings=c["max_position_embeddings"], type_vocab_size=c.get("type_vocab_size", 2),
            vocab_size=c["vocab_size"], pooling=_pooling_mode(folder), normalize=_has_normalize(folder),
            max_seq_length=max_seq_length(folder))


def _pooling_mode(folder: str) -> str:
    path = os.path.join(folder, "1_Pooling", "config.json")
    if not os.path.exists(path):
        return "mean"
    with open(path) as f:
        p = json.load(f)
    modes = [m for key, m in (("pooling_mode_mean_tokens", "mean"), ("pooling_mode_cls_token", "cls"),
                              ("pooling_mode_lasttoken", "last")) if p.get(key)]
    if len(modes) != 1:
        raise ValueError(f"{path}: exactly one of mean / cls / last pooling is supported, got {p}")
    return modes[0]


def _has_normalize(folder: str) -> bool:
    path = os.path.join(folder, "modules.json")
    if not os.path.exists(path):
        return False
    with open(path) as f:
        return any(m.get("type", "").endswith("Normalize") for m in json.load(f))


def max_seq_length(folder: str) -> Optional[int]:
    path = os.path.join(folder, "sentence_bert_config.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f).get("max_seq_length")


# -------------------------------------------------------------- operations


# erf(z) = 2/√π Σ c_n z^(2n+1), c_n = (−1)^n / (n! (2n+1)); for |z| < 2 the terms
# after n = 32 are below 1e-17 (4^n / n! / (2n+1)).
_ERF_SERIES = [(-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(33)]


def erf(x: np.ndarray) -> np.ndarray:
    """erf in float64 to ~1e-15 without scipy: the Maclaurin series (Horner in
    z²) for |z| < 2, and beyond it Laplace's continued fraction of erfc, whose
    40 levels reach 1e-16 from z = 2 on (tests check it against math.erf)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = np.abs(x) < 2.0
    z = x[small]
    z2 = z * z
    acc = np.full_like(z, _ERF_SERIES[-1])
    for c in _ERF_SERIES[-2::-1]:
        acc *= z2
        acc += c
    out[small] = acc * z * (2.0 / math.sqrt(math.pi))
    large = ~small
    if large.any():
        # erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + …))))), z > 0
        z = np.abs(x[large])
        t = z.copy()
        for k in range(40, 0, -1):
            t = z + (k / 2.0) / t
        erfc = np.exp(-z * z) / math.sqrt(math.pi) / t
        out[large] = np.sign(x[large]) * (1.0 - erfc)
    return out


def gelu_erf(x: np.ndarray) -> np.ndarray:
    """BERT's "gelu": z · ½ (1 + erf(z / √2)) (exact, not the tanh approximation)."""
    return x * 0.5 * (1.0 + erf(x / math.sqrt(2.0)))


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=-1, keepdims=True)


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """(B, T, H) final hidden states and (B, T) bool mask → (B, H)."""
    mask = np.asarray(mask, dtype=bool)
    if mode == "mean":
        w = mask[..., None].astype(hidden.dtype)
        return (hidden * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-9)
    if mode == "cls":
        return hidden[:, 0, :]
    if mode == "last":
        last = mask.sum(axis=1) - 1
        return hidden[np.arange(hidden.shape[0]), last, :]
    raise ValueError(f"unknown pooling {mode!r}")


def l2_normalize(e: np.ndarray) -> np.ndarray:
    return e / np.maximum(np.linalg.norm(e, axis=-1, keepdims=True), 1e-12)


# ------------------------------------------------------------- BLAS threads


def _openblas_thread_functions():
    """(get, set) of the OpenBLAS numpy loaded, found the way threadpoolctl does
    (the mapped library's exported names), or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_", "64_"), ("", "64_"), ("", ""), ("scipy_", "")):
            get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
            set_ = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                return get, set_
    return None


@contextlib.contextmanager
def single_threaded_blas():
    """OpenBLAS on one thread inside the block. This reference's products are
    small (tens of rows) and OpenBLAS's threads, on a 2-CPU machine that others
    share, made them 8x slower than one thread (measured: 16 s against 2 s for
    MiniLM on 40 sentences at load average 4)."""
    functions = _openblas_thread_functions()
    if functions is None:
        yield
        return
    get, set_ = functions
    before = get()
    set_(1)
    try:
        yield
    finally:
        set_(before)


# ------------------------------------------------------------------- model


class ReferenceBert:
    def __init__(self, folder: str, dtype=np.float64) -> None:
        self.folder = folder
        self.config = BertConfig.from_folder(folder)
        if self.config.hidden_act not in ("gelu", "gelu_python"):
            raise ValueError(f"hidden_act {self.config.hidden_act!r}: only BERT's erf gelu is written here")
        raw = load_weights(folder)
        # Some checkpoints name everything "bert.embeddings…"; the encoder is the same.
        raw = {(k[5:] if k.startswith("bert.") else k): v for k, v in raw.items()}
        self.dtype = dtype
        self.w = {k: v.astype(dtype) for k, v in raw.items() if v.dtype.kind == "f"}
        # Linear weights are stored (out, in); y = x·Wᵀ + b uses Wᵀ, kept contiguous
        # once here (numpy's stacked matmul with a transposed view is ~15× slower).
        self.wt = {k: np.ascontiguousarray(v.T) for k, v in self.w.items()
                   if k.startswith("encoder.layer.") and k.endswith(".weight") and v.ndim == 2}

    def _linear(self, x: np.ndarray, i: int, name: str) -> np.ndarray:
        """x·Wᵀ + b for encoder.layer.i.name, x of shape (..., in)."""
        wt = self.wt[f"encoder.layer.{i}.{name}.weight"]
        y = x.reshape(-1, wt.shape[0]) @ wt + self.w[f"encoder.layer.{i}.{name}.bias"]
        return y.reshape(*x.shape[:-1], wt.shape[1])

    def _layer(self, i: int, name: str) -> np.ndarray:
        return self.w[f"encoder.layer.{i}.{name}"]

    def hidden_states_batch(self, batch: Sequence[Sequence[int]],
                            attention: Optional[list] = None) -> tuple[np.ndarray, np.ndarray]:
        with single_threaded_blas():
            return self._hidden_states_batch(batch, attention)

    def _hidden_states_batch(self, batch: Sequence[Sequence[int]],
                             attention: Optional[list] = None) -> tuple[np.ndarray, np.ndarray]:
        """A right-padded batch. Returns ((layers+1, B, T_max, H), mask (B, T_max)):
        index 0 is the embeddings' LayerNorm output, index i the output of layer i.
        Padded positions' hidden states are computed (as any engine would) but
        never attended to, and pooling ignores them. With `attention` (a
        list), each layer's softmax weights (B, heads, T_max, T_max) are
        appended to it."""
        c = self.config
        B = len(batch)
        lengths = [len(ids) for ids in batch]
        if min(lengths) < 1:
            raise ValueError("every sequence needs at least one token ([CLS] … [SEP])")
        T = max(lengths)
        if T > c.max_position_embeddings:
            raise ValueError(f"{T} tokens > max_position_embeddings {c.max_position_embeddings}")
        ids = np.zeros((B, T), dtype=np.int64)
        mask = np.zeros((B, T), dtype=bool)
        for b, seq in enumerate(batch):
            ids[b, :len(seq)] = seq
            mask[b, :len(seq)] = True

        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(T)][None, :, :]
             + w["embeddings.token_type_embeddings.weight"][0][None, None, :])
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], c.layer_norm_eps)
        states = [x]

        heads = c.num_attention_heads
        d = c.hidden_size // heads
        # additive mask on the keys: (B, 1, 1, T)
        key_mask = np.where(mask, 0.0, -np.inf).astype(self.dtype)[:, None, None, :]

        def split(y):  # (B, T, H) → (B, heads, T, d)
            return y.reshape(B, T, heads, d).transpose(0, 2, 1, 3)

        for i in range(c.num_hidden_layers):
            L = lambda name: self._layer(i, name)  # noqa: E731
            q = split(self._linear(x, i, "attention.self.query"))
            k = split(self._linear(x, i, "attention.self.key"))
            v = split(self._linear(x, i, "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + key_mask
            weights = softmax(scores)
            if attention is not None:
                attention.append(weights)
            a = (weights @ v).transpose(0, 2, 1, 3).reshape(B, T, c.hidden_size)
            x = layer_norm(x + self._linear(a, i, "attention.output.dense"),
                           L("attention.output.LayerNorm.weight"), L("attention.output.LayerNorm.bias"),
                           c.layer_norm_eps)
            h = gelu_erf(self._linear(x, i, "intermediate.dense"))
            x = layer_norm(x + self._linear(h, i, "output.dense"),
                           L("output.LayerNorm.weight"), L("output.LayerNorm.bias"), c.layer_norm_eps)
            states.append(x)
        return np.stack(states), mask

    def hidden_states(self, ids: Sequence[int]) -> np.ndarray:
        """One sentence, no padding: (layers+1, T, H)."""
        states, _ = self.hidden_states_batch([ids])
        return states[:, 0]

    def embed(self, batch: Sequence[Sequence[int]], pooling: Optional[str] = None,
              normalize: Optional[bool] = None, batched: bool = True) -> np.ndarray:
        """Sentence embeddings (B, H). pooling / normalize default to the
        folder's sentence-transformers modules. batched=True runs one padded
        batch; False runs each sentence alone (the two must agree)."""
        pooling = pooling or self.config.pooling
        normalize = self.config.normalize if normalize is None else normalize
        if batched:
            states, mask = self.hidden_states_batch(batch)
            e = pool(states[-1], mask, pooling)
        else:
            e = np.stack([pool(self.hidden_states(ids)[-1][None], np.ones((1, len(ids)), bool), pooling)[0]
                          for ids in batch])
        return l2_normalize(e) if normalize else e


# --------------------------------------------------------------- tokenizer


def _tokenizers_module():
    try:
        import tokenizers
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "tokenizers"], check=True)
        import tokenizers
    return tokenizers


def tokenize(folder: str, texts: Sequence[str], max_length: Optional[int] = None) -> list[list[int]]:
    """Token ids by HF `tokenizers` from the folder's tokenizer.json, [CLS] … [SEP],
    truncated to max_length (default: sentence_bert_config.json's max_seq_length,
    as sentence-transformers does; tokenizer.json's own truncation / padding
    settings, 128 in all-MiniLM-L6-v2's, are replaced)."""
    tokenizers = _tokenizers_module()
    tok = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tok.no_padding()
    limit = max_length if max_length is not None else max_seq_length(folder)
    if limit is None:
        tok.no_truncation()
    else:
        tok.enable_truncation(max_length=limit)
    return [enc.ids for enc in tok.encode_batch(list(texts))]


if __name__ == "__main__":
    # python reference_bert.py FOLDER "text" ["text" ...]: prints each embedding's first values
    folder, texts = sys.argv[1], sys.argv[2:]
    ref = ReferenceBert(folder)
    for text, e in zip(texts, ref.embed(tokenize(folder, texts))):
        print(f"{text[:40]!r:44} {np.array2string(e[:6], precision=5)}")
