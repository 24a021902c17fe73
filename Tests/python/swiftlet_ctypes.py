"""A small ctypes wrapper over include/swiftlet.h, for the tests.

`load()` returns the CDLL with every function's argtypes/restype set; the
struct classes mirror the header's structs; `new_*()` helpers return structs
with struct_size filled (and defaults from the *_params_init functions);
`check(status)` raises SwiftletError carrying swiftlet_last_error().

The library path comes from $SWIFTLET_LIB, default
<repo>/build/lib/libswiftlet.so with <repo> two levels above this file.
"""
from __future__ import annotations

import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_bool, c_char, c_char_p, c_float, c_int,
                    c_int32, c_size_t, c_uint32, c_uint64, c_void_p)
from typing import Optional, Sequence

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_LIB = os.path.join(REPO_ROOT, "build", "lib", "libswiftlet.so")

# version macros of the header this wrapper was written against
SWIFTLET_VERSION_MAJOR = 0
SWIFTLET_VERSION_MINOR = 1
SWIFTLET_VERSION_PATCH = 0
SWIFTLET_VERSION_STRING = "0.1.0"
SWIFTLET_VERSION_NUMBER = SWIFTLET_VERSION_MAJOR * 1000000 + SWIFTLET_VERSION_MINOR * 1000 + SWIFTLET_VERSION_PATCH

# swiftlet_status
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
STATUS_NAMES = {
    OK: "OK", ERROR_INVALID_ARGUMENT: "INVALID_ARGUMENT", ERROR_IO: "IO",
    ERROR_INVALID_FILE: "INVALID_FILE", ERROR_UNSUPPORTED: "UNSUPPORTED",
    ERROR_NOT_FOUND: "NOT_FOUND", ERROR_BUFFER_TOO_SMALL: "BUFFER_TOO_SMALL",
    ERROR_CONTEXT_FULL: "CONTEXT_FULL", ERROR_CANCELLED: "CANCELLED",
    ERROR_OUT_OF_MEMORY: "OUT_OF_MEMORY", ERROR_TEMPLATE: "TEMPLATE", ERROR_INTERNAL: "INTERNAL",
}

# swiftlet_log_level
LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR = 0, 1, 2, 3

# tokenize flags
TOKENIZE_ADD_BOS = 1
TOKENIZE_SPECIAL = 2
TOKENIZE_MODEL_BOS = 4

# swiftlet_stop_reason
STOP_END_OF_GENERATION = 0
STOP_MAX_TOKENS = 1
STOP_CALLBACK = 2
STOP_CANCELLED = 3
STOP_CONTEXT_FULL = 4


# ------------------------------------------------------------------ structs


class MemoryInfo(Structure):
    _fields_ = [("struct_size", c_uint32), ("allocator", c_char_p),
                ("bytes_allocated", c_uint64), ("bytes_mapped", c_uint64)]


class ModelParams(Structure):
    _fields_ = [("struct_size", c_uint32), ("n_threads", c_int32)]


class ModelInfo(Structure):
    _fields_ = [("struct_size", c_uint32), ("architecture", c_char_p), ("name", c_char_p),
                ("n_vocab", c_int32), ("n_ctx_train", c_int32), ("n_embd", c_int32),
                ("n_layer", c_int32), ("n_head", c_int32), ("n_head_kv", c_int32),
                ("n_ff", c_int32), ("n_params", c_uint64), ("bos_token", c_int32),
                ("eos_token", c_int32)]


class ContextParams(Structure):
    _fields_ = [("struct_size", c_uint32), ("n_ctx", c_int32), ("n_threads", c_int32),
                ("n_batch", c_int32)]


class SamplerParams(Structure):
    _fields_ = [("struct_size", c_uint32), ("temperature", c_float), ("top_k", c_int32),
                ("top_p", c_float), ("min_p", c_float), ("repeat_penalty", c_float),
                ("repeat_last_n", c_int32), ("seed", c_uint64)]


class GenerateParams(Structure):
    _fields_ = [("struct_size", c_uint32), ("max_tokens", c_int32), ("tokenize_flags", c_uint32),
                ("sampling", SamplerParams)]


class GenerateResult(Structure):
    _fields_ = [("struct_size", c_uint32), ("n_prompt_tokens", c_int32),
                ("n_generated_tokens", c_int32), ("stop_reason", c_int)]


