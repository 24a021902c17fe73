"""Builds GGUF files byte by byte, valid and deliberately broken, for tests.

Written from the GGUF specification with `struct`, not with the gguf package,
so it can produce files the package would refuse to write. (The tests check
that the gguf package reads the valid ones the same way.)

Every malformed case is a function `case_xxx(path) -> expected` that writes one
file to `path` and returns the C status name Swiftlet must answer with
(e.g. "SWIFTLET_ERROR_INVALID_FILE"). `malformed_cases()` lists them all;
`truncated_cases()` adds the valid sample cut at every byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

INVALID_FILE = "SWIFTLET_ERROR_INVALID_FILE"
UNSUPPORTED = "SWIFTLET_ERROR_UNSUPPORTED"
IO = "SWIFTLET_ERROR_IO"
OK = "SWIFTLET_OK"

# Python-side mirror of SwiftletError.Kind, for callers that drive Swift directly.
STATUS_TO_KIND = {INVALID_FILE: "invalidFile", UNSUPPORTED: "unsupported", IO: "io", OK: None}

# GGUF metadata value type ids.
VALUE_TYPES = {
    "uint8": 0, "int8": 1, "uint16": 2, "int16": 3, "uint32": 4, "int32": 5, "float32": 6,
    "bool": 7, "string": 8, "array": 9, "uint64": 10, "int64": 11, "float64": 12,
}
SCALAR_FORMATS = {
    "uint8": "<B", "int8": "<b", "uint16": "<H", "int16": "<h", "uint32": "<I", "int32": "<i",
    "float32": "<f", "bool": "<?", "uint64": "<Q", "int64": "<q", "float64": "<d",
}

# ggml tensor types: id, elements per block, bytes per block.
GGML_TYPES = {
    "F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q4_1": (3, 32, 20),
    "Q8_0": (8, 32, 34), "BF16": (30, 1, 2),
    # converted to Q8_0 at load
    "Q5_0": (6, 32, 22), "Q5_1": (7, 32, 24), "Q2_K": (10, 256, 84), "Q3_K": (11, 256, 110),
    "Q4_K": (12, 256, 144), "Q5_K": (13, 256, 176), "Q6_K": (14, 256, 210), "IQ4_NL": (20, 32, 18),
    "IQ4_XS": (23, 256, 136),
}

# Byte offsets of the fp16 fields in one block of each quantized type (ggml's
# block_* structs): the scale d, then the min m / dmin where the type has one.
HALF_FIELDS = {
    "Q4_0": (0,), "Q4_1": (0, 2), "Q8_0": (0,), "Q5_0": (0,), "Q5_1": (0, 2), "Q2_K": (80, 82),
    "Q3_K": (108,), "Q4_K": (0, 2), "Q5_K": (0, 2), "Q6_K": (208,), "IQ4_NL": (0,), "IQ4_XS": (0,),
}


# ----------------------------------------------------------------- encoding

def enc_u32(v: int) -> bytes:
    return struct.pack("<I", v)


def enc_u64(v: int) -> bytes:
    return struct.pack("<Q", v)


def enc_str(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return enc_u64(len(b)) + b


def enc_value(vtype: str, value: Any) -> bytes:
    """The value without its type id. Arrays are (element_type, [elements]);
    an element of an "array" array is itself (element_type, [elements])."""
    if vtype == "string":
        return enc_str(value)
    if vtype == "array":
        etype, items = value
        out = enc_u32(VALUE_TYPES[etype]) + enc_u64(len(items))
        return out + b"".join(enc_value(etype, item) for item in items)
    return struct.pack(SCALAR_FORMATS[vtype], value)


def enc_kv(key: str, vtype: str, value: Any) -> bytes:
    return enc_str(key) + enc_u32(VALUE_TYPES[vtype]) + enc_value(vtype, value)


@dataclass
class Tensor:
    name: str
    dims: list[int]          # ggml order, dims[0] = row length
    type: str                # key of GGML_TYPES
    data: bytes = b""
    offset: int | None = None    # relative to the data section; None = packed in order
    type_id: int | None = None   # override the type id written


def tensor_nbytes(dims: list[int], type_name: str) -> int:
    _, block, size = GGML_TYPES[type_name]
    return int(np.prod(dims)) // block * size


def enc_tensor_info(t: Tensor, offset: int) -> bytes:
    type_id = GGML_TYPES[t.type][0] if t.type_id is None else t.type_id
    return (enc_str(t.name) + enc_u32(len(t.dims)) + b"".join(enc_u64(d) for d in t.dims)
            + enc_u32(type_id) + enc_u64(offset))


def align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


@dataclass
class Layout:
    """Where the parts of a built file are, to aim truncations and patches."""
    header_end: int = 0
    kv_ends: list[int] = field(default_factory=list)
    info_ends: list[int] = field(default_factory=list)
    data_start: int = 0
    size: int = 0


def build_gguf(kvs: list[tuple[str, str, Any]], tensors: list[Tensor], *, version: int = 3,
               alignment: int = 32, magic: bytes = b"GGUF", tensor_count: int | None = None,
               kv_count: int | None = None, pad_end: bool = False,
               raw_kvs: bytes | None = None) -> tuple[bytes, Layout]:
    """A GGUF file. Tensor data is packed in order at `alignment` boundaries
    (unless a Tensor gives its own offset); with pad_end False the file ends
    exactly where the last tensor's data ends, so any truncation cuts data."""
    layout = Layout()
    out = bytearray(magic + enc_u32(version))
    out += enc_u64(len(tensors) if tensor_count is None else tensor_count)
    out += enc_u64(len(kvs) if kv_count is None else kv_count)
    layout.header_end = len(out)
    if raw_kvs is not None:
        out += raw_kvs
    for key, vtype, value in kvs:
        out += enc_kv(key, vtype, value)
        layout.kv_ends.append(len(out))
    offsets, running = [], 0
    for t in tensors:
        offsets.append(running if t.offset is None else t.offset)
        running = align(running + len(t.data), alignment)
    for t, off in zip(tensors, offsets):
        out += enc_tensor_info(t, off)
        layout.info_ends.append(len(out))
    layout.data_start = align(len(out), alignment)
    if tensors:  # without tensors the file may end right after the infos
        out += bytes(layout.data_start - len(out))
    for t, off in zip(tensors, offsets):
        if t.offset is not None:
            continue  # caller-placed tensors carry no data here
        target = layout.data_start + off
        out += bytes(target - len(out))
        out += t.data
    if pad_end:
        out += bytes(align(len(out), alignment) - len(out))
    layout.size = len(out)
    return bytes(out), layout


