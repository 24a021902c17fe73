"""Sampling options: the one Python value behind ``swiftlet_sampler_params``.

Every public call that samples (``generate`` and ``chat`` of :class:`Model`
and :class:`Context`, :meth:`Context.sample`, :class:`Sampler`) takes the
same keywords; each builds one :class:`SamplingOptions` from them and passes
it inward. Only :meth:`SamplingOptions.c_params` turns it into the C struct,
starting from ``swiftlet_sampler_params_init`` so no default is copied here.
The grammar is the one option that is not a number: see :mod:`swiftlet._grammar`.
"""
from __future__ import annotations

import dataclasses
import secrets
from typing import Any, Optional

from ._abi import SamplerParams
from ._grammar import GrammarSpec, GrammarUse

INT32_MAX = 2**31 - 1
UINT64_LIMIT = 2**64


@dataclasses.dataclass(frozen=True)
class SamplingOptions:
    """The sampling keywords as given: None takes the library's default,
    ``seed`` None a random one. Frozen, so :meth:`Context.sample` can compare
    one call's options with the last's to reuse its sampler. Nothing is
    checked here: :meth:`c_params` checks, when a call uses the options, so
    errors come where and in the order they always did. ``grammar`` is
    already resolved from the keywords (:func:`swiftlet._grammar.constraint`)."""

    temperature: Optional[float] = None
    top_k: Optional[int] = None
    top_p: Optional[float] = None
    min_p: Optional[float] = None
    repeat_penalty: Optional[float] = None
    repeat_last_n: Optional[int] = None
    seed: Optional[int] = None
    grammar: GrammarSpec = None

    def c_params(self, library: Any, grammar: Optional[GrammarUse] = None) -> SamplerParams:
        """A ``swiftlet_sampler_params`` from ``swiftlet_sampler_params_init``,
        with the options that are not None set (``seed`` None: a fresh random
        one on each call), and `grammar`'s pointer: the :class:`GrammarUse`
        made from :attr:`grammar` (see :meth:`use_grammar`), which the caller
        keeps, and holds during the C call. Values are range-checked by the
        library (InvalidArgumentError); only what ctypes would silently wrap
        is checked here (ValueError)."""
        params = SamplerParams()
        library.sampler_params_init(params)
        if self.temperature is not None:
            params.temperature = float(self.temperature)
        if self.top_k is not None:
            params.top_k = _int32(self.top_k, "top_k")
        if self.top_p is not None:
            params.top_p = float(self.top_p)
        if self.min_p is not None:
            params.min_p = float(self.min_p)
        if self.repeat_penalty is not None:
            params.repeat_penalty = float(self.repeat_penalty)
        if self.repeat_last_n is not None:
            params.repeat_last_n = _int32(self.repeat_last_n, "repeat_last_n")
        seed = random_seed() if self.seed is None else self.seed
        if not 0 <= int(seed) < UINT64_LIMIT:
            raise ValueError(f"seed must be in [0, 2**64), not {seed}")
        params.seed = int(seed)
        if grammar is not None:
            params.grammar = grammar.address
        return params

    def use_grammar(self) -> GrammarUse:
        """The grammar for one call: :attr:`grammar`, compiled now if it is a
        source (a GBNF or schema error is raised here)."""
        return GrammarUse(self.grammar)


def random_seed() -> int:
    """A fresh 64-bit seed from the OS."""
    return secrets.randbits(64)


def _int32(value: int, name: str) -> int:
    number = int(value)
    if not -INT32_MAX - 1 <= number <= INT32_MAX:
        raise ValueError(f"{name} {number} does not fit in 32 bits")
    return number
