"""Chat with Gemma 3 270M, a base model whose file carries no chat template:
Swiftlet falls back to Gemma's turn format because the vocabulary has its
markers (<start_of_turn>, <end_of_turn>). The expected text is jinja2's
rendering of the same template (Tests/goldens/chat_templates.json,
"gemma_turns", written by make_chat_template_goldens.py), which the official
Gemma 3 template ("gemma3" there) agrees with on every conversation without
images."""
from __future__ import annotations

import json
import os
from ctypes import byref

import pytest

import swiftlet_ctypes as sw

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "goldens", "chat_templates.json")
with open(GOLDENS, encoding="utf-8") as _f:
    _CASES = json.load(_f)["cases"]
# (The C API takes at least one message: the empty conversation is not asked.)
CASES = {c["name"]: c for c in _CASES if c["template"] == "gemma_turns" and "expected" in c and c["messages"]}


def official(case: dict) -> dict:
    return next(c for c in _CASES if c["name"] == case["name"].replace("gemma_turns/", "gemma3/", 1))


@pytest.mark.parametrize("name", sorted(CASES))
def test_fallback_renders_gemma_turns(gemma3_model, name):
    case = CASES[name]
    messages = [(m["role"], m["content"]) for m in case["messages"]]
    got = sw.chat_format(gemma3_model, messages, case["add_generation_prompt"])
    assert got == case["expected"]
    # The fallback is Gemma's own format wherever Gemma's template accepts the conversation.
    if "expected" in official(case):
        assert got == official(case)["expected"]


def test_chat_prompt_has_one_bos(lib, gemma3_model, make_context):
    """The template writes <bos> itself; the model's add_bos_token must not add a second one."""
    ctx = make_context(gemma3_model, n_ctx=256)
    messages = [("user", "Name a colour.")]
    params = sw.new_generate_params(sampling={"temperature": 0.0}, max_tokens=1)
    result = sw.new_generate_result()
    sw.check(lib.swiftlet_chat(ctx, sw.messages_array(messages), 1, None, byref(params), sw.TOKEN_CALLBACK(), None,
                               byref(result)))
    rendered = sw.chat_format(gemma3_model, messages, True)
    prompt = sw.tokenize(gemma3_model, rendered, sw.TOKENIZE_SPECIAL)
    assert rendered.startswith("<bos><start_of_turn>user\n")
    assert prompt.count(2) == 1 and prompt[0] == 2, prompt[:4]   # 2 = <bos>
    assert result.n_prompt_tokens == len(prompt)
