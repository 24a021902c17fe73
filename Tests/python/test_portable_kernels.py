"""The kernel sets this machine does not pick by default, against the same
numpy reference as the default ones. A fresh process is told which set to use:
SWIFTLET_PORTABLE_KERNELS=1 chooses the portable kernels (for CPUs without
AVX2); SWIFTLET_KERNELS=avx2 stops at AVX2, so on a CPU with AVX-512 VNNI
large batches take the dequantize-and-sgemm path instead of the packed int8
kernel. The reference tests run there: one token at a time, batched, and the
48-token large batch, on every tiny model (all weight formats)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


KERNEL_SETS = pytest.mark.parametrize("variable,value", [("SWIFTLET_PORTABLE_KERNELS", "1"), ("SWIFTLET_KERNELS", "avx2")],
                                      ids=["portable", "avx2-sgemm"])


def run_under(variable: str, value: str, test_file: str, selection: str) -> None:
    """Runs `selection` of `test_file` in a fresh process told to use that kernel set."""
    env = dict(os.environ, **{variable: value})
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file, "-k", selection],
        cwd=HERE, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " failed" not in run.stdout, run.stdout[-2000:]


@KERNEL_SETS
def test_other_kernel_sets_match_the_reference(variable, value):
    run_under(variable, value, "test_reference_forward.py", "one_token_at_a_time or all_at_once or large_batch or rewind")


@KERNEL_SETS
def test_other_kernel_sets_embed_as_sentence_transformers(variable, value):
    """The encoder (GELU-erf, packed attention) on the other kernel sets:
    all-MiniLM-L6-v2 against sentence-transformers, tiny BERT folders against
    the numpy reference, decoders' pooled hidden states."""
    run_under(variable, value, "test_embeddings.py",
              "sentence_transformers or tiny_bert_matches or decoder_embeddings or one_by_one")


@KERNEL_SETS
def test_other_kernel_sets_decode_sequences_and_shift(variable, value):
    """Batched decoding of several sequences (the attention over each
    sequence's own rows) and the context shift (re-rotated keys) on the other
    kernel sets, against the numpy reference."""
    run_under(variable, value, "test_sequences.py", "batch_of_sequences or shift_matches_reference")
