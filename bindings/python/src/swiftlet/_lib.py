"""The ctypes layer: every type and function of ``include/swiftlet.h``, typed.

This module is private. It mirrors the header one to one and adds nothing but
Python types: structs are :class:`ctypes.Structure` subclasses with the same
fields in the same order, handles are ``c_void_p``, and each C function has a
method on :class:`Library` with the C name minus the ``swiftlet_`` prefix.
The higher layers (``swiftlet.Model``, ``swiftlet.Context``) never touch the
``CDLL`` directly.

Which file is loaded (first match wins):

1. ``$SWIFTLET_LIBRARY``, if set (an error if it does not exist);
2. ``libswiftlet.so`` inside this package (put there by ``pip install``);
3. ``<repo>/build/lib/libswiftlet.so`` when the package runs from a source
   checkout (``src/swiftlet`` four levels below the repository root).

The library is loaded once, on first use, and checked against the version of
the header this module was written for.
"""
from __future__ import annotations

import ctypes
import enum
import os
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_bool, c_char_p, c_float, c_int,
                    c_int32, c_size_t, c_uint32, c_uint64, c_void_p)
from typing import Any, Optional

# ------------------------------------------------------------------ versions

#: The header version these declarations describe (SWIFTLET_VERSION_*).
HEADER_VERSION_MAJOR = 0
HEADER_VERSION_MINOR = 1
HEADER_VERSION_PATCH = 0
HEADER_VERSION_NUMBER = HEADER_VERSION_MAJOR * 1_000_000 + HEADER_VERSION_MINOR * 1000 + HEADER_VERSION_PATCH

LIBRARY_ENV = "SWIFTLET_LIBRARY"
LIBRARY_FILENAME = "libswiftlet.so"

# ------------------------------------------------------------------- enums


class Status(enum.IntEnum):
    """``swiftlet_status``: the result of every fallible C call."""

    OK = 0
    INVALID_ARGUMENT = 1
    IO = 2
    INVALID_FILE = 3
    UNSUPPORTED = 4
    NOT_FOUND = 5
    BUFFER_TOO_SMALL = 6
    CONTEXT_FULL = 7
    CANCELLED = 8
    OUT_OF_MEMORY = 9
    TEMPLATE = 10
    INTERNAL = 11


class LogLevel(enum.IntEnum):
    """``swiftlet_log_level``."""

    DEBUG = 0
    INFO = 1
    WARNING = 2
    ERROR = 3


class StopReason(enum.IntEnum):
    """``swiftlet_stop_reason``: why a generation ended."""

    END_OF_GENERATION = 0
    MAX_TOKENS = 1
    CALLBACK = 2
    CANCELLED = 3
    CONTEXT_FULL = 4


# swiftlet_tokenize flags
TOKENIZE_ADD_BOS = 1
TOKENIZE_SPECIAL = 2
TOKENIZE_MODEL_BOS = 4

# ------------------------------------------------------------------ structs


class MemoryInfo(Structure):
    """``swiftlet_memory_info``."""

    _fields_ = [("struct_size", c_uint32), ("allocator", c_char_p),
                ("bytes_allocated", c_uint64), ("bytes_mapped", c_uint64)]


class ModelParams(Structure):
    """``swiftlet_model_params``."""

    _fields_ = [("struct_size", c_uint32), ("n_threads", c_int32)]


class ModelInfo(Structure):
    """``swiftlet_model_info``."""

    _fields_ = [("struct_size", c_uint32), ("architecture", c_char_p), ("name", c_char_p),
                ("n_vocab", c_int32), ("n_ctx_train", c_int32), ("n_embd", c_int32),
                ("n_layer", c_int32), ("n_head", c_int32), ("n_head_kv", c_int32),
                ("n_ff", c_int32), ("n_params", c_uint64), ("bos_token", c_int32),
                ("eos_token", c_int32)]


class ContextParams(Structure):
    """``swiftlet_context_params``."""

    _fields_ = [("struct_size", c_uint32), ("n_ctx", c_int32), ("n_threads", c_int32),
                ("n_batch", c_int32)]


class SamplerParams(Structure):
    """``swiftlet_sampler_params``."""

    _fields_ = [("struct_size", c_uint32), ("temperature", c_float), ("top_k", c_int32),
                ("top_p", c_float), ("min_p", c_float), ("repeat_penalty", c_float),
                ("repeat_last_n", c_int32), ("seed", c_uint64)]


class GenerateParams(Structure):
    """``swiftlet_generate_params``."""

    _fields_ = [("struct_size", c_uint32), ("max_tokens", c_int32), ("tokenize_flags", c_uint32),
                ("sampling", SamplerParams)]


class GenerateResult(Structure):
    """``swiftlet_generate_result``."""

    _fields_ = [("struct_size", c_uint32), ("n_prompt_tokens", c_int32),
                ("n_generated_tokens", c_int32), ("stop_reason", c_int)]


