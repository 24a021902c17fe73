"""Exceptions raised by Swiftlet.

Every failing C call becomes a :class:`SwiftletError` subclass chosen by its
status, carrying the status (:attr:`SwiftletError.status`) and the library's
own message (:attr:`SwiftletError.message`, from ``swiftlet_last_error()``).

Status → class (some also derive from the built-in exception a Python
programmer would reach for, so ``except OSError`` or ``except ValueError``
works too):

- ``INVALID_ARGUMENT`` → :class:`InvalidArgumentError` (also a ``ValueError``)
- ``IO`` → :class:`FileIOError` (also an ``OSError``)
- ``INVALID_FILE`` → :class:`InvalidFileError`
- ``UNSUPPORTED`` → :class:`UnsupportedError`
- ``NOT_FOUND`` → :class:`NotFoundError` (also a ``KeyError``)
- ``BUFFER_TOO_SMALL`` → :class:`BufferTooSmallError` (never escapes: the binding resizes)
- ``CONTEXT_FULL`` → :class:`ContextFullError`
- ``CANCELLED`` → :class:`CancelledError`
- ``OUT_OF_MEMORY`` → :class:`OutOfMemoryError` (also a ``MemoryError``)
- ``TEMPLATE`` → :class:`TemplateError`
- ``INTERNAL`` → :class:`InternalError`
- ``BUSY`` → :class:`ContextBusyError` (also a ``RuntimeError``)

**Loading a model** (``swiftlet.Model(path)``) raises :class:`ModelLoadError`
whatever the status. The object raised is *also* an instance of the status
class above: a missing file is a ``ModelLoadError`` and a :class:`FileIOError`
(hence an ``OSError``); a truncated file is a ``ModelLoadError`` and an
:class:`InvalidFileError`; a load stopped by its progress callback is a
``ModelLoadError`` and a :class:`CancelledError`. Catch ``ModelLoadError``
for "the model did not load", or the status class when the reason matters.

:class:`ContextBusyError` is raised by the binding itself, before the call
reaches the library, when a context is used from two threads at once or while
a stream on it is open (the library would say BUSY).
:class:`swiftlet.LibraryError` (``libswiftlet.so`` missing or of the wrong
version) is not a status. Using a closed model or context raises
``ValueError``, as closed files do.
"""
from __future__ import annotations

from typing import Optional

from ._lib import Status


class SwiftletError(Exception):
    """Base class of the errors reported by the Swiftlet library.

    Attributes:
        status: the ``swiftlet_status`` of the failing call.
        message: the library's message for it (``swiftlet_last_error()``).
    """

    status: Status
    message: str

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = Status(status)
        self.message = message

    def __str__(self) -> str:
        name = self.status.name.lower().replace("_", " ")
        return f"{self.message} ({name})" if self.message else name

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status.name}, message={self.message!r})"

    def __reduce__(self) -> tuple[type[SwiftletError], tuple[int, str]]:
        return type(self), (int(self.status), self.message)


class InvalidArgumentError(SwiftletError, ValueError):
    """A NULL pointer, an out-of-range number, an invalid token id, bad sampling values."""


class FileIOError(SwiftletError, OSError):
    """A file could not be opened, read, mapped or written."""


class InvalidFileError(SwiftletError):
    """A file is not GGUF, is truncated, or is internally inconsistent."""


class UnsupportedError(SwiftletError):
    """A well-formed file uses something Swiftlet does not support (architecture,
    tensor type, pre-tokenizer)."""


class NotFoundError(SwiftletError, KeyError):
    """A required tensor or metadata key is missing, or a queried key does not exist."""


class BufferTooSmallError(SwiftletError):
    """A buffer was too small. The binding sizes its buffers and retries, so this
    is never raised by the public API; it exists for completeness."""


class ContextFullError(SwiftletError):
    """The tokens to evaluate do not fit in the context's ``n_ctx``. Nothing was evaluated."""


class CancelledError(SwiftletError):
    """:meth:`swiftlet.Context.cancel` stopped the call (or a load's progress
    callback stopped the load). The context stays usable; its position is
    after the last token fully evaluated."""


class OutOfMemoryError(SwiftletError, MemoryError):
    """The library could not allocate memory."""


