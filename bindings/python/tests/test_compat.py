"""swiftlet.compat.Llama on its own: the llama-cpp-python dictionary shapes,
streaming chunks, stop strings, tokens as bytes. (test_compat_llamacpp.py
compares it with llama_cpp.Llama itself where that is installed.)"""
from __future__ import annotations

import json
from typing import Any, Iterator

import jsonschema
import pytest

import swiftlet
from swiftlet.compat import Llama, LlamaGrammar

from conftest import PARIS_PROMPT, PARIS_QUESTION, THREADS

YES_NO = 'root ::= ("yes" | "no")'


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


# Each argument compat cannot honour, with a value llama-cpp-python would act on.
UNHONOURED_COMPLETION = {
    "suffix": "!", "logprobs": 5, "typical_p": 0.9, "frequency_penalty": 0.5, "presence_penalty": 0.5,
    "tfs_z": 0.9, "mirostat_mode": 2, "stopping_criteria": [lambda ids, scores: False],
    "logits_processor": [lambda ids, scores: scores], "logit_bias": {42: 5.0},
}
UNHONOURED_CHAT = {
    "functions": [{"name": "f", "parameters": {}}], "function_call": "auto",
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}], "tool_choice": "auto",
    "typical_p": 0.9, "frequency_penalty": 0.5, "presence_penalty": 0.5, "tfs_z": 0.9, "mirostat_mode": 1,
    "logits_processor": [lambda ids, scores: scores], "logit_bias": {42: 5.0}, "logprobs": True,
}
UNHONOURED_CONSTRUCTOR = {
    "vocab_only": True, "kv_overrides": {"llama.context_length": 99}, "rope_scaling_type": 1, "rope_freq_base": 1e4,
    "rope_freq_scale": 0.5, "yarn_ext_factor": 1.0, "yarn_attn_factor": 2.0, "yarn_beta_fast": 16.0,
    "yarn_beta_slow": 2.0, "yarn_orig_ctx": 2048, "attention_type": 1, "pooling_type": 0, "logits_all": True,
    "lora_base": "base.gguf", "chat_format": "chatml", "chat_handler": object(),
    "draft_model": object(), "tokenizer": object(), "type_k": 8, "type_v": 2,
}


@pytest.mark.parametrize("name", sorted(UNHONOURED_COMPLETION))
def test_completion_arguments_it_cannot_honour_raise(llm: Llama, name: str) -> None:
    for call in (llm, llm.create_completion):
        with pytest.raises(NotImplementedError, match=f"{name}="):
            call(PARIS_PROMPT, max_tokens=1, **{name: UNHONOURED_COMPLETION[name]})


@pytest.mark.parametrize("name", sorted(UNHONOURED_CHAT))
def test_chat_arguments_it_cannot_honour_raise(llm: Llama, name: str) -> None:
    with pytest.raises(NotImplementedError, match=f"{name}="):
        llm.create_chat_completion([{"role": "user", "content": "hi"}], max_tokens=1,
                                   **{name: UNHONOURED_CHAT[name]})


@pytest.mark.parametrize("name", sorted(UNHONOURED_CONSTRUCTOR))
def test_constructor_arguments_it_cannot_honour_raise(model_path: str, name: str) -> None:
    with pytest.raises(NotImplementedError, match=f"{name}="):
        Llama(model_path=model_path, verbose=False, **{name: UNHONOURED_CONSTRUCTOR[name]})


def test_several_unhonoured_arguments_are_named_together(llm: Llama) -> None:
    with pytest.raises(NotImplementedError, match="typical_p=0.5, frequency_penalty=1.0 are not supported"):
        llm(PARIS_PROMPT, typical_p=0.5, frequency_penalty=1.0)


def test_defaults_and_arguments_without_effect_are_accepted(llm: Llama, model_path: str) -> None:
    """Their defaults, explicitly; values llama-cpp-python would not use
    either (mirostat_tau without mirostat_mode, top_logprobs without
    logprobs); options that only place or speed up llama.cpp; unknown
    constructor keywords (llama-cpp-python ignores them too)."""
    out = llm(PARIS_PROMPT, max_tokens=2, temperature=0, suffix=None, logprobs=None, typical_p=1.0,
              frequency_penalty=0.0, presence_penalty=0.0, tfs_z=1.0, mirostat_mode=0, mirostat_tau=3.0,
              mirostat_eta=0.2, stopping_criteria=None, logits_processor=[], logit_bias={})
    assert out["choices"][0]["text"].startswith(" Paris")
    chat = llm.create_chat_completion([{"role": "user", "content": PARIS_QUESTION}], max_tokens=2, temperature=0,
                                      logprobs=False, top_logprobs=3, functions=None, tools=None)
    assert chat["choices"][0]["message"]["content"]
    with Llama(model_path=model_path, n_ctx=64, n_threads=THREADS, verbose=False, n_gpu_layers=-1, use_mmap=False,
               use_mlock=True, flash_attn=True, offload_kqv=False, n_ubatch=16, type_k=1, type_v=1,
               lora_scale=0.5, spm_infill=True, some_future_option=1):
        pass
    with pytest.raises(TypeError):
        llm(PARIS_PROMPT, max_tokens=1, temperture=0)  # a misspelt argument, as llama-cpp-python: TypeError
    with pytest.raises(NotImplementedError, match="truncate=False"):
        with Llama(model_path=model_path, n_ctx=64, n_threads=THREADS, verbose=False, embedding=True) as embedder:
            embedder.embed("hello", truncate=False)


