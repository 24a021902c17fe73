"""Generation, streaming, stop strings and chat, on the real model and the tiny ones.

References: the C API called through raw ctypes (tests/raw_c.py) for the same
prompt, parameters and seed; the library's own detokenizer for the streamed
tokens; and, for stop strings, the same generation without them."""
from __future__ import annotations

import random

import pytest

import swiftlet
from swiftlet import StopMatcher, StopReason

from conftest import PARIS_PROMPT, PARIS_QUESTION, THREADS
from raw_c import RawC


@pytest.fixture(scope="module")
def raw() -> RawC:
    return RawC(swiftlet.library_path())


# ----------------------------------------------------------- generate


def test_options_left_out_are_the_librarys_defaults(tiny: swiftlet.Model) -> None:
    """No default is copied into Python: every sampling option is None (or
    DEFAULT for max_tokens) in the signatures, and leaving them out samples as
    passing swiftlet_sampler_params_init's values explicitly does."""
    import ctypes
    import inspect

    from swiftlet import _abi
    sampling = ("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "repeat_last_n")
    for method in (swiftlet.Model.generate, swiftlet.Model.chat, swiftlet.Context.generate, swiftlet.Context.chat,
                   swiftlet.Model.generate_batch, swiftlet.Model.chat_batch, swiftlet.Context.sample,
                   swiftlet.Sampler.__init__):
        parameters = inspect.signature(method).parameters
        for name in sampling:
            assert parameters[name].default is None, (method.__qualname__, name)
        if "max_tokens" in parameters:
            assert parameters["max_tokens"].default is swiftlet.DEFAULT
    c = _abi.declare(ctypes.CDLL(swiftlet.library_path()))
    defaults = _abi.SamplerParams()
    c.swiftlet_sampler_params_init(ctypes.byref(defaults))
    generate = _abi.GenerateParams()
    c.swiftlet_generate_params_init(ctypes.byref(generate))
    explicit = {name: getattr(defaults, name) for name in sampling}
    with tiny.context(n_ctx=512) as context:
        left_out = context.generate("hello the", seed=11, stream=True)
        text = left_out.text()
        assert left_out.result is not None
        assert len(left_out.result.tokens) == generate.max_tokens  # the tiny models never stop by themselves
        for changed, same in ((explicit, True), (dict(explicit, temperature=explicit["temperature"] * 2), False)):
            context.reset()
            again = context.generate("hello the", seed=11, max_tokens=generate.max_tokens, **changed)
            assert (again == text) is same




def test_greedy_continuation_names_paris(model: swiftlet.Model) -> None:
    text = model.generate(PARIS_PROMPT, max_tokens=8, temperature=0)
    assert text.startswith(" Paris"), text


def test_generate_equals_the_c_api(model: swiftlet.Model, model_path: str, raw: RawC) -> None:
    """Greedy and seeded sampling: the same text and tokens as swiftlet_generate called directly."""
    for temperature, seed in [(0.0, 0), (0.9, 1234)]:
        stream = model.generate(PARIS_PROMPT, max_tokens=20, temperature=temperature, seed=seed, stream=True)
        text = stream.text()
        assert stream.result is not None
        reference_bytes, reference_tokens = raw.generate(model_path, PARIS_PROMPT, 20, temperature, seed, THREADS)
        assert text == reference_bytes.decode("utf-8")
        assert list(stream.result.tokens) == reference_tokens


def test_stream_pieces_join_to_the_text(model: swiftlet.Model) -> None:
    whole = model.generate("Write a list of fruits:", max_tokens=24, temperature=0)
    stream = model.generate("Write a list of fruits:", max_tokens=24, temperature=0, stream=True)
    pieces = list(stream)
    assert len(pieces) > 5 and all(isinstance(p, str) and p for p in pieces)
    assert "".join(pieces) == whole
    assert stream.result is not None
    assert stream.result.text == whole
    assert stream.result.finish_reason == "length"
    assert stream.result.stop_reason == StopReason.MAX_TOKENS
    assert stream.result.n_generated_tokens == 24
    assert model.detokenize(list(stream.result.tokens)) == whole


def test_same_seed_same_text_different_seed_different_text(model: swiftlet.Model) -> None:
    runs = [model.generate("Once upon a time", max_tokens=16, temperature=1.0, seed=s) for s in (7, 7, 8)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_end_of_generation_gives_finish_reason_stop(model: swiftlet.Model) -> None:
    stream = model.chat([{"role": "user", "content": "Reply with the single word: yes"}], max_tokens=64,
                        temperature=0, stream=True)
    text = stream.text()
    assert stream.result is not None
    assert stream.result.stop_reason == StopReason.END_OF_GENERATION, text
    assert stream.result.finish_reason == "stop"
    assert stream.result.n_generated_tokens < 64


@pytest.mark.parametrize("prompt", ["Emoji: 🙂😀🎉🙂😀🎉🙂", "東京は日本の首都です。大阪は"])
def test_stream_pieces_are_whole_characters(model: swiftlet.Model, prompt: str) -> None:
    """Emoji and CJK are split over several byte tokens in SmolLM2's vocabulary;
    every streamed piece must still be whole characters (no U+FFFD), and the
    pieces must join to the library's detokenization of the same tokens."""
    stream = model.generate(prompt, max_tokens=24, temperature=0, stream=True)
    pieces = list(stream)
    assert stream.result is not None
    tokens = list(stream.result.tokens)
    split = [t for t in tokens if not _is_utf8(model.token_to_bytes(t))]
    assert len(split) >= 4, "the prompt no longer produces characters split across tokens"
    assert all("\ufffd" not in piece for piece in pieces[:-1])
    data = b"".join(model.token_to_bytes(t) for t in tokens)
    if "\ufffd" in pieces[-1]:  # allowed only for a character cut off by max_tokens
        assert pieces[-1] == "\ufffd"
        assert any(_is_utf8(data[:-k]) and data[-k] >= 0xC0 for k in (1, 2, 3)), "a whole character was cut"
    assert "".join(pieces) == model.detokenize(tokens)
    assert len(pieces) < len(tokens)  # tokens holding part of a character gave no piece of their own


def test_stream_matches_detokenize_on_random_bytes(tiny_paths: dict[str, str]) -> None:
    """The tiny models' vocabulary is mostly single bytes; sampling at
    temperature 1.5 produces arbitrary byte sequences, invalid UTF-8 included.
    The streamed text must equal the library's detokenization (both show
    invalid bytes as U+FFFD) and be valid text."""
    with swiftlet.Model(tiny_paths["tiny-q8_0-mqa-tied"], n_threads=THREADS) as tiny:
        invalid_runs = 0
        for seed in range(12):
            stream = tiny.generate("hello world", max_tokens=100, temperature=1.5, top_k=0, top_p=1.0, min_p=0.0,
                                   seed=seed, stream=True)
            text = stream.text()
            assert stream.result is not None
            tokens = list(stream.result.tokens)
            assert text == tiny.detokenize(tokens)
            text.encode("utf-8")  # no lone surrogates
            invalid_runs += not _is_utf8(b"".join(tiny.token_to_bytes(t) for t in tokens))
        assert invalid_runs > 0, "no run produced invalid UTF-8: the test lost its point"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_max_tokens_none_runs_until_the_context_is_full(tiny: swiftlet.Model) -> None:
    with tiny.context(n_ctx=40) as context:
        stream = context.generate("hello", max_tokens=None, temperature=0, stream=True)
        stream.text()
        assert stream.result is not None
        assert stream.result.stop_reason == StopReason.CONTEXT_FULL
        assert stream.result.finish_reason == "length"
        assert context.position == 40


def test_prompt_that_does_not_fit_raises_context_full(tiny: swiftlet.Model) -> None:
    with tiny.context(n_ctx=16) as context:
        with pytest.raises(swiftlet.ContextFullError):
            context.generate("hello " * 40, max_tokens=4)
        assert context.position == 0


def test_context_generate_continues_what_the_context_holds(model: swiftlet.Model) -> None:
    one_go = model.generate(PARIS_PROMPT + " Paris. The capital of Germany is", max_tokens=6, temperature=0)
    with model.context(n_ctx=256) as context:
        context.generate(PARIS_PROMPT, max_tokens=0)
        first = context.position
        context.generate(" Paris. The capital of Germany is", max_tokens=0)
        assert context.position > first
        continued = context.generate("", max_tokens=6, temperature=0)
    # the token boundary between the two prompt parts may differ from one-go
    # tokenization, so compare the start only
    assert continued.split()[0] == one_go.split()[0]


# -------------------------------------------------------------- stop strings


@pytest.mark.parametrize("pieces, stops, expected", [
    (["Hel", "lo wo", "rld"], ["o w"], "Hell"),
    (["a", "b", "c", "d"], ["bc"], "a"),
    (["abc"], ["x"], "abc"),
    (["ab", "cX", "Yd"], ["cXY", "XYd"], "ab"),       # the earliest match wins
    (["one\n", "\ntwo"], ["\n\n"], "one"),
    (["ste", "p", " stop"], ["stop"], "step "),       # "ste"+"p" is a false start
    (["x<", "|im", "_end|>tail"], ["<|im_end|>"], "x"),
    (["résumé ", "café", " naïve"], ["é n"], "résumé caf"),
    (["ab"], ["abc"], "ab"),                          # held back, then released at the end
])
def test_stop_matcher(pieces: list[str], stops: list[str], expected: str) -> None:
    matcher = StopMatcher(stops)
    shown = "".join(matcher.feed(p) for p in pieces) + matcher.finish()
    assert shown == expected


def test_stop_matcher_against_a_brute_force_reference() -> None:
    """Random texts, stop strings and piece boundaries. Reference: after each
    piece, look for the stop strings in all the text so far; at the first piece
    where one occurs, the answer is the text before the earliest occurrence."""
    rng = random.Random(5)
    alphabet = "ab\n"
    matched = 0
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        stops = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 3))]
        cuts = sorted(rng.sample(range(len(text) + 1), k=min(len(text) + 1, rng.randint(0, 6))))
        pieces = [text[i:j] for i, j in zip([0] + cuts, cuts + [len(text)])]
        expected, end = text, 0
        for piece in pieces:
            end += len(piece)
            starts = [text[:end].find(s) for s in stops if s in text[:end]]
            if starts:
                expected = text[:min(starts)]
                break
        matcher = StopMatcher(stops)
        shown = "".join(matcher.feed(piece) for piece in pieces) + matcher.finish()
        assert shown == expected, (text, stops, pieces)
        assert (matcher.matched is not None) == any(s in text for s in stops)
        matched += matcher.matched is not None
    assert 500 < matched < 2900  # both outcomes were exercised