class ChatMessage(Structure):
    """``swiftlet_chat_message``."""

    _fields_ = [("role", c_char_p), ("content", c_char_p)]


# Callback types. The token callback's `piece` is not NUL-terminated and may be
# empty, so it is taken as a raw address and read with ctypes.string_at.
LogCallback = CFUNCTYPE(None, c_int, c_char_p, c_void_p)
TokenCallback = CFUNCTYPE(c_bool, c_void_p, c_size_t, c_int32, c_void_p)

_FloatP = POINTER(c_float)
_Int32P = POINTER(c_int32)
_SizeP = POINTER(c_size_t)

# name -> (restype, argtypes); exactly the header's functions.
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "swiftlet_version": (c_char_p, []),
    "swiftlet_version_number": (c_int32, []),
    "swiftlet_status_string": (c_char_p, [c_int]),
    "swiftlet_last_error": (c_char_p, []),
    "swiftlet_set_log_callback": (None, [LogCallback, c_void_p]),
    "swiftlet_memory_get_info": (c_int, [POINTER(MemoryInfo)]),
    "swiftlet_model_params_init": (None, [POINTER(ModelParams)]),
    "swiftlet_model_load": (c_int, [c_char_p, POINTER(ModelParams), POINTER(c_void_p)]),
    "swiftlet_model_free": (None, [c_void_p]),
    "swiftlet_model_get_info": (c_int, [c_void_p, POINTER(ModelInfo)]),
    "swiftlet_model_meta_count": (c_int32, [c_void_p]),
    "swiftlet_model_meta_key": (c_int, [c_void_p, c_int32, c_char_p, c_size_t, _SizeP]),
    "swiftlet_model_meta_value": (c_int, [c_void_p, c_char_p, c_char_p, c_size_t, _SizeP]),
    "swiftlet_tokenize": (c_int, [c_void_p, c_char_p, c_size_t, c_uint32, _Int32P, c_size_t, _SizeP]),
    "swiftlet_token_to_bytes": (c_int, [c_void_p, c_int32, c_char_p, c_size_t, _SizeP]),
    "swiftlet_detokenize": (c_int, [c_void_p, _Int32P, c_size_t, c_char_p, c_size_t, _SizeP]),
    "swiftlet_vocab_size": (c_int32, [c_void_p]),
    "swiftlet_token_is_end_of_generation": (c_bool, [c_void_p, c_int32]),
    "swiftlet_context_params_init": (None, [POINTER(ContextParams)]),
    "swiftlet_context_create": (c_int, [c_void_p, POINTER(ContextParams), POINTER(c_void_p)]),
    "swiftlet_context_free": (None, [c_void_p]),
    "swiftlet_context_eval": (c_int, [c_void_p, _Int32P, c_size_t]),
    "swiftlet_context_eval_all_logits": (c_int, [c_void_p, _Int32P, c_size_t, _FloatP, c_size_t]),
    "swiftlet_context_logits": (_FloatP, [c_void_p]),
    "swiftlet_context_position": (c_int32, [c_void_p]),
    "swiftlet_context_size": (c_int32, [c_void_p]),
    "swiftlet_context_rewind": (c_int, [c_void_p, c_int32]),
    "swiftlet_context_reset": (None, [c_void_p]),
    "swiftlet_context_cancel": (None, [c_void_p]),
    "swiftlet_sampler_params_init": (None, [POINTER(SamplerParams)]),
    "swiftlet_sampler_create": (c_int, [POINTER(SamplerParams), POINTER(c_void_p)]),
    "swiftlet_sampler_sample": (c_int, [c_void_p, c_void_p, _Int32P]),
    "swiftlet_sampler_free": (None, [c_void_p]),
    "swiftlet_generate_params_init": (None, [POINTER(GenerateParams)]),
    "swiftlet_generate": (c_int, [c_void_p, c_char_p, POINTER(GenerateParams), TokenCallback, c_void_p,
                                  POINTER(GenerateResult)]),
    "swiftlet_chat_format": (c_int, [c_void_p, POINTER(ChatMessage), c_size_t, c_bool, c_char_p, c_size_t,
                                     _SizeP]),
    "swiftlet_chat": (c_int, [c_void_p, POINTER(ChatMessage), c_size_t, POINTER(GenerateParams),
                              TokenCallback, c_void_p, POINTER(GenerateResult)]),
}


class LibraryError(OSError):
    """``libswiftlet.so`` could not be found or loaded, or its version does not
    match the header this package was written for."""


# ------------------------------------------------------------ the library


