"""The scripts in examples/ run and print what they promise."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")


def run_example(name: str, model_path: str, stdin: str = "") -> str:
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), model_path], input=stdin,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_stream_example_is_three_lines_and_streams(model_path: str) -> None:
    with open(os.path.join(EXAMPLES, "stream.py")) as handle:
        code = [line for line in handle.read().splitlines() if line.strip() and not line.startswith('"""')]
    assert len(code) == 3
    assert len(run_example("stream.py", model_path).split()) >= 5


@pytest.mark.parametrize("name, expect", [("threads.py", "Paris"), ("logits.py", "top 5 next tokens"),
                                          ("compat_llama.py", "prompt_tokens")])
def test_examples(model_path: str, name: str, expect: str) -> None:
    assert expect in run_example(name, model_path)


def test_chat_example(model_path: str) -> None:
    out = run_example("chat.py", model_path, stdin="Say hello.\n")
    assert out.count("bot> ") == 1 and len(out.split("bot> ")[1].strip()) > 0


def test_search_example_finds_the_inn(minilm_path: str) -> None:
    out = run_example("search.py", minilm_path).splitlines()
    assert len(out) == 3 and "inn" in out[0], out
    scores = [float(line.split()[0]) for line in out]
    assert scores == sorted(scores, reverse=True)