def test_last_n_tokens_size_is_the_repetition_window(model_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    real = swiftlet.Context.generate

    def spy(self: swiftlet.Context, prompt: str, **options: Any) -> Any:
        seen.append(options["repeat_last_n"])
        return real(self, prompt, **options)

    monkeypatch.setattr(swiftlet.Context, "generate", spy)
    with Llama(model_path=model_path, n_ctx=64, n_threads=THREADS, verbose=False, last_n_tokens_size=7) as small:
        small(PARIS_PROMPT, max_tokens=1, temperature=0)
    assert seen == [7]


# ------------------------------------------------------------------ grammars


def test_completion_grammar(llm: Llama) -> None:
    question = "Q: Is the sky blue? Answer yes or no.\nA:"
    grammar = LlamaGrammar.from_string(YES_NO)
    for given in (grammar, YES_NO, swiftlet.Grammar(YES_NO)):
        out = llm(question, max_tokens=16, temperature=0.8, grammar=given)
        assert out["choices"][0]["text"] in ("yes", "no") and out["choices"][0]["finish_reason"] == "stop"
    chunks = list(llm.create_completion(question, max_tokens=16, temperature=0.8, grammar=grammar, stream=True))
    assert "".join(c["choices"][0]["text"] for c in chunks) in ("yes", "no")
    with pytest.raises(swiftlet.InvalidArgumentError, match="1:"):
        LlamaGrammar.from_string("root ::= (")


def test_llama_grammar_class_methods(tmp_path: Any) -> None:
    path = tmp_path / "answer.gbnf"
    path.write_text(YES_NO)
    for grammar in (LlamaGrammar.from_string(YES_NO, verbose=False), LlamaGrammar.from_file(path),
                    LlamaGrammar.from_file(str(path), verbose=False),
                    LlamaGrammar.from_json_schema(json.dumps({"enum": ["yes", "no"]}), verbose=False)):
        assert isinstance(grammar, LlamaGrammar) and isinstance(grammar, swiftlet.Grammar)
        assert grammar.match("no" if grammar.source == YES_NO else '"no"') is swiftlet.GrammarMatch.COMPLETE
    (tmp_path / "empty.gbnf").write_text("")
    with pytest.raises(ValueError, match="empty"):
        LlamaGrammar.from_file(tmp_path / "empty.gbnf")
    with pytest.raises(OSError):
        LlamaGrammar.from_file(tmp_path / "missing.gbnf")


def test_chat_response_format_and_grammar(llm: Llama) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20},
                                               "population": {"type": "integer", "minimum": 0, "maximum": 99999999}},
              "required": ["city", "population"], "additionalProperties": False}
    messages = [{"role": "user", "content": "Give the largest city of France and its population as JSON."}]
    for response_format in ({"type": "json_object", "schema": schema},
                            {"type": "json_schema", "json_schema": {"name": "city", "schema": schema}}):
        out = llm.create_chat_completion(messages, response_format=response_format, temperature=0.7, seed=3,
                                         max_tokens=200)
        jsonschema.validate(json.loads(out["choices"][0]["message"]["content"]), schema)
        assert out["choices"][0]["finish_reason"] == "stop"
    any_object = llm.create_chat_completion(
        [{"role": "user", "content": "Reply with a JSON object with two keys: name (a cat's name) and age (a number)."}],
        response_format={"type": "json_object"}, max_tokens=200)
    assert isinstance(json.loads(any_object["choices"][0]["message"]["content"]), dict)
    chunks = list(llm.create_chat_completion(messages, grammar=YES_NO, stream=True, max_tokens=16))
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) in ("yes", "no")
    with pytest.raises(ValueError, match="grammar and response_format"):
        llm.create_chat_completion(messages, grammar=YES_NO, response_format={"type": "json_object"})


# ------------------------------------------------------------- special tokens


def test_a_completion_prompt_recognises_special_tokens(llm: Llama) -> None:
    """As llama-cpp-python: "<|im_start|>" in a text prompt is the one special token."""
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    out = llm(prompt, max_tokens=12, temperature=0)
    special = llm.tokenize(prompt.encode(), special=True)
    assert out["usage"]["prompt_tokens"] == len(special) < len(llm.tokenize(prompt.encode()))
    assert special.count(llm.token_bos()) == 2  # <|im_start|> is SmolLM2's BOS
    assert list(llm.input_ids[:len(special)]) == special
    assert "Paris" in out["choices"][0]["text"]  # the model read a chat turn: it answers
