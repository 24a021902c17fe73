"""Constrained output: swiftlet.Grammar, and grammar= / json_schema= /
response_format= on every call that samples, on SmolLM2.

The references are independent of the engine: `jsonschema` (PyPI) validates
every JSON reply against its schema, `json.loads` parses it, and plain
Python checks the GBNF outputs. A constrained generation must also end
where its grammar accepts: stop reason END_OF_GENERATION (never max_tokens:
each call has several times the tokens its answer needs), and the text is
COMPLETE for the grammar's own matcher.
"""
from __future__ import annotations

import datetime
import json
import re
from typing import Any

import jsonschema
import numpy as np
import pytest

import swiftlet
from swiftlet import Grammar, GrammarMatch, InvalidArgumentError, StopReason

YES_NO = 'root ::= ("yes" | "no")'
SYSTEM = "You are a game engine. Reply with JSON only, no explanations."

# Each: a schema, and the user message that asks for it. Strings and numbers
# are bounded (maxLength, minimum/maximum) so a reply at temperature 1.2 ends
# within max_tokens; the recursive one is kept shallow by asking for two rooms
# (a list of next rooms, even of one, makes SmolLM2 nest until max_tokens).
SCHEMAS: dict[str, tuple[dict[str, Any], str]] = {
    "npc_action": ({
        "type": "object",
        "properties": {
            "action": {"enum": ["attack", "flee", "talk", "trade"]},
            "target": {"type": "string", "minLength": 1, "maxLength": 24},
            "urgency": {"type": "integer", "minimum": 1, "maximum": 5},
        },
        "required": ["action", "target", "urgency"],
        "additionalProperties": False,
    }, "A guard sees a dragon at the gate. Give the guard's action as JSON with action, target and urgency."),
    "tool_call": ({
        "type": "object",
        "properties": {
            "name": {"const": "get_weather"},
            "arguments": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "minLength": 1, "maxLength": 30},
                    "unit": {"enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer", "minimum": 1, "maximum": 7},
                },
                "required": ["city", "unit"],
                "additionalProperties": False,
            },
        },
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }, "Call the get_weather tool for Paris, in celsius, for 3 days. Reply with the tool call as JSON."),
    "scores": ({
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": 100},
        "minItems": 2,
        "maxItems": 5,
    }, "Give the scores of three players as a JSON array of integers."),
    "yes_no": ({"enum": ["yes", "no"]}, "Is the sky blue? Answer \"yes\" or \"no\" as a JSON string."),
    "date": ({
        "type": "object",
        "properties": {"date": {"type": "string", "format": "date"}},
        "required": ["date"],
        "additionalProperties": False,
    }, "When did the first person walk on the Moon? Reply as JSON with the date."),
    "recursive": ({
        "$defs": {
            "room": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 16},
                    "exit": {"$ref": "#/$defs/room"},
                },
                "required": ["name"],
                "additionalProperties": False,
            },
        },
        "$ref": "#/$defs/room",
    }, "A dungeon of two rooms as JSON: the first room has a name and an exit to the second room, "
       "which has only a name."),
}

# (temperature, seed): greedy, and sampled at two temperatures with two seeds.
SAMPLINGS = [(0.0, 0), (0.7, 1), (0.7, 2), (1.2, 3)]
MAX_TOKENS = 400


def validate(text: str, schema: dict[str, Any]) -> Any:
    """The JSON in `text`, checked against `schema` (formats too)."""
    value = json.loads(text)
    jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())
    return value


def check_dates(value: Any) -> None:
    """jsonschema's "date" check is datetime.date.fromisoformat, which also
    takes forms JSON Schema's full-date does not; check the RFC 3339 form."""
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value["date"]), value
    datetime.date.fromisoformat(value["date"])


@pytest.fixture(scope="module")
def schema_grammars() -> dict[str, Grammar]:
    grammars = {name: Grammar.from_json_schema(schema) for name, (schema, _) in SCHEMAS.items()}
    yield grammars
    for grammar in grammars.values():
        grammar.close()


# ----------------------------------------------------------------- the object


