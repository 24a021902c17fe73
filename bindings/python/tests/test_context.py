"""Contexts: evaluation, logits, sampling, rewind/reset, cancel and the
one-thread-at-a-time rule. Logits are compared with the C API called
through raw ctypes (tests/raw_c.py)."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import swiftlet

from conftest import PARIS_PROMPT, THREADS
from raw_c import RawC


def test_logits_equal_the_c_api(model: swiftlet.Model, model_path: str) -> None:
    tokens = model.tokenize(PARIS_PROMPT)
    reference = RawC(swiftlet.library_path()).logits(model_path, tokens, THREADS)
    with model.context(n_ctx=512) as context:
        context.eval(tokens)
        logits = context.logits
    assert logits is not None
    assert logits.dtype == np.float32 and logits.shape == (model.n_vocab,)
    np.testing.assert_array_equal(logits, reference)
    assert model.detokenize([int(np.argmax(logits))]) == " Paris"


def test_logits_equal_the_c_api_on_tiny_models(tiny_paths: dict[str, str]) -> None:
    raw = RawC(swiftlet.library_path())
    tokens = [5, 17, 263, 101, 44, 290, 7]
    for name, path in tiny_paths.items():
        with swiftlet.Model(path, n_threads=THREADS) as tiny, tiny.context() as context:
            context.eval(tokens)
            np.testing.assert_array_equal(context.logits, raw.logits(path, tokens, THREADS), err_msg=name)


def test_logits_are_a_copy_and_none_without_evaluation(tiny: swiftlet.Model) -> None:
    with tiny.context() as context:
        assert context.logits is None
        context.eval([10, 11])
        first = context.logits
        assert first is not None
        kept = first.copy()
        context.eval([12])
        np.testing.assert_array_equal(first, kept)  # unchanged by the later eval
        second = context.logits
        assert second is not None and not np.array_equal(first, second)
        second[:] = 0  # writing to the copy does not touch the context
        assert np.abs(context.logits).sum() > 0  # type: ignore[arg-type]
        context.rewind(2)
        assert context.logits is None


def test_eval_all_logits_rows_match_one_token_evals(tiny: swiftlet.Model) -> None:
    tokens = [40, 41, 42, 43, 44]
    with tiny.context() as batch, tiny.context() as single:
        rows = batch.eval_all_logits(tokens)
        assert rows.shape == (5, tiny.n_vocab)
        np.testing.assert_array_equal(rows[-1], batch.logits)
        for i, token in enumerate(tokens):
            single.eval([token])
            np.testing.assert_allclose(rows[i], single.logits, atol=1e-3, rtol=1e-3)  # type: ignore[arg-type]


def test_position_rewind_reset(tiny: swiftlet.Model) -> None:
    with tiny.context(n_ctx=64) as context:
        assert (context.position, context.size, context.n_ctx) == (0, 64, 64)
        context.eval([1, 2, 3, 4])
        assert context.position == 4
        after_two = None
        with tiny.context(n_ctx=64) as other:
            other.eval([1, 2, 3])
            after_two = other.logits
        context.rewind(2)
        assert context.position == 2
        context.eval([3])
        np.testing.assert_array_equal(context.logits, after_two)  # type: ignore[arg-type]
        with pytest.raises(swiftlet.InvalidArgumentError):
            context.rewind(10)
        context.reset()
        assert context.position == 0


def test_greedy_sample_is_argmax_and_samplers_are_reproducible(model: swiftlet.Model) -> None:
    with model.context(n_ctx=256) as context:
        context.eval(model.tokenize("Once upon a time"))
        logits = context.logits
        assert logits is not None
        assert context.sample(temperature=0) == int(np.argmax(logits))
        draws = [swiftlet.Sampler(temperature=1.0, seed=99).sample(context) for _ in range(2)]
        assert draws[0] == draws[1]
        sampler = swiftlet.Sampler(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=3)
        sequence = [sampler.sample(context) for _ in range(40)]
        assert len(set(sequence)) > 1  # the random state advances
        again = swiftlet.Sampler(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=3)
        assert [again.sample(context) for _ in range(40)] == sequence
        # Context.sample keeps its sampler while the settings stay the same
        kept = [context.sample(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=3) for _ in range(40)]
        assert kept == sequence


def test_a_cancel_while_nothing_runs_does_not_cancel_the_next_call(tiny: swiftlet.Model) -> None:
    with tiny.context() as context:
        context.eval([1, 2])
        logits = context.logits
        context.cancel()  # nothing runs: nothing to stop, and nothing kept for later
        context.eval([3])
        assert context.position == 3
        context.cancel()
        context.cancel()
        assert context.generate("", max_tokens=4, temperature=0)  # runs to its end
        assert context.position == 7
        with tiny.context() as fresh:  # and the logits were the real ones all along
            fresh.eval([1, 2])
            np.testing.assert_array_equal(fresh.logits, logits)  # type: ignore[arg-type]


def test_a_cancel_after_a_call_ended_keeps_its_logits(tiny: swiftlet.Model) -> None:
    """The package used to consume a cancel that arrived after its call had
    finished by evaluating a throwaway token and rewinding, which lost the
    logits. With the library's rule there is nothing to consume."""
    with tiny.context() as context:
        context.eval([5, 6, 7])
        before = context.logits
        done = threading.Event()

        def late_cancel() -> None:
            context.cancel()
            done.set()

        threading.Thread(target=late_cancel).start()
        assert done.wait(10)
        np.testing.assert_array_equal(context.logits, before)  # type: ignore[arg-type]
        assert context.sample(temperature=0) == int(np.argmax(before))  # type: ignore[arg-type]


