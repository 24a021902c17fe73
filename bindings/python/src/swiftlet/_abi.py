"""``include/swiftlet.h`` for ctypes: its constants, structs, callback types and
function signatures, one to one, and nothing else.

This is the one Python declaration of the C ABI. The package builds on it
(:mod:`swiftlet._lib`), and so do the repository's C API tests
(``Tests/python/swiftlet_ctypes.py`` loads this file by path) and the
benchmark. It imports nothing but :mod:`ctypes`, so it can be loaded on its own.

Names are the header's without the ``swiftlet_``/``SWIFTLET_`` prefix:
``SWIFTLET_ERROR_BUSY`` is :data:`ERROR_BUSY`, ``swiftlet_sampler_params`` is
:class:`SamplerParams`. Every struct's size and field offsets are checked
against ``Tests/abi/layout.txt`` (the published layout, itself checked against
gcc), and every ``#define`` and function against the header, by the tests.

Handles are ``c_void_p``. The token callback's ``piece`` is declared
``c_void_p`` (an address), because it is not NUL-terminated and may be
empty: read it with ``ctypes.string_at(piece, piece_len)``.
"""
from __future__ import annotations

import ctypes
from ctypes import CFUNCTYPE, POINTER, Structure, c_char_p, c_float, c_int8, c_int32, c_size_t, c_uint32, c_uint64, c_void_p
from typing import Any

# ------------------------------------------------------------------ versions

VERSION_MAJOR = 0
VERSION_MINOR = 6
VERSION_PATCH = 0
VERSION_STRING = "0.6.0"
VERSION_NUMBER = VERSION_MAJOR * 1000000 + VERSION_MINOR * 1000 + VERSION_PATCH

# ------------------------------------------------------------------ statuses

OK = 0
ERROR_INVALID_ARGUMENT = 1
ERROR_IO = 2
ERROR_INVALID_FILE = 3
ERROR_UNSUPPORTED = 4
ERROR_NOT_FOUND = 5
ERROR_BUFFER_TOO_SMALL = 6
ERROR_CONTEXT_FULL = 7
ERROR_CANCELLED = 8
ERROR_OUT_OF_MEMORY = 9
ERROR_TEMPLATE = 10
ERROR_INTERNAL = 11
ERROR_BUSY = 12

# ------------------------------------------------------------ other constants

LOG_DEBUG = 0
LOG_INFO = 1
LOG_WARNING = 2
LOG_ERROR = 3

MAX_TEXT_BYTES = 1073741824

TOKENIZE_ADD_BOS = 1
TOKENIZE_SPECIAL = 2
TOKENIZE_MODEL_BOS = 4

STOP_END_OF_GENERATION = 0
STOP_MAX_TOKENS = 1
STOP_CALLBACK = 2
STOP_CANCELLED = 3
STOP_CONTEXT_FULL = 4

# SWIFTLET_OVERFLOW_*
OVERFLOW_ERROR = 0
OVERFLOW_SHIFT = 1

STATE_ALL_SEQUENCES = -1  # SWIFTLET_STATE_ALL_SEQUENCES

MAX_ADAPTERS = 64  # SWIFTLET_MAX_ADAPTERS

# swiftlet_grammar_match results (SWIFTLET_GRAMMAR_*)
GRAMMAR_NO_MATCH = 0
GRAMMAR_PREFIX = 1
GRAMMAR_COMPLETE = 2

# SWIFTLET_OBSERVE_* (swiftlet_context_set_observer's kinds)
OBSERVE_HIDDEN = 1
OBSERVE_AFTER_ATTENTION = 2
OBSERVE_ATTENTION = 4
OBSERVE_FINAL = 8
OBSERVE_ALL = 15

# SWIFTLET_POOLING_*
POOLING_MODEL = 0
POOLING_MEAN = 1
POOLING_CLS = 2
POOLING_LAST = 3

# ------------------------------------------------------------ callback types

LogCallback = CFUNCTYPE(None, c_int32, c_char_p, c_void_p)
ProgressCallback = CFUNCTYPE(c_int32, c_float, c_void_p)
TokenCallback = CFUNCTYPE(c_int32, c_void_p, c_size_t, c_int32, c_void_p)
BatchTokenCallback = CFUNCTYPE(c_int32, c_int32, c_void_p, c_size_t, c_int32, c_void_p)

