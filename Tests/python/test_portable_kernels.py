"""The portable kernels (for CPUs without AVX2) against the same numpy
reference as the AVX2 ones. This machine has AVX2, so the environment
variable SWIFTLET_PORTABLE_KERNELS=1 makes a fresh process choose the portable
kernels, and the reference tests run there: one token at a time, batched,
and the 48-token sgemm batch, on every tiny model (all weight formats)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_portable_kernels_match_the_reference():
    env = dict(os.environ, SWIFTLET_PORTABLE_KERNELS="1")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_reference_forward.py",
         "-k", "one_token_at_a_time or all_at_once or large_batch or rewind"],
        cwd=HERE, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " failed" not in run.stdout, run.stdout[-2000:]