def test_match_says_where_a_text_stands() -> None:
    with Grammar(YES_NO) as grammar:
        assert grammar.match("") is GrammarMatch.PREFIX
        assert grammar.match("ye") is GrammarMatch.PREFIX
        assert grammar.match("yes") is GrammarMatch.COMPLETE
        assert grammar.match(b"no") is GrammarMatch.COMPLETE
        assert grammar.match("yes!") is GrammarMatch.NO_MATCH
        assert grammar.match("maybe") is GrammarMatch.NO_MATCH
        assert grammar.source == YES_NO and grammar.root == "root" and not grammar.closed
    assert grammar.closed
    with pytest.raises(ValueError, match="closed"):
        grammar.match("yes")
    grammar.close()  # idempotent


def test_a_root_other_than_root() -> None:
    with Grammar('answer ::= "ok"\nroot ::= "no"', root="answer") as grammar:
        assert grammar.match("ok") is GrammarMatch.COMPLETE and grammar.match("no") is GrammarMatch.NO_MATCH


@pytest.mark.parametrize("text, position, words", [
    ('root ::= "yes" | "no"\nanswer ::= [a-', "2:", "not terminated"),
    ('root ::= "unterminated', "1:", ""),
    ('root ::= value\n', "1:10", "value"),
    ('root ::= root "a" | "a"', "1:1", "left-recursive"),
])
def test_a_bad_grammar_raises_with_its_position(text: str, position: str, words: str) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        Grammar(text)
    assert isinstance(raised.value, ValueError)
    assert position in str(raised.value) and words in str(raised.value), str(raised.value)


def test_json_schema_as_dict_or_text() -> None:
    schema = SCHEMAS["npc_action"][0]
    for given in (schema, json.dumps(schema)):
        with Grammar.from_json_schema(given) as grammar:
            assert grammar.match('{"action": "flee", "target": "the dragon", "urgency": 5}') is GrammarMatch.COMPLETE
            assert grammar.match('{"action": "dance"') is GrammarMatch.NO_MATCH
    with pytest.raises(TypeError):
        Grammar.from_json_schema(["not", "a", "schema"])  # type: ignore[arg-type]


def test_a_schema_keyword_the_converter_cannot_honour_is_an_error() -> None:
    with pytest.raises(InvalidArgumentError, match="patternProperties"):
        Grammar.from_json_schema({"type": "object", "patternProperties": {"^x": {"type": "string"}}})
    with pytest.raises(InvalidArgumentError):
        Grammar.from_json_schema("{not json")


# ------------------------------------------------------------ JSON end to end


@pytest.mark.parametrize("temperature, seed", SAMPLINGS)
@pytest.mark.parametrize("name", list(SCHEMAS))
def test_chat_json_replies_validate_against_their_schema(model: swiftlet.Model, schema_grammars: dict[str, Grammar],
                                                         name: str, temperature: float, seed: int) -> None:
    schema, question = SCHEMAS[name]
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
    stream = model.chat(messages, response_format={"type": "json_object", "schema": schema},
                        temperature=temperature, seed=seed, max_tokens=MAX_TOKENS, stream=True)
    text = stream.text()
    assert stream.result is not None
    assert stream.result.stop_reason is StopReason.END_OF_GENERATION, (stream.result, text)
    value = validate(text, schema)
    if name == "date":
        check_dates(value)
    assert schema_grammars[name].match(text) is GrammarMatch.COMPLETE


def test_the_three_ways_to_ask_for_a_schema_agree(model: swiftlet.Model) -> None:
    schema, question = SCHEMAS["tool_call"]
    messages = [{"role": "user", "content": question}]
    options: dict[str, Any] = {"temperature": 0.8, "seed": 7, "max_tokens": MAX_TOKENS}

    def reply(**constraint: Any) -> str:
        with model.context(n_ctx=512) as context:  # a fresh one each: a reused prompt rounds differently
            text: str = context.chat(messages, **constraint, **options)
            return text

    with Grammar.from_json_schema(schema) as grammar:
        replies = [
            reply(response_format={"type": "json_object", "schema": schema}),
            reply(response_format={"type": "json_schema",
                                   "json_schema": {"name": "call", "schema": schema, "strict": True}}),
            reply(json_schema=schema),
            reply(json_schema=json.dumps(schema)),
            reply(grammar=grammar),
        ]
    assert len(set(replies)) == 1, replies
    validate(replies[0], schema)


