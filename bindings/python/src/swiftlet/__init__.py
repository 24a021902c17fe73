"""Swiftlet: an embeddable transformer inference library, from Python.

A thin ctypes binding over the C API in ``include/swiftlet.h``::

    import swiftlet
    model = swiftlet.Model("SmolLM2-135M-Instruct.Q4_1.gguf")
    for piece in model.generate("The capital of France is", stream=True):
        print(piece, end="", flush=True)

Main names: :class:`Model` (load, tokens, ``generate``, ``chat``, and
``generate_batch``/``chat_batch`` for several at once), :class:`Context` (KV
cache: ``eval`` (``observe=``: each layer's hidden states and attention weights), ``logits``, ``sample``, ``rewind``, ``cancel``; sequences:
``decode``, ``logits_for``, ``seq_copy``, ...; ``set_adapters``), :class:`Adapter` (a LoRA
adapter: ``Model.load_adapter``), :class:`Sampler`, :class:`Grammar` (output
constrained to a GBNF grammar or a JSON Schema: also ``grammar=``, ``json_schema=`` and
``response_format=`` on the generating calls), :class:`TextStream`, the
:class:`SwiftletError` family, and :mod:`swiftlet.compat` (a
``llama_cpp.Llama`` look-alike).

The library file is the one bundled in this package unless
``$SWIFTLET_LIBRARY`` names another; see :func:`library_path`.
"""
from __future__ import annotations

from ._adapter import Adapter
from ._context import Context
from ._generation import DEFAULT, GenerationResult, StopMatcher
from ._grammar import Grammar, GrammarMatch
from ._lib import HEADER_VERSION_NUMBER, LibraryError, LogLevel, Status, StopReason
from ._model import Model, ModelInfo
from ._observe import ObservedView, Observations, ObserverHandle
from ._runtime import MemoryInfo, library_path, memory_info, set_log_handler, system_info, version
from ._sampler import Sampler
from ._stream import TextStream
from .errors import (BufferTooSmallError, CancelledError, ContextBusyError, ContextFullError, FileIOError,
                     InternalError, InvalidArgumentError, InvalidFileError, ModelLoadError, NotFoundError,
                     OutOfMemoryError, SwiftletError, TemplateError, UnsupportedError)

__version__ = "0.6.0"

__all__ = [
    "Model", "ModelInfo", "Context", "Adapter", "Sampler", "Grammar", "GrammarMatch", "TextStream", "GenerationResult", "StopMatcher",
    "MemoryInfo", "memory_info", "version", "system_info", "library_path", "set_log_handler", "DEFAULT",
    "Status", "StopReason", "LogLevel", "HEADER_VERSION_NUMBER", "LibraryError",
    "SwiftletError", "InvalidArgumentError", "FileIOError", "InvalidFileError", "UnsupportedError",
    "NotFoundError", "BufferTooSmallError", "ContextFullError", "CancelledError", "OutOfMemoryError",
    "TemplateError", "InternalError", "ModelLoadError", "ContextBusyError",
    "Observations", "ObservedView", "ObserverHandle",
]
