"""Every weight format's row product (Q8_0, Q4_x, Q5_x, IQ4_NL, the k-quants,
IQ4_XS), through each kernel set this CPU can run (portable, AVX2, AVX-512
VNNI), against references computed from the file's bytes with numpy:

  - the same product from the equations: gguf.quants.dequantize(W) times the
    activations quantized as the format needs (per 32 values, or per 256 as
    ggml's Q8_K: reference_llama.quantize_activations[_q8_k]), in float64.
    Inside a block the kernels sum integers exactly, so they differ from it
    only by float32 summation order (1e-5 of Σ|w·x|), plus one activation
    quantum where a value sits on a rounding tie;
  - the plain product W·x in float64: within the int8 error bound, since
    each activation moves by at most half its block's scale.

The real Gemma 3 270M Q4_K_M file (scripts/fetch-gemma3.sh; skipped when
$SWIFTLET_MODEL_GEMMA3 is unset) carries Q4_K, Q6_K, Q5_0 and Q8_0 tensors:
one block matrix of each type is multiplied the same way, and decoded bit
for bit as gguf does. Driver: gguf-inspect product / tensor (KernelProbe).
"""
from __future__ import annotations

import os
import subprocess
import json
from pathlib import Path

import numpy as np
import pytest

import gguf
from gguf import GGMLQuantizationType as QT
from gguf import quants

import gguf_corpus as corpus
import reference_llama as R
from test_gguf_formats import _find_inspect

FORMATS = ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"]
SUPER_BLOCK_FORMATS = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS"}

# name -> (environment, prefix of the set gguf-inspect reports running)
KERNEL_SETS = {
    "portable": ({"SWIFTLET_PORTABLE_KERNELS": "1"}, "portable"),
    "avx2": ({"SWIFTLET_KERNELS": "avx2"}, "avx2"),
    "avx512-vnni": ({}, "avx512-vnni"),
}
RELATIVE_ORDER = 1e-5  # float32 accumulation of up to a few thousand terms


@pytest.fixture(scope="module")
def inspect_exe():
    exe = _find_inspect()
    if not exe:
        pytest.skip("the driver gguf-inspect is not available ($SWIFTLET_GGUF_INSPECT)")
    return str(exe)


def product(exe: str, kernel_set: str, path: Path, name: str, x: np.ndarray, tmp: Path) -> np.ndarray:
    """gguf-inspect product under `kernel_set`; skips when this CPU cannot run that set."""
    env_extra, prefix = KERNEL_SETS[kernel_set]
    src, dst = tmp / "x.f32", tmp / "y.f32"
    x.astype("<f4").tofile(src)
    env = {k: v for k, v in os.environ.items() if k not in ("SWIFTLET_PORTABLE_KERNELS", "SWIFTLET_KERNELS")}
    proc = subprocess.run([exe, "product", str(path), name, str(src), str(dst), str(x.shape[0])],
                          capture_output=True, env={**env, **env_extra}, timeout=120)
    lines = [json.loads(l) for l in proc.stdout.decode().splitlines() if l.strip()]
    assert proc.returncode == 0, lines or proc.stderr.decode()
    if not lines[-1]["kernels"].startswith(prefix):
        pytest.skip(f"this CPU runs {lines[-1]['kernels']}, not {kernel_set}")
    return np.fromfile(dst, dtype="<f4").reshape(x.shape[0], -1).astype(np.float64)


