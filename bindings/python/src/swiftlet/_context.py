"""Contexts, samplers and text streams.

How a C call on a context runs
------------------------------
A context is used by one thread at a time (the header's rule). Every method
that calls into the context takes the context's *use lock* without waiting; if
another thread holds it, :class:`~swiftlet.ContextBusyError` is raised rather
than breaking the C contract. A stream holds the lock from its creation until
it is exhausted or closed.

Calls that evaluate (eval, generate, chat) run with cancel bookkeeping
(:meth:`_ContextCore.run`). Generation always runs on a worker thread that
feeds a queue; the consuming thread waits on the queue. Evaluation called from
the main thread runs on a worker too. Either way the main thread waits in an
interruptible wait, so Ctrl-C raises ``KeyboardInterrupt`` there at once; the
binding then calls ``swiftlet_context_cancel`` (the library stops within one
layer), joins the worker, and re-raises. The context stays usable.

The library keeps a cancel request made while no call runs, for the next call.
A request the binding sends to stop a call that then finishes on its own would
therefore cancel the *next* call: the binding notices that case (it knows
whether the call it aimed at returned ``CANCELLED``) and consumes the stale
request before the next evaluating call (a one-token evaluation that is
cancelled at its first layer and so changes nothing but the logits).
"""
from __future__ import annotations

import ctypes
import queue
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal, Mapping, Optional, Sequence, Union, overload

import numpy as np
import numpy.typing as npt

from . import _lib
from ._generation import (DEFAULT_MAX_TOKENS, DEFAULT_MIN_P, DEFAULT_REPEAT_LAST_N, DEFAULT_REPEAT_PENALTY,
                          DEFAULT_TEMPERATURE, DEFAULT_TOP_K, DEFAULT_TOP_P, INT32_MAX, GenerationResult,
                          StopArgument, StopMatcher, finish_reason_for, normalize_stop, sampler_params)
from ._lib import GenerateParams, GenerateResult, Library, Status, StopReason
from ._runtime import SharedHandle, check
from .errors import ContextBusyError, InvalidArgumentError, error_for

if TYPE_CHECKING:
    from ._model import Model

ChatMessages = Sequence[Mapping[str, Optional[str]]]
CallFunction = Callable[[int], int]

# How many text pieces a generation may run ahead of the code consuming them.
_LOOKAHEAD = 8
_END = object()


class _Abort:
    """Marks one call as unwanted; checked under the context's state lock."""

    __slots__ = ("requested",)

    def __init__(self) -> None:
        self.requested = False


def _join_quietly(thread: threading.Thread) -> None:
    """Joins `thread`, ignoring further Ctrl-C (the worker stops within a layer
    once cancelled; leaving before it does would let two threads use one context)."""
    while thread.is_alive():
        try:
            thread.join(0.05)
        except KeyboardInterrupt:
            pass


def token_array(tokens: Sequence[int]) -> ctypes.Array[ctypes.c_int32]:
    """A C ``int32_t[]`` of `tokens`. Ids that do not even fit in 32 bits are
    rejected here (ctypes would wrap them silently); the library checks the rest."""
    values = [int(t) for t in tokens]
    for index, value in enumerate(values):
        if not -INT32_MAX - 1 <= value <= INT32_MAX:
            raise InvalidArgumentError(Status.INVALID_ARGUMENT,
                                       f"token id {value} at index {index} is outside the vocabulary")
    return (ctypes.c_int32 * len(values))(*values)


