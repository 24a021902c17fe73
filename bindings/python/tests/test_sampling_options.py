"""The sampling keywords: one internal type, and every keyword reaches C.

Inside the package the sampling keywords are one value,
``swiftlet._sampling.SamplingOptions``; each public call that samples takes
them as keywords and builds it. These tests call each of them with every
keyword set to a value that is not the library's default, read back the
``swiftlet_sampler_params`` handed to the C function, and check that the
keyword lists (signatures, the overloads' TypedDicts, the dataclass and the C
struct) name the same options. The grammar, the one option that is not a
number, is passed as a Grammar and must arrive as its C pointer.
"""
from __future__ import annotations

import ctypes
import dataclasses
import inspect
import re
from typing import Any, Callable, Iterator

import pytest

import swiftlet
from swiftlet import _abi, _lib
from swiftlet._keywords import ChatKeywords, GenerateKeywords, SamplingKeywords
from swiftlet._sampling import SamplingOptions

# One value per settable field of swiftlet_sampler_params, none of them its
# default (checked below), floats exact in float32 so they read back equal.
VALUES: dict[str, Any] = {"temperature": 0.25, "top_k": 7, "top_p": 0.5, "min_p": 0.125, "repeat_penalty": 1.5,
                          "repeat_last_n": 9, "seed": 2**63 + 5}
MAX_TOKENS = 3
# Any text: the tiny models' vocabularies can always continue it.
ANY_TEXT = "root ::= .*"


def settable_fields(struct: ctypes.Structure) -> dict[str, Any]:
    return {name: getattr(struct, name) for name, _ in struct._fields_ if name not in ("struct_size", "reserved")}


@pytest.fixture
def grammar() -> Iterator[swiftlet.Grammar]:
    with swiftlet.Grammar(ANY_TEXT) as compiled:
        yield compiled


def in_c(grammar: swiftlet.Grammar) -> dict[str, Any]:
    """VALUES and `grammar` as the C struct holds them (the grammar as its pointer)."""
    with grammar._use() as address:
        return dict(VALUES, grammar=address)


def c_defaults() -> dict[str, Any]:
    defaults = _abi.SamplerParams()
    _lib.load().sampler_params_init(defaults)
    return settable_fields(defaults)


def keyword_only(function: Callable[..., Any]) -> set[str]:
    return {name for name, parameter in inspect.signature(function).parameters.items()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY}


def test_the_values_set_every_field_of_the_c_struct_and_none_is_a_default() -> None:
    defaults = c_defaults()
    assert set(VALUES) | {"grammar"} == set(defaults)
    assert defaults["grammar"] is None  # NULL: unconstrained
    for name, value in VALUES.items():
        assert value != defaults[name], name


def test_every_list_of_the_sampling_keywords_is_the_same() -> None:
    """SamplingOptions, the overloads' TypedDicts and each implementation's keywords."""
    options = {field.name for field in dataclasses.fields(SamplingOptions)}
    assert options == set(VALUES) | {"grammar"}
    assert set(SamplingKeywords.__optional_keys__) == options
    assert keyword_only(swiftlet.Sampler.__init__) == options
    assert keyword_only(swiftlet.Context.sample) == options | {"sampler", "seq"}
    for method, keywords in ((swiftlet.Model.generate, GenerateKeywords), (swiftlet.Context.generate, GenerateKeywords),
                             (swiftlet.Model.chat, ChatKeywords), (swiftlet.Context.chat, ChatKeywords)):
        assert keyword_only(method) == set(keywords.__optional_keys__) | {"stream"}, method.__qualname__
        assert set(keywords.__optional_keys__) >= options
    # the batch forms take the same keywords, less stream
    assert keyword_only(swiftlet.Model.generate_batch) == set(GenerateKeywords.__optional_keys__)
    assert keyword_only(swiftlet.Model.chat_batch) == set(ChatKeywords.__optional_keys__)


