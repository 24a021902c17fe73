"""The loaded library: which ``libswiftlet.so``, and one typed method per C function.

This module is private. The declarations themselves (structs, callback types,
signatures) are :mod:`swiftlet._abi`, the one Python copy of the header; this
module loads the library with them and adds Python types: each C function has
a method on :class:`Library` with the C name minus the ``swiftlet_`` prefix.
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
from ctypes import byref, c_int32, c_size_t, c_void_p
from typing import Any, Optional

from . import _abi
from ._abi import (Batch, ChatMessage, ChatParams, ContextParams, EmbedParams, GenerateParams, GenerateResult,
                   LogCallback, MemoryInfo, ModelInfo, ModelParams, ProgressCallback, SamplerParams, TokenCallback)

# ------------------------------------------------------------------ versions

#: The header version these declarations describe (SWIFTLET_VERSION_*).
HEADER_VERSION_MAJOR = _abi.VERSION_MAJOR
HEADER_VERSION_MINOR = _abi.VERSION_MINOR
HEADER_VERSION_PATCH = _abi.VERSION_PATCH
HEADER_VERSION_NUMBER = _abi.VERSION_NUMBER

LIBRARY_ENV = "SWIFTLET_LIBRARY"
LIBRARY_FILENAME = "libswiftlet.so"

# ------------------------------------------------------------------- enums


class Status(enum.IntEnum):
    """``swiftlet_status``: the result of every fallible C call."""

    OK = _abi.OK
    INVALID_ARGUMENT = _abi.ERROR_INVALID_ARGUMENT
    IO = _abi.ERROR_IO
    INVALID_FILE = _abi.ERROR_INVALID_FILE
    UNSUPPORTED = _abi.ERROR_UNSUPPORTED
    NOT_FOUND = _abi.ERROR_NOT_FOUND
    BUFFER_TOO_SMALL = _abi.ERROR_BUFFER_TOO_SMALL
    CONTEXT_FULL = _abi.ERROR_CONTEXT_FULL
    CANCELLED = _abi.ERROR_CANCELLED
    OUT_OF_MEMORY = _abi.ERROR_OUT_OF_MEMORY
    TEMPLATE = _abi.ERROR_TEMPLATE
    INTERNAL = _abi.ERROR_INTERNAL
    BUSY = _abi.ERROR_BUSY


class LogLevel(enum.IntEnum):
    """``SWIFTLET_LOG_*``."""

    DEBUG = _abi.LOG_DEBUG
    INFO = _abi.LOG_INFO
    WARNING = _abi.LOG_WARNING
    ERROR = _abi.LOG_ERROR


class StopReason(enum.IntEnum):
    """``SWIFTLET_STOP_*``: why a generation ended."""

    END_OF_GENERATION = _abi.STOP_END_OF_GENERATION
    MAX_TOKENS = _abi.STOP_MAX_TOKENS
    CALLBACK = _abi.STOP_CALLBACK
    CANCELLED = _abi.STOP_CANCELLED
    CONTEXT_FULL = _abi.STOP_CONTEXT_FULL


TOKENIZE_ADD_BOS = _abi.TOKENIZE_ADD_BOS
TOKENIZE_SPECIAL = _abi.TOKENIZE_SPECIAL
TOKENIZE_MODEL_BOS = _abi.TOKENIZE_MODEL_BOS


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
    thread that made the failing call. :attr:`c` is the ``CDLL`` itself, for
    the few hot paths that call it directly.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.c: Any
        try:
            self.c = ctypes.CDLL(path)
        except OSError as error:
            raise LibraryError(f"could not load {path}: {error}") from error
        try:
            _abi.declare(self.c)
        except AttributeError as error:
            raise LibraryError(f"{path} lacks a function of the Swiftlet {_abi.VERSION_STRING} header ({error}): "
                               f"not a Swiftlet library, or an older one than this package needs") from error
        number = self.version_number()
        major, minor = number // 1_000_000, number // 1000 % 1000
        if major != HEADER_VERSION_MAJOR or minor < HEADER_VERSION_MINOR:
            raise LibraryError(f"{path} is Swiftlet {self.version()}; this package needs "
                               f"{HEADER_VERSION_MAJOR}.{HEADER_VERSION_MINOR}.x or a later minor version")

    # -- versions, errors, logging, memory

    def version(self) -> str:
        return _text(self.c.swiftlet_version())

    def version_number(self) -> int:
        return int(self.c.swiftlet_version_number())

    def status_string(self, status: int) -> str:
        return _text(self.c.swiftlet_status_string(status))

    def last_error(self) -> str:
        return _text(self.c.swiftlet_last_error())

    def set_log_callback(self, callback: Any) -> None:
        """`callback` is a :data:`LogCallback` instance or None (silence)."""
        self.c.swiftlet_set_log_callback(callback if callback is not None else LogCallback(), None)

    def memory_get_info(self, info: MemoryInfo) -> int:
        return int(self.c.swiftlet_memory_get_info(byref(info)))

    def system_info(self) -> str:
        return _text(self.c.swiftlet_system_info())

    # -- models

    def model_params_init(self, params: ModelParams) -> None:
        self.c.swiftlet_model_params_init(byref(params))

    def model_load(self, path: bytes, params: ModelParams, out_model: c_void_p) -> int:
        return int(self.c.swiftlet_model_load(path, byref(params), byref(out_model)))

    def model_free(self, model: Optional[int]) -> None:
        self.c.swiftlet_model_free(model)

    def model_get_info(self, model: int, info: ModelInfo) -> int:
        return int(self.c.swiftlet_model_get_info(model, byref(info)))

    def model_meta_count(self, model: int) -> int:
        return int(self.c.swiftlet_model_meta_count(model))

    def model_meta_key(self, model: int, index: int, buf: Optional[ctypes.Array[ctypes.c_char]],
                       buf_size: int, out_len: c_size_t) -> int:
        return int(self.c.swiftlet_model_meta_key(model, index, buf, buf_size, byref(out_len)))

    def model_meta_value(self, model: int, key: bytes, buf: Optional[ctypes.Array[ctypes.c_char]],
                         buf_size: int, out_len: c_size_t) -> int:
        return int(self.c.swiftlet_model_meta_value(model, key, buf, buf_size, byref(out_len)))

    # -- tokens

    def tokenize(self, model: int, text: bytes, flags: int, tokens: Optional[ctypes.Array[c_int32]],
                 capacity: int, out_count: c_size_t) -> int:
        return int(self.c.swiftlet_tokenize(model, text, len(text), flags, tokens, capacity, byref(out_count)))

    def token_to_bytes(self, model: int, token: int, buf: Optional[ctypes.Array[ctypes.c_char]],
                       buf_size: int, out_len: c_size_t) -> int:
        return int(self.c.swiftlet_token_to_bytes(model, token, buf, buf_size, byref(out_len)))

    def detokenize(self, model: int, tokens: ctypes.Array[c_int32], n_tokens: int,
                   buf: Optional[ctypes.Array[ctypes.c_char]], buf_size: int, out_len: c_size_t) -> int:
        return int(self.c.swiftlet_detokenize(model, tokens, n_tokens, buf, buf_size, byref(out_len)))

    def vocab_size(self, model: int) -> int:
        return int(self.c.swiftlet_vocab_size(model))

    def token_is_end_of_generation(self, model: int, token: int) -> bool:
        return int(self.c.swiftlet_token_is_end_of_generation(model, token)) != 0

    # -- contexts

    def context_params_init_sized(self, params: ContextParams) -> None:
        """Fills all of `params` (its ``ctypes.sizeof``) with defaults. The
        unsized ``swiftlet_context_params_init`` writes only the 0.3 layout's
        16 bytes, for callers compiled before the struct grew."""
        self.c.swiftlet_context_params_init_sized(byref(params), ctypes.sizeof(params))

    def context_create(self, model: int, params: ContextParams, out_context: c_void_p) -> int:
        return int(self.c.swiftlet_context_create(model, byref(params), byref(out_context)))

    def context_free(self, context: Optional[int]) -> None:
        self.c.swiftlet_context_free(context)

    def context_eval(self, context: int, tokens: ctypes.Array[c_int32], n_tokens: int) -> int:
        return int(self.c.swiftlet_context_eval(context, tokens, n_tokens))

    def context_eval_all_logits(self, context: int, tokens: ctypes.Array[c_int32], n_tokens: int,
                                logits: Any, logits_capacity: int) -> int:
        """`logits` is a ``POINTER(c_float)`` to at least `logits_capacity` floats."""
        return int(self.c.swiftlet_context_eval_all_logits(context, tokens, n_tokens, logits, logits_capacity))

    def context_logits(self, context: int) -> Optional[int]:
        """The address of the last logits, or None (a NULL pointer)."""
        pointer = self.c.swiftlet_context_logits(context)
        address = ctypes.cast(pointer, c_void_p).value
        return int(address) if address else None

    def context_position(self, context: int) -> int:
        return int(self.c.swiftlet_context_position(context))

    def context_size(self, context: int) -> int:
        return int(self.c.swiftlet_context_size(context))

    def context_rewind(self, context: int, position: int) -> int:
        return int(self.c.swiftlet_context_rewind(context, position))

    def context_reset(self, context: int) -> int:
        return int(self.c.swiftlet_context_reset(context))

    def context_cancel(self, context: int) -> None:
        self.c.swiftlet_context_cancel(context)

    def context_set_observer(self, context: int, kinds: int, callback: Any) -> int:
        """`callback` (an ``ObserverCallback``, or a NULL one with kinds 0) is kept alive by the caller."""
        return int(self.c.swiftlet_context_set_observer(context, kinds, callback, None))

    # -- sequences

    def context_decode(self, context: int, batch: Batch) -> int:
        """The arrays `batch` points at are kept alive by the caller."""
        return int(self.c.swiftlet_context_decode(context, byref(batch)))

    def context_logits_for(self, context: int, index: int) -> Optional[int]:
        """The address of batch entry `index`'s logits, or None (a NULL pointer)."""
        pointer = self.c.swiftlet_context_logits_for(context, index)
        address = ctypes.cast(pointer, c_void_p).value
        return int(address) if address else None

    def context_seq_length(self, context: int, seq_id: int) -> int:
        return int(self.c.swiftlet_context_seq_length(context, seq_id))

    def context_tokens(self, context: int, seq_id: int, tokens: Any, capacity: int, out_n: Any) -> int:
        return int(self.c.swiftlet_context_tokens(context, seq_id, tokens, capacity, out_n))

    def context_seq_remove(self, context: int, seq_id: int, p0: int, p1: int) -> int:
        return int(self.c.swiftlet_context_seq_remove(context, seq_id, p0, p1))

    def context_seq_copy(self, context: int, src: int, dst: int, n_tokens: int) -> int:
        return int(self.c.swiftlet_context_seq_copy(context, src, dst, n_tokens))

    def context_seq_keep(self, context: int, seq_id: int) -> int:
        return int(self.c.swiftlet_context_seq_keep(context, seq_id))

    # -- state

    def context_state_size(self, context: int, seq_id: int, out_size: c_size_t) -> int:
        return int(self.c.swiftlet_context_state_size(context, seq_id, byref(out_size)))

    def context_state_save(self, context: int, seq_id: int, buf: Optional[ctypes.Array[ctypes.c_char]],
                           buf_size: int, out_len: c_size_t) -> int:
        return int(self.c.swiftlet_context_state_save(context, seq_id, buf, buf_size, byref(out_len)))

    def context_state_load(self, context: int, seq_id: int, data: bytes) -> int:
        return int(self.c.swiftlet_context_state_load(context, seq_id, data, len(data)))

    def context_state_save_file(self, context: int, seq_id: int, path: bytes) -> int:
        return int(self.c.swiftlet_context_state_save_file(context, seq_id, path))

    def context_state_load_file(self, context: int, seq_id: int, path: bytes) -> int:
        return int(self.c.swiftlet_context_state_load_file(context, seq_id, path))

    # -- adapters

    def adapter_load(self, model: int, path: bytes, out_adapter: c_void_p) -> int:
        return int(self.c.swiftlet_adapter_load(model, path, byref(out_adapter)))

    def adapter_free(self, adapter: Optional[int]) -> None:
        self.c.swiftlet_adapter_free(adapter)

    def adapter_info(self, adapter: int, out_rank: c_int32, out_alpha: ctypes.c_float, out_n_tensors: c_int32) -> int:
        return int(self.c.swiftlet_adapter_info(adapter, byref(out_rank), byref(out_alpha), byref(out_n_tensors)))

    def context_set_adapters(self, context: int, adapters: list[int], scales: list[float]) -> int:
        count = len(adapters)
        handles = (c_void_p * max(count, 1))(*adapters)
        values = (ctypes.c_float * max(count, 1))(*scales)
        return int(self.c.swiftlet_context_set_adapters(context, handles, values, count))

    # -- grammars

    def grammar_create(self, model: Optional[int], gbnf: bytes, root: Optional[bytes], out_grammar: c_void_p) -> int:
        return int(self.c.swiftlet_grammar_create(model, gbnf, root, byref(out_grammar)))

    def grammar_from_json_schema(self, model: Optional[int], schema: bytes, out_grammar: c_void_p) -> int:
        return int(self.c.swiftlet_grammar_from_json_schema(model, schema, byref(out_grammar)))

    def grammar_free(self, grammar: Optional[int]) -> None:
        self.c.swiftlet_grammar_free(grammar)

    def grammar_match(self, grammar: int, text: bytes, out_match: c_int32) -> int:
        return int(self.c.swiftlet_grammar_match(grammar, text, len(text), byref(out_match)))

    # -- sampling

    def sampler_params_init(self, params: SamplerParams) -> None:
        """Fills all of `params` (its ``ctypes.sizeof``: the grammar pointer
        too) with defaults. The unsized ``swiftlet_sampler_params_init``
        writes only the 0.4 layout's 40 bytes."""
        self.c.swiftlet_sampler_params_init_sized(byref(params), ctypes.sizeof(params))

    def sampler_create(self, params: SamplerParams, out_sampler: c_void_p) -> int:
        return int(self.c.swiftlet_sampler_create(byref(params), byref(out_sampler)))

    def sampler_sample(self, sampler: int, context: int, out_token: c_int32) -> int:
        return int(self.c.swiftlet_sampler_sample(sampler, context, byref(out_token)))

    def sampler_sample_seq(self, sampler: int, context: int, seq_id: int, out_token: c_int32) -> int:
        return int(self.c.swiftlet_sampler_sample_seq(sampler, context, seq_id, byref(out_token)))

    def sampler_sample_logits(self, sampler: int, model: int, logits: Any, n_logits: int, out_token: c_int32) -> int:
        """`logits` is a ``POINTER(c_float)`` to `n_logits` floats."""
        return int(self.c.swiftlet_sampler_sample_logits(sampler, model, logits, n_logits, byref(out_token)))

    def sampler_reset(self, sampler: int) -> int:
        return int(self.c.swiftlet_sampler_reset(sampler))

    def sampler_free(self, sampler: Optional[int]) -> None:
        self.c.swiftlet_sampler_free(sampler)

    # -- generation and chat

    def generate_params_init(self, params: GenerateParams) -> None:
        self.c.swiftlet_generate_params_init(byref(params))

    def generate(self, context: int, prompt: bytes, params: GenerateParams, callback: Any,
                 result: GenerateResult) -> int:
        """`callback` is a :data:`TokenCallback` instance (kept alive by the caller),
        and so is the :class:`SamplerParams` ``params.sampling`` points at."""
        return int(self.c.swiftlet_generate(context, prompt, byref(params), callback, None, byref(result)))

    def generate_batch(self, context: int, prompts: ctypes.Array[ctypes.c_char_p], n_prompts: int,
                       params: GenerateParams, callback: Any, results: ctypes.Array[GenerateResult]) -> int:
        """`callback` is a :data:`BatchTokenCallback` instance (kept alive by the
        caller); `results` holds `n_prompts` elements with struct_size set."""
        return int(self.c.swiftlet_generate_batch(context, prompts, n_prompts, byref(params), callback, None,
                                                  results))

    def embed_params_init(self, params: EmbedParams) -> None:
        self.c.swiftlet_embed_params_init(byref(params))

    def embed(self, context: int, texts: ctypes.Array[ctypes.c_char_p], n_texts: int, params: EmbedParams,
              out: Any, out_capacity: int, out_count: c_size_t) -> int:
        return int(self.c.swiftlet_embed(context, texts, n_texts, byref(params), out, out_capacity,
                                         byref(out_count)))

    def chat_params_init(self, params: ChatParams) -> None:
        self.c.swiftlet_chat_params_init(byref(params))

    def chat_format(self, model: int, messages: ctypes.Array[ChatMessage], n_messages: int, params: ChatParams,
                    buf: Optional[ctypes.Array[ctypes.c_char]], buf_size: int, out_len: c_size_t) -> int:
        return int(self.c.swiftlet_chat_format(model, messages, n_messages, byref(params), buf, buf_size,
                                               byref(out_len)))

    def chat(self, context: int, messages: ctypes.Array[ChatMessage], n_messages: int, chat_params: ChatParams,
             params: GenerateParams, callback: Any, result: GenerateResult) -> int:
        return int(self.c.swiftlet_chat(context, messages, n_messages, byref(chat_params), byref(params), callback,
                                        None, byref(result)))


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