class _ContextCore:
    """The C context pointer and everything the worker threads share. Holds no
    reference to the :class:`Context` object, so that object can be collected
    (its finalizer then calls :meth:`close`)."""

    def __init__(self, library: Library, address: int, model_handle: SharedHandle, n_vocab: int) -> None:
        self.lib = library
        self.address = address
        self.model_handle = model_handle
        self.n_vocab = n_vocab
        self.use_lock = threading.Lock()
        self._state = threading.Lock()
        self._in_call = False
        self._call_abort: Optional[_Abort] = None
        self._cancel_sent = False
        self._cancel_pending = False
        self._worker_idents: set[int] = set()
        self._free_deferred = False
        self.active_job: Optional[_Job] = None
        self.closed = False

    # -- running calls

    def run(self, call: CallFunction, abort: Optional[_Abort] = None) -> tuple[int, str]:
        """Runs an evaluating C call on this thread with cancel bookkeeping;
        returns its status and (if not OK) the library's message."""
        self._drain_stale_cancel()
        with self._state:
            if self.closed and not self._free_deferred:
                raise ValueError("the context is closed")
            if abort is not None and abort.requested:
                return Status.CANCELLED, "cancelled before it started"
            self._in_call = True
            self._call_abort = abort
            self._cancel_sent = False
        status: int = Status.INTERNAL
        message = ""
        try:
            status = call(self.address)
            if status != Status.OK:
                message = self.lib.last_error()
        finally:
            with self._state:
                self._in_call = False
                self._call_abort = None
                if self._cancel_sent and status != Status.CANCELLED:
                    self._cancel_pending = True  # our request outlived the call it was meant for
                self._cancel_sent = False
        return status, message

    def run_blocking(self, call: CallFunction) -> tuple[int, str]:
        """:meth:`run`, but from the main thread on a worker so Ctrl-C can cancel it."""
        if threading.current_thread() is not threading.main_thread():
            return self.run(call)
        abort = _Abort()
        outcome: list[Any] = []

        def work() -> None:
            self.enter_worker()
            try:
                outcome.append(self.run(call, abort))
            except BaseException as error:  # handed to the waiting thread
                outcome.append(error)
            finally:
                self.leave_worker()

        thread = threading.Thread(target=work, name="swiftlet-eval", daemon=True)
        thread.start()
        try:
            thread.join()
        except BaseException:
            self.interrupt(abort)
            _join_quietly(thread)
            raise
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        status, message = result
        return int(status), str(message)

    def interrupt(self, abort: _Abort) -> None:
        """Stops the call `abort` belongs to: before it starts, or (through
        ``swiftlet_context_cancel``) while it runs. Does nothing once it ended."""
        with self._state:
            abort.requested = True
            if self._in_call and self._call_abort is abort:
                self._cancel_sent = True
                self.lib.context_cancel(self.address)

    def cancel(self) -> None:
        """The public cancel: stops the running call, or (the library's rule)
        the next evaluating call if none runs."""
        with self._state:
            if self.closed:
                return
            if self._in_call:
                self._cancel_sent = True
            else:
                self._cancel_pending = False  # the request is meant for the next call now
            self.lib.context_cancel(self.address)

    def _drain_stale_cancel(self) -> None:
        with self._state:
            if not self._cancel_pending:
                return
            library, address = self.lib, self.address
            position = library.context_position(address)
            if position >= library.context_size(address):
                return  # nothing can be evaluated; try again before the next call
            token = (ctypes.c_int32 * 1)(0)
            status = library.context_eval(address, token, 1)
            if status == Status.OK:  # there was no request after all: undo the token
                library.context_rewind(address, position)
            if status in (Status.OK, Status.CANCELLED):
                self._cancel_pending = False

    # -- worker threads and closing

    def enter_worker(self) -> None:
        with self._state:
            self._worker_idents.add(threading.get_ident())

    def leave_worker(self) -> None:
        with self._state:
            self._worker_idents.discard(threading.get_ident())
            free_now = self._free_deferred and not self._worker_idents
        if free_now:
            self._free()

    def close(self) -> None:
        """Stops what runs on the context, waits for it, and frees the context
        (then releases its hold on the model). Idempotent; safe from any thread."""
        with self._state:
            if self.closed:
                return
            self.closed = True
            job = self.active_job
            on_worker = threading.get_ident() in self._worker_idents
        if job is not None:
            job.abort()
        if on_worker:
            # Called on this context's own worker (a garbage collection inside
            # a callback): the C call is still on the stack. Free it when it returns.
            with self._state:
                self._free_deferred = True
            return
        if self._in_call:
            with self._state:
                if self._in_call:
                    self._cancel_sent = True
                    self.lib.context_cancel(self.address)
        self.use_lock.acquire()  # waits for a call running on another thread
        try:
            with self._state:
                if self._worker_idents:
                    self._free_deferred = True
                    return
        finally:
            self.use_lock.release()
        self._free()

    def _free(self) -> None:
        with self._state:
            address, self.address = self.address, 0
        if address:
            self.lib.context_free(address)
            self.model_handle.release()


