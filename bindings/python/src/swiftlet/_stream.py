"""Generation as a stream of text: the C call on a worker thread, and the
iterator the caller reads its pieces from.

``swiftlet_generate`` and ``swiftlet_chat`` deliver text through a callback,
from inside one C call; an iterator hands it out one ``next()`` at a time. So a
generation runs on a worker thread (one per generation, not per token) whose
callback feeds a queue at most a few pieces ahead of the consumer, and the
consumer waits on the queue, where a Ctrl-C raises ``KeyboardInterrupt`` at
once: the stream then cancels the call, waits for the worker (within a layer
of work) and re-raises. A non-streamed ``generate`` is the same stream, read
to its end.
"""
from __future__ import annotations

import ctypes
import queue
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Sequence, Union

from . import _abi
from ._abi import GenerateResult
from ._core import Call, ContextCore
from ._generation import (GenerationResult, MaxTokens, StopArgument, StopMatcher, finish_reason_for,
                          generate_params, normalize_stop)
from ._lib import Status, StopReason
from ._sampling import SamplingOptions
from .errors import error_for

if TYPE_CHECKING:
    from ._context import Context

ChatMessages = Sequence[Mapping[str, Optional[str]]]

# How many text pieces a generation may run ahead of the code consuming them.
LOOKAHEAD = 8
_END = object()


def join_quietly(thread: threading.Thread) -> None:
    """Joins `thread`, ignoring further Ctrl-C (the worker stops within a layer
    once cancelled; leaving before it does would let two threads use one context)."""
    while thread.is_alive():
        try:
            thread.join(0.05)
        except KeyboardInterrupt:
            pass


