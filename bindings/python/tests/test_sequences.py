"""Several sequences in one context: Model.generate_batch / chat_batch, the
low-level Context.decode API, and overflow="shift".

References: every batched result is compared with the same work done alone,
through the calls that existed before sequences (Model.generate, Context.chat,
Context.eval / eval_all_logits / rewind), never with the batched code itself.

Tolerances. Batched and alone runs may round differently: a pass of 32 or more
tokens takes the sgemm product path, whose logits differ from the row
kernels' by up to ~1.0 on SmolLM2 (measured: 1.01 for a 5-token prompt
evaluated in a 35-token batch against alone), and on AVX-512 VNNI machines a
pass of 8 or more takes the packed VNNI kernel, which differs as much
(measured on Zen 4: 0.98 for an 8-token prompt, 1.26 for 16). Passes of
fewer than 8 tokens take the row kernels on every machine, bit for bit the
arithmetic of one token at a time (a model made with n_batch=7 splits
longer inputs into such passes). So

- generated texts must be identical, or part at a *near tie*: at the first
  step where they differ, the batch's choice is within NEAR_TIE (2.0, twice
  that worst rounding difference) of the best logit of the alone run there;
- logits compared directly come from passes under 8 tokens both ways,
  where every row goes through the same row kernels in the same order
  whatever else is in the pass (measured: bit-equal, 1 and 2 threads);
  LOGITS_ATOL (1e-4) leaves room only for reassociation, while a
  sequence that saw another's tokens, or sat one position off, is off by
  whole logits (measured: 12.3 with the other prompt before it, 3.3 with
  one token before it).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import numpy.typing as npt
import pytest

import swiftlet
from swiftlet import StopReason

NEAR_TIE = 2.0
LOGITS_ATOL = 1e-4
MAX_TOKENS = 16
# Eight, as the "done when" says: eight prompts batched return what eight greedy runs return.
PROMPTS = ["The capital of France is", "Once upon a time", "def fibonacci(n):", "The three primary colors are",
           "My favourite animal is", "Water boils at", "import numpy as np\n", "The best way to learn is"]
QUESTIONS = ["Name three colours.", "What is 2+2?", "Write a haiku about the sea."]


# ------------------------------------------------------------ the reference


def alone_step_logits(model: swiftlet.Model, prompt_tokens: list[int],
                      tokens: Sequence[int]) -> list[npt.NDArray[np.float32]]:
    """The logits a greedy alone run chose from at each step: before each of
    its `tokens`, and after the last (where it stopped). A fresh context
    evaluates the prompt in one pass and then one token at a time, as
    generate and chat do; each token must be the argmax of its step (so these
    are that run's logits, and `prompt_tokens` its prompt)."""
    steps = []
    with model.context(n_ctx=512) as context:
        context.eval(prompt_tokens)
        for token in tokens:
            logits = context.logits
            assert logits is not None and int(np.argmax(logits)) == token
            steps.append(logits)
            context.eval([token])
        last = context.logits
        assert last is not None
        steps.append(last)
    return steps


def assert_equal_up_to_near_ties(model: swiftlet.Model, batched: str, alone: str, alone_tokens: Sequence[int],
                                 prompt_tokens: list[int], what: str) -> None:
    """`batched` is `alone` (a greedy run of `alone_tokens` after
    `prompt_tokens`), or they part where the batch chose a token within
    NEAR_TIE of the alone run's best logit at that step (found from the
    text: the first alone token whose bytes the batched text does not continue with)."""
    if batched == alone:
        return
    steps = alone_step_logits(model, prompt_tokens, alone_tokens)
    produced = batched.encode("utf-8")
    prefix = b""
    for step, logits in enumerate(steps):
        if step < len(alone_tokens):
            piece = model.token_to_bytes(alone_tokens[step])
            if produced.startswith(prefix + piece):
                prefix += piece
                continue
        rest = produced[len(prefix):]
        best = float(logits.max())
        candidates = [int(t) for t in np.flatnonzero(logits >= best - NEAR_TIE)]

        def continues(token: int) -> bool:
            if model.is_end_of_generation(token):
                return rest == b""
            piece = model.token_to_bytes(token)
            return piece != b"" and rest.startswith(piece)

        chosen = [t for t in candidates if continues(t)]
        top2 = np.sort(logits)[-2:]
        assert chosen, (f"{what}: the texts part at step {step} where the batch's choice is not within {NEAR_TIE} "
                        f"of the best logit (top-2 {top2[1]:.2f}, {top2[0]:.2f}):\n"
                        f"  batched {batched!r}\n  alone   {alone!r}")
        return
    raise AssertionError(f"{what}: the batched text goes on after the alone run ended:\n  {batched!r}\n  {alone!r}")


def generate_alone(model: swiftlet.Model, prompt: str, **options: object) -> tuple[str, tuple[int, ...]]:
    stream = model.generate(prompt, stream=True, **options)  # type: ignore[call-overload]
    text = stream.text()
    assert stream.result is not None
    return text, stream.result.tokens


# ------------------------------------------------------------ generate_batch


def test_generate_batch_equals_each_prompt_alone(model: swiftlet.Model, model_path: str) -> None:
    batched = model.generate_batch(PROMPTS, temperature=0, max_tokens=MAX_TOKENS)
    assert len(batched) == len(PROMPTS)
    greedy_matched = []
    for prompt, text in zip(PROMPTS, batched):
        alone, tokens = generate_alone(model, prompt, temperature=0, max_tokens=MAX_TOKENS)
        assert alone, prompt
        assert_equal_up_to_near_ties(model, text, alone, tokens, model.tokenize(prompt), prompt)
        if text == alone:
            greedy_matched.append(prompt)
    assert greedy_matched, "no prompt generated the same greedy text batched and alone"
    # Sampling: each sequence has its own sampler from the same seed, so with
    # the same arithmetic both ways (passes under 8 tokens) every prompt
    # draws what it draws alone.
    with swiftlet.Model(model_path, n_batch=7) as small_passes:
        sampled = small_passes.generate_batch(PROMPTS, temperature=0.8, seed=7, max_tokens=MAX_TOKENS)
        for prompt, text in zip(PROMPTS, sampled):
            assert text == small_passes.generate(prompt, temperature=0.8, seed=7, max_tokens=MAX_TOKENS), prompt


def test_generate_batch_cuts_each_text_at_its_own_stop_string(model: swiftlet.Model) -> None:
    whole = model.generate_batch(PROMPTS[:2], temperature=0, max_tokens=MAX_TOKENS)
    stop = [",", "."]
    cut = model.generate_batch(PROMPTS[:2], temperature=0, max_tokens=MAX_TOKENS, stop=stop)
    for prompt, text, full in zip(PROMPTS, cut, whole):
        assert text == model.generate(prompt, temperature=0, max_tokens=MAX_TOKENS, stop=stop)
        assert full.startswith(text) and len(text) < len(full), (text, full)


def test_generate_batch_arguments(model: swiftlet.Model) -> None:
    assert model.generate_batch([], max_tokens=4) == []
    with pytest.raises(TypeError):
        model.generate_batch("one string", max_tokens=4)  # type: ignore[arg-type]
    with pytest.raises(swiftlet.InvalidArgumentError):
        model.generate_batch(["a", "b"], max_tokens=4, top_p=2.0)
    with pytest.raises(swiftlet.ContextFullError):  # a prompt longer than the model's n_ctx (1024 here)
        model.generate_batch(["hi", "word " * 1100], max_tokens=4)


# ------------------------------------------------------------ chat_batch


def chat_alone(model: swiftlet.Model, messages: list[dict[str, str]], **options: object
               ) -> tuple[str, tuple[int, ...], int]:
    with model.context(n_ctx=512) as context:
        stream = context.chat(messages, stream=True, **options)  # type: ignore[call-overload]
        text = stream.text()
    assert stream.result is not None
    return text, stream.result.tokens, stream.result.n_prompt_tokens


def test_chat_batch_equals_each_chat_alone(model: swiftlet.Model) -> None:
    conversations = [[{"role": "user", "content": question}] for question in QUESTIONS]
    batched = model.chat_batch(conversations, temperature=0, max_tokens=MAX_TOKENS)
    for messages, text in zip(conversations, batched):
        alone, tokens, n_prompt = chat_alone(model, messages, temperature=0, max_tokens=MAX_TOKENS)
        prompt_tokens = model.tokenize(model.chat_format(messages), special=True)
        assert len(prompt_tokens) == n_prompt  # the conversation's tokens, as swiftlet_chat evaluated them
        assert_equal_up_to_near_ties(model, text, alone, tokens, prompt_tokens, messages[0]["content"])


# A template that writes BOS for a conversation opening with a system turn only.
BOS_FOR_SYSTEM = ("{% if messages[0]['role'] == 'system' %}{{ bos_token }}{% endif %}"
                  "{% for m in messages %}<start_of_turn>{{ m['role'] }}\n{{ m['content'] }}<end_of_turn>\n"
                  "{% endfor %}<start_of_turn>model\n")


def test_chat_batch_adds_bos_once_where_the_template_writes_it(gemma3: swiftlet.Model) -> None:
    """Gemma 3's metadata asks for BOS and its template writes <bos>: the
    prompt tokens must be swiftlet_chat's (no second BOS), also when only
    some conversations' text starts with it (then two batches are run)."""
    conversations = [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a fruit."}],
                     [{"role": "user", "content": "Name a colour."}]]
    for template in (None, BOS_FOR_SYSTEM):
        batched = gemma3.chat_batch(conversations, temperature=0, max_tokens=8, chat_template=template)
        for messages, text in zip(conversations, batched):
            alone, tokens, n_prompt = chat_alone(gemma3, messages, temperature=0, max_tokens=8, chat_template=template)
            rendered = gemma3.chat_format(messages, chat_template=template)
            flags = gemma3._chat_tokenize_flags(rendered)
            prompt_tokens = gemma3.tokenize(rendered, add_bos=bool(flags & swiftlet._lib.TOKENIZE_ADD_BOS),
                                            special=True)
            assert len(prompt_tokens) == n_prompt and prompt_tokens.count(gemma3.bos) == 1, (template, prompt_tokens)
            assert_equal_up_to_near_ties(gemma3, text, alone, tokens, prompt_tokens, repr(messages))


# ------------------------------------------------------------ decode


def test_two_sequences_in_one_pass_equal_each_alone(model: swiftlet.Model) -> None:
    first, second = model.tokenize("The capital of"), model.tokenize("Once upon a")
    assert len(first) + len(second) < 8  # the row kernels both ways (see the module docstring)
    with model.context(n_ctx=128) as alone:
        expected = [alone.eval_all_logits(first)]
        alone.reset()
        expected.append(alone.eval_all_logits(second))
    with model.context(n_ctx=128, n_seq_max=2) as context:
        assert context.n_seq_max == 2
        # interleaved, every entry keeping its logits
        order = sorted([(i, 0) for i in range(len(first))] + [(i, 1) for i in range(len(second))])
        tokens = [(first, second)[seq][i] for i, seq in order]
        context.decode(tokens, seq_ids=[seq for _, seq in order], positions=[i for i, _ in order],
                       logits=[True] * len(order))
        assert (context.seq_length(0), context.seq_length(1)) == (len(first), len(second))
        for entry, (i, seq) in enumerate(order):
            np.testing.assert_allclose(context.logits_for(entry), expected[seq][i], rtol=0, atol=LOGITS_ATOL)
        assert context.logits_for(len(order)) is None
        # each sequence samples from its own last logits
        for seq in (0, 1):
            assert context.sample(temperature=0, seq=seq) == int(np.argmax(expected[seq][-1]))
        with swiftlet.Sampler(temperature=0) as sampler:
            assert sampler.sample(context, seq=1) == int(np.argmax(expected[1][-1]))
        # logits=None keeps only each sequence's last entry's
        context.seq_keep(0)
        context.seq_remove(0, 0)
        context.decode(first + second, seq_ids=[0] * len(first) + [1] * len(second))
        assert context.logits_for(0) is None
        np.testing.assert_allclose(context.logits_for(len(first) - 1), expected[0][-1], rtol=0, atol=LOGITS_ATOL)
        np.testing.assert_allclose(context.logits_for(len(first) + len(second) - 1), expected[1][-1], rtol=0,
                                   atol=LOGITS_ATOL)


def test_a_copied_prefix_continues_as_the_whole_text_alone(model: swiftlet.Model) -> None:
    prefix = model.tokenize("My favourite food is")
    endings = [model.tokenize(" pizza", add_bos=False), model.tokenize(" sushi and", add_bos=False)]
    with model.context(n_ctx=128, n_seq_max=3) as context:
        context.decode(prefix)  # sequence 0
        context.seq_copy(0, 1)
        context.seq_copy(0, 2, len(prefix) - 1)  # all but the last token
        assert [context.seq_length(s) for s in range(3)] == [len(prefix), len(prefix), len(prefix) - 1]
        context.decode(endings[0] + endings[1], seq_ids=[0] * len(endings[0]) + [1] * len(endings[1]))
        got = [context.logits_for(len(endings[0]) - 1), context.logits_for(len(endings[0]) + len(endings[1]) - 1)]
        context.decode(prefix[-1:] + endings[0], seq_ids=[2] * (1 + len(endings[0])))
        got.append(context.logits_for(len(endings[0])))
    expected = []
    with model.context(n_ctx=128) as alone:  # the same passes: the shared part, then the rest
        for shared, rest in ((prefix, endings[0]), (prefix, endings[1]), (prefix[:-1], prefix[-1:] + endings[0])):
            alone.reset()
            alone.eval(shared)
            alone.eval(rest)
            expected.append(alone.logits)
    for logits, reference in zip(got, expected):
        np.testing.assert_allclose(logits, reference, rtol=0, atol=LOGITS_ATOL)


def test_removing_a_tail_is_a_rewind_and_keep_empties_the_others(model: swiftlet.Model) -> None:
    text = model.tokenize("Apples are red and bananas are yellow")
    with model.context(n_ctx=128) as alone:
        alone.eval(text)
        alone.rewind(4)
        alone.eval(text[6:8])
        expected = alone.logits
    with model.context(n_ctx=128, n_seq_max=3) as context:
        context.decode(text * 2, seq_ids=[0] * len(text) + [1] * len(text))
        context.seq_remove(1, 4)
        assert context.seq_length(1) == 4 and context.tokens(1) == text[:4]
        assert context.seq_length(0) == len(text) and context.tokens(0) == text
        context.decode(text[6:8], seq_ids=[1, 1])
        np.testing.assert_allclose(context.logits_for(1), expected, rtol=0, atol=LOGITS_ATOL)
        context.seq_keep(1)
        assert [context.seq_length(s) for s in range(3)] == [0, 6, 0]
        with pytest.raises(swiftlet.InvalidArgumentError):
            context.sample(temperature=0, seq=0)  # emptied: no logits


def test_bad_sequences_and_positions_raise(model: swiftlet.Model) -> None:
    tokens = model.tokenize("Hello there")
    with model.context(n_ctx=32, n_seq_max=2) as context:
        bad_calls = [
            lambda: context.decode(tokens, seq_ids=[2] * len(tokens)),
            lambda: context.decode(tokens, seq_ids=[-1] * len(tokens)),
            lambda: context.decode(tokens, positions=[1 + i for i in range(len(tokens))]),
            lambda: context.decode(tokens + tokens, seq_ids=[0] * len(tokens) + [1] * len(tokens),
                                   positions=[0] * (2 * len(tokens))),  # each sequence's second entry is not at 0
            lambda: context.decode([]),
            lambda: context.decode([model.n_vocab]),
            lambda: context.decode(tokens, seq_ids=[2**40] * len(tokens)),
            lambda: context.seq_length(2),
            lambda: context.seq_remove(2, 0),
            lambda: context.seq_remove(0, 1),  # past the (empty) sequence's end
            lambda: context.seq_copy(0, 5),
            lambda: context.seq_copy(0, 1, 3),  # more than sequence 0 holds
            lambda: context.seq_keep(-1),
            lambda: context.sample(temperature=0, seq=5),
        ]
        for index, call in enumerate(bad_calls):
            with pytest.raises(swiftlet.InvalidArgumentError):
                call()
            assert context.seq_length(0) == 0 and context.seq_length(1) == 0, index  # nothing was evaluated
        with pytest.raises(ValueError):
            context.decode(tokens, seq_ids=[0])  # not one per token
        with pytest.raises(swiftlet.ContextFullError):
            context.decode(tokens * 20, seq_ids=[1] * (len(tokens) * 20))
    with pytest.raises(ValueError):
        model.context(overflow="wrap")  # type: ignore[arg-type]


# ------------------------------------------------------------ overflow


@pytest.mark.parametrize("overflow", ["shift", "error"])
def test_overflow_shift_generates_past_n_ctx(tiny: swiftlet.Model, overflow: str) -> None:
    """600 tokens on a 128-token context: a shift makes room as often as it
    takes; "error" ends the generation when the context is full (finish
    reason "length", as before sequences). The tiny models never produce
    end-of-generation by themselves, so max_tokens is what ends a shifting run."""
    with tiny.context(n_ctx=128, overflow=overflow) as context:  # type: ignore[arg-type]
        stream = context.generate("hello the world", max_tokens=600, temperature=0.8, seed=5, stream=True)
        stream.text()
        result = stream.result
        assert result is not None
        if overflow == "shift":
            assert (len(result.tokens), result.stop_reason) == (600, StopReason.MAX_TOKENS)
            assert context.position <= 128
            context.eval([1, 2, 3])  # and evaluation goes on too
        else:
            assert result.stop_reason == StopReason.CONTEXT_FULL and result.finish_reason == "length"
            assert result.n_prompt_tokens + len(result.tokens) == 128 == context.position
            with pytest.raises(swiftlet.ContextFullError):
                context.eval([1])


def test_overflow_shift_on_the_real_model(model: swiftlet.Model) -> None:
    """SmolLM2 on a 64-token context that shifts 16 tokens at a time: the
    generation runs past 64 tokens several times over (it may end by
    itself, with end-of-generation, but never because the context is full),
    and max_tokens still bounds it."""
    with model.context(n_ctx=64, overflow="shift", n_keep=4, n_discard=16) as context:
        stream = context.generate("List the numbers from 1 to 300, comma-separated:", max_tokens=200, temperature=0,
                                  stream=True)
        stream.text()
        result = stream.result
        assert result is not None
        assert result.stop_reason in (StopReason.MAX_TOKENS, StopReason.END_OF_GENERATION)
        assert result.stop_reason == StopReason.END_OF_GENERATION or len(result.tokens) == 200
        assert result.n_prompt_tokens + len(result.tokens) > 2 * 64, len(result.tokens)
        assert context.position <= 64