def check_product(got: np.ndarray, w: np.ndarray, x: np.ndarray, tname: str, what: str):
    """got (tokens, rows) against W (rows, columns) and x (tokens, columns)."""
    quantize = R.quantize_activations_q8_k if tname in SUPER_BLOCK_FORMATS else R.quantize_activations
    q, d = quantize(x.astype(np.float32))
    block = q.shape[2]
    x_hat = (q * d.astype(np.float64)[:, :, None]).reshape(x.shape)
    scale = np.repeat(np.abs(d.astype(np.float64)), block, axis=1)  # each activation's block scale
    magnitude = np.abs(x_hat) @ np.abs(w).T  # Σ|w·x̂| per output
    # One activation quantum for values within a hair of a rounding tie, which
    # the kernel's quantizer (x·(1/d) in float32, SIMD) may round the other way.
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(x.astype(np.float64)) / scale
    near_tie = np.abs(ratio - np.floor(ratio) - 0.5) < 1e-4
    tie = (np.where(near_tie, scale, 0)) @ np.abs(w).T
    exact = x_hat @ w.T
    err = np.abs(got - exact)
    limit = RELATIVE_ORDER * magnitude + tie
    assert np.all(err <= limit), f"{what}: vs the same product in float64, worst {err.max():.3g} " \
                                 f"(limit there {limit.flat[err.argmax()]:.3g})"
    bound = (scale / 2) @ np.abs(w).T + RELATIVE_ORDER * magnitude
    err = np.abs(got - x.astype(np.float64) @ w.T)
    assert np.all(err <= bound), f"{what}: vs W·x, worst {err.max():.3g} beyond the int8 bound"
    assert np.all(np.isfinite(got))


