"""The keyword arguments of ``generate`` and ``chat``, listed once for their
``@overload``\\ s.

``Model`` and ``Context`` each have ``generate`` and ``chat``, and each has two
overloads (``stream=False`` returns ``str``, ``stream=True`` a
``TextStream``). The overloads take ``**options: Unpack[GenerateKeywords]``
(or ``ChatKeywords``) instead of spelling out every keyword eight times; type
checkers expand these back into the same keyword-only parameters.

The implementations still list the keywords as real parameters, with their
defaults, so ``help()`` and ``inspect.signature`` show them. A type checker
reports a keyword here that an implementation lacks; the package's tests
report the opposite.
"""
from __future__ import annotations

from typing import Optional, TypedDict

from ._generation import MaxTokens, StopArgument
from ._grammar import GrammarArgument, JsonSchema, ResponseFormat


class SamplingKeywords(TypedDict, total=False):
    """The fields of :class:`~swiftlet._sampling.SamplingOptions`."""

    temperature: Optional[float]
    top_k: Optional[int]
    top_p: Optional[float]
    min_p: Optional[float]
    repeat_penalty: Optional[float]
    repeat_last_n: Optional[int]
    seed: Optional[int]
    grammar: GrammarArgument


class GenerationKeywords(SamplingKeywords, total=False):
    """What every generating call takes besides ``stream``."""

    max_tokens: MaxTokens
    stop: StopArgument
    json_schema: Optional[JsonSchema]


class GenerateKeywords(GenerationKeywords, total=False):
    """``generate``'s keywords besides ``stream``."""

    add_bos: Optional[bool]
    special: bool


class ChatKeywords(GenerationKeywords, total=False):
    """``chat``'s keywords besides ``stream``."""

    chat_template: Optional[str]
    response_format: Optional[ResponseFormat]
