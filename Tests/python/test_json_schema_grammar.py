"""JSON Schema grammars (swiftlet_grammar_from_json_schema) against an
independent judge: the `jsonschema` package's Draft 2020-12 validator, with
its format checker (dates through Python's datetime, times and date-times
through rfc3339-validator, uuids through uuid.UUID).

1. Random walks (grammar_tools.random_walk): a sampler with the schema's
   grammar picks tokens of SmolLM2's vocabulary from random logits (numpy,
   fixed seeds), biased so that walks end: short tokens, and as a walk grows,
   end-of-generation and tokens of closing characters. Every walk that ends must be a
   JSON document the validator accepts, and COMPLETE for swiftlet_grammar_match.
   Walks that hit the token cap are counted; most must end.
2. Documents written by hand (and by Python from the schema), dumped with
   json.dumps' default separators, compact ones, indent=2 and ensure_ascii
   off, are COMPLETE; invalid ones (each checked invalid by the validator
   first) are not.
3. Unsupported keywords and bad schemas are INVALID_ARGUMENT naming the
   keyword and its place; hostile schemas return (an error or a grammar).

The grammar's language is inside the schema's by design (the converter's
comment lists where it takes a part: properties in schema order, no extra
properties unless additionalProperties allows them, bounded numbers and
whitespace), so valid documents here are written in the schema's order.
"""
from __future__ import annotations

import ctypes
import datetime
import json
import threading
import uuid
from ctypes import byref, c_int32

import jsonschema  # scripts/install-deps.sh installs it (and rfc3339-validator); a missing judge fails
import numpy as np
import pytest

import swiftlet_ctypes as sw
from grammar_tools import Vocabulary, random_walk

Validator = jsonschema.Draft202012Validator

PREFIX, COMPLETE = sw.abi.GRAMMAR_PREFIX, sw.abi.GRAMMAR_COMPLETE
WALKS = 6                 # random walks per schema
MAX_WALK_TOKENS = 160     # a walk longer than this is counted as incomplete
MIN_COMPLETE_FRACTION = 0.6


# ------------------------------------------------------------------ schemas
#
# Each case: a schema, documents it must accept (Python values, dumped in
# several styles) and documents it must refuse (Python values or raw text).

INTEGER_RANGES = {
    "type": "object",
    "properties": {
        "zero": {"type": "integer", "minimum": 0, "maximum": 0},
        "small": {"type": "integer", "minimum": -5, "maximum": 5},
        "hundreds": {"type": "integer", "minimum": 10, "maximum": 1000},
        "exclusive": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 100},
        "low": {"type": "integer", "minimum": -3},
        "high": {"type": "integer", "maximum": 42},
        "wide": {"type": "integer", "minimum": -1000000000000, "maximum": 1000000000000000},
        "negative": {"type": "integer", "minimum": -907, "maximum": -38},
    },
    "required": ["zero", "small", "hundreds", "exclusive", "low", "high", "wide", "negative"],
}

TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 3},
            },
            "required": ["value", "children"],
        }
    },
    "$ref": "#/$defs/node",
}