class ChatMessage(Structure):
    _fields_ = [("role", c_char_p), ("content", c_char_p)]


# opaque handles are void pointers
ModelP = c_void_p
ContextP = c_void_p
SamplerP = c_void_p

LOG_CALLBACK = CFUNCTYPE(None, c_int, c_char_p, c_void_p)
# piece is not NUL-terminated and may be empty: take it as a raw pointer
TOKEN_CALLBACK = CFUNCTYPE(c_bool, POINTER(c_char), c_size_t, c_int32, c_void_p)

_SIGNATURES = {
    "swiftlet_version": (c_char_p, []),
    "swiftlet_version_number": (c_int32, []),
    "swiftlet_status_string": (c_char_p, [c_int]),
    "swiftlet_last_error": (c_char_p, []),
    "swiftlet_set_log_callback": (None, [LOG_CALLBACK, c_void_p]),
    "swiftlet_memory_get_info": (c_int, [POINTER(MemoryInfo)]),
    "swiftlet_model_params_init": (None, [POINTER(ModelParams)]),
    "swiftlet_model_load": (c_int, [c_char_p, POINTER(ModelParams), POINTER(ModelP)]),
    "swiftlet_model_free": (None, [ModelP]),
    "swiftlet_model_get_info": (c_int, [ModelP, POINTER(ModelInfo)]),
    "swiftlet_model_meta_count": (c_int32, [ModelP]),
    "swiftlet_model_meta_key": (c_int, [ModelP, c_int32, c_char_p, c_size_t, POINTER(c_size_t)]),
    "swiftlet_model_meta_value": (c_int, [ModelP, c_char_p, c_char_p, c_size_t, POINTER(c_size_t)]),
    "swiftlet_tokenize": (c_int, [ModelP, c_char_p, c_size_t, c_uint32, POINTER(c_int32), c_size_t,
                                  POINTER(c_size_t)]),
    "swiftlet_token_to_bytes": (c_int, [ModelP, c_int32, c_char_p, c_size_t, POINTER(c_size_t)]),
    "swiftlet_detokenize": (c_int, [ModelP, POINTER(c_int32), c_size_t, c_char_p, c_size_t,
                                    POINTER(c_size_t)]),
    "swiftlet_vocab_size": (c_int32, [ModelP]),
    "swiftlet_token_is_end_of_generation": (c_bool, [ModelP, c_int32]),
    "swiftlet_context_params_init": (None, [POINTER(ContextParams)]),
    "swiftlet_context_create": (c_int, [ModelP, POINTER(ContextParams), POINTER(ContextP)]),
    "swiftlet_context_free": (None, [ContextP]),
    "swiftlet_context_eval": (c_int, [ContextP, POINTER(c_int32), c_size_t]),
    "swiftlet_context_eval_all_logits": (c_int, [ContextP, POINTER(c_int32), c_size_t, POINTER(c_float),
                                                 c_size_t]),
    "swiftlet_context_logits": (POINTER(c_float), [ContextP]),
    "swiftlet_context_position": (c_int32, [ContextP]),
    "swiftlet_context_size": (c_int32, [ContextP]),
    "swiftlet_context_rewind": (c_int, [ContextP, c_int32]),
    "swiftlet_context_reset": (None, [ContextP]),
    "swiftlet_context_cancel": (None, [ContextP]),
    "swiftlet_sampler_params_init": (None, [POINTER(SamplerParams)]),
    "swiftlet_sampler_create": (c_int, [POINTER(SamplerParams), POINTER(SamplerP)]),
    "swiftlet_sampler_free": (None, [SamplerP]),
    "swiftlet_sampler_sample": (c_int, [SamplerP, ContextP, POINTER(c_int32)]),
    "swiftlet_generate_params_init": (None, [POINTER(GenerateParams)]),
    "swiftlet_generate": (c_int, [ContextP, c_char_p, POINTER(GenerateParams), TOKEN_CALLBACK, c_void_p,
                                  POINTER(GenerateResult)]),
    "swiftlet_chat_format": (c_int, [ModelP, POINTER(ChatMessage), c_size_t, c_bool, c_char_p, c_size_t,
                                     POINTER(c_size_t)]),
    "swiftlet_chat": (c_int, [ContextP, POINTER(ChatMessage), c_size_t, POINTER(GenerateParams),
                              TOKEN_CALLBACK, c_void_p, POINTER(GenerateResult)]),
}
FUNCTION_NAMES = tuple(_SIGNATURES)

