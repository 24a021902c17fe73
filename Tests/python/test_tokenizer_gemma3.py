"""SentencePiece tokenization (tokenizer.ggml.model = "llama") against llama.cpp.

Goldens: Tests/goldens/tokenizer_gemma3_llamacpp.json, made by
Tests/goldens/make_tokenizer_gemma3_goldens.py with llama-cpp-python on the real Gemma 3 270M
Q4_K_M vocabulary (262,144 tokens): every corpus text tokenized with and without BOS and with and
without special-token parsing, and llama.cpp's token_to_piece bytes of the plain ids.

Driver: gguf-inspect tokenize-cases, which builds the Tokenizer from the file's metadata exactly
as the model loader does (Tokenizer(gguf:)); the model itself (architecture gemma3) is not needed.
Skipped when $SWIFTLET_MODEL_GEMMA3 is unset (scripts/fetch-gemma3.sh) or the driver is missing.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

from test_gguf_formats import _find_inspect

GOLDENS = Path(__file__).resolve().parents[1] / "goldens" / "tokenizer_gemma3_llamacpp.json"
MODES = [(0, 0), (0, 1), (1, 0), (1, 1)]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    path = os.environ.get("SWIFTLET_MODEL_GEMMA3", "")
    if not path or not Path(path).is_file():
        pytest.skip("$SWIFTLET_MODEL_GEMMA3 is not set (make test sets it: scripts/fetch-gemma3.sh)")
    exe = _find_inspect()
    if not exe:
        pytest.skip("the driver gguf-inspect is not available ($SWIFTLET_GGUF_INSPECT)")
    goldens = json.loads(GOLDENS.read_text(encoding="utf-8"))
    assert Path(path).name == goldens["model_file"]
    lines = [f"{bos} {special} {case['text_hex']}" for case in goldens["cases"] for bos, special in MODES]
    cases = tmp_path_factory.mktemp("gemma3") / "cases.txt"
    cases.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([str(exe), "tokenize-cases", path, str(cases)], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(out) == len(lines)
    got = {}
    for index, case in enumerate(goldens["cases"]):
        for mode_index, (bos, special) in enumerate(MODES):
            got[(index, bos, special)] = out[index * len(MODES) + mode_index]
    return goldens["cases"], got


def case_ids():
    goldens = json.loads(GOLDENS.read_text(encoding="utf-8"))
    return [f"{i}:{c['text'][:24]!r}" for i, c in enumerate(goldens["cases"])]


@pytest.mark.parametrize("index", range(len(case_ids())), ids=case_ids())
@pytest.mark.parametrize("bos,special", MODES)
def test_ids_match_llamacpp(results, index, bos, special):
    cases, got = results
    expected = cases[index][f"bos{bos}_special{special}"]
    assert got[(index, bos, special)]["ids"] == expected, cases[index]["text"]


@pytest.mark.parametrize("index", range(len(case_ids())), ids=case_ids())
def test_pieces_match_llamacpp(results, index):
    """The bytes of the plain ids, token by token, are llama.cpp's token_to_piece bytes; and where
    llama.cpp's round-trips (the Gemma vocabulary has no space prefix), so does Swiftlet's."""
    cases, got = results
    case = cases[index]
    pieces = got[(index, 0, 0)]["pieces_hex"]
    assert pieces == case["detokenized_hex"], case["text"]
    if case["detokenized_hex"] == case["text_hex"]:
        assert pieces == case["text_hex"]
