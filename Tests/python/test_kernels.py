"""Single kernels checked value by value against numpy, through the test
driver `kernel-check` (Tests/KernelCheck, built by `make` into build/test-bin).

The vectorized e^x (SwiftletKernelsAVX2/ExponentialAVX2.swift) replaces
libm's expf in softmax and SwiGLU. Its bound: the argument reduction
r = x − n·ln2 is exact to about one float ulp (ln2 split in a part exact in
float and a correction), the degree-6 Taylor polynomial truncates at
|r|^7/7! < 1.2e-8 relative for |r| ≤ ln2/2, and the Horner steps add a few
roundings of 2^-24 each; so a few float ulps (~1.2e-7 each) in all. The test
allows 4e-7 relative over the whole range it claims, against float64 numpy."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "build" / "test-bin" / "kernel-check"


def run_exp(values: np.ndarray, tmp_path: Path, kernel: str = "exp") -> np.ndarray:
    if not DRIVER.exists():
        pytest.skip("build/test-bin/kernel-check is not built (run make)")
    source, result = tmp_path / "in.f32", tmp_path / "out.f32"
    values.astype("<f4").tofile(source)
    run = subprocess.run([str(DRIVER), kernel, str(source), str(result)], capture_output=True, text=True)
    if run.returncode == 2:
        pytest.skip(run.stderr.strip())
    assert run.returncode == 0, run.stderr
    return np.fromfile(result, dtype="<f4")


def test_exp_is_within_a_few_ulp_of_float64_over_its_range(tmp_path):
    # Two million points spanning the range, plus every float near 0 and the range ends.
    grid = np.linspace(-87.3, 88.7, 2_000_000, dtype=np.float32)
    near = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-7, -1e-7, 0.34657, -0.34657, 0.5, -0.5, 1, -1,
                     np.log(2), -np.log(2), 10, -10, -87.0, -87.29, 88.0, 88.69], dtype=np.float32)
    x = np.concatenate([grid, near])
    got = run_exp(x, tmp_path).astype(np.float64)
    want = np.exp(x.astype(np.float64))
    relative = np.abs(got - want) / want
    worst = int(np.argmax(relative))
    assert relative.max() < 4e-7, f"e^{x[worst]}: got {got[worst]!r}, want {want[worst]!r}"


def test_exp_below_the_range_is_zero_and_never_negative(tmp_path):
    x = np.array([-87.4, -88.0, -100.0, -1e4, -np.inf], dtype=np.float32)
    got = run_exp(x, tmp_path)
    assert np.all(got == 0), got


def test_exp_overflows_to_infinity_exactly_where_float_does(tmp_path):
    x = np.array([88.72, 88.73, 89.0, 100.0, np.inf], dtype=np.float32)
    got = run_exp(x, tmp_path)
    with np.errstate(over="ignore"):
        want = np.exp(x)  # float32: 88.72 is still finite, 88.73 is not
    assert np.isfinite(got[0]) and abs(float(got[0]) / float(np.exp(np.float64(x[0]))) - 1) < 4e-7, got
    assert np.all(np.isinf(got[1:])) and np.array_equal(np.isinf(got), np.isinf(want)), (got, want)


def test_gelu_erf_is_within_its_erf_bound(tmp_path):
    """avx2GeluErf against x/2·(1 + erf(x/√2)) in float64 (math.erf): erf by
    Abramowitz & Stegun 7.1.26 is within 1.5e-7 absolute, and computing it in
    float (t, the polynomial, e^(−z²), 1 − tail, 1 + erf) adds up to about
    4.5e-7 more; gelu = x/2 · (1 + erf), so the bound is |x|·3e-7 (measured:
    2.3e-7) + 2e-7·|gelu| for the last roundings. Covers the vector loop and
    the tail, both signs, tiny and large values."""
    import math
    x = np.concatenate([np.linspace(-12, 12, 200_003), [-0.0, 0.0, 1e-30, -1e-30, 1e-8, -50, 50, 3e4, -3e4]])
    x = x.astype(np.float32)
    got = run_exp(x, tmp_path, kernel="gelu-erf").astype(np.float64)
    x64 = x.astype(np.float64)
    want = 0.5 * x64 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x64]))
    assert np.all(np.abs(got - want) <= np.abs(x64) * 3e-7 + 2e-7 * np.abs(want) + 1e-30)
