"""One model shared by several Python threads, each with its own context; the
GIL is released while the C library works."""
from __future__ import annotations

import threading

import swiftlet

from conftest import THREADS

PROMPTS = ["The capital of France is", "Water boils at", "The largest planet is", "My favourite food is"]


def _expected(model: swiftlet.Model) -> dict[str, str]:
    answers = {}
    for prompt in PROMPTS:
        with model.context(n_ctx=128) as context:
            answers[prompt] = context.generate(prompt, max_tokens=12, temperature=0)
    return answers


def _run_threads(work: object, arguments: list[str]) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(argument: str) -> None:
        try:
            work(argument)  # type: ignore[operator]
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(a,)) for a in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_threads_with_their_own_contexts_get_the_sequential_answers(model: swiftlet.Model) -> None:
    expected = _expected(model)
    results: dict[tuple[str, int], str] = {}

    def work(prompt: str) -> None:
        with model.context(n_ctx=128, n_threads=THREADS) as context:
            for round_ in range(3):
                context.reset()
                results[(prompt, round_)] = context.generate(prompt, max_tokens=12, temperature=0)

    assert _run_threads(work, PROMPTS) == []
    assert {key: text for key, text in results.items()} == {(p, r): expected[p] for p in PROMPTS for r in range(3)}


def test_model_level_calls_from_several_threads(model: swiftlet.Model) -> None:
    """Model.generate from several threads at once: whoever finds the model's
    own context busy gets a temporary one; every answer is still right."""
    expected = _expected(model)
    results: dict[str, list[str]] = {p: [] for p in PROMPTS}

    def work(prompt: str) -> None:
        for _ in range(2):
            results[prompt].append(model.generate(prompt, max_tokens=12, temperature=0))

    assert _run_threads(work, PROMPTS) == []
    assert results == {p: [expected[p]] * 2 for p in PROMPTS}


def test_the_gil_is_released_during_c_calls(model: swiftlet.Model) -> None:
    """A pure-Python thread keeps counting while another thread evaluates a long prompt."""
    tokens = model.tokenize("the quick brown fox jumps over the lazy dog " * 30)
    counts: list[int] = []
    done = threading.Event()
    spinning = threading.Event()

    def spin() -> None:
        count = 0
        spinning.set()
        while not done.is_set():
            count += 1
        counts.append(count)

    def evaluate() -> None:
        with model.context(n_ctx=512, n_threads=THREADS) as context:
            spinning.wait()
            context.eval(tokens)
            context.eval(tokens[:100])
        done.set()

    spinner = threading.Thread(target=spin)
    evaluator = threading.Thread(target=evaluate)
    spinner.start()
    evaluator.start()
    evaluator.join()
    spinner.join()
    assert counts[0] > 100_000