def test_cancel_from_another_thread_stops_a_generation(model: swiftlet.Model) -> None:
    with model.context(n_ctx=1024) as context:
        stream = context.generate("Once upon a time", max_tokens=900, temperature=0.8, seed=1, stream=True)
        pieces = []
        with pytest.raises(swiftlet.CancelledError):
            for piece in stream:
                pieces.append(piece)
                if len(pieces) == 3:
                    threading.Thread(target=context.cancel).start()
        assert 3 <= len(pieces) < 100
        position = context.position
        assert 5 < position < 120
        # usable, and the next calls are not cancelled
        context.eval(model.tokenize(" The end."))
        assert context.position > position
        assert context.generate("", max_tokens=3, temperature=0) != ""


def test_a_context_used_by_two_threads_raises_busy(model: swiftlet.Model) -> None:
    with model.context(n_ctx=512) as context:
        stream = context.generate(PARIS_PROMPT, max_tokens=5, temperature=0, stream=True)
        errors: list[BaseException] = []

        def other_thread() -> None:
            try:
                context.eval([1])
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert len(errors) == 1 and isinstance(errors[0], swiftlet.ContextBusyError)
        with pytest.raises(swiftlet.ContextBusyError):
            _ = context.position
        assert stream.text().startswith(" Paris")
        assert context.position > 5  # free again once the stream ended


def test_closing_a_stream_early_keeps_what_was_generated(model: swiftlet.Model) -> None:
    with model.context(n_ctx=512) as context:
        stream = context.generate(PARIS_PROMPT, max_tokens=200, temperature=0, stream=True)
        first = next(stream)
        assert first == " Paris"
        stream.close()
        assert list(stream) == []
        position = context.position
        prompt_length = len(model.tokenize(PARIS_PROMPT))
        # the prompt stays; of the generated tokens, those evaluated before the
        # cancel (the worker runs at most a few pieces ahead of the consumer)
        assert prompt_length <= position < prompt_length + 16
        # usable (with a prompt: a cancel that hit an evaluation leaves no logits to continue from)
        assert context.generate(" The", max_tokens=2, temperature=0)


def test_eval_on_the_main_thread_starts_no_thread_per_call(tiny: swiftlet.Model,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C support for eval is a watcher thread per process, woken through
    signal.set_wakeup_fd, not a thread per call (which cost a quarter of the
    one-token loop's speed); and the host's wakeup fd is put back after each call."""
    assert threading.current_thread() is threading.main_thread()
    import signal
    with tiny.context() as context:
        context.eval([1])  # the watcher starts on first use
        started: list[threading.Thread] = []
        original = threading.Thread.start

        def counting_start(thread: threading.Thread) -> None:
            started.append(thread)
            original(thread)

        monkeypatch.setattr(threading.Thread, "start", counting_start)
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        previous = signal.set_wakeup_fd(write_fd)
        try:
            for token in range(2, 40):
                context.eval([token])
            context.eval_all_logits([40, 41])
            assert signal.set_wakeup_fd(write_fd) == write_fd  # the host's fd is back after every call
        finally:
            signal.set_wakeup_fd(previous)
            os.close(read_fd)
            os.close(write_fd)
        assert started == []
        assert context.position == 41