class _Job:
    """One generation: the C call on a worker thread, the queue it fills, and
    the use lock it holds. Shared by the :class:`TextStream` and the worker."""

    def __init__(self, core: _ContextCore, call: Callable[[int, Any, GenerateResult], int],
                 stops: Sequence[str], owned: Optional[Context]) -> None:
        self.core = core
        self._call = call
        self.queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.matcher = StopMatcher(stops)
        self.tokens: list[int] = []
        self.error: Optional[BaseException] = None
        self.abort_flag = _Abort()
        self.status: int = Status.OK
        self.message = ""
        self.result = GenerateResult()
        self.result.struct_size = ctypes.sizeof(GenerateResult)
        self.result.stop_reason = -1  # stays -1 if the library never fills it
        self.thread: Optional[threading.Thread] = None
        self._credits = threading.Semaphore(_LOOKAHEAD)
        self._owned = owned
        self._released = False
        self._release_on_exit = False
        self._release_lock = threading.Lock()
        self._callback = _lib.TokenCallback(self._on_piece)
        core.active_job = self

    def start(self) -> None:
        self.thread = threading.Thread(target=self._work, name="swiftlet-generate", daemon=True)
        self.thread.start()

    def _on_piece(self, address: Optional[int], length: int, token: int, _user_data: Optional[int]) -> bool:
        try:
            if token >= 0:
                self.tokens.append(token)
            text = ctypes.string_at(address, length).decode("utf-8", "replace") if length and address else ""
            shown = self.matcher.feed(text)
            if shown:
                self._credits.acquire()  # wait while the consumer is _LOOKAHEAD pieces behind
                self.queue.put(shown)
            return self.matcher.matched is None and not self.abort_flag.requested
        except BaseException as error:  # never let an exception into the C library
            self.error = error
            return False

    def _work(self) -> None:
        core = self.core
        core.enter_worker()
        try:
            self.status, self.message = core.run(
                lambda address: self._call(address, self._callback, self.result), self.abort_flag)
            tail = self.matcher.finish()
            if tail:
                self.queue.put(tail)
        except BaseException as error:
            self.error = self.error or error
        finally:
            self.queue.put(_END)
            if self._release_on_exit:
                self.release()
            core.leave_worker()

    def abort(self) -> None:
        """Stops the generation (cancel), waits for the worker, releases the context."""
        self.abort_flag.requested = True
        self.core.interrupt(self.abort_flag)
        self._credits.release(_LOOKAHEAD + 1)  # wake a callback waiting for the consumer
        thread = self.thread
        if thread is threading.current_thread():
            # called on the worker itself (a garbage collection inside the
            # callback): the C call is still running, so the context is
            # released when it returns (_work), not now
            self._release_on_exit = True
            return
        if thread is not None:
            _join_quietly(thread)
        self.release()

    def release(self) -> None:
        """Gives the context back (idempotent): its use lock, and a temporary
        context is closed."""
        with self._release_lock:
            if self._released:
                return
            self._released = True
        if self.core.active_job is self:
            self.core.active_job = None
        self.core.use_lock.release()
        if self._owned is not None:
            self._owned.close()

    def took_piece(self) -> None:
        self._credits.release()

    def outcome(self) -> GenerationResult:
        """The result once the worker ended; raises what the call failed with."""
        if self.error is not None:
            raise self.error
        status, filled = self.status, self.result.stop_reason >= 0
        if status != Status.OK and not (status == Status.CONTEXT_FULL and filled):
            raise error_for(status, self.message)
        reason = StopReason(self.result.stop_reason)
        text_stop = self.matcher.matched
        return GenerationResult(text="", tokens=tuple(self.tokens), n_prompt_tokens=int(self.result.n_prompt_tokens),
                                stop_reason=reason, finish_reason=finish_reason_for(reason, text_stop),
                                stop_string=text_stop)


