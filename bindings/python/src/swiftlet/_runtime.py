"""Process-wide things: the library handle, versions, memory, logging, and the
owner of a C model pointer."""
from __future__ import annotations

import ctypes
import dataclasses
import threading
from typing import Any, Callable, Optional

from . import _abi, _lib
from ._lib import Library, LogLevel, Status
from .errors import error_for


def lib() -> Library:
    """The loaded library (see :func:`swiftlet.library_path` for which file)."""
    return _lib.load()


def check(library: Library, status: int, *, loading: bool = False) -> None:
    """Raises the :class:`~swiftlet.SwiftletError` for a non-OK `status`.
    Must run on the thread that made the call (the message is per thread)."""
    if status != Status.OK:
        raise error_for(status, library.last_error(), loading=loading)


def read_sized(call: Callable[[Any, int, ctypes.c_size_t], int], guess: int) -> tuple[int, bytes]:
    """Runs a C function that fills a caller's buffer and reports the size it
    needs (``BUFFER_TOO_SMALL``), retrying once with the reported size.
    Returns (status, bytes written, without the NUL)."""
    capacity = max(int(guess), 16)
    size = ctypes.c_size_t(0)
    for _ in range(4):
        buffer = ctypes.create_string_buffer(capacity)
        status = call(buffer, capacity, size)
        if status == Status.BUFFER_TOO_SMALL and size.value + 1 > capacity:
            capacity = size.value + 1
            continue
        return status, (buffer.raw[:size.value] if status == Status.OK else b"")
    return status, b""


def version() -> str:
    """The loaded library's version, "MAJOR.MINOR.PATCH" (``swiftlet_version()``)."""
    return lib().version()


def system_info() -> str:
    """What this process's Swiftlet runs on (``swiftlet_system_info()``), for
    support requests: the kernel set chosen and why, the CPU features seen,
    the allocator and the BLAS library."""
    return lib().system_info()


def library_path() -> str:
    """The path of the ``libswiftlet.so`` this package uses: ``$SWIFTLET_LIBRARY``
    if set, else the copy installed inside the package (else, in a source
    checkout, ``<repo>/build/lib``). Raises :class:`LibraryError` if none exists."""
    return _lib.library_path()


@dataclasses.dataclass(frozen=True)
class MemoryInfo:
    """What the library holds (``swiftlet_memory_get_info``).

    Attributes:
        allocator: which allocator serves the library, e.g. "jemalloc 5.3.0 (private)".
        bytes_allocated: bytes held in the library's arenas (converted weights,
            KV caches, scratch buffers).
        bytes_mapped: bytes of model files currently memory-mapped.
    """

    allocator: str
    bytes_allocated: int
    bytes_mapped: int


def memory_info() -> MemoryInfo:
    """The library's current memory use; exact, so it is what leak checks compare."""
    library = lib()
    info = _abi.new(_abi.MemoryInfo)
    check(library, library.memory_get_info(info))
    allocator = info.allocator.decode("utf-8", "replace") if info.allocator else ""
    return MemoryInfo(allocator, int(info.bytes_allocated), int(info.bytes_mapped))


LogHandler = Callable[[LogLevel, str], None]
_log_state: dict[str, Any] = {}
_log_lock = threading.Lock()


def set_log_handler(handler: Optional[LogHandler]) -> None:
    """Receives the library's log messages as ``handler(level, message)``, or
    silences them (``None``, the default). Process-wide; the handler may be
    called on any thread that calls into Swiftlet, and exceptions it raises
    are ignored. For example, to route them to :mod:`logging`::

        log = logging.getLogger("swiftlet")
        swiftlet.set_log_handler(lambda level, text: log.log(10 + 10 * level, text))
    """
    library = lib()
    with _log_lock:
        if handler is None:
            library.set_log_callback(None)
            _log_state.clear()
            return

        def forward(level: int, message: Optional[bytes], _user_data: Optional[int]) -> None:
            try:
                handler(LogLevel(level), message.decode("utf-8", "replace") if message else "")
            except Exception:  # a logging failure must never reach the C library
                pass

        callback = _abi.LogCallback(forward)
        library.set_log_callback(callback)
        _log_state["callback"] = callback  # kept alive while installed


class ModelHandle:
    """Owns a C model pointer (or, named by `what`, a grammar's).
    ``with handle as address`` holds it for one call; :meth:`close` frees it
    once the calls in flight on other threads have returned. Contexts need
    nothing from it: the library keeps a context's model alive itself (and a
    sampler its grammar)."""

    def __init__(self, address: int, free: Callable[[int], None], what: str = "model") -> None:
        self._address = address
        self._free = free
        self._what = what
        self._calls = 0
        self._closed = False
        self._lock = threading.Lock()

    def __enter__(self) -> int:
        with self._lock:
            if self._closed:
                raise ValueError(f"the {self._what} is closed")
            self._calls += 1
            return self._address

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._calls -= 1
            if not self._closed or self._calls:
                return
            address, self._address = self._address, 0
        if address:
            self._free(address)

    def close(self) -> None:
        """Frees the pointer now, or when the last call in flight returns. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._calls:
                return
            address, self._address = self._address, 0
        self._free(address)
