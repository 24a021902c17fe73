"""`swiftlet quantize --type T` for T = Q4_0, Q4_1, Q5_0, Q5_1 (and Q8_0, the
default), against references independent of Swiftlet:

  - the `gguf` PyPI package's quantizer (`gguf.quants.quantize`, a numpy port
    of ggml's quantize_row_*_ref), itself first checked block by block against
    a scalar transliteration of ggml's C reference in this file;
  - the bytes llama.cpp's own quantizer writes (llama_model_quantize from
    llama-cpp-python), only when the cached venv of `make bench` exists;
  - for every type, the numpy reference forward pass (reference_llama.py)
    over the gguf-dequantized weights of the file Swiftlet loads.
"""
from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

import gguf
from gguf import GGMLQuantizationType as QT
from gguf import GGUFValueType as VT

import gguf_corpus as corpus
import make_tiny_models as mk
import reference_llama as R
import swiftlet_ctypes as sw
from llamacpp_compare import llama_venv_python
from test_cli import check_inspect
from test_gguf_formats import q8_edge_rows
from test_reference_forward import MAIN, N_VOCAB, assert_logits

CLI = os.environ.get("SWIFTLET_CLI") or os.path.join(sw.REPO_ROOT, "build", "bin", "swiftlet")

NEW_TYPES = [QT.Q4_0, QT.Q4_1, QT.Q5_0, QT.Q5_1]
ALL_TYPES = NEW_TYPES + [QT.Q8_0]
# llama.h: LLAMA_FTYPE_MOSTLY_Q4_0 = 2, _Q4_1 = 3, _Q8_0 = 7, _Q5_0 = 8, _Q5_1 = 9
FILE_TYPE = {QT.Q4_0: 2, QT.Q4_1: 3, QT.Q8_0: 7, QT.Q5_0: 8, QT.Q5_1: 9}
BLOCK_BYTES = {QT.Q4_0: 18, QT.Q4_1: 20, QT.Q5_0: 22, QT.Q5_1: 24, QT.Q8_0: 34}

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's overflow notes on extreme rows


@pytest.fixture(scope="module")
def cli():
    if not os.access(CLI, os.X_OK):
        pytest.fail(f"swiftlet CLI not found at {CLI}: build it or set SWIFTLET_CLI", pytrace=False)
    return CLI


def quantize(cli, src, dst, qtype: QT | None) -> None:
    args = [cli, "quantize", str(src), str(dst)] + ([] if qtype is None else ["--type", qtype.name.lower()])
    p = subprocess.run(args, capture_output=True, timeout=120)
    assert p.returncode == 0 and not p.stdout, p.stderr.decode(errors="replace")


# ------------------------------------------------- ggml's C reference, by hand


def c_int8(v: np.float32) -> int:
    """(int8_t)v as x86-64 builds of ggml compute it: truncation to a 32-bit
    integer (0x80000000 when NaN or out of range), then the low byte."""
    i = int(v) if -2.0 ** 31 <= v < 2.0 ** 31 else -(2 ** 31)
    return ((i + 128) & 0xFF) - 128


def f16_bytes(v: np.float32) -> bytes:
    return np.array([v], np.float32).astype("<f2").tobytes()


