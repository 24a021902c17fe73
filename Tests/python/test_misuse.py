"""A careless or hostile host, each case in its own process.

build/test-bin/misuse (Tests/c/misuse.c) calls the public C API the way the
ABI issue's probes did: sizes of SIZE_MAX and 2^62, an n_tokens larger than
the context over an array that ends at a guard page, one context from two
threads, re-entrant calls from a token callback, a context freed from its own
callback, a model freed before its context, stray cancels, a cancelled eval,
chat on a full context, a load cancelled through its progress callback. Each
case checks the documented status itself; here a case passes when its process
exits 0 within the time limit and the library wrote nothing to stderr (a Swift
runtime trap prints "Fatal error", a crash gives a signal)."""
from __future__ import annotations

import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DRIVER = os.path.join(ROOT, "build", "test-bin", "misuse")


def cases() -> list[str]:
    if not os.path.exists(DRIVER):
        return ["driver-missing"]
    return subprocess.run([DRIVER, "--list"], check=True, capture_output=True, text=True).stdout.split()


KERNEL_SETS = {"default": {}, "avx2": {"SWIFTLET_KERNELS": "avx2"}, "portable": {"SWIFTLET_PORTABLE_KERNELS": "1"}}


@pytest.mark.parametrize("kernels", list(KERNEL_SETS))
@pytest.mark.parametrize("case", cases())
def test_misuse_case(case, kernels, real_model_path):
    assert os.path.exists(DRIVER), f"{DRIVER} is missing: run `make examples`"
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no", **KERNEL_SETS[kernels])
    done = subprocess.run([DRIVER, real_model_path, case], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr}"
    assert done.stderr == "", done.stderr