CASES = {
    "flat-object": dict(
        schema={"type": "object",
                "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "active": {"type": "boolean"}},
                "required": ["name", "age"]},
        valid=[{"name": "Ada", "age": 36}, {"name": "", "age": -1, "active": False},
               {"name": "tab\there \"quoted\" é ✓ 😀", "age": 0, "active": True}],
        invalid=[{"name": "Ada"}, {"name": 1, "age": 2}, {"name": "a", "age": 1.5},
                 '{"name": "a", "age": 01}', '{"name": "a\x01", "age": 1}', '{"name": "a", "age": 1,}'],
        outside=[{"age": 3, "name": "x"}, {"name": "x", "age": 3, "y": 1}],
    ),
    "all-optional": dict(
        schema={"type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "string"}, "c": {"type": "null"}}},
        valid=[{}, {"a": 1.5}, {"b": "x"}, {"c": None}, {"a": -2e-7, "c": None}, {"a": 0, "b": "", "c": None}],
        invalid=[{"a": "1"}, '{,}', '{"a": 1 "b": "x"}'],
        outside=['{"a": 1, "a": 2}', '{"b": "x", "a": 1}', '{"a": 1, "d": 2}', "1e400", '{"a": 12345678901234567}'],
    ),
    "nested": dict(
        schema={"type": "object",
                "properties": {
                    "person": {"type": "object",
                               "properties": {"name": {"type": "string", "minLength": 1},
                                              "address": {"type": "object",
                                                          "properties": {"street": {"type": "string"},
                                                                         "zip": {"type": "string", "pattern": "^\\d{5}$"}},
                                                          "required": ["street", "zip"]}},
                               "required": ["name", "address"]},
                    "note": {"type": "string", "maxLength": 8}},
                "required": ["person"]},
        valid=[{"person": {"name": "B", "address": {"street": "Main St 1", "zip": "01234"}}},
               {"person": {"name": "Ü", "address": {"street": "", "zip": "99999"}}, "note": "12345678"}],
        invalid=[{"person": {"name": "", "address": {"street": "", "zip": "01234"}}},
                 {"person": {"name": "B", "address": {"street": "", "zip": "1234"}}},
                 {"person": {"name": "B", "address": {"street": "", "zip": "12345"}}, "note": "123456789"}],
    ),
    "int-array": dict(
        schema={"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 4},
        valid=[[0], [1, -2, 3], [10, 20, 30, 40]],
        invalid=[[], [1, 2, 3, 4, 5], [1.5], ["1"], "[1,]"],
    ),
    "object-array": dict(
        schema={"type": "array",
                "items": {"type": "object",
                          "properties": {"id": {"type": "integer", "minimum": 1, "maximum": 999},
                                         "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3}},
                          "required": ["id"],
                          "additionalProperties": False},
                "maxItems": 5},
        valid=[[], [{"id": 1}], [{"id": 999, "tags": []}, {"id": 5, "tags": ["a", "b", "c"]}]],
        invalid=[[{"id": 0}], [{"id": 1000}], [{"id": 1, "tags": ["a", "b", "c", "d"]}], [{"id": 1, "x": 2}], [{}]],
    ),
    "string-enum": dict(
        schema={"enum": ["red", "green", "é", "naïve", "a\"b", "x\\y", "line\nbreak", "😀"]},
        valid=["red", "green", "é", "naïve", "a\"b", "x\\y", "line\nbreak", "😀"],
        invalid=["blue", "Red", "", 1, "gree"],
    ),
    "mixed-enum": dict(
        schema={"enum": [1, "two", None, True, 2.5, {"k": [1, 2]}, [3, "x"]]},
        valid=[1, "two", None, True, 2.5, {"k": [1, 2]}, [3, "x"]],
        invalid=[2, "one", False, {"k": [1]}, [3], 1.5],
    ),
    "typed-enum": dict(
        schema={"type": "string", "enum": ["a", 1, "b", None]},
        valid=["a", "b"],
        invalid=[1, None, "c"],
    ),
    "const": dict(
        schema={"type": "object", "properties": {"version": {"const": "1.0"}, "mode": {"const": {"x": [1, None]}}},
                "required": ["version", "mode"]},
        valid=[{"version": "1.0", "mode": {"x": [1, None]}}],
        invalid=[{"version": "1.1", "mode": {"x": [1, None]}}, {"version": "1.0", "mode": {"x": [1]}}],
    ),
    "any-of": dict(
        schema={"anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 0}, {"type": "null"}]},
        valid=["", "abc", 0, 12345, None],
        invalid=["abcd", -1, True, 1.5, []],
    ),
    "one-of-tagged": dict(
        schema={"oneOf": [
            {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}},
             "required": ["kind", "r"], "additionalProperties": False},
            {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "number"}},
             "required": ["kind", "side"], "additionalProperties": False}]},
        valid=[{"kind": "circle", "r": 1.5}, {"kind": "square", "side": 2}],
        invalid=[{"kind": "circle", "side": 1}, {"kind": "triangle", "r": 1}, {"kind": "square"}],
    ),
    "recursive-tree": dict(
        schema=TREE,
        valid=[{"value": 1, "children": []},
               {"value": 1, "children": [{"value": 2, "children": [{"value": 3, "children": []}]},
                                         {"value": 4, "children": []}]}],
        invalid=[{"value": 1}, {"value": 1, "children": [{"value": 2}]},
                 {"value": 1, "children": [{"value": 2, "children": []}] * 4}],
    ),
    "root-ref-list": dict(
        schema={"type": "object",
                "properties": {"v": {"type": "integer"}, "next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}},
                "required": ["v", "next"]},
        valid=[{"v": 1, "next": None}, {"v": 1, "next": {"v": 2, "next": {"v": 3, "next": None}}}],
        invalid=[{"v": 1, "next": {"v": 2}}, {"v": 1, "next": 5}],
    ),
    "definitions-ref": dict(
        schema={"definitions": {"point": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}},
                "type": "object",
                "properties": {"from": {"$ref": "#/definitions/point"}, "to": {"$ref": "#/definitions/point"}},
                "required": ["from", "to"]},
        valid=[{"from": [0, 0], "to": [1.5, -2]}],
        invalid=[{"from": [0], "to": [1, 2]}, {"from": [0, 0, 0], "to": [1, 2]}],
    ),
    "patterns": dict(
        schema={"type": "object",
                "properties": {
                    "phone": {"type": "string", "pattern": "^\\+?[0-9]{1,3}-[0-9]{3}-[0-9]{4}$"},
                    "code": {"type": "string", "pattern": "^[A-Z]{2}(-[a-z0-9_]+)*$"},
                    "word": {"type": "string", "pattern": "^(foo|bar)+baz?$"},
                    "field": {"type": "string", "pattern": "^[^,;]{1,10}$"},
                    "escapes": {"type": "string", "pattern": "^a\\.b\\\\c/d\"e\\t$"},
                    "shorthands": {"type": "string", "pattern": "^\\w{1,8}\\s\\d{2}\\W?\\S{0,5}$"},
                    "dot": {"type": "string", "pattern": "^x.{0,3}y$"},
                    "lazy": {"type": "string", "pattern": "^(?:ab)+?c??$"},
                    "nonspace": {"type": "string", "pattern": "^\\S{1,4}[\\s\\S]?$"}},
                "required": ["phone", "code", "word", "field", "escapes", "shorthands", "dot", "lazy"]},
        valid=[{"phone": "+1-555-1234", "code": "AB", "word": "foobarba", "field": "é x", "escapes": "a.b\\c/d\"e\t",
                "shorthands": "abc_1 42!zz", "dot": "xy", "lazy": "ab"},
               {"phone": "999-555-0000", "code": "XY-a_1-b", "word": "barbaz", "field": "1234567890",
                "escapes": "a.b\\c/d\"e\t", "shorthands": "Z\t00", "dot": "x\"é😀y", "lazy": "ababc",
                "nonspace": "é😀\"\n"}],
        invalid=[{"phone": "1-555-123", "code": "AB", "word": "foo", "field": "a", "escapes": "a.b\\c/d\"e\t",
                  "shorthands": "a 00", "dot": "xy", "lazy": "ab"},
                 {"phone": "1-555-1234", "code": "ab", "word": "foo", "field": "a", "escapes": "a.b\\c/d\"e\t",
                  "shorthands": "a 00", "dot": "xy", "lazy": "ab"},
                 {"phone": "1-555-1234", "code": "AB", "word": "foo", "field": "a,b", "escapes": "a.b\\c/d\"e\t",
                  "shorthands": "a 00", "dot": "xy", "lazy": "ab"},
                 {"phone": "1-555-1234", "code": "AB", "word": "foo", "field": "a", "escapes": "a.b\\c/d\"e\t",
                  "shorthands": "a 00", "dot": "x1234y", "lazy": "ab"},
                 {"phone": "1-555-1234", "code": "AB", "word": "foo", "field": "a", "escapes": "a.b\\c/d\"e\t",
                  "shorthands": "a 00", "dot": "xy", "lazy": "ab", "nonspace": "a b"}],
    ),
    "formats": dict(
        schema={"type": "object",
                "properties": {"day": {"type": "string", "format": "date"},
                               "clock": {"type": "string", "format": "time"},
                               "when": {"type": "string", "format": "date-time"},
                               "id": {"type": "string", "format": "uuid"}},
                "required": ["day", "clock", "when", "id"]},
        valid=[{"day": "2024-02-29", "clock": "23:59:59Z", "when": "2000-01-31T00:00:00.123+05:30",
                "id": "123e4567-e89b-12d3-a456-426614174000"},
               {"day": "0001-12-31", "clock": "00:00:00.5-23:59", "when": "1999-04-30t12:00:00z",
                "id": "00000000-0000-0000-0000-00000000ABCD"}],
        invalid=[{"day": "2023-02-29", "clock": "23:59:59Z", "when": "2000-01-31T00:00:00Z",
                  "id": "123e4567-e89b-12d3-a456-426614174000"},
                 {"day": "2024-04-31", "clock": "23:59:59Z", "when": "2000-01-31T00:00:00Z",
                  "id": "123e4567-e89b-12d3-a456-426614174000"},
                 {"day": "2024-01-01", "clock": "24:00:00Z", "when": "2000-01-31T00:00:00Z",
                  "id": "123e4567-e89b-12d3-a456-426614174000"},
                 {"day": "2024-01-01", "clock": "12:00:00", "when": "2000-01-31T00:00:00Z",
                  "id": "123e4567-e89b-12d3-a456-426614174000"},
                 {"day": "2024-01-01", "clock": "12:00:00Z", "when": "2000-01-31 00:00:00Z",
                  "id": "123e4567-e89b-12d3-a456-426614174000"},
                 {"day": "2024-01-01", "clock": "12:00:00Z", "when": "2000-01-31T00:00:00Z",
                  "id": "123e4567e89b12d3a456426614174000"}],
    ),
    "integer-ranges": dict(
        schema=INTEGER_RANGES,
        valid=[dict(zero=0, small=-5, hundreds=10, exclusive=1, low=-3, high=42, wide=-1000000000000, negative=-907),
               dict(zero=0, small=5, hundreds=1000, exclusive=99, low=10**15, high=-10**15, wide=10**15, negative=-38),
               dict(zero=0, small=0, hundreds=537, exclusive=50, low=0, high=0, wide=0, negative=-100)],
        invalid=[dict(zero=1, small=0, hundreds=10, exclusive=1, low=0, high=0, wide=0, negative=-100),
                 dict(zero=0, small=6, hundreds=10, exclusive=1, low=0, high=0, wide=0, negative=-100),
                 dict(zero=0, small=0, hundreds=9, exclusive=1, low=0, high=0, wide=0, negative=-100),
                 dict(zero=0, small=0, hundreds=1001, exclusive=1, low=0, high=0, wide=0, negative=-100),
                 dict(zero=0, small=0, hundreds=10, exclusive=0, low=0, high=0, wide=0, negative=-100),
                 dict(zero=0, small=0, hundreds=10, exclusive=100, low=0, high=0, wide=0, negative=-100),
                 dict(zero=0, small=0, hundreds=10, exclusive=1, low=-4, high=0, wide=0, negative=-100),
                 dict(zero=0, small=0, hundreds=10, exclusive=1, low=0, high=43, wide=0, negative=-100),
                 dict(zero=0, small=0, hundreds=10, exclusive=1, low=0, high=0, wide=10**15 + 1, negative=-100),
                 dict(zero=0, small=0, hundreds=10, exclusive=1, low=0, high=0, wide=0, negative=-37),
                 dict(zero=0, small=0, hundreds=10, exclusive=1, low=0, high=0, wide=0, negative=-908)],
    ),
    "type-lists": dict(
        schema={"type": "object",
                "properties": {"a": {"type": ["string", "null"]}, "b": {"type": ["integer", "boolean"]},
                               "c": {"type": ["number", "integer"]}, "d": {"type": ["array", "object"]}},
                "required": ["a", "b", "c", "d"]},
        valid=[{"a": None, "b": True, "c": 1, "d": []}, {"a": "x", "b": -3, "c": 2.5, "d": {"k": [1, {}]}}],
        invalid=[{"a": 1, "b": True, "c": 1, "d": []}, {"a": None, "b": 1.5, "c": 1, "d": []},
                 {"a": None, "b": 1, "c": "1", "d": []}, {"a": None, "b": 1, "c": 1, "d": "[]"}],
    ),
    "additional-false": dict(
        schema={"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False},
        valid=[{}, {"a": 1}],
        invalid=[{"b": 1}, {"a": 1, "b": 2}],
    ),
    "additional-true": dict(
        schema={"type": "object", "properties": {"a": {"type": "integer"}, "ab": {"type": "string"}},
                "required": ["a"], "additionalProperties": True},
        valid=[{"a": 1}, {"a": 1, "ab": "x", "b": [1, {"c": None}], "abc": 1, "": "empty", "a b": 2}],
        invalid=[{"a": "1"}, {"a": 1, "ab": 2}, {"ab": "x"}],
        # additional keys are written without escapes, so no key can spell "a" another way
        outside=['{"a": 1, "\\u0061": 2}', '{"a": 1, "\\u00e9": 2}', '{"a": 1, "b": 2, "ab": "x"}'],
    ),
    "additional-schema": dict(
        schema={"type": "object", "properties": {"name": {"type": "string"}},
                "additionalProperties": {"type": "integer", "minimum": 0}},
        valid=[{}, {"name": "n"}, {"name": "n", "x": 1, "y": 0}, {"names": 3}],
        invalid=[{"x": -1}, {"name": "n", "x": "1"}, {"x": 1.5}],
    ),
    "any-object": dict(
        schema={"type": "object"},
        valid=[{}, {"a": [1, 2, {"b": None}], "c": "d"}, {"nested": {"deep": {"deeper": [True, False]}}}],
        invalid=[[], "x", 1, None],
    ),
    "empty-schema": dict(
        schema={},
        valid=[None, True, 0, -1.5e10, "s", [], {}, [1, {"a": ["b", None]}], {"x": {"y": [[], {}]}}],
        invalid=['{"a" 1}', "[1 2]", "tru", "01", "'x'", "NaN", "-", "1.", ".5", "1e", "[1,]", '"\\x"'],
        outside=[" 1", "1 ", "{}  ", "[1,\n\n\n2]", '"\\ud800"', "12345678901234567"],
    ),
    "true-schema": dict(
        schema=True,
        valid=[None, [1, "2"], {"k": "v"}],
        invalid=["[1,]", "{]"],
    ),
    "string-lengths": dict(
        schema={"type": "string", "minLength": 2, "maxLength": 6},
        valid=["ab", "abcdef", "é😀", "\"\\", "\n\t"],
        invalid=["a", "abcdefg", "", 12],
    ),
    "required-unlisted": dict(
        schema={"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a", "z"]},
        valid=[{"a": 1, "z": None}, {"a": 1, "z": [1, "x"]}],
        invalid=[{"a": 1}, {"z": 1}],
    ),
    "empty-arrays": dict(
        schema={"type": "object",
                "properties": {"none": {"type": "array", "items": False}, "zero": {"type": "array", "maxItems": 0},
                               "gone": False},
                "required": ["none", "zero"]},
        valid=[{"none": [], "zero": []}],
        invalid=[{"none": [1], "zero": []}, {"none": [], "zero": [None]}, {"none": [], "zero": [], "gone": 1}],
    ),
    "inferred-types": dict(
        schema={"properties": {"n": {"minimum": 3, "maximum": 7}, "s": {"maxLength": 2},
                               "l": {"items": {"type": "boolean"}}, "o": {"description": "anything"}},
                "required": ["n", "s", "l", "o"]},
        valid=[{"n": 3, "s": "ab", "l": [True], "o": {"x": 1}}, {"n": 7, "s": "", "l": [], "o": None}],
        invalid=[{"n": 2, "s": "ab", "l": [True], "o": 1}, {"n": 3, "s": "abc", "l": [True], "o": 1},
                 {"n": 3, "s": "ab", "l": [1], "o": 1}],
    ),
    "unicode-keys": dict(
        schema={"type": "object",
                "properties": {"名前": {"type": "string"}, "emoji 😀": {"type": "integer"},
                               "quote\"key": {"type": "boolean"}},
                "required": ["名前", "emoji 😀", "quote\"key"],
                "title": "annotations", "description": "are ignored", "$comment": "c", "default": {},
                "examples": [{}], "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:x"},
        valid=[{"名前": "太郎", "emoji 😀": 1, "quote\"key": True}],
        invalid=[{"名前": "太郎", "emoji 😀": 1}],
    ),
}