class TextStream(Iterator[str]):
    """The text of a generation as it is produced: an iterator of ``str`` pieces.

    Every piece holds only complete characters (the library holds back the
    bytes of a character split across tokens); the last piece may be U+FFFD
    if generation stopped inside a character. Stop strings never appear, nor
    any text after them.

    The generation starts at the first ``next()`` and runs on a worker thread,
    at most a few pieces ahead of the consumer. The stream holds its context
    (and keeps it and its model alive) until it is exhausted, closed with
    :meth:`close` or a ``with`` block, or garbage collected (e.g. after a
    ``break`` out of a ``for`` loop over it). Ctrl-C while waiting for a piece
    cancels the generation and raises ``KeyboardInterrupt``; the context
    remains usable.

    Errors (e.g. :class:`~swiftlet.ContextFullError` when the prompt does not
    fit, :class:`~swiftlet.CancelledError` after :meth:`Context.cancel`) are
    raised by ``next()``.
    """

    def __init__(self, job: _Job, owners: tuple[object, ...]) -> None:
        self._job: Optional[_Job] = job
        self._owners = owners  # the Context (and Model) must live as long as the stream
        self._started = False
        self._parts: list[str] = []
        #: The :class:`GenerationResult` once the stream is exhausted, else None.
        self.result: Optional[GenerationResult] = None

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        job = self._job
        if job is None:
            raise StopIteration
        if not self._started:
            self._started = True
            try:
                job.start()
            except BaseException:
                self._finish()
                job.release()
                raise
        try:
            item = job.queue.get()
            while item is not _END:
                job.took_piece()
                if isinstance(item, str) and item:
                    self._parts.append(item)
                    return item
                item = job.queue.get()
        except BaseException:  # KeyboardInterrupt, mostly
            self._finish()
            job.abort()
            raise
        self._finish()
        if job.thread is not None:
            _join_quietly(job.thread)
        job.release()
        result = job.outcome()
        self.result = GenerationResult("".join(self._parts), result.tokens, result.n_prompt_tokens,
                                       result.stop_reason, result.finish_reason, result.stop_string)
        raise StopIteration

    def _finish(self) -> None:
        """Marks the stream done. The owners stay referenced by the caller's
        frame (`job` keeps the core; the Context/Model objects may go now)."""
        self._job = None
        self._owners = ()

    @property
    def text_so_far(self) -> str:
        """The text of the pieces returned so far."""
        return "".join(self._parts)

    def text(self) -> str:
        """Consumes the rest of the stream; returns the whole text (including
        pieces already taken)."""
        for _ in self:
            pass
        return "".join(self._parts)

    def close(self) -> None:
        """Stops the generation if it runs (through the cancel path) and
        releases the context. The context keeps the prompt and the generated
        tokens evaluated before the stop: up to a few beyond the last piece
        taken, and possibly not the very last one delivered."""
        job, self._job = self._job, None
        if job is None:
            return
        self._owners = ()
        if self._started:
            job.abort()
        else:
            job.release()

    def __enter__(self) -> TextStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class Sampler:
    """Chooses the next token from a context's logits (``swiftlet_sampler_*``).

    The chain is: repetition penalty, temperature (0 → greedy argmax, the rest
    skipped), top-k, top-p, min-p, then a draw from a seeded generator. The
    same seed gives the same choices on every run; ``seed=None`` takes a
    random one. A sampler keeps its random state between calls; use it from
    one thread at a time.
    """

    def __init__(self, *, temperature: float = DEFAULT_TEMPERATURE, top_k: int = DEFAULT_TOP_K,
                 top_p: float = DEFAULT_TOP_P, min_p: float = DEFAULT_MIN_P,
                 repeat_penalty: float = DEFAULT_REPEAT_PENALTY, repeat_last_n: int = DEFAULT_REPEAT_LAST_N,
                 seed: Optional[int] = None) -> None:
        self._lib = _lib.load()
        params = sampler_params(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed)
        out = ctypes.c_void_p()
        check(self._lib, self._lib.sampler_create(params, out))
        self._address: int = int(out.value or 0)
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, self._lib.sampler_free, self._address)

    def sample(self, context: Context) -> int:
        """Picks the next token from `context`'s current logits (it does not
        evaluate it). InvalidArgumentError if the context has no logits."""
        with self._lock, context._using() as core:
            if not self._finalizer.alive:
                raise ValueError("the sampler is closed")
            token = ctypes.c_int32()
            check(core.lib, core.lib.sampler_sample(self._address, core.address, token))
            return int(token.value)

    def close(self) -> None:
        """Frees the sampler (idempotent)."""
        with self._lock:
            self._finalizer()

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Context:
    """One conversation over a shared :class:`Model`: a KV cache, scratch
    buffers and worker threads (``swiftlet_context``). Make one with
    :meth:`Model.context`.

    A context is used by one thread at a time (a second thread gets
    :class:`~swiftlet.ContextBusyError`); give each thread its own, they may
    all share one model. :meth:`cancel` is the exception: any thread may call it.

    The context keeps the model alive until it is closed, whatever order
    the two are closed or garbage collected in.
    """

    def __init__(self, model: Model, *, n_ctx: Optional[int] = None, n_threads: Optional[int] = None,
                 n_batch: Optional[int] = None) -> None:
        """Creates a context for `model`. ``n_ctx``: tokens the KV cache holds
        (default: the model's training length, at most 4096); ``n_threads``:
        evaluation threads (default: one per core, or the model's
        ``n_threads``); ``n_batch``: most tokens evaluated in one pass (default 256)."""
        library = _lib.load()
        params = _lib.ContextParams()
        library.context_params_init(params)
        if n_ctx is not None:
            params.n_ctx = _int32(n_ctx, "n_ctx")
        threads = n_threads if n_threads is not None else model._n_threads
        if threads is not None:
            params.n_threads = _int32(threads, "n_threads")
        if n_batch is not None:
            params.n_batch = _int32(n_batch, "n_batch")
        handle = model._handle
        model_address = handle.acquire()  # released when the C context is freed
        out = ctypes.c_void_p()
        try:
            check(library, library.context_create(model_address, params, out))
        except BaseException:
            handle.release()
            raise
        self._core = _ContextCore(library, int(out.value or 0), handle, model.info.n_vocab)
        self._model: Optional[Model] = model
        self._model_ref: weakref.ref[Model] = weakref.ref(model)
        self._size = library.context_size(self._core.address)
        self._finalizer = weakref.finalize(self, self._core.close)
        self._sampler: Optional[Sampler] = None
        self._sampler_key: Optional[tuple[Any, ...]] = None

    def _weak_model(self) -> None:
        """For the model's own context: no strong reference back to the model
        (that would be a reference cycle)."""
        self._model = None

    # -- state

    @property
    def model(self) -> Model:
        """The model this context evaluates."""
        model = self._model or self._model_ref()
        if model is None:
            raise ValueError("the model of this context was garbage collected")
        return model

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._core.closed

    @property
    def size(self) -> int:
        """The capacity in tokens (``n_ctx``)."""
        return self._size

    @property
    def n_ctx(self) -> int:
        """The capacity in tokens (same as :attr:`size`)."""
        return self._size

    @property
    def position(self) -> int:
        """Tokens in the KV cache: the position of the next token."""
        with self._using() as core:
            return core.lib.context_position(core.address)

    @property
    def logits(self) -> Optional[npt.NDArray[np.float32]]:
        """The logits of the last evaluated token as a new ``float32`` array of
        ``n_vocab`` values, or None if there are none (after creation, reset,
        rewind, or a cancelled evaluation).

        A **copy**: it stays valid and unchanged after later calls (the C
        pointer it is copied from is only valid until the next eval)."""
        with self._using() as core:
            address = core.lib.context_logits(core.address)
            if address is None:
                return None
            view = np.ctypeslib.as_array(ctypes.cast(address, ctypes.POINTER(ctypes.c_float)),
                                         shape=(core.n_vocab,))
            return np.array(view, dtype=np.float32, copy=True)

    # -- evaluation

    def eval(self, tokens: Sequence[int]) -> None:
        """Evaluates `tokens` after the current position (KV cache updated;
        :attr:`logits` then holds the last token's).

        Raises InvalidArgumentError (bad id, no tokens), ContextFullError
        (they do not fit; nothing is evaluated), CancelledError."""
        array = token_array(tokens)
        count = len(array)
        with self._using() as core:
            status, message = core.run_blocking(lambda address: core.lib.context_eval(address, array, count))
            if status != Status.OK:
                raise error_for(status, message)

    def eval_all_logits(self, tokens: Sequence[int]) -> npt.NDArray[np.float32]:
        """As :meth:`eval`, and returns every token's logits: a new array of
        shape ``(len(tokens), n_vocab)``."""
        array = token_array(tokens)
        count = len(array)
        with self._using() as core:
            logits = np.empty((count, core.n_vocab), dtype=np.float32)
            pointer = logits.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            status, message = core.run_blocking(
                lambda address: core.lib.context_eval_all_logits(address, array, count, pointer, logits.size))
            if status != Status.OK:
                raise error_for(status, message)
            return logits

    def rewind(self, position: int) -> None:
        """Forgets every token after the first `position` (to reuse a shared
        prefix). Logits are unavailable until the next eval.
        InvalidArgumentError if `position` is negative or past the current one."""
        with self._using() as core:
            check(core.lib, core.lib.context_rewind(core.address, _int32(position, "position")))

    def reset(self) -> None:
        """Empties the context (position 0)."""
        with self._using() as core:
            core.lib.context_reset(core.address)

    def cancel(self) -> None:
        """Stops a running eval/generate/chat on this context as soon as
        possible (within one layer); it then raises
        :class:`~swiftlet.CancelledError`. Any thread may call this. If nothing
        runs, the *next* evaluating call is cancelled at once (the library's
        rule, so a cancel is never lost to a race with a call's start)."""
        self._core.cancel()

    def sample(self, *, temperature: float = DEFAULT_TEMPERATURE, top_k: int = DEFAULT_TOP_K,
               top_p: float = DEFAULT_TOP_P, min_p: float = DEFAULT_MIN_P,
               repeat_penalty: float = DEFAULT_REPEAT_PENALTY, repeat_last_n: int = DEFAULT_REPEAT_LAST_N,
               seed: Optional[int] = None, sampler: Optional[Sampler] = None) -> int:
        """Picks the next token from the current logits (not evaluated).

        With `sampler`, that :class:`Sampler` is used and the other arguments
        are ignored. Otherwise the context keeps one sampler for the settings
        given and reuses it while they stay the same, so successive calls
        continue one random sequence (reproducible from `seed`)."""
        if sampler is None:
            key = (temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed)
            if self._sampler is None or self._sampler_key != key:
                if self._sampler is not None:
                    self._sampler.close()
                self._sampler = Sampler(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                        repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed)
                self._sampler_key = key
            sampler = self._sampler
        return sampler.sample(self)

    # -- generation

    @overload
    def generate(self, prompt: str, *, max_tokens: Optional[int] = ..., temperature: float = ...,
                 top_k: int = ..., top_p: float = ..., min_p: float = ..., repeat_penalty: float = ...,
                 repeat_last_n: int = ..., seed: Optional[int] = ..., stop: StopArgument = ...,
                 stream: Literal[False] = ..., add_bos: Optional[bool] = ..., special: bool = ...) -> str: ...

    @overload
    def generate(self, prompt: str, *, max_tokens: Optional[int] = ..., temperature: float = ...,
                 top_k: int = ..., top_p: float = ..., min_p: float = ..., repeat_penalty: float = ...,
                 repeat_last_n: int = ..., seed: Optional[int] = ..., stop: StopArgument = ...,
                 stream: Literal[True], add_bos: Optional[bool] = ..., special: bool = ...) -> TextStream: ...

    def generate(self, prompt: str, *, max_tokens: Optional[int] = DEFAULT_MAX_TOKENS,
                 temperature: float = DEFAULT_TEMPERATURE, top_k: int = DEFAULT_TOP_K,
                 top_p: float = DEFAULT_TOP_P, min_p: float = DEFAULT_MIN_P,
                 repeat_penalty: float = DEFAULT_REPEAT_PENALTY, repeat_last_n: int = DEFAULT_REPEAT_LAST_N,
                 seed: Optional[int] = None, stop: StopArgument = None, stream: bool = False,
                 add_bos: Optional[bool] = None, special: bool = False) -> Union[str, TextStream]:
        """Continues what the context holds with `prompt` and generated text.

        Returns the text (``str``), or with ``stream=True`` a
        :class:`TextStream` of pieces. The context then holds the prompt and
        every generated token (an empty prompt continues from the current
        logits). See :meth:`Model.generate` for the options."""
        with self._reserved() as core:
            job = _generate_job(core, prompt, reset=False, max_tokens=max_tokens, temperature=temperature,
                                top_k=top_k, top_p=top_p, min_p=min_p, repeat_penalty=repeat_penalty,
                                repeat_last_n=repeat_last_n, seed=seed, stop=stop, add_bos=add_bos,
                                special=special, owned=None)
        return _deliver(job, stream, (self,))

    @overload
    def chat(self, messages: ChatMessages, *, max_tokens: Optional[int] = ..., temperature: float = ...,
             top_k: int = ..., top_p: float = ..., min_p: float = ..., repeat_penalty: float = ...,
             repeat_last_n: int = ..., seed: Optional[int] = ..., stop: StopArgument = ...,
             stream: Literal[False] = ...) -> str: ...

    @overload
    def chat(self, messages: ChatMessages, *, max_tokens: Optional[int] = ..., temperature: float = ...,
             top_k: int = ..., top_p: float = ..., min_p: float = ..., repeat_penalty: float = ...,
             repeat_last_n: int = ..., seed: Optional[int] = ..., stop: StopArgument = ...,
             stream: Literal[True]) -> TextStream: ...

    def chat(self, messages: ChatMessages, *, max_tokens: Optional[int] = DEFAULT_MAX_TOKENS,
             temperature: float = DEFAULT_TEMPERATURE, top_k: int = DEFAULT_TOP_K, top_p: float = DEFAULT_TOP_P,
             min_p: float = DEFAULT_MIN_P, repeat_penalty: float = DEFAULT_REPEAT_PENALTY,
             repeat_last_n: int = DEFAULT_REPEAT_LAST_N, seed: Optional[int] = None, stop: StopArgument = None,
             stream: bool = False) -> Union[str, TextStream]:
        """The assistant's reply to `messages` (``[{"role": ..., "content": ...}]``),
        rendered with the model's chat template. If the context already holds
        the earlier turns of the same conversation, only the new tokens are
        evaluated. Returns ``str``, or a :class:`TextStream` with ``stream=True``."""
        with self._reserved() as core:
            job = _chat_job(core, messages, max_tokens=max_tokens, temperature=temperature, top_k=top_k,
                            top_p=top_p, min_p=min_p, repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n,
                            seed=seed, stop=stop, owned=None)
        return _deliver(job, stream, (self,))

    # -- lifetime

    def close(self) -> None:
        """Stops anything running on the context, frees it, and releases its
        hold on the model. Idempotent; also done when the object is collected."""
        if self._sampler is not None:
            self._sampler.close()
        self._finalizer()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"n_vocab={self._core.n_vocab}"
        return f"<swiftlet.Context {state}>"

    # -- the use lock

    def _using(self) -> _Using:
        return _Using(self._core)

    def _reserved(self) -> _Reserved:
        return _Reserved(self._core)


