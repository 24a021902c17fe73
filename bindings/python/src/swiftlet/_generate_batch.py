"""Several prompts generated together: ``swiftlet_generate_batch`` behind
:meth:`Model.generate_batch` and :meth:`Model.chat_batch`.

The prompts run as the sequences of one temporary context, sized for them
(:func:`generate_on_new_context`). ``swiftlet_generate_batch`` is one C call
that delivers every sequence's pieces to one callback; each sequence's pieces
go through their own :class:`StopMatcher`, and the callback returns 0 for a
sequence once its stop string is complete, which stops that sequence only.
The call runs on a worker thread, as generate's do (:mod:`swiftlet._stream`):
on the main thread a Ctrl-C would raise ``KeyboardInterrupt`` inside the
callback, where ctypes swallows it. The caller waits for the worker; a
Ctrl-C there cancels the call, waits for it to stop, and is raised.
"""
from __future__ import annotations

import ctypes
import threading
from typing import TYPE_CHECKING, Optional, Sequence

from . import _abi
from ._context import Context
from ._core import Call, ContextCore
from ._generation import DEFAULT, MaxTokens, StopArgument, StopMatcher, generate_params
from ._lib import Status
from ._runtime import check
from ._sampling import SamplingOptions
from ._stream import Options, join_quietly
from .errors import error_for

if TYPE_CHECKING:
    from ._model import Model

#: The temporary context's length is a multiple of this: a few positions more
#: cost next to nothing, and prompts of about the same length get one size.
CONTEXT_ROUNDING = 64


def generate_on_new_context(model: Model, prompts: Sequence[bytes], flags: Sequence[int], max_tokens: MaxTokens,
                            sampling: SamplingOptions, stop: StopArgument) -> list[str]:
    """``swiftlet_generate_batch`` of `prompts`, prompt i tokenized with
    ``flags[i]``, on a new context of as many sequences, each just long enough
    (:func:`context_size`); closed when done.

    The C call takes one set of flags, so prompts with different flags (a
    chat template that writes BOS for some conversations only) are generated
    in one batch per set, on the same context, made for the largest batch."""
    if not prompts:
        return []
    groups: dict[int, list[int]] = {}
    for index, value in enumerate(flags):
        groups.setdefault(value, []).append(index)
    with model._use() as address:
        longest = max(token_count(model, address, prompt, value) for prompt, value in zip(prompts, flags))
    context = Context(model, n_ctx=context_size(model, longest, max_tokens), n_batch=model._n_batch,
                      n_seq_max=max(len(indices) for indices in groups.values()))
    texts = [""] * len(prompts)
    try:
        with context._using() as core:
            options = Options(core, max_tokens, sampling, stop)
            try:
                for value, indices in groups.items():
                    group = generate_together(core, [prompts[index] for index in indices], options, value)
                    for index, text in zip(indices, group):
                        texts[index] = text
            finally:
                options.grammar.done()
    finally:
        context.close()
    return texts


def token_count(model: Model, address: int, prompt: bytes, flags: int) -> int:
    """How many tokens `prompt` has with `flags` (a size query)."""
    count = ctypes.c_size_t(0)
    status = model._lib.tokenize(address, prompt, flags, None, 0, count)
    if status not in (Status.OK, Status.BUFFER_TOO_SMALL):
        check(model._lib, status)
    return int(count.value)


def context_size(model: Model, longest: int, max_tokens: MaxTokens) -> int:
    """n_ctx for generating `max_tokens` after prompts of at most `longest`
    tokens: that many, rounded up to a multiple of CONTEXT_ROUNDING, within
    the model's own n_ctx if it was given one, else its training length.
    ``max_tokens=None`` ("until full"): the model's n_ctx, or 0 for the
    library's default, as :meth:`Model.generate` has."""
    if max_tokens is None:
        return model._n_ctx or 0
    limit = model._n_ctx or model.info.n_ctx_train
    if max_tokens is DEFAULT:
        defaults = _abi.GenerateParams()
        model._lib.generate_params_init(defaults)
        count = int(defaults.max_tokens)
    else:
        count = max(int(max_tokens), 0)  # a negative one is the library's error, reported by the call
    wanted = -(-(longest + count) // CONTEXT_ROUNDING) * CONTEXT_ROUNDING
    return max(1, min(wanted, limit))


def generate_together(core: ContextCore, prompts: Sequence[bytes], options: Options, flags: int) -> list[str]:
    """``swiftlet_generate_batch`` of `prompts` (tokenized with `flags`) on a
    context whose use lock the caller holds and which has at least
    ``len(prompts)`` sequences; the text generated for each, stop strings cut
    as :meth:`Model.generate` cuts them.

    A sequence that fills up while generating just ends (as ``generate``'s
    "length"); a prompt that does not fit raises ContextFullError before
    anything is generated. A cancel (or Ctrl-C) raises CancelledError (or
    KeyboardInterrupt) and returns no text."""
    count = len(prompts)
    array = (ctypes.c_char_p * count)(*prompts)
    params = generate_params(core.lib, options.max_tokens, options.sampling, flags)
    results = (_abi.GenerateResult * count)()
    for result in results:
        result.struct_size = ctypes.sizeof(_abi.GenerateResult)
        result.stop_reason = -1  # stays -1 if the library never fills it
    matchers = [StopMatcher(options.stops) for _ in range(count)]
    parts: list[list[str]] = [[] for _ in range(count)]
    raised: list[BaseException] = []
    this = Call()

    def on_piece(seq_id: int, address: Optional[int], length: int, _token: int, _user_data: Optional[int]) -> int:
        try:
            text = ctypes.string_at(address, length).decode("utf-8", "replace") if length and address else ""
            matcher = matchers[seq_id]
            shown = matcher.feed(text)
            if shown:
                parts[seq_id].append(shown)
            return 1 if matcher.matched is None else 0
        except BaseException as error:  # never into the C library
            raised.append(error)
            core.interrupt(this)  # stops every sequence
            return 0

    callback = _abi.BatchTokenCallback(on_piece)
    outcome: list[tuple[int, str]] = []

    def work() -> None:
        try:
            with options.grammar.held():
                outcome.append(core.run(
                    lambda address: core.lib.generate_batch(address, array, count, params, callback, results), this))
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=work, name="swiftlet-generate-batch", daemon=True)
    thread.start()
    try:
        thread.join()
    except BaseException:  # KeyboardInterrupt, mostly
        core.interrupt(this)
        join_quietly(thread)
        raise
    if raised:
        raise raised[0]
    status, message = outcome[0]
    filled = all(result.stop_reason >= 0 for result in results)
    if status != Status.OK and not (status == Status.CONTEXT_FULL and filled):
        raise error_for(status, message)
    return ["".join(pieces) + matcher.finish() for pieces, matcher in zip(parts, matchers)]