# ---------------------------------------------------------- sample contents

TRICKY_STRINGS = ["", "plain", 'quote " backslash \\ slash /', "line\nbreak\ttab\rcr",
                  "ctl \x01\x1f del \x7f", "ünïcödé 日本語 🦙‍🔥"]


def every_type_metadata() -> list[tuple[str, str, Any]]:
    """One key per value type, arrays of every element type, nested arrays."""
    return [
        ("general.architecture", "string", "test"),
        ("t.uint8", "uint8", 255),
        ("t.int8", "int8", -128),
        ("t.uint16", "uint16", 65535),
        ("t.int16", "int16", -32768),
        ("t.uint32", "uint32", 4294967295),
        ("t.int32", "int32", -2147483648),
        ("t.float32", "float32", 1e-5),
        ("t.bool.true", "bool", True),
        ("t.bool.false", "bool", False),
        ("t.string", "string", TRICKY_STRINGS[2]),
        ("t.string.empty", "string", ""),
        ("t.uint64", "uint64", 2**64 - 1),
        ("t.int64", "int64", -2**63),
        ("t.float64", "float64", 0.1),
        ("t.float32.big", "float32", 3.0e38),
        ("t.float64.neg", "float64", -12345.678),
        ("a.uint8", "array", ("uint8", [0, 1, 255])),
        ("a.int8", "array", ("int8", [-128, 0, 127])),
        ("a.uint16", "array", ("uint16", [0, 65535])),
        ("a.int16", "array", ("int16", [-32768, 32767])),
        ("a.uint32", "array", ("uint32", [1, 2, 3])),
        ("a.int32", "array", ("int32", [-1, 0, 2147483647])),
        ("a.float32", "array", ("float32", [0.5, -2.25, 1e-5])),
        ("a.bool", "array", ("bool", [True, False, True])),
        ("a.string", "array", ("string", TRICKY_STRINGS)),
        ("a.uint64", "array", ("uint64", [0, 2**64 - 1])),
        ("a.int64", "array", ("int64", [-2**63, 2**63 - 1])),
        ("a.float64", "array", ("float64", [0.1, -1e300])),
        ("a.empty", "array", ("int32", [])),
        ("a.nested", "array", ("array", [("int32", [1, 2]), ("string", ["x", "y\"z"]),
                                          ("array", [("uint8", [7])]), ("float32", [])])),
    ]


