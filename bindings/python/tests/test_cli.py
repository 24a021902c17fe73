"""python -m swiftlet, run as a user runs it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

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


def test_grammar_and_json_schema_files(model_path: str, tmp_path: Any) -> None:
    grammar = tmp_path / "answer.gbnf"
    grammar.write_text('root ::= ("yes" | "no")\n')
    out = run("generate", "-m", model_path, "-t", "1", "--chat", "--grammar", str(grammar), "Is the sky blue?")
    assert out.returncode == 0 and out.stdout in ("yes\n", "no\n"), (out.stdout, out.stderr)
    out = run("chat", "-m", model_path, "-t", "1", "--grammar", str(grammar), stdin="Is fire hot?\nIs ice hot?\n")
    assert out.returncode == 0 and set(out.stdout.split()) <= {"yes", "no"} and len(out.stdout.split()) == 2
    schema = {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 9}, "minItems": 2, "maxItems": 3}
    schema_file = tmp_path / "digits.json"
    schema_file.write_text(json.dumps(schema))
    out = run("generate", "-m", model_path, "-t", "1", "-n", "64", "--chat", "--json-schema", str(schema_file),
              "Give two digits as a JSON array.")
    assert out.returncode == 0, out.stderr
    value = json.loads(out.stdout)
    assert isinstance(value, list) and 2 <= len(value) <= 3 and all(0 <= v <= 9 for v in value), value


def test_grammar_errors_go_to_stderr_with_status_1(model_path: str, tmp_path: Any) -> None:
    bad = tmp_path / "bad.gbnf"
    bad.write_text('root ::= "yes" |\n  ( "no"\n')
    out = run("generate", "-m", model_path, "--grammar", str(bad), "hi")
    assert out.returncode == 1 and out.stdout == "" and out.stderr.startswith("swiftlet: ") and ":" in out.stderr
    assert "2:" in out.stderr or "3:" in out.stderr, out.stderr
    out = run("generate", "-m", model_path, "--grammar", str(tmp_path / "missing.gbnf"), "hi")
    assert out.returncode == 1 and "missing.gbnf" in out.stderr
    out = run("generate", "-m", model_path, "--grammar", str(bad), "--json-schema", str(bad), "hi")
    assert out.returncode == 2 and "not allowed with" in out.stderr  # argparse: mutually exclusive