# Schemas the walks also exercise without hand-written documents.
WALK_ONLY = {
    "array-of-any": {"type": "array", "maxItems": 3},
    "long-items": {"type": "array", "items": {"type": "string", "format": "date"}, "minItems": 2, "maxItems": 2},
}


# ------------------------------------------------------------------ helpers


@pytest.fixture(scope="module")
def vocabulary(real_model):
    return Vocabulary(real_model)


def compile_schema(lib, model, schema) -> int:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    out = ctypes.c_void_p()
    sw.check(lib.swiftlet_grammar_from_json_schema(model, text.encode(), byref(out)))
    assert out.value
    return out.value


@pytest.fixture
def grammars(lib):
    """Grammars made by a test, freed after it."""
    made = []
    yield made
    for g in made:
        lib.swiftlet_grammar_free(g)


def match(lib, grammar, text: str | bytes) -> int:
    data = text.encode() if isinstance(text, str) else text
    out = c_int32(-1)
    sw.check(lib.swiftlet_grammar_match(grammar, data, len(data), byref(out)))
    return out.value


def spellings(value) -> list[str]:
    """The ways json.dumps writes a value that the grammar must accept."""
    out = [json.dumps(value), json.dumps(value, separators=(",", ":")), json.dumps(value, ensure_ascii=False),
           json.dumps(value, indent=2)]
    return list(dict.fromkeys(out))