def test_stop_string_across_tokens_on_the_real_model(model: swiftlet.Model) -> None:
    prompt = "List the days of the week: Monday, Tuesday,"
    full = model.generate(prompt, max_tokens=30, temperature=0, stream=True)
    full_text = full.text()
    assert full.result is not None
    tokens = list(full.result.tokens)
    # a stop string that spans a token boundary: end of token 3 + start of token 4
    boundary = len(model.detokenize(tokens[:3]))
    stop = full_text[boundary - 2:boundary + 2]
    assert len(stop) == 4 and stop in full_text
    expected = full_text[:full_text.index(stop)]
    for stream in (False, True):
        out = model.generate(prompt, max_tokens=30, temperature=0, stop=[stop, "never-there"], stream=stream)
        text = out if isinstance(out, str) else out.text()
        assert text == expected
        if not isinstance(out, str):
            assert out.result is not None
            assert out.result.stop_string == stop
            assert out.result.finish_reason == "stop"
            assert out.result.stop_reason == StopReason.CALLBACK
            assert out.result.n_generated_tokens < 30  # generation stopped early


# --------------------------------------------------------------------- chat


def test_chat_text_and_stream_agree(model: swiftlet.Model) -> None:
    """Each on a fresh context: a second chat call on the same context would
    re-evaluate only the last prompt token (prefix reuse), whose logits differ
    slightly from the batched evaluation's -- enough to flip a near tie."""
    messages = [{"role": "user", "content": PARIS_QUESTION}]
    with model.context(n_ctx=256) as context:
        text = context.chat(messages, max_tokens=24, temperature=0)
    assert "Paris" in text
    with model.context(n_ctx=256) as context:
        assert "".join(context.chat(messages, max_tokens=24, temperature=0, stream=True)) == text


