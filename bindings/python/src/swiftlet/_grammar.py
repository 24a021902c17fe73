"""Grammars (``swiftlet_grammar_*``): sampling constrained to a formal
language, and the keywords that ask for one.

A generating call takes at most one of ``grammar=`` (GBNF text or a
:class:`Grammar`), ``json_schema=`` (a JSON Schema) and, in ``chat``,
``response_format=`` (OpenAI's). :func:`constraint` turns them into one
value that :class:`~swiftlet._sampling.SamplingOptions` carries: the
caller's :class:`Grammar`, or a :class:`GrammarSource` compiled when the call
is made and freed when it ends (:class:`GrammarUse`). The sampler params hold
the grammar as a raw pointer, so a call holds its grammar for its whole
duration (a :meth:`Grammar.close` on another thread waits for it).
"""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import enum
import json
import weakref
from typing import Any, Iterator, Mapping, Optional, Union

from . import _abi, _lib
from ._runtime import ModelHandle, check

#: A JSON Schema: a dict (serialized with ``json.dumps``), its JSON text, or True/False.
JsonSchema = Union[Mapping[str, Any], str, bool]
#: What ``grammar=`` takes: GBNF text or a compiled :class:`Grammar`.
GrammarArgument = Union[str, "Grammar", None]
#: OpenAI's ``response_format``: ``{"type": "text" | "json_object" | "json_schema", ...}``.
ResponseFormat = Mapping[str, Any]


class GrammarMatch(enum.IntEnum):
    """``SWIFTLET_GRAMMAR_*``: how a text relates to a grammar (:meth:`Grammar.match`)."""

    NO_MATCH = _abi.GRAMMAR_NO_MATCH  #: no string of the language starts with the text
    PREFIX = _abi.GRAMMAR_PREFIX  #: the text can be continued into one, but is not one
    COMPLETE = _abi.GRAMMAR_COMPLETE  #: the text is a string of the language (it may go on, too)


class Grammar:
    """A compiled grammar (``swiftlet_grammar``): sampling with it picks only
    tokens that continue the text generated so far within the grammar's
    language, and ends only where the text is complete.

    ``Grammar(text)`` compiles GBNF, llama.cpp's grammar format, at once, so
    a mistake raises here: :class:`~swiftlet.InvalidArgumentError` (a
    ``ValueError``) whose message names the rule and the line:column.
    :meth:`from_json_schema` compiles a JSON Schema instead.

    A grammar is immutable and may be shared by any number of calls and
    threads; each generation keeps its own parse state. Pass it as
    ``grammar=`` to ``generate``, ``chat``, :class:`Sampler` and the
    rest. Use it as a context manager or call :meth:`close` to free it now;
    otherwise it is freed when collected. A generation running with it holds
    it until it ends.
    """

    def __init__(self, text: str, root: str = "root") -> None:
        """Compiles the GBNF `text`; `root` names the start rule.

        Raises:
            InvalidArgumentError: a syntax error, an undefined rule, left
                recursion, a root that matches no string, a grammar beyond the
                size limits (the message names the rule and the line:column).
            TypeError: `text` or `root` is not a ``str``.
            ValueError: `text` or `root` holds a NUL character.
        """
        gbnf = _c_text(text, "the grammar")
        start = _c_text(root, "root")
        self._open(lambda library, out: library.grammar_create(None, gbnf, start, out))
        self.source: str = text
        self.root: str = root

    @classmethod
    def from_json_schema(cls, schema: JsonSchema) -> Grammar:
        """The grammar of the JSON documents `schema` validates: a dict (or
        any mapping; it is serialized with ``json.dumps``), the schema's JSON
        text, or a boolean schema.

        Supported: ``type`` (one or a list), ``properties``, ``required``,
        ``additionalProperties``, ``enum``, ``const``, ``items``,
        ``minItems``/``maxItems``, ``anyOf``/``oneOf``, ``$ref`` to
        ``$defs``/``definitions`` (recursive too), string
        ``minLength``/``maxLength``/``pattern``/``format`` (date, time,
        date-time, uuid), integer ``minimum``/``maximum``, and annotations
        (see ``swiftlet_grammar_from_json_schema``). Objects keep the
        schema's property order.

        Raises:
            InvalidArgumentError: text that is not JSON, or a keyword the
                converter cannot honour (named, with its place in the schema:
                nothing is silently dropped).
            TypeError: `schema` is none of the above.
            ValueError: a dict that ``json.dumps`` refuses (NaN, a cycle).
        """
        text = schema_text(schema)
        data = _c_text(text, "the schema")
        grammar = cls.__new__(cls)
        grammar._open(lambda library, out: library.grammar_from_json_schema(None, data, out))
        grammar.source = text
        grammar.root = "root"
        return grammar

    def _open(self, create: Any) -> None:
        library = _lib.load()
        self._lib = library
        out = ctypes.c_void_p()
        check(library, create(library, out))
        self._handle = ModelHandle(int(out.value or 0), library.grammar_free, "grammar")
        self._finalizer = weakref.finalize(self, self._handle.close)

    def _use(self) -> ModelHandle:
        """``with grammar._use() as address``: the C grammar, not freed by a
        :meth:`close` on another thread until the block ends."""
        return self._handle

    def match(self, text: Union[str, bytes]) -> GrammarMatch:
        """How `text` (a ``str``, or raw UTF-8 ``bytes``) relates to the
        grammar's language: :attr:`GrammarMatch.COMPLETE` if it is one of its
        strings, :attr:`GrammarMatch.PREFIX` if it can still become one,
        else :attr:`GrammarMatch.NO_MATCH`. Raises OutOfMemoryError if the
        parse grows beyond the library's limits."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        result = ctypes.c_int32(-1)
        with self._use() as address:
            check(self._lib, self._lib.grammar_match(address, data, result))
        return GrammarMatch(result.value)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Frees the grammar now, or when the calls using it return.
        Samplers made with it keep working (they hold their own reference).
        Idempotent."""
        self._finalizer()

    def __enter__(self) -> Grammar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        head = self.source if len(self.source) <= 40 else self.source[:37] + "..."
        state = " (closed)" if self.closed else ""
        return f"<swiftlet.Grammar {head!r}{state}>"


