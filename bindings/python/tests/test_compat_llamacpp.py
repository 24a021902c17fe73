"""swiftlet.compat.Llama against llama_cpp.Llama (llama-cpp-python) on the same
model file: the same calls must give dictionaries of the same shape (keys and
value types), the same prompt token counts, tokenization and finish reasons,
and -- greedy -- the same first tokens. Skipped where llama_cpp is not installed."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

llama_cpp = pytest.importorskip("llama_cpp")

from swiftlet.compat import Llama  # noqa: E402

from conftest import PARIS_PROMPT  # noqa: E402

# Greedy continuations are compared on their first tokens only: after a near
# tie the two engines may legitimately go different ways (Tests/python/
# test_llamacpp_agreement.py measures how often and where).
FIRST_TOKENS = 3


@pytest.fixture(scope="module")
def both(model_path: str) -> Iterator[tuple[Any, Llama]]:
    theirs = llama_cpp.Llama(model_path=model_path, n_ctx=512, n_threads=1, seed=1, verbose=False)
    with Llama(model_path=model_path, n_ctx=512, n_threads=1, seed=1, verbose=False) as ours:
        yield theirs, ours
    theirs.close()


def shape(value: Any) -> Any:
    """The structure of a response: keys kept, values replaced by type names."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def test_completion_shape_and_greedy_start(both: tuple[Any, Llama]) -> None:
    theirs, ours = both
    a = theirs(PARIS_PROMPT, max_tokens=12, temperature=0)
    b = ours(PARIS_PROMPT, max_tokens=12, temperature=0)
    assert shape(a) == shape(b)
    assert (a["object"], a["usage"], a["choices"][0]["finish_reason"]) == \
        (b["object"], b["usage"], b["choices"][0]["finish_reason"])
    first = ours.tokenize(a["choices"][0]["text"].encode())[:FIRST_TOKENS]
    assert ours.tokenize(b["choices"][0]["text"].encode())[:FIRST_TOKENS] == first


def test_stop_strings_agree(both: tuple[Any, Llama]) -> None:
    theirs, ours = both
    a = theirs(PARIS_PROMPT, max_tokens=16, temperature=0, stop=["."])
    b = ours(PARIS_PROMPT, max_tokens=16, temperature=0, stop=["."])
    assert shape(a) == shape(b)
    assert a["choices"][0]["text"] == b["choices"][0]["text"] == " Paris"
    assert a["choices"][0]["finish_reason"] == b["choices"][0]["finish_reason"] == "stop"


def test_stream_chunk_shapes(both: tuple[Any, Llama]) -> None:
    theirs, ours = both
    a = list(theirs(PARIS_PROMPT, max_tokens=4, temperature=0, stream=True))
    b = list(ours(PARIS_PROMPT, max_tokens=4, temperature=0, stream=True))
    assert shape(a[0]) == shape(b[0]) and shape(a[-1]) == shape(b[-1])
    assert a[-1]["choices"][0]["finish_reason"] == b[-1]["choices"][0]["finish_reason"] == "length"
    text = lambda chunks: "".join(c["choices"][0]["text"] for c in chunks)  # noqa: E731
    assert ours.tokenize(text(a).encode())[:FIRST_TOKENS] == ours.tokenize(text(b).encode())[:FIRST_TOKENS]


def test_chat_completion_shapes_and_prompt(both: tuple[Any, Llama]) -> None:
    theirs, ours = both
    messages = [{"role": "system", "content": "You are terse."},
                {"role": "user", "content": "What is the capital of France?"}]
    a = theirs.create_chat_completion(messages, max_tokens=16, temperature=0)
    b = ours.create_chat_completion(messages, max_tokens=16, temperature=0)
    assert shape(a) == shape(b)
    assert a["object"] == b["object"] == "chat.completion"
    assert a["usage"]["prompt_tokens"] == b["usage"]["prompt_tokens"]  # the same rendered template
    assert a["choices"][0]["message"]["content"] and b["choices"][0]["message"]["content"]
    a_chunks = list(theirs.create_chat_completion(messages, max_tokens=3, temperature=0, stream=True))
    b_chunks = list(ours.create_chat_completion(messages, max_tokens=3, temperature=0, stream=True))
    for index in (0, 1, -1):
        assert shape(a_chunks[index]) == shape(b_chunks[index])
    assert a_chunks[0]["choices"][0]["delta"] == b_chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert a_chunks[-1]["choices"][0]["delta"] == b_chunks[-1]["choices"][0]["delta"] == {}


@pytest.mark.parametrize("text", ["Hello world", "  leading spaces and\ttabs\n\nnewlines", "naïve café 東京 🙂👍🏽",
                                  "def f(x):\n    return x ** 2  # comment", "1234567890 3.14159 -42e10",
                                  "<|im_start|>user\nhi<|im_end|>"])