def activations(rng, tokens: int, columns: int) -> np.ndarray:
    """Blocks of very different magnitudes, one all-zero 32-block, one outlier."""
    x = rng.standard_normal((tokens, columns)) * 10.0 ** rng.uniform(-2, 2, (tokens, columns // 32)).repeat(32, axis=1)
    x[:, 64:96] = 0
    x[0, 300] = 500.0
    return x.astype(np.float32)


def write_matrix(path: Path, tname: str, rows: int, columns: int, rng) -> np.ndarray:
    """A GGUF holding one random `tname` matrix "w"; returns its decoded values."""
    raw = corpus.random_tensor_bytes([rows * columns], tname, rng)
    _, block, size = corpus.GGML_TYPES[tname]
    blocks = np.frombuffer(raw, np.uint8).reshape(rows, columns // block * size)
    writer = gguf.GGUFWriter(str(path), "test")
    writer.add_tensor("w", blocks, raw_dtype=QT[tname])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return quants.dequantize(blocks, QT[tname]).reshape(rows, columns).astype(np.float64)


@pytest.mark.parametrize("kernel_set", list(KERNEL_SETS))
@pytest.mark.parametrize("tname", FORMATS)
def test_random_matrix_product(inspect_exe, tmp_path, tname, kernel_set):
    """37 rows (odd; computed as two row ranges) × 768 columns (3 super-blocks), 3 tokens."""
    rng = np.random.default_rng(corpus.GGML_TYPES[tname][0])
    path = tmp_path / f"{tname}.gguf"
    w = write_matrix(path, tname, 37, 768, rng)
    x = activations(rng, 3, 768)
    got = product(inspect_exe, kernel_set, path, "w", x, tmp_path)
    check_product(got, w, x, tname, f"{tname} {kernel_set}")


@pytest.mark.parametrize("kernel_set", list(KERNEL_SETS))
@pytest.mark.parametrize("tname", FORMATS)
def test_batched_tokens_match_each_token_alone(inspect_exe, tmp_path, tname, kernel_set):
    """Six tokens in one product (kernels that take tokens four at a time
    run 0-3 and then 2-5) give every token exactly what it gets alone: a
    sequence's logits in batched decoding must not depend on its neighbours."""
    rng = np.random.default_rng(100 + corpus.GGML_TYPES[tname][0])
    path = tmp_path / f"{tname}.gguf"
    w = write_matrix(path, tname, 37, 768, rng)
    x = activations(rng, 6, 768)
    together = product(inspect_exe, kernel_set, path, "w", x, tmp_path)
    check_product(together, w, x, tname, f"{tname} {kernel_set}, 6 tokens")
    for t in range(6):
        alone = product(inspect_exe, kernel_set, path, "w", x[t:t + 1], tmp_path)
        assert np.array_equal(alone[0], together[t]), f"{tname} {kernel_set}: token {t} alone differs"


@pytest.mark.parametrize("tname", ["Q4_K", "Q6_K", "Q3_K", "Q2_K", "Q5_K", "IQ4_XS"])
def test_super_blocks_saturated(inspect_exe, tmp_path, tname):
    """All weight bytes 0xFF with fp16 scales of 1 and activations at ±127:
    the integer sums at their largest, where an int16 or int32 overflow would show."""
    _, block, size = corpus.GGML_TYPES[tname]
    rows, columns = 4, 512
    blocks = np.full((rows, columns // block, size), 0xFF, np.uint8)
    for at in corpus.HALF_FIELDS[tname]:
        blocks[:, :, at:at + 2] = np.array([1.0], "<f2").view(np.uint8)
    path = tmp_path / "sat.gguf"
    writer = gguf.GGUFWriter(str(path), "test")
    writer.add_tensor("w", blocks.reshape(rows, -1), raw_dtype=QT[tname])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    w = quants.dequantize(blocks.reshape(rows, -1), QT[tname]).reshape(rows, columns).astype(np.float64)
    x = np.where(np.arange(columns) % 3 == 0, -1.0, 1.0)[None, :].repeat(2, axis=0).astype(np.float32)
    for kernel_set in KERNEL_SETS:
        try:
            got = product(inspect_exe, kernel_set, path, "w", x, tmp_path)
        except pytest.skip.Exception:
            continue
        check_product(got, w, x, tname, f"{tname} {kernel_set} saturated")


# ------------------------------------------------------------ Gemma 3 270M

@pytest.fixture(scope="module")
def gemma3():
    path = os.environ.get("SWIFTLET_MODEL_GEMMA3", "")
    if not path or not Path(path).is_file():
        pytest.skip("$SWIFTLET_MODEL_GEMMA3 is not set (make test sets it: scripts/fetch-gemma3.sh)")
    reader = gguf.GGUFReader(path)
    chosen = {}
    for t in reader.tensors:  # the first block matrix of each type
        if t.name.startswith("blk.") and len(t.shape) == 2 and t.tensor_type.name not in chosen:
            chosen[t.tensor_type.name] = t
    return Path(path), chosen


def test_gemma3_carries_the_issue_types(gemma3):
    _, chosen = gemma3
    assert {"Q4_K", "Q6_K", "Q5_0", "Q8_0"} <= set(chosen), sorted(chosen)


@pytest.mark.parametrize("kernel_set", list(KERNEL_SETS))
@pytest.mark.parametrize("tname", ["Q4_K", "Q6_K", "Q5_0", "Q8_0"])
def test_gemma3_tensor_products(inspect_exe, gemma3, tmp_path, tname, kernel_set):
    path, chosen = gemma3
    t = chosen[tname]
    columns, rows = int(t.shape[0]), int(t.shape[1])
    w = quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(rows, columns).astype(np.float64)
    x = activations(np.random.default_rng(5), 2, columns)
    got = product(inspect_exe, kernel_set, path, t.name, x, tmp_path)
    check_product(got, w, x, tname, f"gemma3 {t.name} ({tname}) {kernel_set}")


@pytest.mark.parametrize("tname", ["Q4_K", "Q6_K", "Q5_0", "Q8_0"])
def test_gemma3_tensors_decode_like_gguf_package(inspect_exe, gemma3, tmp_path, tname):
    path, chosen = gemma3
    t = chosen[tname]
    out = tmp_path / "t.f32"
    proc = subprocess.run([inspect_exe, "tensor", str(path), t.name, str(out)], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stdout.decode()
    mine = np.fromfile(out, dtype="<f4")
    ref = quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(-1).astype(np.float32)
    assert mine.shape == ref.shape and np.array_equal(mine.view(np.uint32), ref.view(np.uint32))