def sample_tensors(rng: np.random.Generator | None = None) -> list[Tensor]:
    """One small tensor of each supported type, with random bytes that are
    valid for the type (finite fp16 scales)."""
    rng = rng or np.random.default_rng(1234)
    tensors = []
    for name, dims, tname in [("f32", [8, 2], "F32"), ("f16", [4, 3], "F16"), ("bf16", [2, 2], "BF16"),
                              ("q8", [32, 2], "Q8_0"), ("q40", [64, 1], "Q4_0"), ("q41", [32, 3], "Q4_1")]:
        tensors.append(Tensor(f"{name}.weight", dims, tname, random_tensor_bytes(dims, tname, rng)))
    return tensors


def random_tensor_bytes(dims: list[int], tname: str, rng: np.random.Generator) -> bytes:
    n = int(np.prod(dims))
    if tname == "F32":
        return rng.standard_normal(n).astype("<f4").tobytes()
    if tname == "F16":
        return rng.standard_normal(n).astype("<f2").tobytes()
    if tname == "BF16":
        return (rng.standard_normal(n).astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
    _, block, size = GGML_TYPES[tname]
    blocks = n // block
    raw = rng.integers(0, 256, size=(blocks, size), dtype=np.uint8)
    for at in HALF_FIELDS[tname]:
        raw[:, at:at + 2] = (rng.standard_normal((blocks, 1)) * 0.05).astype("<f2").view(np.uint8)
    return raw.tobytes()


def valid_sample() -> tuple[bytes, Layout]:
    return build_gguf(every_type_metadata(), sample_tensors())


# ---------------------------------------------------------- malformed cases

Case = Callable[[Path], str]
_CASES: list[Case] = []


def case(fn: Case) -> Case:
    _CASES.append(fn)
    return fn


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _one_tensor(**kw) -> Tensor:
    base = dict(name="w", dims=[32, 2], type="F32", data=bytes(32 * 2 * 4))
    base.update(kw)
    return Tensor(**base)


@case
def case_empty_file(p):
    _write(p, b"")
    return INVALID_FILE


@case
def case_three_bytes(p):
    _write(p, b"GGU")
    return INVALID_FILE


@case
def case_wrong_magic(p):
    data, _ = valid_sample()
    _write(p, b"GGML" + data[4:])
    return INVALID_FILE


@case
def case_text_file(p):
    _write(p, b"hello, this is not a model\n" * 10)
    return INVALID_FILE


@case
def case_version_1(p):
    _write(p, build_gguf([], [], version=1)[0])
    return UNSUPPORTED


@case
def case_version_4(p):
    _write(p, build_gguf([], [], version=4)[0])
    return UNSUPPORTED


@case
def case_version_0(p):
    _write(p, build_gguf([], [], version=0)[0])
    return UNSUPPORTED


@case
def case_big_endian_version_3(p):
    _write(p, build_gguf([], [], version=3 << 24)[0])
    return UNSUPPORTED


@case
def case_tensor_count_2_pow_60(p):
    _write(p, build_gguf([], [_one_tensor()], tensor_count=2**60)[0])
    return INVALID_FILE


@case
def case_tensor_count_max_u64(p):
    _write(p, build_gguf([], [_one_tensor()], tensor_count=2**64 - 1)[0])
    return INVALID_FILE


@case
def case_kv_count_2_pow_60(p):
    _write(p, build_gguf([("a", "uint8", 1)], [], kv_count=2**60)[0])
    return INVALID_FILE


@case
def case_kv_count_one_too_many(p):
    _write(p, build_gguf([("a", "uint32", 1), ("b", "uint32", 2)], [_one_tensor()], kv_count=3)[0])
    return INVALID_FILE


@case
def case_tensor_count_one_too_many(p):
    _write(p, build_gguf([], [_one_tensor(), _one_tensor(name="v")], tensor_count=3)[0])
    return INVALID_FILE


@case
def case_key_length_past_eof(p):
    raw = enc_u64(1000) + b"general.name"
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_key_length_2_pow_63(p):
    raw = enc_u64(2**63) + b"k" * 40
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_key_length_max_u64(p):
    raw = enc_u64(2**64 - 1) + b"k" * 40
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_string_value_past_eof(p):
    raw = enc_str("general.name") + enc_u32(VALUE_TYPES["string"]) + enc_u64(65) + b"x" * 64
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_string_array_element_past_eof(p):
    raw = (enc_str("tokens") + enc_u32(VALUE_TYPES["array"]) + enc_u32(VALUE_TYPES["string"]) + enc_u64(3)
           + enc_str("a") + enc_str("b") + enc_u64(2**40) + b"c")
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_array_count_2_pow_60_uint8(p):
    raw = enc_str("a") + enc_u32(VALUE_TYPES["array"]) + enc_u32(VALUE_TYPES["uint8"]) + enc_u64(2**60) + b"\0" * 64
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_array_count_2_pow_62_strings(p):
    raw = enc_str("a") + enc_u32(VALUE_TYPES["array"]) + enc_u32(VALUE_TYPES["string"]) + enc_u64(2**62) + b"\0" * 64
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_array_count_max_u64_float64(p):
    raw = enc_str("a") + enc_u32(VALUE_TYPES["array"]) + enc_u32(VALUE_TYPES["float64"]) + enc_u64(2**64 - 1) + b"\0" * 64
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_array_count_2_pow_61_nested(p):
    raw = enc_str("a") + enc_u32(VALUE_TYPES["array"]) + enc_u32(VALUE_TYPES["array"]) + enc_u64(2**61) + b"\0" * 64
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_array_int32_one_element_short(p):
    raw = enc_str("a") + enc_u32(VALUE_TYPES["array"]) + enc_u32(VALUE_TYPES["int32"]) + enc_u64(5) + b"\1\0\0\0" * 4
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_unknown_value_type(p):
    raw = enc_str("a") + enc_u32(13) + b"\0" * 16
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_unknown_value_type_huge(p):
    raw = enc_str("a") + enc_u32(0xFFFFFFFF) + b"\0" * 16
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_unknown_array_element_type(p):
    raw = enc_str("a") + enc_u32(VALUE_TYPES["array"]) + enc_u32(99) + enc_u64(1) + b"\0" * 16
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return INVALID_FILE


@case
def case_arrays_nested_200_deep(p):
    # Refused (not a stack overflow): Swiftlet reads at most 8 levels.
    inner = enc_u32(VALUE_TYPES["int32"]) + enc_u64(0)
    for _ in range(200):
        inner = enc_u32(VALUE_TYPES["array"]) + enc_u64(1) + inner
    raw = enc_str("deep") + enc_u32(VALUE_TYPES["array"]) + inner
    _write(p, build_gguf([], [], kv_count=1, raw_kvs=raw)[0])
    return UNSUPPORTED


@case
def case_duplicate_key(p):
    _write(p, build_gguf([("a", "uint32", 1), ("b", "uint32", 2), ("a", "uint32", 3)], [])[0])
    return INVALID_FILE


@case
def case_alignment_zero(p):
    _write(p, build_gguf([("general.alignment", "uint32", 0)], [_one_tensor()])[0])
    return INVALID_FILE


@case
def case_alignment_not_power_of_two(p):
    _write(p, build_gguf([("general.alignment", "uint32", 48)], [_one_tensor()], alignment=48)[0])
    return INVALID_FILE


@case
def case_alignment_is_a_string(p):
    _write(p, build_gguf([("general.alignment", "string", "32")], [_one_tensor()])[0])
    return INVALID_FILE


@case
def case_alignment_2_pow_62(p):
    _write(p, build_gguf([("general.alignment", "uint64", 2**62)], [_one_tensor()])[0])
    return INVALID_FILE


@case
def case_tensor_offset_not_aligned(p):
    _write(p, build_gguf([], [_one_tensor(offset=4)])[0] + bytes(4096))
    return INVALID_FILE


@case
def case_tensor_offset_past_eof(p):
    _write(p, build_gguf([], [_one_tensor(offset=1 << 20)])[0])
    return INVALID_FILE


@case
def case_tensor_offset_2_pow_63(p):
    _write(p, build_gguf([], [_one_tensor(offset=2**63)])[0])
    return INVALID_FILE


@case
def case_tensor_offset_max_aligned_u64(p):
    _write(p, build_gguf([], [_one_tensor(offset=2**64 - 32)])[0])
    return INVALID_FILE


@case
def case_tensor_data_overlaps_end(p):
    data, _ = build_gguf([], [_one_tensor()])
    _write(p, data[:-1])
    return INVALID_FILE


@case
def case_second_tensor_overlaps_end(p):
    t1 = _one_tensor(name="a")
    t2 = _one_tensor(name="b", offset=256)  # needs 256 bytes from data offset 256; file has none
    _write(p, build_gguf([], [t1, t2])[0])
    return INVALID_FILE


@case
def case_zero_dimensions(p):
    _write(p, build_gguf([], [_one_tensor(dims=[])])[0] + bytes(256))
    return INVALID_FILE


@case
def case_five_dimensions(p):
    _write(p, build_gguf([], [_one_tensor(dims=[1, 1, 1, 1, 1], data=bytes(4))])[0])
    return INVALID_FILE


@case
def case_dimension_count_max_u32(p):
    raw_info = enc_str("w") + enc_u32(0xFFFFFFFF) + enc_u64(1) * 8
    data = b"GGUF" + enc_u32(3) + enc_u64(1) + enc_u64(0) + raw_info
    _write(p, data)
    return INVALID_FILE


@case
def case_dimension_zero(p):
    _write(p, build_gguf([], [_one_tensor(dims=[32, 0], data=b"")])[0] + bytes(64))
    return INVALID_FILE


@case
def case_dimension_2_pow_63(p):
    _write(p, build_gguf([], [_one_tensor(dims=[2**63, 1], data=b"")])[0] + bytes(64))
    return INVALID_FILE


@case
def case_dims_product_overflows(p):
    _write(p, build_gguf([], [_one_tensor(dims=[2**32, 2**32], data=b"")])[0] + bytes(64))
    return INVALID_FILE


@case
def case_dims_product_overflows_4d(p):
    _write(p, build_gguf([], [_one_tensor(dims=[2**16, 2**16, 2**16, 2**16], data=b"")])[0] + bytes(64))
    return INVALID_FILE


@case
def case_byte_size_overflows(p):
    # 2^62 F32 elements fit in Int64, their 2^64 bytes do not.
    _write(p, build_gguf([], [_one_tensor(dims=[2**31, 2**31], data=b"")])[0] + bytes(64))
    return INVALID_FILE


@case
def case_huge_tensor_past_eof(p):
    _write(p, build_gguf([], [_one_tensor(dims=[4096, 4096], data=b"")])[0] + bytes(64))
    return INVALID_FILE


@case
def case_row_not_multiple_of_block(p):
    _write(p, build_gguf([], [_one_tensor(dims=[33, 2], type="Q8_0", data=bytes(34 * 2))])[0] + bytes(64))
    return INVALID_FILE


@case
def case_unknown_tensor_type_99(p):
    _write(p, build_gguf([], [_one_tensor(type_id=99)])[0])
    return UNSUPPORTED


@case
def case_tensor_type_iq2_xxs(p):
    _write(p, build_gguf([], [_one_tensor(dims=[256, 1], type_id=16, data=bytes(66))])[0])
    return UNSUPPORTED


@case
def case_k_quant_row_not_multiple_of_256(p):
    # 128 values would be a whole number of bytes (72) but not of Q4_K super-blocks.
    _write(p, build_gguf([], [_one_tensor(dims=[128, 2], type="Q4_K", data=bytes(144))])[0] + bytes(64))
    return INVALID_FILE


@case
def case_k_quant_data_shorter_than_shape(p):
    # [256, 3] Q6_K needs 3 × 210 bytes; the file ends after 2 blocks.
    _write(p, build_gguf([], [_one_tensor(dims=[256, 3], type="Q6_K", data=bytes(420))])[0])
    return INVALID_FILE


@case
def case_q5_0_row_not_multiple_of_32(p):
    _write(p, build_gguf([], [_one_tensor(dims=[48, 2], type="Q5_0", data=bytes(66))])[0] + bytes(64))
    return INVALID_FILE


@case
def case_duplicate_tensor_names(p):
    _write(p, build_gguf([], [_one_tensor(name="w"), _one_tensor(name="w")])[0])
    return INVALID_FILE


@case
def case_tensor_name_past_eof(p):
    raw_info = enc_u64(500) + b"blk.0"
    _write(p, b"GGUF" + enc_u32(3) + enc_u64(1) + enc_u64(0) + raw_info + bytes(30))
    return INVALID_FILE


@case
def case_missing_file(p):
    return IO  # nothing written: the path does not exist


@case
def case_directory(p):
    p.mkdir()
    return IO


def malformed_cases() -> list[Case]:
    return list(_CASES)


def truncated_cases() -> list[tuple[str, Callable[[Path], str]]]:
    """The valid sample cut to every length from 0 to size-1. Each must fail
    as INVALID_FILE: the sample's last tensor ends exactly at the end."""
    data, _ = valid_sample()

    def make(n: int) -> Callable[[Path], str]:
        def write(p: Path) -> str:
            _write(p, data[:n])
            return INVALID_FILE
        return write

    return [(f"truncated_at_{n}", make(n)) for n in range(len(data))]


def write_all(directory: Path) -> list[tuple[str, Path, str]]:
    """Writes every malformed and truncated case; returns (name, path, expected)."""
    directory.mkdir(parents=True, exist_ok=True)
    result = []
    for fn in malformed_cases():
        path = directory / (fn.__name__ + ".gguf")
        result.append((fn.__name__, path, fn(path)))
    for name, fn in truncated_cases():
        path = directory / (name + ".gguf")
        result.append((name, path, fn(path)))
    return result
