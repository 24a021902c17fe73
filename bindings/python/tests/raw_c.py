"""A minimal raw ctypes route to the C API, independent of the package's own
binding: the reference the binding's results are compared with. Declares
only the few functions the comparisons need, straight from include/swiftlet.h."""
from __future__ import annotations

import ctypes
from ctypes import POINTER, Structure, byref, c_bool, c_char_p, c_float, c_int, c_int32, c_size_t, c_uint32, c_uint64, c_void_p

import numpy as np


class SamplerParams(Structure):
    _fields_ = [("struct_size", c_uint32), ("temperature", c_float), ("top_k", c_int32), ("top_p", c_float),
                ("min_p", c_float), ("repeat_penalty", c_float), ("repeat_last_n", c_int32), ("seed", c_uint64)]


class GenerateParams(Structure):
    _fields_ = [("struct_size", c_uint32), ("max_tokens", c_int32), ("tokenize_flags", c_uint32),
                ("sampling", SamplerParams)]


class ContextParams(Structure):
    _fields_ = [("struct_size", c_uint32), ("n_ctx", c_int32), ("n_threads", c_int32), ("n_batch", c_int32)]


CALLBACK = ctypes.CFUNCTYPE(c_bool, c_void_p, c_size_t, c_int32, c_void_p)


class RawC:
    """Loads the library at `path` and runs whole operations through the C API."""

    def __init__(self, path: str) -> None:
        c = ctypes.CDLL(path)
        c.swiftlet_model_load.argtypes = [c_char_p, c_void_p, POINTER(c_void_p)]
        c.swiftlet_model_free.argtypes = [c_void_p]
        c.swiftlet_context_params_init.argtypes = [POINTER(ContextParams)]
        c.swiftlet_context_create.argtypes = [c_void_p, POINTER(ContextParams), POINTER(c_void_p)]
        c.swiftlet_context_free.argtypes = [c_void_p]
        c.swiftlet_context_eval.argtypes = [c_void_p, POINTER(c_int32), c_size_t]
        c.swiftlet_context_logits.argtypes = [c_void_p]
        c.swiftlet_context_logits.restype = POINTER(c_float)
        c.swiftlet_vocab_size.argtypes = [c_void_p]
        c.swiftlet_vocab_size.restype = c_int32
        c.swiftlet_tokenize.argtypes = [c_void_p, c_char_p, c_size_t, c_uint32, POINTER(c_int32), c_size_t,
                                        POINTER(c_size_t)]
        c.swiftlet_generate_params_init.argtypes = [POINTER(GenerateParams)]
        c.swiftlet_generate.argtypes = [c_void_p, c_char_p, POINTER(GenerateParams), CALLBACK, c_void_p, c_void_p]
        self.c = c

    def _with_context(self, model_path: str, n_ctx: int, n_threads: int, work):  # type: ignore[no-untyped-def]
        c = self.c
        model, context = c_void_p(), c_void_p()
        assert c.swiftlet_model_load(model_path.encode(), None, byref(model)) == 0
        try:
            params = ContextParams()
            c.swiftlet_context_params_init(byref(params))
            params.n_ctx, params.n_threads = n_ctx, n_threads
            assert c.swiftlet_context_create(model, byref(params), byref(context)) == 0
            try:
                return work(model, context)
            finally:
                c.swiftlet_context_free(context)
        finally:
            c.swiftlet_model_free(model)

    def logits(self, model_path: str, tokens: list[int], n_threads: int = 1) -> np.ndarray:
        """The last token's logits after evaluating `tokens` in a fresh context."""
        def work(model, context):  # type: ignore[no-untyped-def]
            array = (c_int32 * len(tokens))(*tokens)
            assert self.c.swiftlet_context_eval(context, array, len(tokens)) == 0
            n_vocab = self.c.swiftlet_vocab_size(model)
            return np.ctypeslib.as_array(self.c.swiftlet_context_logits(context), shape=(n_vocab,)).copy()
        return self._with_context(model_path, 512, n_threads, work)

    def tokenize(self, model_path: str, text: str) -> list[int]:
        def work(model, context):  # type: ignore[no-untyped-def]
            data = text.encode()
            out = (c_int32 * (len(data) + 8))()
            count = c_size_t()
            assert self.c.swiftlet_tokenize(model, data, len(data), 0, out, len(out), byref(count)) == 0
            return list(out[:count.value])
        return self._with_context(model_path, 64, 1, work)

    def generate(self, model_path: str, prompt: str, max_tokens: int, temperature: float, seed: int,
                 n_threads: int = 1) -> tuple[bytes, list[int]]:
        """The raw bytes of every piece and the token ids, from swiftlet_generate."""
        pieces: list[bytes] = []
        tokens: list[int] = []

        def on_piece(address, length, token, _):  # type: ignore[no-untyped-def]
            pieces.append(ctypes.string_at(address, length) if length else b"")
            if token >= 0:
                tokens.append(token)
            return True

        callback = CALLBACK(on_piece)

        def work(model, context):  # type: ignore[no-untyped-def]
            params = GenerateParams()
            self.c.swiftlet_generate_params_init(byref(params))
            params.max_tokens = max_tokens
            params.sampling.temperature = temperature
            params.sampling.seed = seed
            assert self.c.swiftlet_generate(context, prompt.encode(), byref(params), callback, None, None) == 0
            return b"".join(pieces), tokens
        return self._with_context(model_path, 512, n_threads, work)
