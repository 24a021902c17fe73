"""A small ctypes wrapper over include/swiftlet.h, for the tests.

The declarations themselves (constants, structs, callback types, every
function's signature) are the Python package's, bindings/python/src/swiftlet/
_abi.py, loaded here by path as the module `swiftlet_abi` (the package itself
is not imported): one declaration for the package and the tests, its layout
checked against Tests/abi/layout.txt by test_ctypes_layout.py.

`load()` returns the CDLL with every function's argtypes/restype set; `new_*()`
helpers return structs with struct_size filled (and defaults from the
*_params_init functions); `check(status)` raises SwiftletError carrying
swiftlet_last_error().

The library path comes from $SWIFTLET_LIB, default
<repo>/build/lib/libswiftlet.so with <repo> two levels above this file.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from ctypes import POINTER, c_float, c_int32, c_size_t
from typing import Optional, Sequence

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_LIB = os.path.join(REPO_ROOT, "build", "lib", "libswiftlet.so")
ABI_PATH = os.path.join(REPO_ROOT, "bindings", "python", "src", "swiftlet", "_abi.py")


def _load_abi():
    if "swiftlet_abi" in sys.modules:
        return sys.modules["swiftlet_abi"]
    spec = importlib.util.spec_from_file_location("swiftlet_abi", ABI_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["swiftlet_abi"] = module
    spec.loader.exec_module(module)
    return module


abi = _load_abi()

# version macros of the header the declarations were written against
SWIFTLET_VERSION_MAJOR = abi.VERSION_MAJOR
SWIFTLET_VERSION_MINOR = abi.VERSION_MINOR
SWIFTLET_VERSION_PATCH = abi.VERSION_PATCH
SWIFTLET_VERSION_STRING = abi.VERSION_STRING
SWIFTLET_VERSION_NUMBER = abi.VERSION_NUMBER

# swiftlet_status
OK = abi.OK
ERROR_INVALID_ARGUMENT = abi.ERROR_INVALID_ARGUMENT
ERROR_IO = abi.ERROR_IO
ERROR_INVALID_FILE = abi.ERROR_INVALID_FILE
ERROR_UNSUPPORTED = abi.ERROR_UNSUPPORTED
ERROR_NOT_FOUND = abi.ERROR_NOT_FOUND
ERROR_BUFFER_TOO_SMALL = abi.ERROR_BUFFER_TOO_SMALL
ERROR_CONTEXT_FULL = abi.ERROR_CONTEXT_FULL
ERROR_CANCELLED = abi.ERROR_CANCELLED
ERROR_OUT_OF_MEMORY = abi.ERROR_OUT_OF_MEMORY
ERROR_TEMPLATE = abi.ERROR_TEMPLATE
ERROR_INTERNAL = abi.ERROR_INTERNAL
ERROR_BUSY = abi.ERROR_BUSY
STATUS_NAMES = {value: name[len("ERROR_"):] if name.startswith("ERROR_") else name
                for name, value in vars(abi).items() if name == "OK" or name.startswith("ERROR_")}

LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR = abi.LOG_DEBUG, abi.LOG_INFO, abi.LOG_WARNING, abi.LOG_ERROR

TOKENIZE_ADD_BOS = abi.TOKENIZE_ADD_BOS
TOKENIZE_SPECIAL = abi.TOKENIZE_SPECIAL
TOKENIZE_MODEL_BOS = abi.TOKENIZE_MODEL_BOS

STOP_END_OF_GENERATION = abi.STOP_END_OF_GENERATION
STOP_MAX_TOKENS = abi.STOP_MAX_TOKENS
STOP_CALLBACK = abi.STOP_CALLBACK
STOP_CANCELLED = abi.STOP_CANCELLED
STOP_CONTEXT_FULL = abi.STOP_CONTEXT_FULL

OBSERVE_HIDDEN, OBSERVE_AFTER_ATTENTION = abi.OBSERVE_HIDDEN, abi.OBSERVE_AFTER_ATTENTION
OBSERVE_ATTENTION, OBSERVE_FINAL, OBSERVE_ALL = abi.OBSERVE_ATTENTION, abi.OBSERVE_FINAL, abi.OBSERVE_ALL

MemoryInfo = abi.MemoryInfo
ModelParams = abi.ModelParams
ModelInfo = abi.ModelInfo
ContextParams = abi.ContextParams
SamplerParams = abi.SamplerParams
GenerateParams = abi.GenerateParams
GenerateResult = abi.GenerateResult
ChatMessage = abi.ChatMessage
ChatParams = abi.ChatParams
Observation = abi.Observation

# opaque handles are void pointers
ModelP = ctypes.c_void_p
ContextP = ctypes.c_void_p
SamplerP = ctypes.c_void_p

LOG_CALLBACK = abi.LogCallback
PROGRESS_CALLBACK = abi.ProgressCallback
TOKEN_CALLBACK = abi.TokenCallback  # piece is an address (not NUL-terminated, may be empty)
ObserverCallback = abi.ObserverCallback

FUNCTION_NAMES = tuple(abi.FUNCTIONS)

_lib: Optional[ctypes.CDLL] = None


def library_path() -> str:
    return os.environ.get("SWIFTLET_LIB") or DEFAULT_LIB


def load(path: Optional[str] = None) -> ctypes.CDLL:
    """Loads libswiftlet once and declares every function of the header."""
    global _lib
    if _lib is not None and path is None:
        return _lib
    lib = abi.declare(ctypes.CDLL(path or library_path()))  # AttributeError names a missing export
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
    # the sized init: the unsized one fills only the 0.3 layout's 16 bytes
    load().swiftlet_context_params_init_sized(ctypes.byref(p), ctypes.sizeof(p))
    for k, v in fields.items():
        setattr(p, k, v)
    return p


def new_sampler_params(**fields) -> SamplerParams:
    p = SamplerParams()
    load().swiftlet_sampler_params_init_sized(ctypes.byref(p), ctypes.sizeof(p))
    for k, v in fields.items():
        setattr(p, k, v)
    return p


def new_generate_params(sampling: Optional[dict] = None, **fields) -> GenerateParams:
    """Generate params from swiftlet_generate_params_init; with `sampling`, they
    point at sampler params from swiftlet_sampler_params_init with those fields
    (kept alive by the returned struct), else at nothing (NULL: defaults)."""
    p = GenerateParams()
    load().swiftlet_generate_params_init(ctypes.byref(p))
    for k, v in fields.items():
        setattr(p, k, v)
    if sampling is not None:
        p.sampling = ctypes.pointer(new_sampler_params(**sampling))
    return p


def new_chat_params(**fields) -> ChatParams:
    p = ChatParams()
    load().swiftlet_chat_params_init(ctypes.byref(p))
    for k, v in fields.items():
        setattr(p, k, v.encode() if isinstance(v, str) else v)
    return p


def token_array(tokens: Sequence[int]):
    return (c_int32 * max(len(tokens), 1))(*tokens)


def messages_array(messages: Sequence[tuple[str, str]]):
    arr = (ChatMessage * max(len(messages), 1))()
    for i in range(len(arr)):
        arr[i].struct_size = ctypes.sizeof(ChatMessage)
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


def chat_format(model, messages: Sequence[tuple[str, str]], add_generation_prompt: bool = True,
                chat_template: Optional[str] = None) -> str:
    arr = messages_array(messages)
    params = new_chat_params(add_generation_prompt=int(add_generation_prompt), chat_template=chat_template)
    return _sized_string(lambda b, s, n: load().swiftlet_chat_format(
        model, arr, len(messages), ctypes.byref(params), b, s, n))


def logits(context, n_vocab: int):
    """A numpy copy of swiftlet_context_logits(), or None."""
    import numpy as np
    p = load().swiftlet_context_logits(context)
    if not p:
        return None
    return np.ctypeslib.as_array(p, shape=(n_vocab,)).astype(np.float32).copy()


def new_embed_params(**fields):
    p = abi.EmbedParams()
    load().swiftlet_embed_params_init(ctypes.byref(p))
    for k, v in fields.items():
        setattr(p, k, v)
    return p


def embed(context, texts: Sequence[str | bytes], width: int, **params):
    """swiftlet_embed: a (len(texts), width) float32 array; raises SwiftletError."""
    import numpy as np
    encoded = [t.encode() if isinstance(t, str) else t for t in texts]
    array = (ctypes.c_char_p * len(encoded))(*encoded)
    out = np.zeros((len(encoded), width), dtype=np.float32)
    count = ctypes.c_size_t(0)
    check(load().swiftlet_embed(context, array, len(encoded), ctypes.byref(new_embed_params(**params)),
                                out.ctypes.data_as(POINTER(c_float)), out.size, ctypes.byref(count)))
    assert count.value == out.size
    return out


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
            return 0
        if self.stop_after is not None and len(self.tokens) >= self.stop_after:
            return 0
        return 1


def generate(context, prompt: str, params: Optional[GenerateParams] = None,
             collector: Optional[Collector] = None) -> tuple[int, GenerateResult]:
    """Returns (status, result) without raising."""
    res = new_generate_result()
    cb = collector.cfunc if collector is not None else TOKEN_CALLBACK()
    st = load().swiftlet_generate(context, prompt.encode("utf-8"),
                                  ctypes.byref(params) if params is not None else None,
                                  cb, None, ctypes.byref(res))
    return st, res
