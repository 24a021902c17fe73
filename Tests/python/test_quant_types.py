"""The tensor types Swiftlet decodes and converts to Q8_0 at load (Q5_0, Q5_1,
Q2_K…Q6_K, IQ4_NL, IQ4_XS): decoding bit for bit as the gguf package's
`gguf.quants.dequantize` (numpy ports of ggml's dequantize_row_*), through the
row decoder and through GGUF files, and clean errors for files whose shapes do
not fit the blocks. (The tiny models stored in these types run against the
numpy reference in test_reference_forward.py, QUANT_SPECS.)

Drivers: gguf-inspect (Tests/GGUFInspect) for rows and tensors; the C API
(libswiftlet) for loading files as models.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import gguf
from gguf import GGMLQuantizationType as QT
from gguf import quants

import gguf_corpus as corpus
import make_tiny_models as mk
import swiftlet_ctypes as sw
from test_gguf_formats import InspectBackend, _find_inspect

NEW_TYPES = ["Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"]

# fp16 bit patterns for the d / dmin fields: zeros, the smallest subnormal,
# the smallest normal, ±1, the fp16 maximum, infinities and NaNs.
EXTREME_HALVES = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x0400, 0x8400, 0x3C00, 0xBC00, 0x7BFF, 0xFBFF,
                           0x7C00, 0xFC00, 0x7E00, 0xFE01, 0x3555, 0x1000], dtype="<u2")


@pytest.fixture(scope="module")
def inspect():
    exe = _find_inspect()
    if not exe:
        pytest.skip("the driver gguf-inspect is not available ($SWIFTLET_GGUF_INSPECT)")
    return InspectBackend(exe)


def reference(raw: bytes, tname: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        return quants.dequantize(np.frombuffer(raw, np.uint8), QT[tname]).reshape(-1).astype(np.float32)


def assert_same_bits(mine: np.ndarray, ref: np.ndarray):
    assert mine.shape == ref.shape
    same = (mine.view(np.uint32) == ref.view(np.uint32)) | (np.isnan(mine) & np.isnan(ref))
    bad = np.flatnonzero(~same)
    assert bad.size == 0, f"{bad.size} values differ, first at {bad[:8]}: {mine[bad[:4]]} vs {ref[bad[:4]]}"


def test_type_table_matches_gguf_package():
    """ids, block sizes and bytes per block as gguf (from ggml.h / ggml-common.h)."""
    for tname in NEW_TYPES:
        type_id, block, size = corpus.GGML_TYPES[tname]
        assert QT[tname].value == type_id
        assert gguf.GGML_QUANT_SIZES[QT[tname]] == (block, size)


@pytest.mark.parametrize("tname", NEW_TYPES)
def test_random_blocks_with_extreme_scales(inspect, tmp_path, tname):
    """Random bytes everywhere (sub-block scales, mins, quants, high bits),
    with d and dmin drawn from EXTREME_HALVES and random halves."""
    type_id, block, size = corpus.GGML_TYPES[tname]
    rng = np.random.default_rng(100 + type_id)
    n = 2048
    blocks = rng.integers(0, 256, (n, size), dtype=np.uint8)
    for k, at in enumerate(corpus.HALF_FIELDS[tname]):
        halves = rng.standard_normal(n).astype("<f2")
        halves[: n // 2] = np.resize(EXTREME_HALVES, n // 2).view("<f2")
        rng.shuffle(halves) if k else None  # d and dmin combine differently
        blocks[:, at:at + 2] = halves.reshape(n, 1).view(np.uint8)
    raw = blocks.tobytes()
    mine = inspect.dequantize(type_id, raw, n * block, tmp_path)
    ref = reference(raw, tname)
    assert np.isfinite(ref).sum() > n * block // 4  # the comparison is not all NaN
    assert_same_bits(mine, ref)


@pytest.mark.parametrize("tname", NEW_TYPES)
def test_every_fp16_scale(inspect, tmp_path, tname):
    """Every half bit pattern as d (dmin / m run backwards through them)."""
    type_id, block, size = corpus.GGML_TYPES[tname]
    halves = np.arange(65536, dtype=np.uint32).astype("<u2")
    blocks = np.random.default_rng(7).integers(0, 256, (65536, size), dtype=np.uint8)
    fields = corpus.HALF_FIELDS[tname]
    blocks[:, fields[0]:fields[0] + 2] = halves.view(np.uint8).reshape(-1, 2)
    if len(fields) > 1:
        blocks[:, fields[1]:fields[1] + 2] = halves[::-1].copy().view(np.uint8).reshape(-1, 2)
    raw = blocks.tobytes()
    assert_same_bits(inspect.dequantize(type_id, raw, 65536 * block, tmp_path), reference(raw, tname))


def write_gguf_with(tmp_path: Path, tname: str, rng) -> tuple[Path, list[str]]:
    """A GGUF written by the gguf package with tensors of `tname` in 2 and 3
    dimensions, random bytes with fp16 scales of ordinary size."""
    type_id, block, size = corpus.GGML_TYPES[tname]
    path = tmp_path / f"{tname}.gguf"
    writer = gguf.GGUFWriter(str(path), "test")
    names = []
    for name, shape in [("a", (3, 2 * block)), ("b", (2, 2, block)), ("c", (1, 4 * block))]:  # numpy order
        raw = corpus.random_tensor_bytes([int(np.prod(shape))], tname, rng)
        blocks = np.frombuffer(raw, np.uint8).reshape(*shape[:-1], shape[-1] // block * size)
        writer.add_tensor(name, blocks, raw_dtype=QT[tname])
        names.append(name)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path, names


@pytest.mark.parametrize("tname", NEW_TYPES)
def test_gguf_file_tensors_decode_like_gguf_package(inspect, tmp_path, tname):
    path, names = write_gguf_with(tmp_path, tname, np.random.default_rng(corpus.GGML_TYPES[tname][0]))
    reader = gguf.GGUFReader(str(path))
    listed = {t["tensor"]: t for t in inspect.tensors(path)}
    for t in reader.tensors:
        info = listed[t.name]
        assert info["type"] == t.tensor_type.name == tname
        assert info["dims"] == [int(d) for d in t.shape]
        assert info["bytes"] == int(t.n_bytes)
        out = tmp_path / f"{t.name}.f32"
        code, lines = inspect._run("tensor", str(path), t.name, str(out))
        assert code == 0, lines
        mine = np.frombuffer(out.read_bytes(), "<f4")
        assert_same_bits(mine, reference(np.asarray(t.data).tobytes(), tname))


# ------------------------------------------------------------ hostile files

def load_status(path: Path) -> tuple[int, str]:
    lib = sw.load()
    import ctypes
    out = ctypes.c_void_p()
    status = lib.swiftlet_model_load(os.fsencode(str(path)), None, ctypes.byref(out))
    if status == sw.OK:
        lib.swiftlet_model_free(out)
        return status, ""
    return status, sw.last_error()


SPEC_256 = mk.SPECS_BY_NAME["tiny-q4_k-gqa2-hd64"]


def test_k_quant_model_with_row_not_multiple_of_256_is_invalid_file(lib, tmp_path):
    """A Q4_K tensor whose rows are 128 values: INVALID_FILE naming the block size."""
    path = tmp_path / "ok.gguf"
    mk.write_model(SPEC_256, str(path))
    reader = gguf.GGUFReader(str(path))
    data = bytearray(path.read_bytes())
    # blk.0.attn_q.weight is Q4_K [256, 256]: patch its tensor info's dims to [128, 512].
    t = next(t for t in reader.tensors if t.name == "blk.0.attn_q.weight")
    name = b"blk.0.attn_q.weight"
    at = data.index(len(name).to_bytes(8, "little") + name) + 8 + len(name)
    assert int.from_bytes(data[at:at + 4], "little") == 2
    assert int.from_bytes(data[at + 4:at + 12], "little") == 256
    data[at + 4:at + 12] = (128).to_bytes(8, "little")
    data[at + 12:at + 20] = (512).to_bytes(8, "little")
    assert t.tensor_type == QT.Q4_K
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(bytes(data))
    status, message = load_status(bad)
    assert status == sw.ERROR_INVALID_FILE, message
    assert "not a multiple of the Q4_K block size 256" in message


def test_k_quant_model_cut_short_is_invalid_file(lib, tmp_path):
    path = tmp_path / "ok.gguf"
    mk.write_model(SPEC_256, str(path))
    data = path.read_bytes()
    assert load_status(path)[0] == sw.OK
    for cut in (len(data) - 1, len(data) - 210, len(data) // 2 + 7):
        bad = tmp_path / f"cut{cut}.gguf"
        bad.write_bytes(data[:cut])
        status, message = load_status(bad)
        assert status == sw.ERROR_INVALID_FILE, (cut, message)


@pytest.mark.parametrize("tname", ["Q4_K", "Q6_K", "Q5_0", "IQ4_XS"])
def test_non_finite_scales_load_and_run_without_trapping(lib, tmp_path, tname):
    """Every block's d set to inf or NaN: the model loads and evaluates (the
    values are whatever non-finite arithmetic makes of them), no trap."""
    spec = next(s for s in mk.QUANT_SPECS if s.wtype == QT[tname])
    path = tmp_path / "nan.gguf"
    mk.write_model(spec, str(path))
    reader = gguf.GGUFReader(str(path))
    data = bytearray(path.read_bytes())
    _, block, size = corpus.GGML_TYPES[tname]
    d_at = corpus.HALF_FIELDS[tname][0]
    for k, t in enumerate(t for t in reader.tensors if t.tensor_type == QT[tname]):
        for b in range(int(t.n_bytes) // size):
            at = int(t.data_offset) + b * size + d_at
            data[at:at + 2] = (0x7E00 if (b + k) % 2 else 0x7C00).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    model = sw.model_load(str(path), n_threads=2)
    try:
        ctx = sw.context_create(model, n_threads=2, n_ctx=64)
        try:
            sw.eval_tokens(ctx, [mk.VOCAB.bos_id, 40, 41])  # a prompt (batched products)
            sw.eval_tokens(ctx, [42])                        # and one token
            assert sw.logits(ctx, mk.VOCAB.n_vocab).shape == (mk.VOCAB.n_vocab,)
        finally:
            lib.swiftlet_context_free(ctx)
    finally:
        lib.swiftlet_model_free(model)


def test_unsupported_type_message_lists_supported_types(lib, tmp_path):
    path = tmp_path / "tq2.gguf"
    import dataclasses
    mk.write_model(dataclasses.replace(SPEC_256, name="tq2", wtype=QT.TQ2_0), str(path))
    status, message = load_status(path)
    assert status == sw.ERROR_UNSUPPORTED
    assert "TQ2_0" in message
    for tname in ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1"] + NEW_TYPES:
        assert tname in message, message
