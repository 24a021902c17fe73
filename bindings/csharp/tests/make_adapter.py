"""Writes the LoRA adapter BindingTests.cs loads, with the Python tests' own
writer (Tests/python/lora_tools.py, the `gguf` package): writing GGUF is not
the C# binding's business, so the test driver (scripts/run-tests.sh) makes the
file before running Mono.

    python3 make_adapter.py MODEL.gguf OUT.gguf

Random rank-4 pairs (alpha 8: factor 2 at scale 1) for attn_q and attn_v of
every layer, sized so the adapted logits clearly differ from the base ones
(gain 0.25, as test_lora.py's SmolLM2 adapter). Prints what SwiftletTests.exe
takes after GENERATE_EXAMPLE: the path, then the rank, alpha and tensor count
the binding must read back."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "Tests", "python"))
import lora_tools as L  # noqa: E402

RANK, ALPHA, SEED, GAIN = 4, 8.0, 16, 0.25


def main(model: str, out: str) -> None:
    architecture = L.gguf.GGUFReader(model).get_field("general.architecture").contents()
    shapes = L.file_shapes(model)
    pairs = L.random_pairs(shapes, L.adaptable(shapes, ("attn_q", "attn_v"), head=False), RANK, SEED, GAIN)
    L.write_adapter(out, architecture, pairs, ALPHA)
    print(out, RANK, ALPHA, len(pairs))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