def test_chat_reuses_earlier_turns(model: swiftlet.Model) -> None:
    with model.context(n_ctx=512) as context:
        messages = [{"role": "user", "content": "Say hello."}]
        first = context.chat(messages, max_tokens=12, temperature=0, stream=True)
        reply = first.text()
        assert first.result is not None
        full_prompt = len(model.tokenize(model.chat_format(messages), special=True))
        assert first.result.n_prompt_tokens == full_prompt
        messages += [{"role": "assistant", "content": reply}, {"role": "user", "content": "Now say goodbye."}]
        second = context.chat(messages, max_tokens=12, temperature=0, stream=True)
        second.text()
        assert second.result is not None
        assert second.result.n_prompt_tokens < len(model.tokenize(model.chat_format(messages), special=True)) - full_prompt + 8


def test_chat_format_uses_the_models_template(model: swiftlet.Model) -> None:
    rendered = model.chat_format([{"role": "user", "content": "Hi"}])
    assert rendered.endswith("<|im_start|>assistant\n")
    assert "<|im_start|>user\nHi<|im_end|>" in rendered
    assert not model.chat_format([{"role": "user", "content": "Hi"}], add_generation_prompt=False).endswith(
        "assistant\n")


def test_chat_messages_are_validated(model: swiftlet.Model) -> None:
    with pytest.raises(TypeError):
        model.chat({"role": "user", "content": "hi"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        model.chat([{"content": "no role"}])
    with pytest.raises(ValueError):
        model.chat([{"role": "user", "content": "nul \0 inside"}])