def strict_json(text: str):
    """json.loads without Python's extensions (NaN, Infinity); ValueError if not JSON."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def validator(schema):
    return Validator(schema, format_checker=Validator.FORMAT_CHECKER)


# ------------------------------------------------------------------ tests


def test_format_checker_is_complete():
    """The judge must check every format the grammar claims (time and
    date-time need the rfc3339-validator package)."""
    checkers = Validator.FORMAT_CHECKER.checkers
    for name in ("date", "time", "date-time", "uuid"):
        assert name in checkers, f"jsonschema cannot check format {name}: pip install rfc3339-validator"


@pytest.mark.parametrize("name", list(CASES))
def test_documents(lib, real_model, grammars, name):
    case = CASES[name]
    check = validator(case["schema"])
    grammar = compile_schema(lib, real_model, case["schema"])
    grammars.append(grammar)
    for value in case["valid"]:
        assert check.is_valid(value), f"test data: {value!r} should be valid"
        for text in spellings(value):
            assert match(lib, grammar, text) == COMPLETE, f"{text!r} should be accepted"
            # Its prefixes can still be completed (cuts may split a UTF-8 character).
            data = text.encode()
            for cut in sorted({1, len(data) // 2, len(data) - 1} - {0, len(data)}):
                assert match(lib, grammar, data[:cut]) in (PREFIX, COMPLETE), f"{data[:cut]!r} (prefix of {text!r})"
    for value in case["invalid"]:
        if isinstance(value, str):
            texts = [value]
            try:
                assert not check.is_valid(strict_json(value)), f"test data: {value!r} should be invalid"
            except ValueError:
                pass  # not JSON at all
        else:
            assert not check.is_valid(value), f"test data: {value!r} should be invalid"
            texts = spellings(value)
        for text in texts:
            assert match(lib, grammar, text) != COMPLETE, f"{text!r} should be refused"
    # Valid (or at least JSON) but outside the grammar by its documented choices.
    for value in case.get("outside", []):
        for text in [value] if isinstance(value, str) else spellings(value):
            assert match(lib, grammar, text) != COMPLETE, f"{text!r} should be refused"


@pytest.mark.parametrize("name", list(CASES) + list(WALK_ONLY))
def test_random_walks_validate(lib, real_model, grammars, vocabulary, name):
    schema = CASES[name]["schema"] if name in CASES else WALK_ONLY[name]
    check = validator(schema)
    grammar = compile_schema(lib, real_model, schema)
    grammars.append(grammar)
    complete = 0
    for seed in range(WALKS):
        data = random_walk(real_model, vocabulary, grammar, seed=1000 * seed + len(name), max_tokens=MAX_WALK_TOKENS,
                           closing=b'"]}', short_bias=0.3)
        if data is None:
            continue
        complete += 1
        text = data.decode("utf-8")
        assert match(lib, grammar, data) == COMPLETE, text
        value = strict_json(text)
        errors = [e.message for e in check.iter_errors(value)]
        assert not errors, f"{text!r}: {errors}"
    assert complete >= MIN_COMPLETE_FRACTION * WALKS, f"only {complete} of {WALKS} walks ended"


def test_generated_values(lib, real_model, grammars):
    """Documents Python derives from the schemas: each integer range's
    bounds and the integers just past them, and every 17th of 300 enum values."""
    grammar = compile_schema(lib, real_model, INTEGER_RANGES)
    grammars.append(grammar)
    base = CASES["integer-ranges"]["valid"][2]
    for key, spec in INTEGER_RANGES["properties"].items():
        low = spec.get("minimum", spec.get("exclusiveMinimum", float("nan")) + 1)
        high = spec.get("maximum", spec.get("exclusiveMaximum", float("nan")) - 1)
        probes = [(low, True), (low - 1, False)] if low == low else []  # NaN: no bound
        probes += [(high, True), (high + 1, False)] if high == high else []
        for value, inside in probes:
            text = json.dumps(dict(base, **{key: int(value)}))
            assert (match(lib, grammar, text) == COMPLETE) == inside, text

    values = [f"v{i}-{'x' * (i % 7)}" for i in range(300)]
    grammar = compile_schema(lib, real_model, {"enum": values})
    grammars.append(grammar)
    for value in values[::17]:
        assert match(lib, grammar, json.dumps(value)) == COMPLETE
    assert match(lib, grammar, json.dumps("v1-xx")) != COMPLETE


class InstanceMaker:
    """Random documents valid under a schema, written from the schema alone
    (not from the grammar): the other direction from the walks. Covers the
    keywords of the cases above except `pattern`; properties come in the
    schema's order (the grammar's documented choice), recursion stops by
    taking the shortest choice past depth 3."""

    CHARACTERS = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x7f", "é", "✓", "😀", "\u2028", "名"]
    NUMBERS = [0, -1, 7, 2.5, -0.125, 1e-07, 1.5e300, 0.1 + 0.2, 0.00012345678901234567, 123456789.25, -3e20]

    def __init__(self, schema, seed: int):
        self.root = schema
        self.rng = np.random.default_rng(seed)

    def pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    def string(self, low=0, high=8) -> str:
        return "".join(self.pick(self.CHARACTERS) for _ in range(int(self.rng.integers(low, high + 1))))

    def resolve(self, pointer: str):
        node = self.root
        for part in pointer.lstrip("#").split("/")[1:]:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def any_value(self, depth: int):
        kinds = ["null", "boolean", "number", "string"] + (["array", "object"] if depth < 3 else [])
        return self.make({"type": self.pick(kinds)}, depth)

    def make(self, schema, depth: int = 0):
        if schema is True or schema == {}:
            return self.any_value(depth)
        if "$ref" in schema:
            return self.make(self.resolve(schema["$ref"]), depth + 1)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = schema[key]
                if depth > 3:
                    branches = [b for b in branches if "$ref" not in b] or branches
                return self.make(self.pick(branches), depth + 1)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            allowed = [v for v in schema["enum"] if Validator({"type": schema.get("type", [])}).is_valid(v)] \
                if "type" in schema else schema["enum"]
            return self.pick(allowed)
        types = schema.get("type")
        if types is None:
            inferred = {"properties": "object", "required": "object", "items": "array", "maxLength": "string",
                        "minimum": "integer", "maximum": "integer"}
            types = [inferred[k] for k in schema if k in inferred] or None
            if types is None:
                return self.any_value(depth)
        kind = self.pick(types) if isinstance(types, list) else types
        if kind == "null":
            return None
        if kind == "boolean":
            return bool(self.rng.integers(2))
        if kind == "number":
            return self.pick(self.NUMBERS)
        if kind == "integer":
            low = schema.get("minimum", schema.get("exclusiveMinimum", -10**6 - 1) + 1)
            high = schema.get("maximum", schema.get("exclusiveMaximum", 10**6 + 1) - 1)
            return int(self.pick([low, high, (low + high) // 2, int(self.rng.integers(low, high + 1))]))
        if kind == "string":
            if "format" in schema:
                return self.formatted(schema["format"])
            return self.string(schema.get("minLength", 0), min(schema.get("maxLength", 8), schema.get("minLength", 0) + 8))
        if kind == "array":
            if schema.get("items") is False:
                return []
            low, high = schema.get("minItems", 0), schema.get("maxItems", 4)
            count = low if depth > 3 else int(self.rng.integers(low, min(high, low + 4) + 1))
            return [self.make(schema.get("items", True), depth + 1) for _ in range(count)]
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        out = {}
        for key, sub in properties.items():
            if sub is not False and (key in required or (depth <= 3 and self.rng.integers(2))):
                out[key] = self.make(sub, depth + 1)
        extra = schema.get("additionalProperties", "properties" not in schema)
        for key in required:
            if key not in out:
                out[key] = self.make(True if extra in (True, False) else extra, depth + 1)
        if extra is not False and depth <= 3:
            for _ in range(int(self.rng.integers(3))):
                key = "".join(self.pick(list("abxyz_- ")) for _ in range(int(self.rng.integers(0, 5))))
                if key not in properties and key not in out:
                    out[key] = self.make(True if extra is True else extra, depth + 1)
        return out

    def formatted(self, name: str) -> str:
        day = datetime.date(1, 1, 1) + datetime.timedelta(days=int(self.rng.integers(0, 3652058)))
        clock = f"{self.rng.integers(24):02}:{self.rng.integers(60):02}:{self.rng.integers(60):02}"
        clock += self.pick(["", ".5", ".123456"]) + self.pick(["Z", "+05:30", "-23:59", "z"])
        if name == "date":
            return day.isoformat()
        if name == "time":
            return clock
        if name == "date-time":
            return day.isoformat() + self.pick(["T", "t"]) + clock
        return str(uuid.UUID(int=int(self.rng.integers(2**63)) << 64 | int(self.rng.integers(2**63))))


GENERATED = [name for name, case in CASES.items() if "pattern" not in json.dumps(case["schema"])]


@pytest.mark.parametrize("name", GENERATED)
def test_instances_made_from_the_schema_match(lib, real_model, grammars, name):
    schema = CASES[name]["schema"]
    check = validator(schema)
    grammar = compile_schema(lib, real_model, schema)
    grammars.append(grammar)
    for seed in range(20):
        value = InstanceMaker(schema, seed).make(schema)
        errors = [e.message for e in check.iter_errors(value)]
        assert not errors, f"test data: {value!r}: {errors}"
        for text in spellings(value):
            assert match(lib, grammar, text) == COMPLETE, f"{text!r} should be accepted"


ERRORS = [
    ({"type": "object", "properties": {"age": {"type": "integer", "multipleOf": 3}}},
     '#/properties/age: keyword "multipleOf" is not supported'),
    ({"allOf": [{"type": "string"}]}, '#: keyword "allOf" is not supported'),
    ({"type": "array", "uniqueItems": True}, 'keyword "uniqueItems"'),
    ({"type": "array", "prefixItems": [{"type": "string"}]}, 'keyword "prefixItems"'),
    ({"type": "object", "patternProperties": {"^a": {}}}, 'keyword "patternProperties"'),
    ({"type": "object", "properties": {"a": {"not": {"type": "string"}}}}, '#/properties/a: keyword "not"'),
    ({"$defs": {"x": {"type": "string", "minContains": 1}}, "$ref": "#/$defs/x"}, '#/$defs/x: keyword "minContains"'),
    ({"type": "object", "properties": {"a/b": {"type": "string", "contentEncoding": "base64"}}},
     '#/properties/a~1b: keyword "contentEncoding"'),
    ({"anyOf": [{"type": "string"}, {"type": "integer", "multipleOf": 2}]}, '#/anyOf/1: keyword "multipleOf"'),
    ({"type": "string", "pattern": "abc"}, 'keyword "pattern"'),
    ({"type": "string", "pattern": "^abc"}, 'keyword "pattern"'),
    ({"type": "string", "pattern": "^a|b$"}, 'keyword "pattern"'),
    ({"type": "string", "pattern": "^(?=a)a$"}, "lookaround"),
    ({"type": "string", "pattern": "^(a)\\1$"}, "backreferences"),
    ({"type": "string", "pattern": "^\\bx$"}, "word boundaries"),
    ({"type": "string", "pattern": "^\\p{L}$"}, "Unicode property"),
    ({"type": "string", "pattern": "^(a*)*$"}, "empty string"),
    ({"type": "string", "pattern": "^a{2,1}$"}, "out of order"),
    ({"type": "string", "pattern": "^[a-z]+$", "minLength": 3}, 'keyword "minLength" beside "pattern"'),
    ({"type": "string", "format": "email"}, 'keyword "format"'),
    ({"type": "number", "minimum": 0}, 'keyword "minimum"'),
    ({"type": "string", "minimum": 0}, 'keyword "minimum"'),
    ({"type": "strin"}, 'keyword "type"'),
    ({"type": "integer", "minimum": 1e30}, 'keyword "minimum"'),
    ({"$ref": "https://example.com/schema.json"}, "$ref"),
    ({"$ref": "#/$defs/missing"}, "#/$defs/missing"),
    ({"$ref": "#/$defs/a", "type": "string", "$defs": {"a": {}}}, 'keyword "type" beside "$ref"'),
    ({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, "cycle"),
    ({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/a"}]}},
      "$ref": "#/$defs/a"}, "cycle"),
    ({"$ref": "#"}, "cycle"),
    ({"type": "array", "maxItems": 1000000}, 'keyword "maxItems"'),
    ({"type": "array", "minItems": 1e9}, 'keyword "minItems"'),
    ({"type": "string", "maxLength": 10**7}, 'keyword "maxLength"'),
    ({"type": "array", "minItems": -1}, 'keyword "minItems"'),
    (False, "matches nothing"),
    ({"type": "integer", "minimum": 5, "maximum": 4}, "matches nothing"),
    ({"anyOf": [False, {"not": {}}]}, 'keyword "not"'),
    ("[1, 2", "JSON schema"),
    ("{\"type\": \"string\"} extra", "JSON schema"),
    ("", "JSON schema"),
    ([], "a schema must be an object or a boolean"),
]


@pytest.mark.parametrize("schema,expected", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors_name_the_keyword_and_place(lib, real_model, schema, expected):
    text = schema if isinstance(schema, str) else json.dumps(schema)
    out = ctypes.c_void_p()
    status = lib.swiftlet_grammar_from_json_schema(real_model, text.encode(), byref(out))
    assert status == sw.ERROR_INVALID_ARGUMENT, (status, sw.last_error())
    assert not out.value
    assert expected in sw.last_error(), sw.last_error()


def nested(depth: int) -> dict:
    schema: dict = {"type": "integer"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"]}
    return schema


def hostile_schemas():
    yield "nesting-200", nested(200)                       # deeper than the JSON parser allows
    yield "nesting-60", nested(60)                         # within it
    yield "enum-10k", {"enum": [f"value-{i}" for i in range(10000)]}
    yield "max-items-1e9", {"type": "array", "maxItems": 10**9}
    yield "max-length-1e9", {"type": "string", "maxLength": 10**9}
    yield "pattern-1e9", {"type": "string", "pattern": "^a{1000000000}$"}
    yield "pattern-nested-counts", {"type": "string", "pattern": "^((a{1000}){1000}){1000}$"}
    yield "many-large-arrays", {"type": "object", "properties": {
        f"p{i}": {"type": "array", "maxItems": 4000} for i in range(100)}}
    # anyOf doubling at every level through definitions: 2^40 parses if the grammar kept them.
    defs = {f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}, {"$ref": f"#/$defs/e{i + 1}"}]} for i in range(40)}
    defs.update({f"e{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}, {"$ref": f"#/$defs/e{i + 1}"}]} for i in range(1, 40)})
    defs["d40"] = defs["e40"] = {"type": "integer"}
    yield "any-of-doubling", {"$defs": defs, "$ref": "#/$defs/d0"}
    # The same written out: each level's branches identical text.
    inner: dict = {"type": "string"}
    for _ in range(12):
        inner = {"anyOf": [inner, inner]}
    yield "any-of-inline", inner
    yield "self-ref", {"$defs": {"a": {"anyOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}
    chain = {f"c{i}": {"$ref": f"#/$defs/c{i + 1}"} for i in range(200)}
    chain["c200"] = {"type": "null"}
    yield "ref-chain-200", {"$defs": chain, "$ref": "#/$defs/c0"}
    progress = {f"c{i}": {"type": "array", "items": {"$ref": f"#/$defs/c{i + 1}"}, "maxItems": 1} for i in range(200)}
    progress["c200"] = {"type": "null"}
    yield "ref-progress-200", {"$defs": progress, "$ref": "#/$defs/c0"}
    yield "many-properties", {"type": "object", "additionalProperties": True,
                              "properties": {f"property-{i}": {"type": "integer"} for i in range(2000)}}


HOSTILE = list(hostile_schemas())


@pytest.mark.parametrize("name,schema", HOSTILE, ids=[n for n, _ in HOSTILE])
def test_hostile_schemas_return(lib, real_model, grammars, name, schema):
    """A clean error or a grammar; with a grammar, a document still matches."""
    text = json.dumps(schema)
    out = ctypes.c_void_p()
    status = lib.swiftlet_grammar_from_json_schema(real_model, text.encode(), byref(out))
    if status != sw.OK:
        assert status in (sw.ERROR_INVALID_ARGUMENT, sw.ERROR_OUT_OF_MEMORY), (status, sw.last_error())
        assert not out.value
        return
    grammars.append(out.value)
    samples = {"nesting-60": None, "enum-10k": '"value-9999"', "any-of-doubling": "12", "any-of-inline": '"s"',
               "ref-progress-200": "[[[]]]"}
    if samples.get(name):
        result = c_int32(-1)
        data = samples[name].encode()
        status = lib.swiftlet_grammar_match(out.value, data, len(data), byref(result))
        assert status in (sw.OK, sw.ERROR_OUT_OF_MEMORY), (status, sw.last_error())
        if status == sw.OK:
            assert result.value in (PREFIX, COMPLETE)


def test_deepest_schemas_on_a_small_stack(lib):
    """The converter recurses once per nesting level of the schema (at most
    the JSON parser's 128): the deepest schemas convert and match on a
    thread with a 256 KiB stack, as a host's worker thread may have."""
    deepest = {"type": "integer"}
    for _ in range(126):
        deepest = {"type": "array", "items": deepest}
    document = "[" * 126 + "1" + "]" * 126
    results = []

    def convert():
        for schema, text in ((deepest, document), (nested(63), None)):
            out = ctypes.c_void_p()
            status = lib.swiftlet_grammar_from_json_schema(None, json.dumps(schema).encode(), byref(out))
            result = match(lib, out.value, text) if status == sw.OK and text else None
            results.append((status, result))
            lib.swiftlet_grammar_free(out.value)

    previous = threading.stack_size(256 * 1024)
    try:
        thread = threading.Thread(target=convert)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous)
    assert results == [(sw.OK, COMPLETE), (sw.OK, None)]