def test_json_object_without_a_schema_is_any_object(model: swiftlet.Model) -> None:
    messages = [{"role": "user", "content": "Reply with a JSON object with two keys: name (a cat's name) and age (a number)."}]
    for temperature, seed in SAMPLINGS:
        stream = model.chat(messages, response_format={"type": "json_object"}, temperature=temperature, seed=seed,
                            max_tokens=MAX_TOKENS, stream=True)
        text = stream.text()
        assert isinstance(json.loads(text), dict), text
        assert stream.result is not None and stream.result.stop_reason is StopReason.END_OF_GENERATION, text


def test_response_format_text_is_unconstrained(model: swiftlet.Model) -> None:
    messages = [{"role": "user", "content": "Say hello."}]
    with model.context(n_ctx=256) as a, model.context(n_ctx=256) as b:  # fresh ones: a reused prompt rounds differently
        assert a.chat(messages, response_format={"type": "text"}, temperature=0, max_tokens=12) == \
            b.chat(messages, temperature=0, max_tokens=12)


def test_generate_with_json_schema_streams_valid_json(model: swiftlet.Model) -> None:
    schema, _ = SCHEMAS["npc_action"]
    prompt = 'A goblin meets a knight. The goblin\'s action as JSON: '
    pieces = []
    stream = model.generate(prompt, json_schema=schema, temperature=0.9, seed=11, max_tokens=MAX_TOKENS, stream=True)
    for piece in stream:
        pieces.append(piece)
    assert stream.result is not None and stream.result.stop_reason is StopReason.END_OF_GENERATION
    assert len(pieces) > 3 and "".join(pieces) == stream.result.text
    validate(stream.result.text, schema)


def test_context_generate_and_chat_take_grammars(model: swiftlet.Model) -> None:
    schema, question = SCHEMAS["scores"]
    with model.context(n_ctx=1024) as context:
        text = context.chat([{"role": "user", "content": question}], json_schema=schema, temperature=0.7, seed=5,
                            max_tokens=MAX_TOKENS)
        validate(text, schema)
        context.reset()
        answer = context.generate("Is fire hot? Answer yes or no:", grammar=YES_NO, temperature=1.0, seed=2)
        assert answer in ("yes", "no")
        # the context holds the answer; a second constrained call starts its grammar over
        again = context.generate(" And is ice cold? Answer yes or no:", grammar=YES_NO, temperature=1.0, seed=3)
        assert again in ("yes", "no")


def test_batches_give_each_sequence_its_own_parse(model: swiftlet.Model) -> None:
    schema, _ = SCHEMAS["npc_action"]
    prompts = [f"{who} meets a dragon. Its action as JSON: " for who in ("A knight", "A merchant", "A wizard")]
    texts = model.generate_batch(prompts, json_schema=schema, temperature=0.8, seed=4, max_tokens=MAX_TOKENS)
    assert len(texts) == 3
    for text in texts:
        validate(text, schema)
    conversations = [[{"role": "user", "content": f"Is {thing} hot? Answer yes or no."}]
                     for thing in ("fire", "ice", "the sun", "snow")]
    answers = model.chat_batch(conversations, grammar=YES_NO, temperature=1.0, seed=9)
    assert all(answer in ("yes", "no") for answer in answers), answers
    replies = model.chat_batch(conversations[:2], response_format={"type": "json_object"}, temperature=0.7, seed=1,
                               max_tokens=MAX_TOKENS)
    assert all(isinstance(json.loads(reply), dict) for reply in replies), replies


# ------------------------------------------------------------------------ GBNF


