"""Ctrl-C for C calls made on the main thread, with no thread per call.

Python runs its signal handlers on the main thread, between bytecodes: while
the main thread is inside a C call, the ``KeyboardInterrupt`` of a Ctrl-C waits
until the call returns, which for a long evaluation is seconds. The part of
Python's signal handling that runs at once is in C: with
:func:`signal.set_wakeup_fd`, the interpreter's own signal handler writes the
signal's number to a file descriptor the moment the signal arrives.

So :func:`call_interruptibly` makes the call on the calling thread itself and,
for its duration, points the wakeup fd at a pipe that one watcher thread per
process (started on first use, asleep in a read of that pipe, costing nothing
while no signal comes) reads. When SIGINT arrives and Python's default handler
is installed (the one that raises ``KeyboardInterrupt``), the watcher calls
the cancel function of the call running on the main thread
(``swiftlet_context_cancel``); the library stops within one layer, the call
returns ``CANCELLED``, and the ``KeyboardInterrupt`` is raised as the main
thread returns to Python.

What it costs: two system calls per call (``set_wakeup_fd`` checks the fd
with fstat and fcntl), about 3 µs of the 8 µs a one-token ``Context.eval``
adds to the bare ctypes call (measured on a tiny model, least-disturbed
calls, on the busy 2-core development machine). The design it replaces, a
thread started per call, added 100-200 µs there, and at 2 threads on busy
cores far more: SmolLM2 Q8_0's one-token loop ran at 0.39 of the C call's
speed that way and at 0.985 this way (same process, alternating loops).

Hosts keep what they had:

- the host's wakeup fd (asyncio and trio set one) is put back after every
  call, and every byte that arrives during a call is forwarded to it, so the
  host also sees the signals that came while Swiftlet's pipe was installed.
  There is no way to read back its ``warn_on_full_buffer`` flag: it is put
  back as False (what asyncio and trio use);
- a host's own SIGINT handler is left alone: the watcher cancels only when
  the handler is :func:`signal.default_int_handler` (else the host decides
  what Ctrl-C means, and the call runs to its end);
- from any thread but the main one (where Python never runs signal handlers),
  the call is made plainly.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from typing import Callable, Optional

#: How long the watcher re-sends a cancel to a call that has not reached the
#: library yet when the signal comes (it arrived between Python's bookkeeping
#: and the C call): every RETRY_INTERVAL seconds, for at most RETRY_FOR seconds.
RETRY_INTERVAL = 0.01
RETRY_FOR = 2.0


class _MainCall:
    """The call running on the main thread, as the watcher sees it."""

    __slots__ = ("cancel",)

    def __init__(self, cancel: Callable[[], None]) -> None:
        self.cancel = cancel


class _Watcher:
    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe()  # not inherited by child processes
        os.set_blocking(self._write_fd, False)  # set_wakeup_fd requires it
        self._host_fd = -1  # the wakeup fd the host had, put back after each call
        self.call: Optional[_MainCall] = None
        thread = threading.Thread(target=self._watch, name="swiftlet-ctrl-c", daemon=True)
        thread.start()

    def run(self, cancel: Callable[[], None], call: Callable[[], int]) -> int:
        outer = self.call
        try:
            previous = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        except ValueError:  # not the main thread of the main interpreter after all
            return call()
        if previous != self._write_fd:
            # (the same fd: a call nested in a callback, or a KeyboardInterrupt
            # that skipped the previous restore; the host's fd is known already)
            self._host_fd = previous
        self.call = _MainCall(cancel)
        try:
            return call()
        finally:
            self.call = outer
            if outer is None:
                signal.set_wakeup_fd(self._host_fd, warn_on_full_buffer=False)

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._read_fd, 512)
            except OSError:
                return
            host = self._host_fd
            if host != -1:
                try:
                    os.write(host, data)
                except OSError:
                    pass
            if signal.SIGINT in data and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self._cancel_main_call()

    def _cancel_main_call(self) -> None:
        target = self.call
        deadline = time.monotonic() + RETRY_FOR
        while target is not None and self.call is target and time.monotonic() < deadline:
            target.cancel()
            time.sleep(RETRY_INTERVAL)


_watcher: Optional[_Watcher] = None
_watcher_lock = threading.Lock()


def _forget_watcher_after_fork() -> None:
    """A forked child has no watcher thread: it starts its own on first use."""
    global _watcher, _watcher_lock
    _watcher, _watcher_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_watcher_after_fork)


def call_interruptibly(cancel: Callable[[], None], call: Callable[[], int]) -> int:
    """Returns ``call()``, made on this thread. On the main thread, a Ctrl-C
    during it calls ``cancel()`` (from the watcher thread) so that the call
    ends early; the ``KeyboardInterrupt`` then follows as usual. `cancel` must
    stop only this call (it may be called again after the call ended, and
    more than once)."""
    global _watcher
    # (Which SIGINT handler is installed is looked at when a signal comes, not
    # here: signal.getsignal costs more than the rest of this function.)
    if threading.current_thread() is not threading.main_thread():
        return call()
    watcher = _watcher
    if watcher is None:
        with _watcher_lock:
            if _watcher is None:
                _watcher = _Watcher()
            watcher = _watcher
    return watcher.run(cancel, call)