# ------------------------------------------------------------------- structs


class MemoryInfo(Structure):
    """``swiftlet_memory_info``."""

    _fields_ = [("struct_size", c_uint32), ("reserved", c_uint32), ("allocator", c_char_p),
                ("bytes_allocated", c_uint64), ("bytes_mapped", c_uint64)]


class ModelParams(Structure):
    """``swiftlet_model_params``."""

    _fields_ = [("struct_size", c_uint32), ("n_threads", c_int32), ("progress", ProgressCallback),
                ("progress_user_data", c_void_p)]


class ModelInfo(Structure):
    """``swiftlet_model_info``."""

    _fields_ = [("struct_size", c_uint32), ("n_vocab", c_int32), ("architecture", c_char_p), ("name", c_char_p),
                ("n_ctx_train", c_int32), ("n_embd", c_int32), ("n_layer", c_int32), ("n_head", c_int32),
                ("n_head_kv", c_int32), ("n_ff", c_int32), ("n_params", c_uint64), ("bos_token", c_int32),
                ("eos_token", c_int32)]


class ContextParams(Structure):
    """``swiftlet_context_params``."""

    _fields_ = [("struct_size", c_uint32), ("n_ctx", c_int32), ("n_threads", c_int32), ("n_batch", c_int32),
                ("n_seq_max", c_int32), ("overflow", c_int32), ("n_keep", c_int32), ("n_discard", c_int32)]


class Batch(Structure):
    """``swiftlet_batch``."""

    _fields_ = [("struct_size", c_uint32), ("n_tokens", c_int32), ("tokens", POINTER(c_int32)),
                ("seq_ids", POINTER(c_int32)), ("positions", POINTER(c_int32)), ("logits", POINTER(c_int8))]


class SamplerParams(Structure):
    """``swiftlet_sampler_params``."""

    _fields_ = [("struct_size", c_uint32), ("temperature", c_float), ("top_k", c_int32), ("top_p", c_float),
                ("min_p", c_float), ("repeat_penalty", c_float), ("repeat_last_n", c_int32),
                ("reserved", c_uint32), ("seed", c_uint64), ("grammar", c_void_p)]


class GenerateParams(Structure):
    """``swiftlet_generate_params``. ``sampling`` points at a
    :class:`SamplerParams` the caller keeps alive for the call (NULL: defaults)."""

    _fields_ = [("struct_size", c_uint32), ("max_tokens", c_int32), ("tokenize_flags", c_uint32),
                ("reserved", c_uint32), ("sampling", POINTER(SamplerParams))]


class GenerateResult(Structure):
    """``swiftlet_generate_result``."""

    _fields_ = [("struct_size", c_uint32), ("n_prompt_tokens", c_int32), ("n_generated_tokens", c_int32),
                ("stop_reason", c_int32)]


class ChatMessage(Structure):
    """``swiftlet_chat_message``: ``struct_size`` is also the array's stride."""

    _fields_ = [("struct_size", c_uint32), ("reserved", c_uint32), ("role", c_char_p), ("content", c_char_p)]


class ChatParams(Structure):
    """``swiftlet_chat_params``."""

    _fields_ = [("struct_size", c_uint32), ("add_generation_prompt", c_int32), ("chat_template", c_char_p)]


class EmbedParams(Structure):
    """``swiftlet_embed_params``."""

    _fields_ = [("struct_size", c_uint32), ("pooling", c_int32), ("normalize", c_int32), ("reserved", c_uint32)]



class Observation(Structure):
    """``swiftlet_observation``: one view handed to an observer callback."""

    _fields_ = [("struct_size", c_uint32), ("kind", c_uint32), ("layer", c_int32), ("seq_id", c_int32),
                ("first_token", c_int32), ("n_tokens", c_int32), ("first_position", c_int32),
                ("n_heads", c_int32), ("n_columns", c_int32), ("reserved", c_int32), ("values", POINTER(c_float))]


ObserverCallback = CFUNCTYPE(c_int32, POINTER(Observation), c_void_p)

