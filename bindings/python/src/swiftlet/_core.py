"""The C context pointer and the rules for calling into it.

A context is used by one thread at a time (the header's rule). Every method
that calls into a context takes the context's *use lock* without waiting; if
another thread holds it, :class:`~swiftlet.ContextBusyError` is raised rather
than the library's BUSY. A stream holds the lock from its creation until it is
exhausted or closed.

Lifetimes are the library's: a C context keeps its model alive, and a context
freed from the callback of its own running call stops that call (which returns
CANCELLED) and goes when it returns. So nothing here counts references to the
model, and :meth:`ContextCore.close` frees at once when it runs inside the
context's own call (a garbage collection, or a handler, inside a callback).
From any other thread it first stops what runs on the context and waits for it.

Cancelling is the library's too: ``swiftlet_context_cancel`` applies only to
the call running when it is made. Each evaluating call is a :class:`Call`;
:meth:`ContextCore.interrupt` stops that one call, whether it is still about
to start, running, or over (then nothing happens).
"""
from __future__ import annotations

import ctypes
import threading
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from ._interrupt import call_interruptibly
from ._lib import Library, Status
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from ._observe import ObserverHub
    from ._stream import Job

INT32_MAX = 2**31 - 1


class Call:
    """One evaluating call on a context. `requested` is set when it should
    stop (checked before it starts, and by generation callbacks)."""

    __slots__ = ("requested",)

    def __init__(self) -> None:
        self.requested = False


def token_array(tokens: Sequence[int]) -> ctypes.Array[ctypes.c_int32]:
    """A C ``int32_t[]`` of `tokens`. Ids that do not even fit in 32 bits are
    rejected here (ctypes would wrap them silently); the library checks the rest."""
    values = [int(t) for t in tokens]
    for index, value in enumerate(values):
        if not -INT32_MAX - 1 <= value <= INT32_MAX:
            raise InvalidArgumentError(Status.INVALID_ARGUMENT,
                                       f"token id {value} at index {index} is outside the vocabulary")
    return (ctypes.c_int32 * len(values))(*values)


class ContextCore:
    """The C context pointer and what the threads using it share. Holds no
    reference to the :class:`~swiftlet.Context` object, so that object can be
    collected (its finalizer then calls :meth:`close`)."""

    def __init__(self, library: Library, address: int, n_vocab: int) -> None:
        self.lib = library
        self.address = address  # 0 once freed
        self.n_vocab = n_vocab
        self.use_lock = threading.Lock()
        self._state = threading.Lock()  # guards address, closed, running, running_thread
        self.running: Optional[Call] = None
        self.running_thread: Optional[int] = None
        self.active_job: Optional[Job] = None
        self.observers: Optional[ObserverHub] = None  # made by the first observer (swiftlet._observe)
        self.closed = False

    def run(self, call: Callable[[int], int], this: Optional[Call] = None) -> tuple[int, str]:
        """Makes an evaluating C call (`call(address)`) on this thread; returns
        its status and, if not OK, the library's message. A Ctrl-C on the main
        thread cancels it (see :mod:`swiftlet._interrupt`). An exception an
        observer callback raised during the call (which stopped it) is raised
        here, in place of the CANCELLED status."""
        this = this if this is not None else Call()
        with self._state:
            address = self.address
            if not address:
                raise ValueError("the context is closed")
            if this.requested:
                return Status.CANCELLED, "cancelled before it started"
            self.running, self.running_thread = this, threading.get_ident()
        try:
            status = call_interruptibly(lambda: self.interrupt(this), lambda: call(address))
            observer_error = self.observers.take_error() if self.observers is not None else None
            if observer_error is not None:
                raise observer_error
            return status, (self.lib.last_error() if status != Status.OK else "")
        finally:
            with self._state:
                self.running = self.running_thread = None

    def interrupt(self, this: Call) -> None:
        """Stops the call `this`: before it starts, or while it runs (through
        ``swiftlet_context_cancel``). Does nothing once it ended."""
        with self._state:
            this.requested = True
            if self.running is this and self.address:
                self.lib.context_cancel(self.address)

    def cancel(self) -> None:
        """``swiftlet_context_cancel``: stops the call running now, if any."""
        with self._state:
            if self.address:
                self.lib.context_cancel(self.address)

    def close(self) -> None:
        """Stops what runs on the context, waits for it, and frees the context.
        Idempotent; safe from any thread, and from the context's own callbacks."""
        with self._state:
            if self.closed:
                return
            self.closed = True
            job = self.active_job
            inside_own_call = self.running_thread == threading.get_ident()
        if job is not None:
            job.abort()  # cancels; joins the worker unless this is the worker
            if job.on_worker_thread():
                inside_own_call = True  # the worker holds the use lock, and makes no call after this one
        if inside_own_call:
            self._free()  # allowed from the running call's callbacks: it stops it, CANCELLED
            return
        with self._state:
            if self.running is not None and self.address:
                self.lib.context_cancel(self.address)  # a call on another thread
        with self.use_lock:  # waits for that call
            self._free()

    def _free(self) -> None:
        with self._state:
            address, self.address = self.address, 0
            self.observers = None  # its listeners may hold the Context: no cycle through the finalizer
        if address:
            self.lib.context_free(address)