@dataclasses.dataclass(frozen=True)
class GrammarSource:
    """A grammar a call compiles for itself, and frees when it ends: GBNF
    text, or a JSON Schema's text. Compared by value, so
    :meth:`Context.sample` given the same text twice keeps its sampler."""

    text: str
    json_schema: bool = False

    def compile(self) -> Grammar:
        return Grammar.from_json_schema(self.text) if self.json_schema else Grammar(self.text)


#: What :class:`~swiftlet._sampling.SamplingOptions` carries for a grammar.
GrammarSpec = Union[Grammar, GrammarSource, None]


class GrammarUse:
    """The grammar one call samples with: the caller's :class:`Grammar`, or
    one compiled from a :class:`GrammarSource` now (errors are raised here,
    before the call starts) and freed by :meth:`done`."""

    __slots__ = ("grammar", "_owned")

    def __init__(self, spec: GrammarSpec) -> None:
        self._owned = isinstance(spec, GrammarSource)
        self.grammar: Optional[Grammar] = spec.compile() if isinstance(spec, GrammarSource) else spec

    @property
    def address(self) -> Optional[int]:
        """The C grammar for ``swiftlet_sampler_params.grammar`` (None: unconstrained)."""
        if self.grammar is None:
            return None
        with self.grammar._use() as address:  # ValueError if it is closed
            return address

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Holds the grammar for the duration of a C call that uses the params
        (a close on another thread waits); ValueError if it was closed."""
        if self.grammar is None:
            yield
            return
        with self.grammar._use():
            yield

    def done(self) -> None:
        """Frees a grammar compiled for this call (never the caller's own)."""
        if self._owned and self.grammar is not None:
            self.grammar.close()


def constraint(grammar: GrammarArgument = None, json_schema: Optional[JsonSchema] = None,
               response_format: Optional[ResponseFormat] = None) -> GrammarSpec:
    """The grammar a call's ``grammar``, ``json_schema`` and
    ``response_format`` keywords ask for (None: unconstrained). At most one
    of them may constrain the output (``response_format={"type": "text"}``
    does not).

    Raises:
        ValueError: more than one of them given; a `response_format` that is
            not one of the forms :func:`response_format_schema` reads.
        TypeError: a value of the wrong type.
    """
    schema = None if response_format is None else response_format_schema(response_format)
    given = [name for name, value in (("grammar", grammar), ("json_schema", json_schema),
                                      ("response_format", schema)) if value is not None]
    if len(given) > 1:
        raise ValueError(f"{' and '.join(given)} cannot be used together: give one of them")
    if grammar is not None:
        if isinstance(grammar, Grammar):
            return grammar
        if isinstance(grammar, str):
            return GrammarSource(grammar)
        raise TypeError(f"grammar must be GBNF text (str) or a swiftlet.Grammar, not {type(grammar).__name__}")
    if json_schema is not None:
        return GrammarSource(schema_text(json_schema), json_schema=True)
    if schema is not None:
        return GrammarSource(schema_text(schema), json_schema=True)
    return None


#: ``response_format={"type": "json_object"}`` without a schema: any JSON
#: object, as OpenAI's JSON mode and llama-cpp-python's JSON grammar.
ANY_JSON_OBJECT: Mapping[str, Any] = {"type": "object"}

_RESPONSE_FORMAT_KEYS = {"text": {"type"}, "json_object": {"type", "schema"}, "json_schema": {"type", "json_schema"}}
_JSON_SCHEMA_KEYS = {"name", "description", "schema", "strict"}


def response_format_schema(response_format: ResponseFormat) -> Optional[JsonSchema]:
    """The JSON Schema a ``response_format`` asks for, or None for plain text.

    - ``{"type": "text"}``: unconstrained (None).
    - ``{"type": "json_object"}``: a JSON object (``{"type": "object"}``).
    - ``{"type": "json_object", "schema": S}``: a JSON document valid against S
      (llama-cpp-python's form).
    - ``{"type": "json_schema", "json_schema": {"schema": S, "name": ..., "strict": ...}}``:
      the same (OpenAI's structured outputs; always strict here).

    Anything else is a ValueError, a key it does not know included: nothing
    is silently ignored.
    """
    if not isinstance(response_format, Mapping):
        raise TypeError(f"response_format must be a dict such as {{'type': 'json_object'}}, "
                        f"not {type(response_format).__name__}")
    kind = response_format.get("type")
    if kind not in _RESPONSE_FORMAT_KEYS:
        raise ValueError(f"response_format type must be 'text', 'json_object' or 'json_schema', not {kind!r}")
    unknown = sorted(set(response_format) - _RESPONSE_FORMAT_KEYS[kind])
    if unknown:
        raise ValueError(f"response_format of type {kind!r} does not take {', '.join(map(repr, unknown))}")
    if kind == "text":
        return None
    if kind == "json_object":
        given: Optional[JsonSchema] = response_format.get("schema")
        return ANY_JSON_OBJECT if given is None else given
    inner = response_format.get("json_schema")
    if not isinstance(inner, Mapping) or "schema" not in inner:
        raise ValueError("response_format of type 'json_schema' needs 'json_schema': {'schema': {...}}")
    unknown = sorted(set(inner) - _JSON_SCHEMA_KEYS)
    if unknown:
        raise ValueError(f"response_format's json_schema does not take {', '.join(map(repr, unknown))}")
    schema: JsonSchema = inner["schema"]
    return schema


def schema_text(schema: JsonSchema) -> str:
    """A JSON Schema as JSON text: text as given, anything else through ``json.dumps``."""
    if isinstance(schema, str):
        return schema
    if isinstance(schema, (Mapping, bool)):
        return json.dumps(schema, ensure_ascii=False, allow_nan=False, default=_not_json)
    raise TypeError(f"a JSON Schema must be a dict, JSON text or a bool, not {type(schema).__name__}")


def _not_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"a JSON Schema holds {type(value).__name__} {value!r}, which is not JSON")


def _c_text(text: str, what: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be str, not {type(text).__name__}")
    data = text.encode("utf-8")
    if b"\0" in data:
        raise ValueError(f"{what} holds a NUL character, which cannot cross the C interface")
    return data