class _Using:
    """``with``: holds the context's use lock for one call (never waits)."""

    def __init__(self, core: _ContextCore) -> None:
        self._core = core

    def __enter__(self) -> _ContextCore:
        core = self._core
        if core.closed:
            raise ValueError("the context is closed")
        if not core.use_lock.acquire(blocking=False):
            raise ContextBusyError("the context is in use by another thread or an open stream; "
                                   "use one context per thread, and finish or close streams")
        if core.closed:
            core.use_lock.release()
            raise ValueError("the context is closed")
        return core

    def __exit__(self, *exc_info: object) -> None:
        self._core.use_lock.release()


class _Reserved(_Using):
    """``with``: takes the use lock for a job; releases it only if the block fails
    (on success the job owns it until it ends)."""

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is not None:
            self._core.use_lock.release()


def _int32(value: int, name: str) -> int:
    number = int(value)
    if not -INT32_MAX - 1 <= number <= INT32_MAX:
        raise ValueError(f"{name} {number} does not fit in 32 bits")
    return number


def _c_string(text: str, what: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be str, not {type(text).__name__}")
    data = text.encode("utf-8")
    if b"\0" in data:
        raise ValueError(f"{what} contains a NUL character, which the C API cannot pass")
    return data


def _generate_params(core: _ContextCore, *, max_tokens: Optional[int], temperature: float, top_k: int,
                     top_p: float, min_p: float, repeat_penalty: float, repeat_last_n: int, seed: Optional[int],
                     tokenize_flags: Optional[int] = None) -> GenerateParams:
    params = GenerateParams()
    core.lib.generate_params_init(params)
    params.max_tokens = INT32_MAX if max_tokens is None else max(min(int(max_tokens), INT32_MAX), -1)
    if tokenize_flags is not None:
        params.tokenize_flags = tokenize_flags
    params.sampling = sampler_params(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                     repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed)
    return params


def tokenize_flags(add_bos: Optional[bool], special: bool) -> int:
    """``swiftlet_tokenize`` flags: ``add_bos`` None = as the model's metadata says."""
    flags = _lib.TOKENIZE_MODEL_BOS if add_bos is None else (_lib.TOKENIZE_ADD_BOS if add_bos else 0)
    return flags | (_lib.TOKENIZE_SPECIAL if special else 0)


def _generate_job(core: _ContextCore, prompt: str, *, reset: bool, max_tokens: Optional[int], temperature: float,
                  top_k: int, top_p: float, min_p: float, repeat_penalty: float, repeat_last_n: int,
                  seed: Optional[int], stop: StopArgument, add_bos: Optional[bool], special: bool,
                  owned: Optional[Context]) -> _Job:
    data = _c_string(prompt, "prompt")
    params = _generate_params(core, max_tokens=max_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                              min_p=min_p, repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed,
                              tokenize_flags=tokenize_flags(add_bos, special))
    stops = normalize_stop(stop)
    library = core.lib

    def call(address: int, callback: Any, result: GenerateResult) -> int:
        if reset:
            library.context_reset(address)
        return library.generate(address, data, params, callback, result)

    return _Job(core, call, stops, owned)


def chat_message_array(messages: ChatMessages) -> ctypes.Array[_lib.ChatMessage]:
    """``swiftlet_chat_message[]`` for `messages` (the array keeps the bytes alive)."""
    if isinstance(messages, Mapping):
        raise TypeError("messages must be a list of {'role': ..., 'content': ...} dicts")
    items = list(messages)
    array = (_lib.ChatMessage * len(items))()
    for index, message in enumerate(items):
        try:
            role, content = message["role"], message.get("content")
        except (KeyError, TypeError, AttributeError):
            raise TypeError(f"messages[{index}] must be a mapping with 'role' and 'content'") from None
        array[index].role = _c_string(role or "", f"messages[{index}]['role']")
        array[index].content = _c_string(content or "", f"messages[{index}]['content']")
    return array


def _chat_job(core: _ContextCore, messages: ChatMessages, *, max_tokens: Optional[int], temperature: float,
              top_k: int, top_p: float, min_p: float, repeat_penalty: float, repeat_last_n: int,
              seed: Optional[int], stop: StopArgument, owned: Optional[Context]) -> _Job:
    array = chat_message_array(messages)
    count = len(array)
    params = _generate_params(core, max_tokens=max_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                              min_p=min_p, repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed)
    stops = normalize_stop(stop)
    library = core.lib

    def call(address: int, callback: Any, result: GenerateResult) -> int:
        return library.chat(address, array, count, params, callback, result)

    return _Job(core, call, stops, owned)


def _deliver(job: _Job, stream: bool, owners: tuple[object, ...]) -> Union[str, TextStream]:
    text_stream = TextStream(job, owners)
    return text_stream if stream else text_stream.text()