@pytest.mark.parametrize("temperature, seed", SAMPLINGS)
def test_a_yes_no_grammar_gives_exactly_yes_or_no(model: swiftlet.Model, temperature: float, seed: int) -> None:
    question = "Is the sky blue? Answer yes or no."
    raw = model.generate(f"Q: {question}\nA:", grammar=YES_NO, temperature=temperature, seed=seed)
    chat = model.chat([{"role": "user", "content": question}], grammar=YES_NO, temperature=temperature, seed=seed)
    assert raw in ("yes", "no") and chat in ("yes", "no"), (raw, chat)


def test_a_grammar_over_many_tokens_and_characters(model: swiftlet.Model) -> None:
    """A list grammar whose items may hold any non-ASCII letter: tokens that
    split a character must work, and the text must parse."""
    grammar = r'''
root ::= item item item
item ::= "- " [a-zA-Zéèàçñöü ]{3,20} "\n"
'''
    pattern = re.compile(r"(- [a-zA-Zéèàçñöü ]{3,20}\n){3}")
    for temperature, seed in SAMPLINGS:
        stream = model.chat([{"role": "user", "content": "List three French cheeses."}], grammar=grammar,
                            temperature=temperature, seed=seed, max_tokens=MAX_TOKENS, stream=True)
        text = stream.text()
        assert pattern.fullmatch(text), text
        assert stream.result is not None and stream.result.stop_reason is StopReason.END_OF_GENERATION


def test_generation_stops_at_max_tokens_inside_the_grammar(model: swiftlet.Model) -> None:
    with Grammar('root ::= "a"+') as grammar:
        stream = model.generate("Letters:", grammar=grammar, max_tokens=5, temperature=0, stream=True)
        text = stream.text()
        assert stream.result is not None and stream.result.stop_reason is StopReason.MAX_TOKENS
        assert grammar.match(text) is GrammarMatch.COMPLETE and set(text) == {"a"}


# ------------------------------------------------------------------ samplers


def sample_until_the_end(model: swiftlet.Model, context: swiftlet.Context, prompt: str, pick: Any,
                         limit: int = 64) -> tuple[str, bool]:
    """Evaluates `prompt`, then samples with `pick()` and evaluates each token
    until end-of-generation; returns the text and whether it ended so."""
    context.reset()
    context.eval(model.tokenize(prompt))
    data = b""
    for _ in range(limit):
        token = pick()
        if model.is_end_of_generation(token):
            return data.decode("utf-8"), True
        data += model.token_to_bytes(token)
        context.eval([token])
    return data.decode("utf-8", "replace"), False


def test_a_sampler_follows_its_grammar_and_reset_starts_it_over(model: swiftlet.Model) -> None:
    with model.context(n_ctx=256) as context, Grammar(YES_NO) as grammar, \
            swiftlet.Sampler(grammar=grammar, temperature=0.9, seed=1) as sampler:
        text, ended = sample_until_the_end(model, context, "Is water wet? Answer yes or no:",
                                           lambda: sampler.sample(context))
        assert ended and text in ("yes", "no")
        # the grammar is complete: from a fresh prompt, only the end may follow
        again, ended = sample_until_the_end(model, context, "Is water wet? Answer yes or no:",
                                            lambda: sampler.sample(context))
        assert ended and again == ""
        sampler.reset()
        again, ended = sample_until_the_end(model, context, "Is water wet? Answer yes or no:",
                                            lambda: sampler.sample(context))
        assert ended and again in ("yes", "no")


def test_context_sample_keeps_one_grammar_state(model: swiftlet.Model) -> None:
    with model.context(n_ctx=256) as context:
        text, ended = sample_until_the_end(model, context, "Is fire hot? Answer yes or no:",
                                           lambda: context.sample(grammar=YES_NO, temperature=0.8, seed=3))
        assert ended and text in ("yes", "no")  # the same text: the same sampler, its state moving on
        # reset() (inside sample_until_the_end) started the kept sampler's grammar over
        text, ended = sample_until_the_end(model, context, "Is ice hot? Answer yes or no:",
                                           lambda: context.sample(grammar=YES_NO, temperature=0.8, seed=3))
        assert ended and text in ("yes", "no")