class Job:
    """One generation: the C call on a worker thread, the queue it fills, and
    the context's use lock, which it holds until :meth:`release`."""

    def __init__(self, core: ContextCore, call: Callable[[int, Any, GenerateResult], int],
                 stops: Sequence[str], owned: Optional[Context], finish: Optional[Callable[[], None]] = None) -> None:
        self.core = core
        self._call = call
        self.queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.matcher = StopMatcher(stops)
        self.tokens: list[int] = []
        self.error: Optional[BaseException] = None
        self.this = Call()
        self.status: int = Status.OK
        self.message = ""
        self.result = _abi.new(GenerateResult)
        self.result.stop_reason = -1  # stays -1 if the library never fills it
        self.thread: Optional[threading.Thread] = None
        self._credits = threading.Semaphore(LOOKAHEAD)
        self._owned = owned  # a temporary context, closed with the job
        self._finish = finish  # run once on release (frees a grammar compiled for the call)
        self._released = False
        self._release_on_exit = False
        self._release_lock = threading.Lock()
        self._callback = _abi.TokenCallback(self._on_piece)
        core.active_job = self

    def start(self) -> None:
        self.thread = threading.Thread(target=self._work, name="swiftlet-generate", daemon=True)
        self.thread.start()

    def on_worker_thread(self) -> bool:
        return self.thread is threading.current_thread()

    def _on_piece(self, address: Optional[int], length: int, token: int, _user_data: Optional[int]) -> int:
        try:
            if token >= 0:
                self.tokens.append(token)
            text = ctypes.string_at(address, length).decode("utf-8", "replace") if length and address else ""
            shown = self.matcher.feed(text)
            if shown:
                self._credits.acquire()  # wait while the consumer is LOOKAHEAD pieces behind
                self.queue.put(shown)
            return 1 if self.matcher.matched is None and not self.this.requested else 0
        except BaseException as error:  # never let an exception into the C library
            self.error = error
            return 0

    def _work(self) -> None:
        try:
            self.status, self.message = self.core.run(
                lambda address: self._call(address, self._callback, self.result), self.this)
            tail = self.matcher.finish()
            if tail:
                self.queue.put(tail)
        except BaseException as error:
            self.error = self.error or error
        finally:
            self.queue.put(_END)
            if self._release_on_exit:
                self.release()

    def abort(self) -> None:
        """Stops the generation (cancel), waits for the worker, releases the context."""
        self.core.interrupt(self.this)
        self._credits.release(LOOKAHEAD + 1)  # wake a callback waiting for the consumer
        thread = self.thread
        if thread is threading.current_thread():
            # called on the worker itself (a garbage collection inside the
            # callback): the C call is still running, so the context is
            # released when it returns (_work), not now
            self._release_on_exit = True
            return
        if thread is not None:
            join_quietly(thread)
        self.release()

    def release(self) -> None:
        """Gives the context back (idempotent): its use lock, and a temporary
        context is closed (and a grammar compiled for the call freed)."""
        with self._release_lock:
            if self._released:
                return
            self._released = True
        if self.core.active_job is self:
            self.core.active_job = None
        self.core.use_lock.release()
        if self._owned is not None:
            self._owned.close()
        if self._finish is not None:
            self._finish()

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
    until it is exhausted, closed with :meth:`close` or a ``with`` block, or
    garbage collected (e.g. after a ``break`` out of a ``for`` loop over it).
    Ctrl-C while waiting for a piece cancels the generation and raises
    ``KeyboardInterrupt``; the context remains usable.

    Errors (e.g. :class:`~swiftlet.ContextFullError` when the prompt does not
    fit, :class:`~swiftlet.CancelledError` after :meth:`Context.cancel`) are
    raised by ``next()``.
    """

    def __init__(self, job: Job, owners: tuple[object, ...]) -> None:
        self._job: Optional[Job] = job
        # The Context (and Model) that made the stream: collecting them would close it.
        self._owners = owners
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
            join_quietly(job.thread)
        job.release()
        result = job.outcome()
        self.result = GenerationResult("".join(self._parts), result.tokens, result.n_prompt_tokens,
                                       result.stop_reason, result.finish_reason, result.stop_string)
        raise StopIteration

    def _finish(self) -> None:
        """Marks the stream done; the Context/Model objects may go now."""
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


# ------------------------------------------------------------ building jobs


class Options:
    """What every generating call takes besides its prompt or messages, made
    ready for the C call: the sampling options as a ``swiftlet_sampler_params``
    (see :class:`~swiftlet._sampling.SamplingOptions`), its grammar (a
    :class:`~swiftlet._grammar.GrammarUse`: hold it during the C call, and
    call its ``done`` when the call is over), ``max_tokens`` (DEFAULT:
    ``swiftlet_generate_params_init``'s) and the stop strings as a list."""

    __slots__ = ("max_tokens", "sampling", "stops", "grammar")

    def __init__(self, core: ContextCore, max_tokens: MaxTokens, sampling: SamplingOptions,
                 stop: StopArgument) -> None:
        self.grammar = sampling.use_grammar()
        try:
            self.sampling = sampling.c_params(core.lib, self.grammar)
            self.max_tokens = max_tokens
            self.stops = normalize_stop(stop)
        except BaseException:
            self.grammar.done()
            raise


def tokenize_flags(add_bos: Optional[bool], special: bool) -> int:
    """``swiftlet_tokenize`` flags: ``add_bos`` None = as the model's metadata says."""
    flags = _abi.TOKENIZE_MODEL_BOS if add_bos is None else (_abi.TOKENIZE_ADD_BOS if add_bos else 0)
    return flags | (_abi.TOKENIZE_SPECIAL if special else 0)


def c_string(text: str, what: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be str, not {type(text).__name__}")
    data = text.encode("utf-8")
    if b"\0" in data:
        raise ValueError(f"{what} contains a NUL character, which the C API cannot pass")
    return data


def generate_job(core: ContextCore, prompt: str, options: Options, *, reset: bool, add_bos: Optional[bool],
                 special: bool, owned: Optional[Context]) -> Job:
    data = c_string(prompt, "prompt")
    params = generate_params(core.lib, options.max_tokens, options.sampling, tokenize_flags(add_bos, special))
    library = core.lib

    def call(address: int, callback: Any, result: GenerateResult) -> int:
        with options.grammar.held():
            if reset:
                status = library.context_reset(address)
                if status != Status.OK:
                    return status
            return library.generate(address, data, params, callback, result)

    return Job(core, call, options.stops, owned, options.grammar.done)


def chat_message_array(messages: ChatMessages) -> ctypes.Array[_abi.ChatMessage]:
    """``swiftlet_chat_message[]`` for `messages` (the array keeps the bytes alive)."""
    if isinstance(messages, Mapping):
        raise TypeError("messages must be a list of {'role': ..., 'content': ...} dicts")
    items = list(messages)
    array = (_abi.ChatMessage * len(items))()
    for index, message in enumerate(items):
        try:
            role, content = message["role"], message.get("content")
        except (KeyError, TypeError, AttributeError):
            raise TypeError(f"messages[{index}] must be a mapping with 'role' and 'content'") from None
        array[index].struct_size = ctypes.sizeof(_abi.ChatMessage)
        array[index].role = c_string(role or "", f"messages[{index}]['role']")
        array[index].content = c_string(content or "", f"messages[{index}]['content']")
    return array


def chat_params(library: Any, *, add_generation_prompt: bool = True,
                chat_template: Optional[str] = None) -> _abi.ChatParams:
    """``swiftlet_chat_params``: the model's template unless `chat_template` is given."""
    params = _abi.ChatParams()
    library.chat_params_init(params)
    params.add_generation_prompt = 1 if add_generation_prompt else 0
    if chat_template is not None:
        params.chat_template = c_string(chat_template, "chat_template")
    return params


def chat_job(core: ContextCore, messages: ChatMessages, options: Options, *, chat_template: Optional[str],
             owned: Optional[Context]) -> Job:
    array = chat_message_array(messages)
    count = len(array)
    template = chat_params(core.lib, chat_template=chat_template)
    params = generate_params(core.lib, options.max_tokens, options.sampling)
    library = core.lib

    def call(address: int, callback: Any, result: GenerateResult) -> int:
        with options.grammar.held():
            return library.chat(address, array, count, template, params, callback, result)

    return Job(core, call, options.stops, owned, options.grammar.done)


def deliver(job: Job, stream: bool, owners: tuple[object, ...]) -> Union[str, TextStream]:
    text_stream = TextStream(job, owners)
    return text_stream if stream else text_stream.text()
