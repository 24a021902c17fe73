"""SentencePiece tokenization (tokenizer.ggml.model = "llama") against llama.cpp.

Goldens: Tests/goldens/tokenizer_gemma3_llamacpp.json, made by
Tests/goldens/make_tokenizer_gemma3_goldens.py with llama-cpp-python on the real Gemma 3 270M
Q4_K_M vocabulary (262,144 tokens): every corpus text tokenized with and without BOS and with and
without special-token parsing, and llama.cpp's token_to_piece bytes of the plain ids.

Gemma's file sets tokenizer.ggml.add_space_prefix = false; "space_prefix_cases" are the same corpus
on a metadata-only copy with it true (built here by the golden script's space_prefix_copy, ~25 s),
which makes llama.cpp prefix "▁" at the start and after every special token.

Driver: gguf-inspect tokenize-cases, which builds the Tokenizer from the file's metadata exactly
as the model loader does (Tokenizer(gguf:)); the model itself (architecture gemma3) is not needed.
Skipped when $SWIFTLET_MODEL_GEMMA3 is unset (scripts/fetch-gemma3.sh) or the driver is missing.
"""
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

from test_gguf_formats import _find_inspect

GOLDENS = Path(__file__).resolve().parents[1] / "goldens" / "tokenizer_gemma3_llamacpp.json"
SCRIPT = GOLDENS.with_name("make_tokenizer_gemma3_goldens.py")
MODES = [(0, 0), (0, 1), (1, 0), (1, 1)]
SETS = ["cases", "space_prefix_cases"]


def run_cases(exe: Path, model: Path, cases: list[dict], tmp: Path) -> dict:
    lines = [f"{bos} {special} {case['text_hex']}" for case in cases for bos, special in MODES]
    listing = tmp / "cases.txt"
    listing.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([str(exe), "tokenize-cases", str(model), str(listing)], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(out) == len(lines)
    return {(index, bos, special): out[index * len(MODES) + mode_index]
            for index in range(len(cases)) for mode_index, (bos, special) in enumerate(MODES)}


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
    tmp = tmp_path_factory.mktemp("gemma3")
    spec = importlib.util.spec_from_file_location("make_tokenizer_gemma3_goldens", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    prefixed = tmp / "space_prefix.gguf"
    script.space_prefix_copy(Path(path), prefixed)
    return {
        "cases": (goldens["cases"], run_cases(exe, Path(path), goldens["cases"], tmp)),
        "space_prefix_cases": (goldens["space_prefix_cases"],
                               run_cases(exe, prefixed, goldens["space_prefix_cases"], tmp)),
    }


def case_ids():
    goldens = json.loads(GOLDENS.read_text(encoding="utf-8"))
    return [f"{i}:{c['text'][:24]!r}" for i, c in enumerate(goldens["cases"])]


@pytest.mark.parametrize("index", range(len(case_ids())), ids=case_ids())
@pytest.mark.parametrize("bos,special", MODES)
@pytest.mark.parametrize("which", SETS)
def test_ids_match_llamacpp(results, which, index, bos, special):
    cases, got = results[which]
    expected = cases[index][f"bos{bos}_special{special}"]
    assert got[(index, bos, special)]["ids"] == expected, cases[index]["text"]


@pytest.mark.parametrize("index", range(len(case_ids())), ids=case_ids())
@pytest.mark.parametrize("which", SETS)
def test_pieces_match_llamacpp(results, which, index):
    """The bytes of the plain ids, token by token, are llama.cpp's token_to_piece bytes; and where
    llama.cpp's round-trips (Gemma's own file: no space prefix), so does Swiftlet's."""
    cases, got = results[which]
    case = cases[index]
    pieces = got[(index, 0, 0)]["pieces_hex"]
    assert pieces == case["detokenized_hex"], case["text"]
    if case["detokenized_hex"] == case["text_hex"]:
        assert pieces == case["text_hex"]