_lib: Optional[ctypes.CDLL] = None


def library_path() -> str:
    return os.environ.get("SWIFTLET_LIB") or DEFAULT_LIB


def load(path: Optional[str] = None) -> ctypes.CDLL:
    """Loads libswiftlet once and declares every function of the header."""
    global _lib
    if _lib is not None and path is None:
        return _lib
    lib = ctypes.CDLL(path or library_path())
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)  # AttributeError names a missing export
        fn.restype = restype
        fn.argtypes = argtypes
    if path is None:
        _lib = lib
    return lib


class SwiftletError(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(f"{STATUS_NAMES.get(status, status)} ({status}): {message}")


def last_error() -> str:
    return load().swiftlet_last_error().decode("utf-8", "replace")


def check(status: int) -> int:
    """Raises SwiftletError (with swiftlet_last_error()) unless status is OK."""
    if status != OK:
        raise SwiftletError(status, last_error())
    return status


# ------------------------------------------------------------ struct helpers


def new_memory_info() -> MemoryInfo:
    return MemoryInfo(struct_size=ctypes.sizeof(MemoryInfo))


def new_model_info() -> ModelInfo:
    return ModelInfo(struct_size=ctypes.sizeof(ModelInfo))


def new_generate_result() -> GenerateResult:
    return GenerateResult(struct_size=ctypes.sizeof(GenerateResult))


def new_model_params(**fields) -> ModelParams:
    p = ModelParams()
    load().swiftlet_model_params_init(ctypes.byref(p))
    for k, v in fields.items():
        setattr(p, k, v)
    return p


def new_context_params(**fields) -> ContextParams:
    p = ContextParams()
    load().swiftlet_context_params_init(ctypes.byref(p))
    for k, v in fields.items():
        setattr(p, k, v)
    return p


def new_sampler_params(**fields) -> SamplerParams:
    p = SamplerParams()
    load().swiftlet_sampler_params_init(ctypes.byref(p))
    for k, v in fields.items():
        setattr(p, k, v)
    return p


def new_generate_params(sampling: Optional[dict] = None, **fields) -> GenerateParams:
    p = GenerateParams()
    load().swiftlet_generate_params_init(ctypes.byref(p))
    for k, v in fields.items():
        setattr(p, k, v)
    for k, v in (sampling or {}).items():
        setattr(p.sampling, k, v)
    return p


def token_array(tokens: Sequence[int]):
    return (c_int32 * max(len(tokens), 1))(*tokens)


def messages_array(messages: Sequence[tuple[str, str]]):
    arr = (ChatMessage * max(len(messages), 1))()
    for i, (role, content) in enumerate(messages):
        arr[i].role = role.encode()
        arr[i].content = content.encode()
    return arr


# -------------------------------------------------------- pythonic helpers


def model_load(path: str, **params) -> int:
    lib = load()
    out = ModelP()
    p = new_model_params(**params)
    check(lib.swiftlet_model_load(os.fsencode(path), ctypes.byref(p), ctypes.byref(out)))
    return out.value


def model_info(model) -> ModelInfo:
    info = new_model_info()
    check(load().swiftlet_model_get_info(model, ctypes.byref(info)))
    return info


def context_create(model, **params) -> int:
    lib = load()
    out = ContextP()
    p = new_context_params(**params)
    check(lib.swiftlet_context_create(model, ctypes.byref(p), ctypes.byref(out)))
    return out.value


def sampler_create(**params) -> int:
    out = SamplerP()
    p = new_sampler_params(**params)
    check(load().swiftlet_sampler_create(ctypes.byref(p), ctypes.byref(out)))
    return out.value


def memory_info() -> MemoryInfo:
    info = new_memory_info()
    check(load().swiftlet_memory_get_info(ctypes.byref(info)))
    return info


def tokenize(model, text: str | bytes, flags: int = 0) -> list[int]:
    lib = load()
    data = text.encode("utf-8") if isinstance(text, str) else text
    n = c_size_t(0)
    st = lib.swiftlet_tokenize(model, data, len(data), flags, None, 0, ctypes.byref(n))
    if st == OK:
        return []
    if st != ERROR_BUFFER_TOO_SMALL:
        check(st)
    buf = (c_int32 * n.value)()
    check(lib.swiftlet_tokenize(model, data, len(data), flags, buf, n.value, ctypes.byref(n)))
    return list(buf[: n.value])


def token_to_bytes(model, token: int) -> bytes:
    lib = load()
    n = c_size_t(0)
    buf = ctypes.create_string_buffer(64)
    st = lib.swiftlet_token_to_bytes(model, token, buf, 64, ctypes.byref(n))
    if st == ERROR_BUFFER_TOO_SMALL:
        buf = ctypes.create_string_buffer(n.value)
        st = lib.swiftlet_token_to_bytes(model, token, buf, n.value, ctypes.byref(n))
    check(st)
    return buf.raw[: n.value]


def detokenize(model, tokens: Sequence[int]) -> str:
    lib = load()
    arr = token_array(tokens)
    n = c_size_t(0)
    st = lib.swiftlet_detokenize(model, arr, len(tokens), None, 0, ctypes.byref(n))
    if st != ERROR_BUFFER_TOO_SMALL:
        check(st)
    buf = ctypes.create_string_buffer(n.value + 1)
    check(lib.swiftlet_detokenize(model, arr, len(tokens), buf, n.value + 1, ctypes.byref(n)))
    return buf.raw[: n.value].decode("utf-8")


def _sized_string(call) -> str:
    """Runs a `(buf, buf_size, out_len*) -> status` call with the size protocol."""
    n = c_size_t(0)
    st = call(None, 0, ctypes.byref(n))
    if st != ERROR_BUFFER_TOO_SMALL:
        check(st)
    buf = ctypes.create_string_buffer(n.value + 1)
    check(call(buf, n.value + 1, ctypes.byref(n)))
    return buf.raw[: n.value].decode("utf-8")


def meta_key(model, index: int) -> str:
    return _sized_string(lambda b, s, n: load().swiftlet_model_meta_key(model, index, b, s, n))


def meta_value(model, key: str) -> str:
    return _sized_string(lambda b, s, n: load().swiftlet_model_meta_value(model, key.encode(), b, s, n))


def chat_format(model, messages: Sequence[tuple[str, str]], add_generation_prompt: bool = True) -> str:
    arr = messages_array(messages)
    return _sized_string(lambda b, s, n: load().swiftlet_chat_format(
        model, arr, len(messages), add_generation_prompt, b, s, n))


def logits(context, n_vocab: int):
    """A numpy copy of swiftlet_context_logits(), or None."""
    import numpy as np
    p = load().swiftlet_context_logits(context)
    if not p:
        return None
    return np.ctypeslib.as_array(p, shape=(n_vocab,)).astype(np.float32).copy()


def eval_tokens(context, tokens: Sequence[int]) -> None:
    check(load().swiftlet_context_eval(context, token_array(tokens), len(tokens)))


def eval_all_logits(context, tokens: Sequence[int], n_vocab: int):
    import numpy as np
    out = np.zeros((len(tokens), n_vocab), dtype=np.float32)
    ptr = out.ctypes.data_as(POINTER(c_float))
    check(load().swiftlet_context_eval_all_logits(context, token_array(tokens), len(tokens), ptr, out.size))
    return out


class Collector:
    """A token callback that records (token, piece) and can stop after N tokens."""

    def __init__(self, stop_after: Optional[int] = None, on_token=None):
        self.tokens: list[int] = []
        self.pieces: list[bytes] = []
        self.stop_after = stop_after
        self.on_token = on_token
        self.cfunc = TOKEN_CALLBACK(self._call)

    def _call(self, piece, piece_len, token, user_data):
        self.pieces.append(ctypes.string_at(piece, piece_len) if piece_len else b"")
        self.tokens.append(token)
        if self.on_token is not None and self.on_token(self) is False:
            return False
        if self.stop_after is not None and len(self.tokens) >= self.stop_after:
            return False
        return True


def generate(context, prompt: str, params: Optional[GenerateParams] = None,
             collector: Optional[Collector] = None) -> tuple[int, GenerateResult]:
    """Returns (status, result) without raising."""
    res = new_generate_result()
    cb = collector.cfunc if collector is not None else TOKEN_CALLBACK()
    st = load().swiftlet_generate(context, prompt.encode("utf-8"),
                                  ctypes.byref(params) if params is not None else None,
                                  cb, None, ctypes.byref(res))
    return st, res