class Library:
    """The loaded ``libswiftlet.so`` with one typed method per C function.

    Methods take and return plain Python values where the C function does
    (ints, bytes); pointers and structs are passed as ctypes objects. Status
    codes are returned as ``int``; turning them into exceptions is the job of
    :mod:`swiftlet.errors`, which must read :meth:`last_error` on the same
    thread that made the failing call.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._cdll: Any
        try:
            self._cdll = ctypes.CDLL(path)
        except OSError as error:
            raise LibraryError(f"could not load {path}: {error}") from error
        for name, (restype, argtypes) in _SIGNATURES.items():
            try:
                function = getattr(self._cdll, name)
            except AttributeError as error:
                raise LibraryError(f"{path} does not export {name}: not a Swiftlet library, "
                                   f"or an older one than this package needs") from error
            function.restype = restype
            function.argtypes = argtypes
        number = self.version_number()
        major, minor = number // 1_000_000, number // 1000 % 1000
        if major != HEADER_VERSION_MAJOR or minor < HEADER_VERSION_MINOR:
            raise LibraryError(f"{path} is Swiftlet {self.version()}; this package needs "
                               f"{HEADER_VERSION_MAJOR}.{HEADER_VERSION_MINOR}.x or a later minor version")

    # -- versions, errors, logging, memory

    def version(self) -> str:
        return _text(self._cdll.swiftlet_version())

    def version_number(self) -> int:
        return int(self._cdll.swiftlet_version_number())

    def status_string(self, status: int) -> str:
        return _text(self._cdll.swiftlet_status_string(status))

    def last_error(self) -> str:
        return _text(self._cdll.swiftlet_last_error())

    def set_log_callback(self, callback: Any) -> None:
        """`callback` is a :data:`LogCallback` instance or None (silence)."""
        self._cdll.swiftlet_set_log_callback(callback if callback is not None else LogCallback(), None)

    def memory_get_info(self, info: MemoryInfo) -> int:
        return int(self._cdll.swiftlet_memory_get_info(byref(info)))

    # -- models

    def model_params_init(self, params: ModelParams) -> None:
        self._cdll.swiftlet_model_params_init(byref(params))

    def model_load(self, path: bytes, params: ModelParams, out_model: c_void_p) -> int:
        return int(self._cdll.swiftlet_model_load(path, byref(params), byref(out_model)))

    def model_free(self, model: Optional[int]) -> None:
        self._cdll.swiftlet_model_free(model)

    def model_get_info(self, model: int, info: ModelInfo) -> int:
        return int(self._cdll.swiftlet_model_get_info(model, byref(info)))

    def model_meta_count(self, model: int) -> int:
        return int(self._cdll.swiftlet_model_meta_count(model))

    def model_meta_key(self, model: int, index: int, buf: Optional[ctypes.Array[ctypes.c_char]],
                       buf_size: int, out_len: c_size_t) -> int:
        return int(self._cdll.swiftlet_model_meta_key(model, index, buf, buf_size, byref(out_len)))

    def model_meta_value(self, model: int, key: bytes, buf: Optional[ctypes.Array[ctypes.c_char]],
                         buf_size: int, out_len: c_size_t) -> int:
        return int(self._cdll.swiftlet_model_meta_value(model, key, buf, buf_size, byref(out_len)))

    # -- tokens

    def tokenize(self, model: int, text: bytes, flags: int, tokens: Optional[ctypes.Array[c_int32]],
                 capacity: int, out_count: c_size_t) -> int:
        return int(self._cdll.swiftlet_tokenize(model, text, len(text), flags, tokens, capacity, byref(out_count)))

    def token_to_bytes(self, model: int, token: int, buf: Optional[ctypes.Array[ctypes.c_char]],
                       buf_size: int, out_len: c_size_t) -> int:
        return int(self._cdll.swiftlet_token_to_bytes(model, token, buf, buf_size, byref(out_len)))

    def detokenize(self, model: int, tokens: ctypes.Array[c_int32], n_tokens: int,
                   buf: Optional[ctypes.Array[ctypes.c_char]], buf_size: int, out_len: c_size_t) -> int:
        return int(self._cdll.swiftlet_detokenize(model, tokens, n_tokens, buf, buf_size, byref(out_len)))

    def vocab_size(self, model: int) -> int:
        return int(self._cdll.swiftlet_vocab_size(model))

    def token_is_end_of_generation(self, model: int, token: int) -> bool:
        return bool(self._cdll.swiftlet_token_is_end_of_generation(model, token))

    # -- contexts

    def context_params_init(self, params: ContextParams) -> None:
        self._cdll.swiftlet_context_params_init(byref(params))

    def context_create(self, model: int, params: ContextParams, out_context: c_void_p) -> int:
        return int(self._cdll.swiftlet_context_create(model, byref(params), byref(out_context)))

    def context_free(self, context: Optional[int]) -> None:
        self._cdll.swiftlet_context_free(context)

    def context_eval(self, context: int, tokens: ctypes.Array[c_int32], n_tokens: int) -> int:
        return int(self._cdll.swiftlet_context_eval(context, tokens, n_tokens))

    def context_eval_all_logits(self, context: int, tokens: ctypes.Array[c_int32], n_tokens: int,
                                logits: Any, logits_capacity: int) -> int:
        """`logits` is a ``POINTER(c_float)`` to at least `logits_capacity` floats."""
        return int(self._cdll.swiftlet_context_eval_all_logits(context, tokens, n_tokens, logits, logits_capacity))

    def context_logits(self, context: int) -> Optional[int]:
        """The address of the last logits, or None (a NULL pointer)."""
        pointer = self._cdll.swiftlet_context_logits(context)
        address = ctypes.cast(pointer, c_void_p).value
        return int(address) if address else None

    def context_position(self, context: int) -> int:
        return int(self._cdll.swiftlet_context_position(context))

    def context_size(self, context: int) -> int:
        return int(self._cdll.swiftlet_context_size(context))

    def context_rewind(self, context: int, position: int) -> int:
        return int(self._cdll.swiftlet_context_rewind(context, position))

    def context_reset(self, context: int) -> None:
        self._cdll.swiftlet_context_reset(context)

    def context_cancel(self, context: int) -> None:
        self._cdll.swiftlet_context_cancel(context)

    # -- sampling

    def sampler_params_init(self, params: SamplerParams) -> None:
        self._cdll.swiftlet_sampler_params_init(byref(params))

    def sampler_create(self, params: SamplerParams, out_sampler: c_void_p) -> int:
        return int(self._cdll.swiftlet_sampler_create(byref(params), byref(out_sampler)))

    def sampler_sample(self, sampler: int, context: int, out_token: c_int32) -> int:
        return int(self._cdll.swiftlet_sampler_sample(sampler, context, byref(out_token)))

    def sampler_free(self, sampler: Optional[int]) -> None:
        self._cdll.swiftlet_sampler_free(sampler)

    # -- generation and chat

    def generate_params_init(self, params: GenerateParams) -> None:
        self._cdll.swiftlet_generate_params_init(byref(params))

    def generate(self, context: int, prompt: bytes, params: GenerateParams, callback: Any,
                 result: GenerateResult) -> int:
        """`callback` is a :data:`TokenCallback` instance (kept alive by the caller)."""
        return int(self._cdll.swiftlet_generate(context, prompt, byref(params), callback, None, byref(result)))

    def chat_format(self, model: int, messages: ctypes.Array[ChatMessage], n_messages: int,
                    add_generation_prompt: bool, buf: Optional[ctypes.Array[ctypes.c_char]],
                    buf_size: int, out_len: c_size_t) -> int:
        return int(self._cdll.swiftlet_chat_format(model, messages, n_messages, add_generation_prompt,
                                                buf, buf_size, byref(out_len)))

    def chat(self, context: int, messages: ctypes.Array[ChatMessage], n_messages: int,
             params: GenerateParams, callback: Any, result: GenerateResult) -> int:
        return int(self._cdll.swiftlet_chat(context, messages, n_messages, byref(params), callback, None,
                                         byref(result)))


def _text(value: Optional[bytes]) -> str:
    return value.decode("utf-8", errors="replace") if value else ""


# ---------------------------------------------------------------- loading

_library: Optional[Library] = None
_library_lock = threading.Lock()


def package_dir() -> str:
    """The directory of the installed ``swiftlet`` package."""
    return os.path.dirname(os.path.abspath(__file__))


def candidate_paths() -> list[tuple[str, str]]:
    """Where the library may be, in search order, as (description, path)."""
    here = package_dir()
    checkout = os.path.normpath(os.path.join(here, "..", "..", "..", "..", "build", "lib", LIBRARY_FILENAME))
    return [("bundled with the package", os.path.join(here, LIBRARY_FILENAME)),
            ("source checkout build", checkout)]


def library_path() -> str:
    """The path of the library that is (or would be) loaded. Raises
    :class:`LibraryError` if there is none."""
    override = os.environ.get(LIBRARY_ENV)
    if override:
        if not os.path.isfile(override):
            raise LibraryError(f"${LIBRARY_ENV}={override} does not exist")
        return os.path.abspath(override)
    for _, path in candidate_paths():
        if os.path.isfile(path):
            return path
    tried = "; ".join(f"{what}: {path}" for what, path in candidate_paths())
    raise LibraryError(f"libswiftlet.so not found (tried {tried}). Reinstall the package "
                       f"(pip install bindings/python) or set ${LIBRARY_ENV}.")


def load() -> Library:
    """The process's :class:`Library`, loaded on first call."""
    global _library
    library = _library
    if library is not None:
        return library
    with _library_lock:
        if _library is None:
            _library = Library(library_path())
        return _library