def test_sample_logits_masks_what_the_grammar_forbids(model: swiftlet.Model) -> None:
    maybe = model.tokenize(" maybe", add_bos=False)[0]
    with model.context(n_ctx=256) as context, swiftlet.Sampler(grammar=YES_NO, temperature=0) as sampler:
        context.eval(model.tokenize("Is water wet? Answer yes or no:"))
        logits = context.logits
        assert logits is not None
        logits[maybe] = 1e9  # what a host's own change of the logits might do
        token = sampler.sample_logits(model, logits)
        assert token != maybe and Grammar(YES_NO).match(model.token_to_bytes(token)) is not GrammarMatch.NO_MATCH
        with pytest.raises(InvalidArgumentError):
            sampler.sample_logits(model, np.zeros(10, dtype=np.float32))
    with swiftlet.Sampler(temperature=0) as plain:
        assert plain.sample_logits(model, logits) == maybe
        plain.reset()  # nothing to do without a grammar


# -------------------------------------------------------------------- errors


def test_conflicting_keywords_are_a_value_error(model: swiftlet.Model) -> None:
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(ValueError, match="grammar and json_schema"):
        model.generate("hi", grammar=YES_NO, json_schema={"type": "string"})
    with pytest.raises(ValueError, match="json_schema and response_format"):
        model.chat(messages, json_schema={"type": "string"}, response_format={"type": "json_object"})
    with pytest.raises(ValueError, match="grammar and response_format"):
        model.chat(messages, grammar=YES_NO, response_format={"type": "json_object", "schema": {"type": "string"}})
    with pytest.raises(ValueError, match="grammar and json_schema"):
        model.generate_batch(["hi"], grammar=YES_NO, json_schema={"type": "string"})
    # "text" constrains nothing, so it goes with a grammar
    assert model.chat(messages, grammar=YES_NO, response_format={"type": "text"}, temperature=0) in ("yes", "no")


@pytest.mark.parametrize("response_format", [
    {"type": "xml"},
    {"type": "json_object", "schema": {"type": "string"}, "strict": True},
    {"type": "json_schema"},
    {"type": "json_schema", "json_schema": {"name": "x"}},
    {"type": "json_schema", "json_schema": {"schema": {}, "extra": 1}},
    {"type": "text", "schema": {}},
    {},
])
def test_a_response_format_it_cannot_read_is_a_value_error(model: swiftlet.Model,
                                                           response_format: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        model.chat([{"role": "user", "content": "hi"}], response_format=response_format)


def test_errors_come_from_the_call_before_anything_runs(model: swiftlet.Model) -> None:
    with pytest.raises(InvalidArgumentError, match="1:"):
        model.generate("hi", grammar="root ::= (", stream=True)  # raised by the call, not the first next()
    with pytest.raises(InvalidArgumentError, match="patternProperties"):
        model.chat([{"role": "user", "content": "hi"}],
                   json_schema={"type": "object", "patternProperties": {"a": {}}}, stream=True)
    with pytest.raises(InvalidArgumentError):
        swiftlet.Sampler(grammar="root ::= nothing")
    with pytest.raises(TypeError):
        model.generate("hi", grammar=42)  # type: ignore[arg-type]
    grammar = Grammar(YES_NO)
    grammar.close()
    with pytest.raises(ValueError, match="grammar is closed"):
        model.generate("hi", grammar=grammar)
    # the model is still usable
    assert model.generate("Is the sky blue? Answer yes or no:", grammar=YES_NO, temperature=0) in ("yes", "no")


def test_a_grammar_closed_during_a_stream_lives_until_it_ends(model: swiftlet.Model) -> None:
    schema, _ = SCHEMAS["scores"]
    grammar = Grammar.from_json_schema(schema)
    stream = model.generate("Three scores as a JSON array: ", grammar=grammar, temperature=0.5, seed=1,
                            max_tokens=MAX_TOKENS, stream=True)
    next(stream)
    grammar.close()  # the running generation holds it
    validate(stream.text(), schema)
    assert grammar.closed
