"""Pieces of generation that are pure Python: stop strings, results, parameters."""
from __future__ import annotations

import ctypes
import dataclasses
import enum
from typing import Any, Optional, Sequence, Union

from ._abi import GenerateParams, SamplerParams
from ._lib import StopReason

INT32_MAX = 2**31 - 1

StopArgument = Union[str, Sequence[str], None]


class LibraryDefault(enum.Enum):
    """The value the library's ``*_params_init`` function gives: the default
    of an option whose None means something else (``max_tokens=None`` is
    "until the context is full")."""

    DEFAULT = "default"

    def __repr__(self) -> str:
        return "DEFAULT"


#: ``max_tokens``'s default: swiftlet_generate_params_init's (256).
DEFAULT = LibraryDefault.DEFAULT
MaxTokens = Union[int, None, LibraryDefault]


class StopMatcher:
    """Finds stop strings in text that arrives in pieces.

    :meth:`feed` returns the text that can safely be shown: never any part of
    a stop string, and never a tail that might still become the start of one
    (that tail is held back until the next piece decides it). Once a stop
    string is complete, :attr:`matched` is set, everything before it has been
    returned, and further input is ignored. :meth:`finish` releases the held
    tail when the text ends without a match.

    When several stop strings are complete at once, the one that starts
    earliest wins, so the text returned is the shortest correct one.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [s for s in stops if s]
        self._held = ""
        self.matched: Optional[str] = None

    @property
    def active(self) -> bool:
        """True if there are stop strings to look for."""
        return bool(self._stops)

    def feed(self, text: str) -> str:
        """Adds `text`; returns what may be emitted now."""
        if self.matched is not None:
            return ""
        if not self._stops:
            return text
        buffer = self._held + text
        first: Optional[tuple[int, str]] = None
        for stop in self._stops:
            index = buffer.find(stop)
            if index >= 0 and (first is None or index < first[0]):
                first = (index, stop)
        if first is not None:
            self.matched = first[1]
            self._held = ""
            return buffer[:first[0]]
        keep = 0
        for stop in self._stops:
            # the longest proper prefix of `stop` that `buffer` ends with
            for length in range(min(len(stop) - 1, len(buffer)), keep, -1):
                if buffer.endswith(stop[:length]):
                    keep = length
                    break
        self._held = buffer[len(buffer) - keep:] if keep else ""
        return buffer[:len(buffer) - keep]

    def finish(self) -> str:
        """The held-back tail (call when no more text will come)."""
        held, self._held = self._held, ""
        return held if self.matched is None else ""


def normalize_stop(stop: StopArgument) -> list[str]:
    """`stop` as a list: a single string, a sequence of strings, or None."""
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop] if stop else []
    stops = list(stop)
    for item in stops:
        if not isinstance(item, str):
            raise TypeError(f"stop strings must be str, not {type(item).__name__}")
    return [s for s in stops if s]


@dataclasses.dataclass(frozen=True)
class GenerationResult:
    """How a generation went; :attr:`TextStream.result` once the stream is exhausted.

    Attributes:
        text: the text returned (stop strings excluded).
        tokens: the generated token ids, in order (including any produced
            after a stop string began; they are in the context too).
        n_prompt_tokens: prompt tokens this call evaluated (a chat reusing
            earlier turns from the context evaluates only the new ones).
        stop_reason: the library's reason; ``CALLBACK`` when a stop string
            ended the generation.
        finish_reason: ``"stop"`` (end of generation or a stop string) or
            ``"length"`` (``max_tokens`` reached or the context full).
        stop_string: the stop string that ended the generation, if one did.
    """

    text: str
    tokens: tuple[int, ...]
    n_prompt_tokens: int
    stop_reason: StopReason
    finish_reason: str
    stop_string: Optional[str] = None

    @property
    def n_generated_tokens(self) -> int:
        """Number of generated tokens (``len(tokens)``)."""
        return len(self.tokens)


def finish_reason_for(stop_reason: StopReason, stop_string: Optional[str]) -> str:
    """OpenAI/llama.cpp style finish reason: "stop" or "length"."""
    if stop_string is not None or stop_reason in (StopReason.END_OF_GENERATION, StopReason.CALLBACK):
        return "stop"
    return "length"


def generate_params(library: Any, max_tokens: MaxTokens, sampling: SamplerParams,
                    tokenize_flags: Optional[int] = None) -> GenerateParams:
    """A ``swiftlet_generate_params`` from ``swiftlet_generate_params_init``;
    ``max_tokens`` None: until the context is full. It points at `sampling`
    (and keeps it alive)."""
    params = GenerateParams()
    library.generate_params_init(params)
    if max_tokens is None:
        params.max_tokens = INT32_MAX
    elif max_tokens is not DEFAULT:
        params.max_tokens = max(min(int(max_tokens), INT32_MAX), -1)  # negative: the library's error
    if tokenize_flags is not None:
        params.tokenize_flags = tokenize_flags
    params.sampling = ctypes.pointer(sampling)
    return params
