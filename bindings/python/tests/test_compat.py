"""swiftlet.compat.Llama on its own: the llama-cpp-python dictionary shapes,
streaming chunks, stop strings, tokens as bytes. (test_compat_llamacpp.py
compares it with llama_cpp.Llama itself where that is installed.)"""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from swiftlet.compat import Llama

from conftest import PARIS_PROMPT, PARIS_QUESTION, THREADS


@pytest.fixture(scope="module")
def llm(model_path: str) -> Iterator[Llama]:
    with Llama(model_path=model_path, n_ctx=512, n_threads=THREADS, seed=1, verbose=False) as loaded:
        yield loaded


def _check_completion(out: Any, model_path: str) -> None:
    assert set(out) == {"id", "object", "created", "model", "choices", "usage"}
    assert out["id"].startswith("cmpl-") and out["object"] == "text_completion"
    assert isinstance(out["created"], int) and out["model"] == model_path
    (choice,) = out["choices"]
    assert set(choice) == {"text", "index", "logprobs", "finish_reason"}
    assert choice["index"] == 0 and choice["logprobs"] is None and isinstance(choice["text"], str)
    usage = out["usage"]
    assert set(usage) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_completion(llm: Llama, model_path: str) -> None:
    out = llm(PARIS_PROMPT, max_tokens=8, temperature=0)
    _check_completion(out, model_path)
    assert out["choices"][0]["text"].startswith(" Paris")
    assert out["choices"][0]["finish_reason"] == "length"
    assert out["usage"]["prompt_tokens"] == len(llm.tokenize(PARIS_PROMPT.encode()))
    assert out["usage"]["completion_tokens"] == 8
    same = llm.create_completion(llm.tokenize(PARIS_PROMPT.encode()), max_tokens=8, temperature=0)
    assert same["choices"][0]["text"] == out["choices"][0]["text"]  # token-list prompt


def test_stop_echo_and_seeds(llm: Llama) -> None:
    out = llm(PARIS_PROMPT, max_tokens=16, temperature=0, stop=["."])
    assert out["choices"][0]["text"] == " Paris" and out["choices"][0]["finish_reason"] == "stop"
    echoed = llm(PARIS_PROMPT, max_tokens=3, temperature=0, echo=True)
    assert echoed["choices"][0]["text"].startswith(PARIS_PROMPT + " Paris")
    a, b = (llm("Once upon a time", max_tokens=10, temperature=1.0, seed=5)["choices"][0]["text"] for _ in range(2))
    assert a == b
    varied = {llm("Once upon a time", max_tokens=10, temperature=1.0)["choices"][0]["text"] for _ in range(3)}
    assert len(varied) > 1  # no seed: the Llama's own random sequence moves on


def test_completion_stream(llm: Llama, model_path: str) -> None:
    chunks = list(llm(PARIS_PROMPT, max_tokens=6, temperature=0, stream=True))
    whole = llm(PARIS_PROMPT, max_tokens=6, temperature=0)["choices"][0]["text"]
    assert len(chunks) >= 3
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1
    for chunk in chunks:
        assert set(chunk) == {"id", "object", "created", "model", "choices"}
        assert chunk["object"] == "text_completion" and chunk["model"] == model_path
        assert set(chunk["choices"][0]) == {"text", "index", "logprobs", "finish_reason"}
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * (len(chunks) - 1) + ["length"]
    assert "".join(c["choices"][0]["text"] for c in chunks) == whole


def test_chat_completion(llm: Llama, model_path: str) -> None:
    messages = [{"role": "user", "content": PARIS_QUESTION}]
    out = llm.create_chat_completion(messages, max_tokens=24, temperature=0)
    assert set(out) == {"id", "object", "created", "model", "choices", "usage"}
    assert out["id"].startswith("chatcmpl-") and out["object"] == "chat.completion"
    (choice,) = out["choices"]
    assert set(choice) == {"index", "message", "logprobs", "finish_reason"}
    assert choice["message"]["role"] == "assistant" and "Paris" in choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    prompt = llm.model.chat_format(messages)
    assert out["usage"]["prompt_tokens"] == len(llm.tokenize(prompt.encode(), special=True))
    llm.reset()
    chunks = list(llm.create_chat_completion(messages, max_tokens=24, temperature=0, stream=True))
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == model_path for c in chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant"} and deltas[-1] == {}
    assert all(set(d) == {"content"} for d in deltas[1:-1])
    assert "".join(d["content"] for d in deltas[1:-1]) == choice["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_tokens_as_bytes(llm: Llama) -> None:
    tokens = llm.tokenize(b"Hello world")
    assert tokens == [19556, 905]
    assert llm.detokenize(tokens) == b"Hello world"
    assert llm.detokenize([llm.token_bos(), *tokens, llm.token_eos()]) == b"Hello world"
    assert llm.detokenize([llm.token_bos(), *tokens], special=True) == b"<|im_start|>Hello world"
    assert llm.tokenize(b"<|im_start|>hi", special=True)[0] == llm.token_bos()
    assert (llm.n_ctx(), llm.n_vocab(), llm.token_bos(), llm.token_eos()) == (512, 49152, 1, 2)


def test_prompt_longer_than_the_context(llm: Llama) -> None:
    with pytest.raises(ValueError, match="exceed context window"):
        llm("word " * 600, max_tokens=4)
    assert llm(PARIS_PROMPT, max_tokens=2, temperature=0)["choices"][0]["text"].startswith(" Paris")


def test_unsupported_options_say_so(llm: Llama) -> None:
    with pytest.raises(NotImplementedError):
        llm(PARIS_PROMPT, logprobs=5)
    with pytest.raises(NotImplementedError):
        llm(PARIS_PROMPT, suffix="!")
