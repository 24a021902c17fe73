"""The ``swiftlet_batch`` that :meth:`Context.decode` hands to
``swiftlet_context_decode``: tokens of several sequences, and the C arrays
the struct points at, kept alive with it."""
from __future__ import annotations

import ctypes
from typing import Optional, Sequence

from . import _abi
from ._core import INT32_MAX, token_array
from ._lib import Status
from .errors import InvalidArgumentError


class TokenBatch:
    """A ``swiftlet_batch`` and the C arrays it points at (kept alive with it).

    Entry i is token ``tokens[i]`` of sequence ``seq_ids[i]`` (None: all in
    sequence 0) at ``positions[i]`` (None: each sequence's next), its logits
    kept if ``logits[i]`` is true (None: those of each sequence's last entry).
    Lists of the wrong length are a ValueError here; the values themselves
    are the library's to check (InvalidArgumentError), except numbers that do
    not even fit in 32 bits, which ctypes would wrap silently."""

    def __init__(self, tokens: Sequence[int], seq_ids: Optional[Sequence[int]] = None,
                 positions: Optional[Sequence[int]] = None, logits: Optional[Sequence[bool]] = None) -> None:
        self.tokens = token_array(tokens)
        count = len(self.tokens)
        self.seq_ids = None if seq_ids is None else _int32_array(seq_ids, "seq_ids", count)
        self.positions = None if positions is None else _int32_array(positions, "positions", count)
        self.logits: Optional[ctypes.Array[ctypes.c_int8]] = None
        if logits is not None:
            flags = [1 if wanted else 0 for wanted in logits]
            _check_length(flags, "logits", count)
            self.logits = (ctypes.c_int8 * count)(*flags)
        self.struct = _abi.new(_abi.Batch, n_tokens=count)
        self.struct.tokens = self.tokens
        if self.seq_ids is not None:
            self.struct.seq_ids = self.seq_ids
        if self.positions is not None:
            self.struct.positions = self.positions
        if self.logits is not None:
            self.struct.logits = self.logits


def _check_length(values: Sequence[object], name: str, count: int) -> None:
    if len(values) != count:
        raise ValueError(f"{name} has {len(values)} entries; tokens has {count}")


def _int32_array(values: Sequence[int], name: str, count: int) -> ctypes.Array[ctypes.c_int32]:
    numbers = [int(value) for value in values]
    _check_length(numbers, name, count)
    for index, number in enumerate(numbers):
        if not -INT32_MAX - 1 <= number <= INT32_MAX:
            raise InvalidArgumentError(Status.INVALID_ARGUMENT, f"{name}[{index}] {number} does not fit in 32 bits")
    return (ctypes.c_int32 * count)(*numbers)