class Spy:
    """Wraps one method of the package's Library: records a copy of each
    struct passed to it (picked out by `struct_of`), then calls the real one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, struct_of: Callable[..., Any]) -> None:
        library = _lib.load()
        real = getattr(library, name)
        self.seen: list[Any] = []

        def spy(*args: Any) -> Any:
            self.seen.append(struct_of(*args))
            return real(*args)

        monkeypatch.setattr(library, name, spy)


def generate_params_of(_context: int, _prompt: bytes, params: _abi.GenerateParams, *_rest: Any) -> Any:
    return params.max_tokens, settable_fields(params.sampling.contents)


def chat_params_of(_context: int, _messages: Any, _count: int, _template: Any, params: _abi.GenerateParams,
                   *_rest: Any) -> Any:
    return params.max_tokens, settable_fields(params.sampling.contents)


def generate_batch_params_of(_context: int, _prompts: Any, _count: int, params: _abi.GenerateParams,
                             *_rest: Any) -> Any:
    return params.max_tokens, settable_fields(params.sampling.contents)


def sampler_params_of(params: _abi.SamplerParams, _out: Any) -> Any:
    return settable_fields(params)


@pytest.mark.parametrize("target", ["model", "context"])
def test_generate_and_chat_pass_every_keyword_to_c(tiny: swiftlet.Model, monkeypatch: pytest.MonkeyPatch,
                                                   target: str, grammar: swiftlet.Grammar) -> None:
    generate = Spy(monkeypatch, "generate", generate_params_of)
    chat = Spy(monkeypatch, "chat", chat_params_of)
    with tiny.context(n_ctx=128) as context:
        owner: Any = tiny if target == "model" else context
        owner.generate("hello", max_tokens=MAX_TOKENS, grammar=grammar, **VALUES)
        owner.chat([{"role": "user", "content": "hello"}], max_tokens=MAX_TOKENS, stream=True, grammar=grammar,
                   **VALUES).text()
    assert generate.seen == [(MAX_TOKENS, in_c(grammar))]
    assert chat.seen == [(MAX_TOKENS, in_c(grammar))]


def test_generate_batch_and_chat_batch_pass_every_keyword_to_c(tiny: swiftlet.Model, monkeypatch: pytest.MonkeyPatch,
                                                               grammar: swiftlet.Grammar) -> None:
    batch = Spy(monkeypatch, "generate_batch", generate_batch_params_of)
    tiny.generate_batch(["hello", "world"], max_tokens=MAX_TOKENS, grammar=grammar, **VALUES)
    tiny.chat_batch([[{"role": "user", "content": "hello"}]], max_tokens=MAX_TOKENS, grammar=grammar, **VALUES)
    assert batch.seen == [(MAX_TOKENS, in_c(grammar)), (MAX_TOKENS, in_c(grammar))]


def test_sample_and_sampler_pass_every_keyword_to_c(tiny: swiftlet.Model, monkeypatch: pytest.MonkeyPatch,
                                                    grammar: swiftlet.Grammar) -> None:
    create = Spy(monkeypatch, "sampler_create", sampler_params_of)
    with tiny.context(n_ctx=128) as context:
        context.eval(tiny.tokenize("hello"))
        context.sample(grammar=grammar, **VALUES)
        with swiftlet.Sampler(grammar=grammar, **VALUES) as sampler:
            sampler.sample(context)
    assert create.seen == [in_c(grammar), in_c(grammar)]


def test_grammar_text_is_compiled_for_the_call_and_freed_after_it(tiny: swiftlet.Model,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """GBNF text (or a schema) is compiled when the call is made and freed
    when it ends; a Grammar given by the caller is never freed by a call."""
    library = _lib.load()
    created: list[int] = []
    freed: list[int] = []
    real_create, real_free = library.grammar_create, library.grammar_free

    def create(model: Any, gbnf: bytes, root: Any, out: ctypes.c_void_p) -> int:
        status = real_create(model, gbnf, root, out)
        created.append(int(out.value or 0))
        return status

    def free(address: int) -> None:
        freed.append(address)
        real_free(address)

    monkeypatch.setattr(library, "grammar_create", create)
    monkeypatch.setattr(library, "grammar_free", free)
    generate = Spy(monkeypatch, "generate", generate_params_of)
    tiny.generate("hello", max_tokens=MAX_TOKENS, grammar=ANY_TEXT)
    stream = tiny.generate("hello", max_tokens=MAX_TOKENS, grammar=ANY_TEXT, stream=True)
    stream.close()  # never started: freed all the same
    tiny.generate_batch(["hello", "world"], max_tokens=MAX_TOKENS, grammar=ANY_TEXT)
    with swiftlet.Sampler(grammar=ANY_TEXT):
        pass
    assert len(created) == 4 and sorted(freed) == sorted(created)
    assert generate.seen[0][1]["grammar"] == created[0]
    with swiftlet.Grammar(ANY_TEXT) as mine:
        tiny.generate("hello", max_tokens=MAX_TOKENS, grammar=mine)
        assert len(freed) == 4 and not mine.closed


def test_the_defaults_the_docstrings_state_are_the_librarys() -> None:
    """Sampler's and Model.generate's docstrings spell the defaults out; they
    must be swiftlet_sampler_params_init's (and generate_params_init's)."""
    defaults = c_defaults()
    generate = _abi.GenerateParams()
    _lib.load().generate_params_init(generate)

    def number(text: str) -> float:
        return float(text.rstrip("."))

    stated = {name: number(value) for name, value in
              re.findall(r"\b(temperature|top_k|top_p|min_p|repeat_penalty|repeat_last_n) ([0-9.]+)",
                         swiftlet.Sampler.__doc__ or "")}
    assert set(stated) == set(defaults) - {"seed", "grammar"}
    for name, value in stated.items():
        assert value == pytest.approx(defaults[name]), name
    doc = " ".join((swiftlet.Model.generate.__doc__ or "").split())
    found = re.search(r"(\d+) tokens, temperature ([0-9.]+), top_k (\d+), top_p ([0-9.]+), min_p ([0-9.]+), "
                      r"no repetition penalty over the last (\d+)\)", doc)
    assert found is not None, doc
    assert [number(group) for group in found.groups()] == pytest.approx(
        [generate.max_tokens, defaults["temperature"], defaults["top_k"], defaults["top_p"], defaults["min_p"],
         defaults["repeat_last_n"]])
    assert defaults["repeat_penalty"] == 1.0  # "no repetition penalty"
