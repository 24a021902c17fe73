"""LoRA adapters (``swiftlet_adapter_*``): :meth:`Model.load_adapter` loads
one, :meth:`Context.set_adapters` attaches a set of them with their scales."""
from __future__ import annotations

import ctypes
import os
import weakref
from typing import TYPE_CHECKING, Union

from . import _lib
from ._runtime import ModelHandle, check

if TYPE_CHECKING:
    from ._model import Model


class Adapter:
    """A LoRA adapter (``swiftlet_adapter``) loaded for one model: a GGUF file
    as llama.cpp's ``convert_lora_to_gguf.py`` writes it. Attached to a
    context with :meth:`Context.set_adapters` at a scale s, each product it
    names becomes ``W·x + s·(alpha/r)·B·(A·x)``, computed beside the model's
    weights and never merged into them, so one model serves any number of
    adapters and contexts.

    Made by :meth:`Model.load_adapter`. Immutable; any number of contexts and
    threads may use it. Use it as a context manager or call :meth:`close` to
    free it now; the contexts it is attached to keep their own reference
    until they detach it.

    Attributes:
        path: the file it was loaded from.
        rank: its largest rank r.
        alpha: ``adapter.lora.alpha`` (0.0 when the file has none: the scale
            then applies alone, as in llama.cpp).
        n_tensors: the number of base tensors it adapts.
    """

    def __init__(self, model: Model, path: Union[str, os.PathLike[str]]) -> None:
        library = _lib.load()
        self._lib = library
        self.path: str = os.fspath(path)
        out = ctypes.c_void_p()
        with model._use() as model_address:
            check(library, library.adapter_load(model_address, os.fsencode(self.path), out))
        self._handle = ModelHandle(int(out.value or 0), library.adapter_free, "adapter")
        self._finalizer = weakref.finalize(self, self._handle.close)
        rank, alpha, n_tensors = ctypes.c_int32(), ctypes.c_float(), ctypes.c_int32()
        with self._handle as address:
            check(library, library.adapter_info(address, rank, alpha, n_tensors))
        self.rank: int = rank.value
        self.alpha: float = alpha.value
        self.n_tensors: int = n_tensors.value

    def _use(self) -> ModelHandle:
        """``with adapter._use() as address``: the C adapter, not freed by a
        :meth:`close` on another thread until the block ends."""
        return self._handle

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Frees the adapter now (contexts it is attached to keep applying it
        until they detach it). Idempotent."""
        self._finalizer()

    def __enter__(self) -> Adapter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " (closed)" if self.closed else ""
        return f"<swiftlet.Adapter {os.path.basename(self.path)!r} rank={self.rank} alpha={self.alpha:g}{state}>"
