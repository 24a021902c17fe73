"""The scripts in examples/ run and print what they promise."""
from __future__ import annotations

import os
import re
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


def test_attention_map_example(model_path: str, tmp_path: str) -> None:
    png = os.path.join(tmp_path, "map.png")
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, "attention_map.py"), model_path, "--png", png],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    # "head  0: 10:.          0.434   0:The        0.426   6:·because   0.045": three (position:token weight)
    entry = re.compile(r"\s*(\d+):\S+\s+(\d\.\d{3})")
    top = [line for line in lines if re.fullmatch(r"head\s+\d+:(\s*\d+:\S+\s+\d\.\d{3}){3}", line)]
    assert len(top) == swiftlet_heads(model_path), out.stdout  # one line per head of the last layer
    for line in top:
        weights = [float(weight) for _, weight in entry.findall(line.split(":", 1)[1])]
        assert len(weights) == 3 and all(0 <= w <= 1 for w in weights) and weights == sorted(weights, reverse=True)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert any(line.endswith("|") for line in lines), "no text heat map"
    else:
        assert os.path.getsize(png) > 0


def swiftlet_heads(model_path: str) -> int:
    import swiftlet
    with swiftlet.Model(model_path) as model:
        return model.info.n_head


def test_logit_lens_example_ends_on_the_models_own_token(model_path: str) -> None:
    pytest.importorskip("gguf")
    out = run_example("logit_lens.py", model_path)
    import swiftlet
    with swiftlet.Model(model_path) as model:
        layers = [line for line in out.splitlines() if line.startswith("layer ")]
        assert len(layers) == model.info.n_layer, out
        greedy = model.generate("The capital of France is", max_tokens=1, temperature=0)
    # the top token after the last layer is the greedy one
    assert layers[-1].startswith(f"layer {len(layers) - 1:2d}: {greedy!r} "), (layers[-1], greedy)
    assert f"the model's next token: {greedy!r} (agree)" in out