def ggml_block(x: np.ndarray, qtype: QT) -> bytes:
    """One 32-value block as quantize_row_{q4_0,q4_1,q5_0,q5_1}_ref writes
    it, one float32 operation at a time in the C source's order."""
    f = np.float32
    assert x.dtype == np.float32 and x.shape == (32,)
    symmetric = qtype in (QT.Q4_0, QT.Q5_0)
    levels = 16 if qtype in (QT.Q4_0, QT.Q4_1) else 32
    if symmetric:  # amax = 0, max = 0; if (amax < fabsf(v)) { amax = fabsf(v); max = v; }
        amax = mx = f(0)
        for v in x:
            if amax < abs(v):
                amax, mx = abs(v), v
        d = f(mx / f(-(levels // 2)))
        offset = f(levels // 2 + 0.5)
        lo = f(0)
    else:  # min = FLT_MAX, max = -FLT_MAX; if (v < min) ...; if (v > max) ...
        lo, mx = f(np.finfo(np.float32).max), f(-np.finfo(np.float32).max)
        for v in x:
            if v < lo:
                lo = v
            if v > mx:
                mx = v
        d = f(f(mx - lo) / f(levels - 1))
        offset = f(0.5)
    inv = f(f(1) / d) if d != 0 else f(0)
    codes = []
    for v in x:
        scaled = f(f(v - lo) * inv) if not symmetric else f(v * inv)
        c = c_int8(f(scaled + offset))
        if qtype != QT.Q5_1:  # MIN(15 or 31, (int8_t)...); Q5_1 has no MIN
            c = min(levels - 1, c)
        codes.append(c & 0xFF)  # to uint8_t
    head = f16_bytes(d) + (b"" if symmetric else f16_bytes(lo))
    if levels == 16:  # qs[j] = xi0; qs[j] |= xi1 << 4
        return head + bytes((codes[j] | (codes[j + 16] << 4)) & 0xFF for j in range(16))
    qh = 0
    for j in range(16):
        qh |= ((codes[j] & 0x10) >> 4) << j
        qh |= ((codes[j + 16] & 0x10) >> 4) << (j + 16)
    qs = bytes((codes[j] & 0x0F) | ((codes[j + 16] & 0x0F) << 4) for j in range(16))
    return head + qh.to_bytes(4, "little") + qs


def edge_rows() -> dict[str, np.ndarray]:
    """Rows of 32-multiples: test_gguf_formats' Q8_0 edge rows plus the cases
    of the 4- and 5-bit scans (signed maximum, min/max, the +8.5 offset)."""
    rng = np.random.default_rng(11)
    f = np.float32
    rows = {k: v for k, v in q8_edge_rows().items() if k not in ("normal", "uniform_wide", "every_exponent")}
    rows["normal"] = rng.standard_normal(32 * 64).astype(f)
    rows["uniform_wide"] = (rng.uniform(-1, 1, 32 * 64) * 10.0 ** rng.integers(-30, 30, 32 * 64)).astype(f)
    rows["every_exponent"] = (rng.uniform(-1, 1, (277, 32)) * np.exp2(np.arange(-149, 128))[:, None]).astype(f).reshape(-1)
    one_huge = (rng.standard_normal(64) * 0.1).astype(f)
    one_huge[5], one_huge[40] = f(3e38), f(-2.5e38)
    rows["one_huge_value"] = one_huge
    neg = rng.standard_normal(64).astype(f)
    neg[7], neg[50] = f(-9.0), f(-9.5)
    rows["negative_max"] = neg
    rows["denormals"] = (rng.choice([-1, 1], 64) * rng.integers(1, 2 ** 23, 64) * 2.0 ** -149).astype(f)
    rows["denormal_and_normal_blocks"] = np.concatenate([rows["denormals"][:32], rng.standard_normal(32).astype(f)])
    rows["smallest_normals"] = (rng.standard_normal(64) * 2.0 ** -125).astype(f)  # id overflows to infinity
    tie = rng.standard_normal(64).astype(f)
    tie[[3, 9]], tie[[33, 60]] = [2.5, -2.5], [-3.0, 3.0]  # |max| ties: the first one is the signed max
    rows["magnitude_ties"] = tie
    rows["integers_signed"] = np.tile(np.arange(-8, 8, 0.5, dtype=f), 2)  # x*id + 8.5 on exact halves
    rows["integers_16"] = np.tile(np.arange(-16, 16, dtype=f), 2)
    rows["integers_unsigned"] = np.tile(np.arange(0, 32, dtype=f), 2)  # (x-min)*id + 0.5 on halves
    rows["constant_negative"] = np.full(64, -3.0, f)
    rows["all_positive"] = rng.uniform(1, 2, 64).astype(f)
    rows["fp16_min_overflow"] = (f(1e6) + rng.uniform(0, 1e5, 64)).astype(f)
    rows["infinities"] = np.array([-np.inf] + [2.0] * 15 + [np.inf] + [-1.0] * 15, f)
    rows["plus_infinity_block"] = np.full(32, np.inf, f)
    rows["minus_infinity_block"] = np.full(32, -np.inf, f)
    rows["max_minus_min_overflows"] = np.array([3e38, -3e38, 1.0, -1.0] * 8, f)
    return rows


def ported_departs(block: np.ndarray, qtype: QT) -> bool:
    """The blocks where gguf's numpy port departs from ggml's C reference:
      - Q4_0 / Q5_0, a block of zeros: the C scan keeps its initial max = +0.0,
        so d = +0.0 / -8 = -0.0 (fp16 0x8000); numpy's argmax takes the first
        value, and a -0.0 there gives d = +0.0;
      - Q4_1 / Q5_1, a block of only +inf (or only -inf): the C scan starts
        from min = FLT_MAX, max = -FLT_MAX and no value passes the strict
        test, so d = (inf - FLT_MAX) / 15 = inf; numpy's inf - inf is NaN."""
    if qtype in (QT.Q4_0, QT.Q5_0):
        return bool(np.all(block == 0))
    return bool(np.all(block == np.inf) or np.all(block == -np.inf))


def reference_quantize(x: np.ndarray, qtype: QT) -> np.ndarray:
    """gguf.quants.quantize of rows x (row length a multiple of 32), with the
    blocks where it departs from ggml's C reference (ported_departs) taken
    from the C transliteration instead."""
    out = gguf.quants.quantize(x, qtype)
    if qtype in NEW_TYPES:
        blocks = out.reshape(-1, BLOCK_BYTES[qtype])
        for i, block in enumerate(np.asarray(x, np.float32).reshape(-1, 32)):
            if ported_departs(block, qtype):
                blocks[i] = np.frombuffer(ggml_block(block, qtype), np.uint8)
    return out


@pytest.mark.parametrize("qtype", NEW_TYPES, ids=lambda t: t.name)
def test_gguf_package_quantizer_is_ggml_reference(qtype):
    """The reference below is only as good as gguf's port: check it against
    the C reference transliterated above, on every edge row, block by block."""
    n_blocks = 0
    departures = set()
    for name, row in edge_rows().items():
        blocks = row.reshape(-1, 32)
        ported = gguf.quants.quantize(blocks, qtype).reshape(len(blocks), BLOCK_BYTES[qtype])
        mended = reference_quantize(blocks, qtype).reshape(len(blocks), BLOCK_BYTES[qtype])
        # the scalar code is slow: at most 256 blocks per row, spread over it
        for i in np.unique(np.linspace(0, len(blocks) - 1, min(256, len(blocks))).astype(int)):
            c = ggml_block(blocks[i], qtype)
            assert mended[i].tobytes() == c, (name, i, blocks[i])
            if ported[i].tobytes() != c:
                departures.add(name)
            n_blocks += 1
    assert n_blocks > 400
    # the departures reference_quantize mends are real (and the only ones)
    assert departures == ({"negative_zeros"} if qtype in (QT.Q4_0, QT.Q5_0)
                          else {"plus_infinity_block", "minus_infinity_block"})


# ------------------------------------------------------ byte-exact files


@pytest.fixture(scope="module")
def edge_file(tmp_path_factory):
    """A GGUF of F32 tensors: every edge row, plus the shapes that stay F32."""
    d = tmp_path_factory.mktemp("quant-edges")
    rng = np.random.default_rng(12)
    tensors = []
    for name, row in edge_rows().items():
        width = 64 if row.size % 64 == 0 else 32
        tensors.append(corpus.Tensor(f"edge.{name}", [width, row.size // width], "F32", row.astype("<f4").tobytes()))
    extra = [("three_dims", [32, 3, 2]), ("vector", [64]), ("odd_rows", [40, 3]), ("row_of_48", [48, 2])]
    for name, dims in extra:
        tensors.append(corpus.Tensor(name, dims, "F32", corpus.random_tensor_bytes(dims, "F32", rng)))
    kvs = [("general.architecture", "string", "llama"), ("general.name", "string", "edges")]
    path = d / "edges.gguf"
    path.write_bytes(corpus.build_gguf(kvs, tensors)[0])
    return str(path)


@pytest.fixture(scope="module")
def f32_model(tmp_path_factory):
    """A tiny untied llama model in F32 (token_embd and output both present)."""
    d = tmp_path_factory.mktemp("quant-src")
    spec = mk.TinySpec("quant-src-f32-untied", QT.F32, n_layer=2, n_head_kv=2, tied=False, seed=31)
    return mk.write_model(spec, str(d / "src.gguf"))


def expected_tensor(t, qtype: QT) -> tuple[QT, bytes]:
    """What `quantize --type qtype` must write for tensor t of the source."""
    dims = [int(n) for n in t.shape]
    raw = np.asarray(t.data).view(np.uint8).reshape(-1)
    if len(dims) >= 2 and dims[0] % 32 == 0:
        if t.tensor_type == qtype:
            return qtype, raw.tobytes()
        floats = gguf.quants.dequantize(raw, t.tensor_type).reshape(-1, dims[0]).astype(np.float32)
        return qtype, reference_quantize(floats, qtype).tobytes()
    return QT.F32, gguf.quants.dequantize(raw, t.tensor_type).reshape(-1).astype("<f4").tobytes()


def check_quantized_file(src: str, dst: str, qtype: QT) -> dict[QT, int]:
    """Metadata as in src plus general.file_type, tensors as expected_tensor.
    Returns how many tensors of each type the output has."""
    a, b = gguf.GGUFReader(src), gguf.GGUFReader(dst)
    ka = [k for k in a.fields if not k.startswith("GGUF.")]
    kb = [k for k in b.fields if not k.startswith("GGUF.")]
    assert kb == ka + ([] if "general.file_type" in ka else ["general.file_type"])
    ft = b.fields["general.file_type"]
    assert ft.types == [VT.UINT32] and ft.contents() == FILE_TYPE[qtype]
    for k in ka:
        if k != "general.file_type":
            assert [p.tobytes() for p in a.fields[k].parts[2:]] == [p.tobytes() for p in b.fields[k].parts[2:]], k
    assert [t.name for t in b.tensors] == [t.name for t in a.tensors]
    counts: dict[QT, int] = {}
    for ta, tb in zip(a.tensors, b.tensors):
        want_type, want_bytes = expected_tensor(ta, qtype)
        assert tb.tensor_type == want_type, ta.name
        assert [int(n) for n in tb.shape] == [int(n) for n in ta.shape], ta.name
        got = np.asarray(tb.data).view(np.uint8).tobytes()
        if got != want_bytes:
            g = np.frombuffer(got, np.uint8)
            w = np.frombuffer(want_bytes, np.uint8)
            at = np.flatnonzero(g != w) if len(g) == len(w) else []
            pytest.fail(f"{ta.name}: {len(at)} bytes differ from gguf.quants.quantize, first at {list(at[:8])}")
        counts[want_type] = counts.get(want_type, 0) + 1
    return counts


@pytest.mark.parametrize("qtype", ALL_TYPES, ids=lambda t: t.name)
def test_edge_rows_bit_exact(cli, edge_file, tmp_path, qtype):
    dst = tmp_path / "out.gguf"
    quantize(cli, edge_file, dst, qtype)
    counts = check_quantized_file(edge_file, str(dst), qtype)
    assert counts == {qtype: len(edge_rows()) + 1, QT.F32: 3}  # three_dims is quantized; the rest stay F32
    check_inspect(cli, str(dst))  # Swiftlet reads the file back (Q5 tensors included)


@pytest.mark.parametrize("qtype", NEW_TYPES, ids=lambda t: t.name)
def test_tiny_model_bit_exact(cli, f32_model, tmp_path, qtype):
    dst = tmp_path / "out.gguf"
    quantize(cli, f32_model, dst, qtype)
    counts = check_quantized_file(f32_model, str(dst), qtype)
    # 7 matrices per layer, token_embd and output (untied): all of them
    assert counts == {qtype: 2 * 7 + 2, QT.F32: 2 * 2 + 1}
    names = {t.name: t.tensor_type for t in gguf.GGUFReader(str(dst)).tensors}
    assert names["token_embd.weight"] == qtype and names["output.weight"] == qtype


# Other input types are decoded (as gguf.quants.dequantize does) and re-quantized;
# a tensor already of the target type is copied.
REQUANTIZE_SOURCES = ["tiny-f16-gqa2-untied", "tiny-bf16-gqa2-tied", "tiny-q8_0-mqa-tied",
                      "tiny-q4_0-gqa2-untied", "tiny-q4_1-mqa-untied"]


@pytest.mark.parametrize("qtype", NEW_TYPES, ids=lambda t: t.name)
@pytest.mark.parametrize("source", REQUANTIZE_SOURCES)
def test_other_input_types_requantized(cli, tiny_paths, tmp_path, source, qtype):
    dst = tmp_path / "out.gguf"
    quantize(cli, tiny_paths[source], dst, qtype)
    check_quantized_file(tiny_paths[source], str(dst), qtype)


@pytest.mark.parametrize("qtype", NEW_TYPES, ids=lambda t: t.name)
def test_same_type_input_is_copied(cli, f32_model, tmp_path, qtype):
    """Quantizing a T file to T again changes nothing (Q5 blocks included,
    which are copied, not decoded)."""
    once, twice = tmp_path / "once.gguf", tmp_path / "twice.gguf"
    quantize(cli, f32_model, once, qtype)
    quantize(cli, once, twice, qtype)
    assert once.read_bytes() == twice.read_bytes()


def test_default_type_is_q8_0(cli, f32_model, tmp_path):
    plain, named = tmp_path / "plain.gguf", tmp_path / "named.gguf"
    quantize(cli, f32_model, plain, None)
    quantize(cli, f32_model, named, QT.Q8_0)
    assert plain.read_bytes() == named.read_bytes()
    check_quantized_file(f32_model, str(plain), QT.Q8_0)


def test_type_names_are_case_insensitive(cli, f32_model, tmp_path):
    lower, upper = tmp_path / "lower.gguf", tmp_path / "upper.gguf"
    quantize(cli, f32_model, lower, QT.Q5_1)
    p = subprocess.run([cli, "quantize", f32_model, str(upper), "--type", "Q5_1"], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert lower.read_bytes() == upper.read_bytes()


# ---------------------------------------------- Q4 files run in Swiftlet


@pytest.mark.parametrize("qtype", NEW_TYPES, ids=lambda t: t.name)
def test_quantized_model_runs_like_reference(cli, lib, f32_model, tmp_path, make_context, qtype):
    """The quantized file loads, and its logits agree with the numpy reference
    forward pass over the file's gguf-dequantized weights."""
    dst = str(tmp_path / f"{qtype.name}.gguf")
    quantize(cli, f32_model, dst, qtype)
    ref = R.ReferenceLlama(dst)
    assert ref.types["token_embd.weight"] == qtype and ref.types["output.weight"] == qtype
    expected = R.expected_logits(ref, MAIN)
    model = sw.model_load(dst, n_threads=2)
    try:
        ctx = make_context(model, n_ctx=64)
        got = sw.eval_all_logits(ctx, MAIN, N_VOCAB)
        assert_logits(got, expected, list(range(len(MAIN))), f"{qtype.name} file")
        # and the rounding matters: the F32 model's reference is measurably elsewhere
        exact = R.expected_logits(R.ReferenceLlama(f32_model), MAIN).exact
        assert np.max(np.abs(got - exact)) > expected.tol_int8
    finally:
        lib.swiftlet_model_free(model)


# ---------------------------------------- llama.cpp's own quantizer (optional)

LLAMA_QUANTIZE = """
import ctypes, sys
import llama_cpp
params = llama_cpp.llama_model_quantize_default_params()
params.ftype = int(sys.argv[3])
params.pure = True          # every quantizable tensor the chosen type (no Q6_K output)
params.nthread = 1
sys.exit(llama_cpp.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), ctypes.byref(params)))
"""


@pytest.fixture(scope="module")
def edge_model(tmp_path_factory):
    """The tiny F32 model with edge rows written into its matrices: a file
    llama.cpp's quantizer accepts, with the rows that matter."""
    d = tmp_path_factory.mktemp("quant-edge-model")
    spec = mk.TinySpec("quant-edge-model", QT.F32, n_layer=2, n_head_kv=2, tied=False, seed=32)
    w = mk.random_weights(spec)
    # llama.cpp refuses to write blocks whose fp16 scale or minimum is not
    # finite ("quantized data validation failed"): no rows that overflow them.
    flat = np.concatenate([r for r in edge_rows().values() if np.all(np.isfinite(r)) and np.max(np.abs(r)) < 6e4])
    rows = np.concatenate([flat, np.zeros(-flat.size % 64, np.float32)]).reshape(-1, 64)
    emb = w["token_embd.weight"]
    assert len(rows) < emb.shape[0]
    emb[: len(rows)] = rows
    w["blk.1.ffn_gate.weight"][:16] = rows[-16:]
    return mk.write_model(spec, str(d / "edge-model.gguf"), weights=w)


@pytest.mark.parametrize("qtype", ALL_TYPES, ids=lambda t: t.name)
def test_llama_cpp_quantizer_agrees(cli, edge_model, tmp_path, qtype):
    llama_python, venv = llama_venv_python()
    if llama_python is None:
        pytest.skip(f"llama-cpp-python not installed in {venv} (make bench or make test-llamacpp installs it)")
    theirs, ours = tmp_path / "llama.gguf", tmp_path / "swiftlet.gguf"
    p = subprocess.run([llama_python, "-c", LLAMA_QUANTIZE, edge_model, str(theirs), str(FILE_TYPE[qtype])],
                       capture_output=True, timeout=600)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-2000:]
    quantize(cli, edge_model, ours, qtype)
    a = {t.name: t for t in gguf.GGUFReader(str(theirs)).tensors}
    b = {t.name: t for t in gguf.GGUFReader(str(ours)).tensors}
    assert a.keys() == b.keys()
    compared = 0
    for name, tb in b.items():
        ta = a[name]
        assert ta.tensor_type == tb.tensor_type, (name, ta.tensor_type, tb.tensor_type)
        assert np.asarray(ta.data).view(np.uint8).tobytes() == np.asarray(tb.data).view(np.uint8).tobytes(), name
        compared += tb.tensor_type == qtype
    assert compared == 2 * 7 + 2
    assert gguf.GGUFReader(str(theirs)).fields["general.file_type"].contents() == FILE_TYPE[qtype]
