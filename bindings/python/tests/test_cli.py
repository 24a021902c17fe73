"""python -m swiftlet, run as a user runs it."""
from __future__ import annotations

import os
import subprocess
import sys

import swiftlet

from conftest import PARIS_PROMPT, PARIS_QUESTION


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "swiftlet", *args], input=stdin, capture_output=True, text=True,
                          timeout=120)


def test_generate(model_path: str, model: swiftlet.Model) -> None:
    out = run("generate", "-m", model_path, "-t", "1", "-n", "8", "--temp", "0", PARIS_PROMPT)
    assert out.returncode == 0, out.stderr
    expected = model.generate(PARIS_PROMPT, max_tokens=8, temperature=0)
    assert out.stdout == PARIS_PROMPT + expected + "\n"


def test_generate_with_stop(model_path: str) -> None:
    out = run("generate", "-m", model_path, "-t", "1", "--temp", "0", "--stop", ".", PARIS_PROMPT)
    assert out.returncode == 0, out.stderr
    assert out.stdout == PARIS_PROMPT + " Paris\n"


def test_chat_reads_turns_from_stdin(model_path: str) -> None:
    out = run("chat", "-m", model_path, "-t", "1", "-n", "24", "--temp", "0",
              stdin=PARIS_QUESTION + "\nAnd of Italy?\n")
    assert out.returncode == 0, out.stderr
    replies = out.stdout.strip().split("\n")
    assert len(replies) >= 2 and "Paris" in replies[0], out.stdout


def test_info_and_tokenize(model_path: str) -> None:
    info = run("info", "-m", model_path)
    assert info.returncode == 0, info.stderr
    assert "architecture llama" in " ".join(info.stdout.split()) and "general.architecture = llama" in info.stdout
    tokens = run("tokenize", "-m", model_path, "Hello world")
    assert tokens.stdout.split() == ["19556", "905"]


def test_errors_go_to_stderr_with_status_1(tmp_path: object) -> None:
    out = run("generate", "-m", os.path.join(str(tmp_path), "missing.gguf"), "hi")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("swiftlet: ") and "missing.gguf" in out.stderr
    assert run().returncode == 2
    version = run("--version")
    assert version.returncode == 0 and swiftlet.library_path() in version.stdout