class TemplateError(SwiftletError):
    """The model's chat template could not be parsed or rendered."""


class InternalError(SwiftletError):
    """A bug in Swiftlet; please report it with the message."""


class ModelLoadError(SwiftletError):
    """Raised by ``swiftlet.Model(path)`` for every failure to load. The raised
    object is also an instance of the status class (see the module docstring)."""


# One class per (load failure, status) pair, so both `except` clauses match.
class ModelFileIOError(ModelLoadError, FileIOError):
    """The model file could not be opened, read or mapped."""


class ModelInvalidFileError(ModelLoadError, InvalidFileError):
    """The model file is not GGUF, is truncated or inconsistent."""


class ModelUnsupportedError(ModelLoadError, UnsupportedError):
    """The model uses an architecture, tensor type or tokenizer Swiftlet does not support."""


class ModelNotFoundError(ModelLoadError, NotFoundError):
    """The model file lacks a required tensor or metadata key."""


class ModelOutOfMemoryError(ModelLoadError, OutOfMemoryError):
    """There was not enough memory to load the model."""


class ModelInvalidArgumentError(ModelLoadError, InvalidArgumentError):
    """The load parameters were invalid (e.g. a negative thread count)."""


class ModelTemplateError(ModelLoadError, TemplateError):
    """The model's chat template could not be used at load time."""


class ModelCancelledError(ModelLoadError, CancelledError):
    """The progress callback stopped the load."""


class ContextBusyError(SwiftletError, RuntimeError):
    """A context is already in use by another thread, or a stream on it is still
    open. A context is used by one thread at a time; give each thread its own
    (``model.context()``), or finish/close the stream first."""

    def __init__(self, status: int = Status.BUSY, message: str = "") -> None:
        super().__init__(status, message)


_BY_STATUS: dict[Status, type[SwiftletError]] = {
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.IO: FileIOError,
    Status.INVALID_FILE: InvalidFileError,
    Status.UNSUPPORTED: UnsupportedError,
    Status.NOT_FOUND: NotFoundError,
    Status.BUFFER_TOO_SMALL: BufferTooSmallError,
    Status.CONTEXT_FULL: ContextFullError,
    Status.CANCELLED: CancelledError,
    Status.OUT_OF_MEMORY: OutOfMemoryError,
    Status.TEMPLATE: TemplateError,
    Status.INTERNAL: InternalError,
    Status.BUSY: ContextBusyError,
}

_LOAD_BY_STATUS: dict[Status, type[SwiftletError]] = {
    Status.IO: ModelFileIOError,
    Status.INVALID_FILE: ModelInvalidFileError,
    Status.UNSUPPORTED: ModelUnsupportedError,
    Status.NOT_FOUND: ModelNotFoundError,
    Status.OUT_OF_MEMORY: ModelOutOfMemoryError,
    Status.INVALID_ARGUMENT: ModelInvalidArgumentError,
    Status.TEMPLATE: ModelTemplateError,
    Status.CANCELLED: ModelCancelledError,
}


def error_for(status: int, message: str, *, loading: bool = False) -> SwiftletError:
    """The exception for a non-OK `status` with the library's `message`.
    With `loading`, a :class:`ModelLoadError` that is also the status class."""
    try:
        known: Optional[Status] = Status(status)
    except ValueError:
        known = None
    if known is None:  # a newer library's status: keep the number in the message
        error: SwiftletError = InternalError(Status.INTERNAL, f"{message} (unknown status {status})")
        return error
    if loading:
        return _LOAD_BY_STATUS.get(known, ModelLoadError)(known, message)
    return _BY_STATUS.get(known, SwiftletError)(known, message)


__all__ = [
    "SwiftletError", "InvalidArgumentError", "FileIOError", "InvalidFileError", "UnsupportedError",
    "NotFoundError", "BufferTooSmallError", "ContextFullError", "CancelledError", "OutOfMemoryError",
    "TemplateError", "InternalError", "ModelLoadError", "ModelFileIOError", "ModelInvalidFileError",
    "ModelUnsupportedError", "ModelNotFoundError", "ModelOutOfMemoryError", "ModelInvalidArgumentError",
    "ModelTemplateError", "ModelCancelledError",
    "ContextBusyError", "error_for",
]