def test_tokenize_and_detokenize_agree(both: tuple[Any, Llama], text: str) -> None:
    theirs, ours = both
    data = text.encode()
    for add_bos in (True, False):
        for special in (False, True):
            tokens = theirs.tokenize(data, add_bos=add_bos, special=special)
            assert ours.tokenize(data, add_bos=add_bos, special=special) == tokens
            for detok_special in (False, True):
                assert ours.detokenize(tokens, special=detok_special) == \
                    theirs.detokenize(tokens, special=detok_special)


def test_accessors_agree(both: tuple[Any, Llama]) -> None:
    theirs, ours = both
    assert (ours.n_ctx(), ours.n_vocab(), ours.token_bos(), ours.token_eos()) == \
        (theirs.n_ctx(), theirs.n_vocab(), theirs.token_bos(), theirs.token_eos())


def test_saved_states_agree_in_shape_and_bookkeeping(both: tuple[Any, Llama]) -> None:
    """The same attributes, types and token bookkeeping: after a greedy
    completion each holds the prompt and what it generated. (llama.cpp leaves
    the last generated token unevaluated, Swiftlet evaluates it: one more.)"""
    import inspect

    from swiftlet.compat import LlamaState

    theirs, ours = both
    assert inspect.signature(llama_cpp.LlamaState.__init__).parameters.keys() == \
        inspect.signature(LlamaState.__init__).parameters.keys()
    theirs(PARIS_PROMPT, max_tokens=FIRST_TOKENS + 1, temperature=0)  # its input_ids: the prompt and FIRST_TOKENS
    ours(PARIS_PROMPT, max_tokens=FIRST_TOKENS + 1, temperature=0)
    a, b = theirs.save_state(), ours.save_state()
    assert set(vars(a)) == set(vars(b))
    for name in vars(a):
        assert type(getattr(a, name)) is type(getattr(b, name)), name
    assert (a.input_ids.dtype, a.scores.dtype) == (b.input_ids.dtype, b.scores.dtype)
    assert a.n_tokens + 1 == b.n_tokens
    assert list(a.input_ids[:a.n_tokens]) == list(b.input_ids[:a.n_tokens])
    theirs.load_state(a)
    ours.load_state(b)
    assert (theirs.n_tokens, ours.n_tokens) == (a.n_tokens, b.n_tokens)


@pytest.mark.parametrize("method", ["__init__", "__call__", "create_completion", "create_chat_completion", "tokenize",
                                    "detokenize", "embed", "create_embedding", "eval", "save_state", "load_state",
                                    "reset", "close", "n_ctx", "n_vocab", "token_bos", "token_eos"])
def test_every_argument_of_theirs_is_taken_in_the_same_place(method: str) -> None:
    """The same names in the same order, of the same kind, with the same
    defaults (an empty ``stop`` is [] there, None here): so a call written
    for llama-cpp-python binds the same way, and compat either honours each
    argument or raises NotImplementedError for it (test_compat.py)."""
    import inspect

    theirs = inspect.signature(getattr(llama_cpp.Llama, method)).parameters
    ours = inspect.signature(getattr(Llama, method)).parameters
    assert list(ours) == list(theirs)
    for name, parameter in theirs.items():
        mine = ours[name]
        assert mine.kind == parameter.kind, name
        if parameter.default == [] and mine.default is None:
            continue
        assert mine.default == parameter.default, name


def test_grammars_agree(both: tuple[Any, Llama]) -> None:
    from swiftlet.compat import LlamaGrammar

    theirs, ours = both
    gbnf = 'root ::= ("yes" | "no")'
    question = "Q: Is the sky blue? Answer yes or no.\nA:"
    a = theirs(question, max_tokens=8, temperature=0, grammar=llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False))
    b = ours(question, max_tokens=8, temperature=0, grammar=LlamaGrammar.from_string(gbnf))
    assert shape(a) == shape(b)
    assert a["choices"][0]["text"] in ("yes", "no") and b["choices"][0]["text"] in ("yes", "no")
    assert a["choices"][0]["finish_reason"] == b["choices"][0]["finish_reason"] == "stop"
    messages = [{"role": "user", "content": "Reply with a JSON object with two keys: name (a cat's name) and age (a number)."}]
    a = theirs.create_chat_completion(messages, response_format={"type": "json_object"}, max_tokens=200)
    b = ours.create_chat_completion(messages, response_format={"type": "json_object"}, max_tokens=200)
    assert shape(a) == shape(b)
    for reply in (a, b):
        assert isinstance(json.loads(reply["choices"][0]["message"]["content"]), dict)


def test_special_tokens_in_a_completion_prompt_agree(both: tuple[Any, Llama]) -> None:
    theirs, ours = both
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    a = theirs(prompt, max_tokens=4, temperature=0)
    b = ours(prompt, max_tokens=4, temperature=0)
    assert a["usage"]["prompt_tokens"] == b["usage"]["prompt_tokens"]
    assert ours.tokenize(a["choices"][0]["text"].encode())[:FIRST_TOKENS] == \
        ours.tokenize(b["choices"][0]["text"].encode())[:FIRST_TOKENS]
