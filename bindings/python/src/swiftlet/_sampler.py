"""Samplers: the next token from a context's logits (``swiftlet_sampler_*``)."""
from __future__ import annotations

import ctypes
import threading
import weakref
from typing import TYPE_CHECKING, Optional

import numpy as np
import numpy.typing as npt

from . import _lib
from ._grammar import GrammarArgument, constraint
from ._lib import Status
from ._runtime import check
from ._sampling import SamplingOptions
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from ._context import Context
    from ._model import Model


class Sampler:
    """Chooses the next token from a context's logits (``swiftlet_sampler_*``).

    The chain is: repetition penalty, temperature (0 → greedy argmax, the rest
    skipped), top-k, top-p, min-p, then a draw from a seeded generator. The
    same seed gives the same choices on every run; ``seed=None`` takes a
    random one. Options left at None take the library's defaults
    (``swiftlet_sampler_params_init``: temperature 0.8, top_k 40, top_p 0.95,
    min_p 0.05, repeat_penalty 1.0, repeat_last_n 64). A sampler keeps its
    random state between calls; use it from one thread at a time.

    With ``grammar`` (GBNF text or a :class:`~swiftlet.Grammar`), only
    tokens that continue the grammar are picked, and end-of-generation only
    where the text is complete. The sampler then follows one sequence: each
    token it returns advances its parse state, so evaluate the tokens it
    picks and no others; :meth:`reset` starts the grammar over. A bad GBNF
    text raises InvalidArgumentError here, naming its line:column.
    """

    def __init__(self, *, temperature: Optional[float] = None, top_k: Optional[int] = None,
                 top_p: Optional[float] = None, min_p: Optional[float] = None,
                 repeat_penalty: Optional[float] = None, repeat_last_n: Optional[int] = None,
                 seed: Optional[int] = None, grammar: GrammarArgument = None) -> None:
        self._open(SamplingOptions(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                   repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed,
                                   grammar=constraint(grammar)))

    @classmethod
    def _from_options(cls, options: SamplingOptions) -> Sampler:
        """A sampler for `options` already gathered (:meth:`Context.sample`)."""
        sampler = cls.__new__(cls)
        sampler._open(options)
        return sampler

    def _open(self, options: SamplingOptions) -> None:
        self._lib = _lib.load()
        grammar = options.use_grammar()
        try:
            params = options.c_params(self._lib, grammar)
            out = ctypes.c_void_p()
            with grammar.held():
                check(self._lib, self._lib.sampler_create(params, out))
        finally:
            grammar.done()  # the C sampler holds its own reference to the grammar
        self._address: int = int(out.value or 0)
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, self._lib.sampler_free, self._address)

    def sample(self, context: Context, *, seq: int = 0) -> int:
        """Picks the next token from `context`'s current logits (it does not
        evaluate it): those of sequence `seq` (``swiftlet_sampler_sample_seq``;
        the repetition penalty looks at that sequence's recent tokens).
        InvalidArgumentError if that sequence has no logits or `seq` is not
        one of the context's."""
        with self._lock, context._using() as core:
            if not self._finalizer.alive:
                raise ValueError("the sampler is closed")
            token = ctypes.c_int32()
            if seq == 0:
                status = core.lib.sampler_sample(self._address, core.address, token)
            else:
                sequence = int(seq)
                if not -2**31 <= sequence < 2**31:
                    raise InvalidArgumentError(Status.INVALID_ARGUMENT, f"sequence {sequence} does not fit in 32 bits")
                status = core.lib.sampler_sample_seq(self._address, core.address, sequence, token)
            check(core.lib, status)
            return int(token.value)

    def sample_logits(self, model: Model, logits: npt.ArrayLike) -> int:
        """Picks a token from `logits` given by the caller (``swiftlet_sampler_sample_logits``):
        one per token of `model`'s vocabulary, e.g. :attr:`Context.logits`
        changed by the host. There are no recent tokens, so the repetition
        penalty does nothing. InvalidArgumentError if there are not
        ``model.n_vocab`` of them."""
        values = np.ascontiguousarray(logits, dtype=np.float32)
        if values.ndim != 1:
            raise ValueError(f"logits must be one row of n_vocab values, not an array of shape {values.shape}")
        pointer = values.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        with self._lock, model._use() as model_address:
            if not self._finalizer.alive:
                raise ValueError("the sampler is closed")
            token = ctypes.c_int32()
            check(self._lib, self._lib.sampler_sample_logits(self._address, model_address, pointer, values.size,
                                                             token))
            return int(token.value)

    def reset(self) -> None:
        """Starts the sampler's grammar over, forgetting the tokens it picked
        (``swiftlet_sampler_reset``); the random sequence goes on. Does
        nothing without a grammar."""
        with self._lock:
            if not self._finalizer.alive:
                raise ValueError("the sampler is closed")
            check(self._lib, self._lib.sampler_reset(self._address))

    def close(self) -> None:
        """Frees the sampler (idempotent)."""
        with self._lock:
            self._finalizer()

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