#: C struct name -> class, for the layout checks.
STRUCTS: dict[str, type[Structure]] = {
    "swiftlet_memory_info": MemoryInfo,
    "swiftlet_model_params": ModelParams,
    "swiftlet_model_info": ModelInfo,
    "swiftlet_context_params": ContextParams,
    "swiftlet_batch": Batch,
    "swiftlet_sampler_params": SamplerParams,
    "swiftlet_generate_params": GenerateParams,
    "swiftlet_generate_result": GenerateResult,
    "swiftlet_chat_message": ChatMessage,
    "swiftlet_chat_params": ChatParams,
    "swiftlet_embed_params": EmbedParams,
    "swiftlet_observation": Observation,
}

# ----------------------------------------------------------------- functions

_P = POINTER
_SizeP = POINTER(c_size_t)
_Int32P = POINTER(c_int32)
_FloatP = POINTER(c_float)
_Status = c_int32
_Handle = c_void_p

#: Every function of the header: name -> (restype, argtypes).
FUNCTIONS: dict[str, tuple[Any, list[Any]]] = {
    "swiftlet_version": (c_char_p, []),
    "swiftlet_version_number": (c_int32, []),
    "swiftlet_status_string": (c_char_p, [_Status]),
    "swiftlet_last_error": (c_char_p, []),
    "swiftlet_set_log_callback": (None, [LogCallback, c_void_p]),
    "swiftlet_memory_get_info": (_Status, [_P(MemoryInfo)]),
    "swiftlet_system_info": (c_char_p, []),
    "swiftlet_model_params_init": (None, [_P(ModelParams)]),
    "swiftlet_model_load": (_Status, [c_char_p, _P(ModelParams), _P(_Handle)]),
    "swiftlet_model_free": (None, [_Handle]),
    "swiftlet_model_get_info": (_Status, [_Handle, _P(ModelInfo)]),
    "swiftlet_model_meta_count": (c_int32, [_Handle]),
    "swiftlet_model_meta_key": (_Status, [_Handle, c_int32, c_char_p, c_size_t, _SizeP]),
    "swiftlet_model_meta_value": (_Status, [_Handle, c_char_p, c_char_p, c_size_t, _SizeP]),
    "swiftlet_tokenize": (_Status, [_Handle, c_char_p, c_size_t, c_uint32, _Int32P, c_size_t, _SizeP]),
    "swiftlet_token_to_bytes": (_Status, [_Handle, c_int32, c_char_p, c_size_t, _SizeP]),
    "swiftlet_detokenize": (_Status, [_Handle, _Int32P, c_size_t, c_char_p, c_size_t, _SizeP]),
    "swiftlet_vocab_size": (c_int32, [_Handle]),
    "swiftlet_token_is_end_of_generation": (c_int32, [_Handle, c_int32]),
    "swiftlet_embed_params_init": (None, [_P(EmbedParams)]),
    "swiftlet_embed": (_Status, [_Handle, _P(c_char_p), c_size_t, _P(EmbedParams), _FloatP, c_size_t, _SizeP]),
    "swiftlet_context_params_init": (None, [_P(ContextParams)]),
    "swiftlet_context_params_init_sized": (None, [_P(ContextParams), c_size_t]),
    "swiftlet_context_create": (_Status, [_Handle, _P(ContextParams), _P(_Handle)]),
    "swiftlet_context_free": (None, [_Handle]),
    "swiftlet_context_eval": (_Status, [_Handle, _Int32P, c_size_t]),
    "swiftlet_context_eval_all_logits": (_Status, [_Handle, _Int32P, c_size_t, _FloatP, c_size_t]),
    "swiftlet_context_logits": (_FloatP, [_Handle]),
    "swiftlet_context_position": (c_int32, [_Handle]),
    "swiftlet_context_size": (c_int32, [_Handle]),
    "swiftlet_context_rewind": (_Status, [_Handle, c_int32]),
    "swiftlet_context_reset": (_Status, [_Handle]),
    "swiftlet_context_cancel": (None, [_Handle]),
    "swiftlet_context_set_observer": (_Status, [_Handle, c_uint32, ObserverCallback, c_void_p]),
    "swiftlet_context_decode": (_Status, [_Handle, _P(Batch)]),
    "swiftlet_context_logits_for": (_FloatP, [_Handle, c_int32]),
    "swiftlet_context_seq_length": (c_int32, [_Handle, c_int32]),
    "swiftlet_context_tokens": (_Status, [_Handle, c_int32, _Int32P, c_size_t, _SizeP]),
    "swiftlet_context_seq_remove": (_Status, [_Handle, c_int32, c_int32, c_int32]),
    "swiftlet_context_seq_copy": (_Status, [_Handle, c_int32, c_int32, c_int32]),
    "swiftlet_context_seq_keep": (_Status, [_Handle, c_int32]),
    "swiftlet_context_state_size": (_Status, [_Handle, c_int32, _SizeP]),
    "swiftlet_context_state_save": (_Status, [_Handle, c_int32, c_void_p, c_size_t, _SizeP]),
    "swiftlet_context_state_load": (_Status, [_Handle, c_int32, c_void_p, c_size_t]),
    "swiftlet_context_state_save_file": (_Status, [_Handle, c_int32, c_char_p]),
    "swiftlet_context_state_load_file": (_Status, [_Handle, c_int32, c_char_p]),
    "swiftlet_adapter_load": (_Status, [_Handle, c_char_p, _P(_Handle)]),
    "swiftlet_adapter_free": (None, [_Handle]),
    "swiftlet_adapter_info": (_Status, [_Handle, _Int32P, _FloatP, _Int32P]),
    "swiftlet_context_set_adapters": (_Status, [_Handle, _P(_Handle), _FloatP, c_int32]),
    "swiftlet_grammar_create": (_Status, [_Handle, c_char_p, c_char_p, _P(_Handle)]),
    "swiftlet_grammar_from_json_schema": (_Status, [_Handle, c_char_p, _P(_Handle)]),
    "swiftlet_grammar_free": (None, [_Handle]),
    "swiftlet_grammar_match": (_Status, [_Handle, c_char_p, c_size_t, _Int32P]),
    "swiftlet_sampler_params_init": (None, [_P(SamplerParams)]),
    "swiftlet_sampler_params_init_sized": (None, [_P(SamplerParams), c_size_t]),
    "swiftlet_sampler_create": (_Status, [_P(SamplerParams), _P(_Handle)]),
    "swiftlet_sampler_free": (None, [_Handle]),
    "swiftlet_sampler_sample": (_Status, [_Handle, _Handle, _Int32P]),
    "swiftlet_sampler_sample_seq": (_Status, [_Handle, _Handle, c_int32, _Int32P]),
    "swiftlet_sampler_sample_logits": (_Status, [_Handle, _Handle, _FloatP, c_size_t, _Int32P]),
    "swiftlet_sampler_reset": (_Status, [_Handle]),
    "swiftlet_generate_params_init": (None, [_P(GenerateParams)]),
    "swiftlet_generate": (_Status, [_Handle, c_char_p, _P(GenerateParams), TokenCallback, c_void_p,
                                    _P(GenerateResult)]),
    "swiftlet_generate_batch": (_Status, [_Handle, _P(c_char_p), c_size_t, _P(GenerateParams), BatchTokenCallback,
                                          c_void_p, _P(GenerateResult)]),
    "swiftlet_chat_params_init": (None, [_P(ChatParams)]),
    "swiftlet_chat_format": (_Status, [_Handle, _P(ChatMessage), c_size_t, _P(ChatParams), c_char_p, c_size_t,
                                       _SizeP]),
    "swiftlet_chat": (_Status, [_Handle, _P(ChatMessage), c_size_t, _P(ChatParams), _P(GenerateParams),
                                TokenCallback, c_void_p, _P(GenerateResult)]),
}


def declare(cdll: ctypes.CDLL) -> ctypes.CDLL:
    """Sets ``restype`` and ``argtypes`` of every function of the header on
    `cdll`; returns it. AttributeError names the first function it does not export."""
    for name, (restype, argtypes) in FUNCTIONS.items():
        function = getattr(cdll, name)
        function.restype = restype
        function.argtypes = argtypes
    return cdll


def new(struct: type[Structure], **fields: Any) -> Any:
    """A `struct` with ``struct_size`` set and the given fields."""
    value = struct(**fields)
    value.struct_size = ctypes.sizeof(struct)
    return value
