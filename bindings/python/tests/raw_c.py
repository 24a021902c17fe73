"""A minimal raw ctypes route to the C API, independent of the package's
binding logic (no Model/Context objects, no threads, no stream): the reference
the binding's results are compared with. It uses the package's declaration of
the header (swiftlet._abi, checked against gcc's layout by test_abi.py) and
nothing else of the package."""
from __future__ import annotations

import ctypes
from ctypes import byref, c_int32, c_size_t, c_void_p

import numpy as np

from swiftlet import _abi


class RawC:
    """Loads the library at `path` and runs whole operations through the C API."""

    def __init__(self, path: str) -> None:
        self.c = _abi.declare(ctypes.CDLL(path))

    def _with_context(self, model_path: str, n_ctx: int, n_threads: int, work):  # type: ignore[no-untyped-def]
        c = self.c
        model, context = c_void_p(), c_void_p()
        assert c.swiftlet_model_load(model_path.encode(), None, byref(model)) == 0
        try:
            params = _abi.ContextParams()
            c.swiftlet_context_params_init_sized(byref(params), ctypes.sizeof(params))
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
            return 1

        callback = _abi.TokenCallback(on_piece)

        def work(model, context):  # type: ignore[no-untyped-def]
            params = _abi.GenerateParams()
            self.c.swiftlet_generate_params_init(byref(params))
            sampling = _abi.SamplerParams()
            self.c.swiftlet_sampler_params_init(byref(sampling))
            params.max_tokens = max_tokens
            sampling.temperature = temperature
            sampling.seed = seed
            params.sampling = ctypes.pointer(sampling)
            assert self.c.swiftlet_generate(context, prompt.encode(), byref(params), callback, None, None) == 0
            return b"".join(pieces), tokens
        return self._with_context(model_path, 512, n_threads, work)

    def free_from_callback(self, model_path: str, prompt: str, free_after: int) -> tuple[int, list[int], int]:
        """swiftlet_generate whose token callback frees the context after
        `free_after` tokens: (status, tokens delivered, stop reason)."""
        tokens: list[int] = []
        result = _abi.new(_abi.GenerateResult)
        c = self.c
        model, context = c_void_p(), c_void_p()
        assert c.swiftlet_model_load(model_path.encode(), None, byref(model)) == 0
        params = _abi.ContextParams()
        c.swiftlet_context_params_init_sized(byref(params), ctypes.sizeof(params))
        params.n_ctx, params.n_threads = 256, 1
        assert c.swiftlet_context_create(model, byref(params), byref(context)) == 0
        c.swiftlet_model_free(model)  # the context keeps it alive

        def on_piece(address, length, token, _):  # type: ignore[no-untyped-def]
            tokens.append(token)
            if len(tokens) == free_after:
                c.swiftlet_context_free(context)
            return 1

        callback = _abi.TokenCallback(on_piece)
        generate = _abi.GenerateParams()
        c.swiftlet_generate_params_init(byref(generate))
        generate.max_tokens = 50
        status = c.swiftlet_generate(context, prompt.encode(), byref(generate), callback, None, byref(result))
        return status, tokens, result.stop_reason
