"""LoRA adapters for the tests: random pairs for a model's weights, written
as GGUF files the way llama.cpp's convert_lora_to_gguf.py writes them (with
the `gguf` package), and the C calls that load and attach them.

File layout (llama.cpp): general.type = "adapter", adapter.type = "lora",
adapter.lora.alpha, general.architecture = the base model's; for each base
weight W (ggml dims [n_in, n_out]) the tensors "W.lora_a" with numpy shape
(r, n_in) (ggml [n_in, r]) and "W.lora_b" with numpy shape (n_out, r)
(ggml [r, n_out]). The adapted product is W x + scale (alpha / r) B (A x).
"""
from __future__ import annotations

import ctypes
import os
import re
from typing import Optional, Sequence

import numpy as np

import gguf
from gguf import GGMLQuantizationType as QT

import swiftlet_ctypes as sw

#: The block projections an adapter may name (GPT-2 has attn_qkv instead of attn_q/k/v).
PROJECTIONS = ("attn_q", "attn_k", "attn_v", "attn_qkv", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def file_shapes(path: str) -> dict[str, tuple]:
    """The numpy shapes (n_out, n_in) of a GGUF model's 2-D tensors, without reading their data."""
    reader = gguf.GGUFReader(path)
    return {t.name: tuple(int(n) for n in reversed(t.shape)) for t in reader.tensors if len(t.shape) == 2}


def adaptable(shapes: dict[str, tuple], names: Sequence[str] = PROJECTIONS, head: bool = True) -> list[str]:
    """The weights of a model (name -> numpy shape (n_out, n_in)) an adapter may
    change: the block projections in `names`, and output.weight with `head`."""
    pattern = re.compile(r"blk\.\d+\.(%s)\.weight$" % "|".join(names))
    chosen = [n for n in shapes if pattern.match(n)]
    if head and "output.weight" in shapes:
        chosen.append("output.weight")
    return sorted(chosen)


def random_pairs(shapes: dict[str, tuple], names: Sequence[str], rank: int, seed: int,
                 gain: float = 1.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A (r, n_in) and B (n_out, r) per name, N(0, 1) scaled so that B A x has
    about `gain` times the size of x (unlike a trained adapter, B is not 0)."""
    rng = np.random.default_rng(seed)
    pairs = {}
    for name in names:
        n_out, n_in = shapes[name]
        a = rng.standard_normal((rank, n_in)) / np.sqrt(n_in)
        b = rng.standard_normal((n_out, rank)) * gain / np.sqrt(rank)
        pairs[name] = (a.astype(np.float32), b.astype(np.float32))
    return pairs


def stored(array: np.ndarray, qtype: QT) -> np.ndarray:
    """The values a tensor of `qtype` holds for `array` (what Swiftlet decodes)."""
    if qtype == QT.F32:
        return array.astype(np.float32)
    if qtype == QT.F16:
        return array.astype(np.float16).astype(np.float32)
    raw = gguf.quants.quantize(array.astype(np.float32), qtype)
    return gguf.quants.dequantize(raw, qtype).reshape(array.shape).astype(np.float32)


def stored_pairs(pairs: dict, qtype: QT) -> dict:
    return {name: (stored(a, qtype), stored(b, qtype)) for name, (a, b) in pairs.items()}


def write_adapter(path: str, architecture: str, pairs: dict, alpha: Optional[float], qtype: QT = QT.F32, *,
                  general_type: Optional[str] = "adapter", adapter_type: Optional[str] = "lora",
                  extra: Optional[dict[str, np.ndarray]] = None, raw_alpha=None) -> str:
    """Writes `pairs` (name -> (A, B), numpy shapes (r, n_in) and (n_out, r))
    as an adapter file. `alpha` None leaves adapter.lora.alpha out;
    `general_type`/`adapter_type` None leave those keys out; `extra` adds
    tensors as given (F32); `raw_alpha` writes that float as alpha whatever it is."""
    writer = gguf.GGUFWriter(path, architecture)
    if general_type is not None:
        writer.add_string("general.type", general_type)
    if adapter_type is not None:
        writer.add_string("adapter.type", adapter_type)
    if raw_alpha is not None:
        writer.add_float32("adapter.lora.alpha", raw_alpha)
    elif alpha is not None:
        writer.add_float32("adapter.lora.alpha", float(alpha))
    for name, (a, b) in pairs.items():
        for suffix, array in ((".lora_a", a), (".lora_b", b)):
            if array is None:
                continue
            if qtype == QT.F32:
                writer.add_tensor(name + suffix, np.ascontiguousarray(array, dtype=np.float32))
            elif qtype == QT.F16:
                writer.add_tensor(name + suffix, np.ascontiguousarray(array, dtype=np.float16))
            else:
                raw = gguf.quants.quantize(np.ascontiguousarray(array, dtype=np.float32), qtype)
                writer.add_tensor(name + suffix, raw, raw_dtype=qtype)
    for name, array in (extra or {}).items():
        writer.add_tensor(name, np.ascontiguousarray(array, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def load_status(model: int, path: str) -> tuple[int, Optional[int], str]:
    """(status, adapter handle or None, last error) of swiftlet_adapter_load."""
    out = ctypes.c_void_p()
    status = sw.load().swiftlet_adapter_load(model, os.fsencode(path), ctypes.byref(out))
    return status, (out.value if status == sw.OK else None), (sw.last_error() if status != sw.OK else "")


def adapter_load(model: int, path: str) -> int:
    out = ctypes.c_void_p()
    sw.check(sw.load().swiftlet_adapter_load(model, os.fsencode(path), ctypes.byref(out)))
    return out.value


def adapter_info(adapter: int) -> tuple[int, float, int]:
    rank, alpha, count = ctypes.c_int32(), ctypes.c_float(), ctypes.c_int32()
    sw.check(sw.load().swiftlet_adapter_info(adapter, ctypes.byref(rank), ctypes.byref(alpha), ctypes.byref(count)))
    return rank.value, alpha.value, count.value


def set_status(context: int, entries: Sequence[tuple[int, float]]) -> int:
    """swiftlet_context_set_adapters with (adapter, scale) entries; the status."""
    n = len(entries)
    handles = (ctypes.c_void_p * max(n, 1))(*[a for a, _ in entries])
    scales = (ctypes.c_float * max(n, 1))(*[s for _, s in entries])
    return sw.load().swiftlet_context_set_adapters(context, handles if n else None, scales if n else None, n)


def set_adapters(context: int, entries: Sequence[tuple[int, float]]) -> None:
    sw.check(set_status(context, entries))
