"""GBNF grammars: the parser and matcher against independent judges, the
sampler's mask against a brute-force one, and hostile grammars.

The example grammars are our own equivalents of llama.cpp's grammars/
(json, arithmetic, list, c, chess). What they accept is judged by Python:
json.loads, ast.parse, and re for the regular ones.
"""
from __future__ import annotations

import ast
import ctypes
import json
import random
import re

import numpy as np
import pytest

import swiftlet_ctypes as sw
from grammar_tools import Vocabulary, compile_gbnf, gbnf, match, random_walk, sample_logits, sampler_for

NO, PREFIX, COMPLETE = sw.abi.GRAMMAR_NO_MATCH, sw.abi.GRAMMAR_PREFIX, sw.abi.GRAMMAR_COMPLETE

JSON = r'''
# A JSON document: an object at the top, as chat JSON modes want.
root    ::= object
value   ::= object | array | string | number | ("true" | "false" | "null") ws
object  ::= "{" ws ( string ":" ws value ( "," ws string ":" ws value )* )? "}" ws
array   ::= "[" ws ( value ( "," ws value )* )? "]" ws
string  ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} ) )* "\"" ws
number  ::= "-"? ( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]{1,3} )? ws
ws      ::= | " " | "\n" [ \t]{0,20}
'''

ARITHMETIC = r'''
root ::= expr
expr ::= term ( [-+*/] term )*
term ::= number | "(" expr ")"
number ::= "0" | [1-9] [0-9]*
'''

LIST = r'''
root ::= item+
item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]+ "\n"
'''
LIST_RE = re.compile("(- [^\r\n\x0b\x0c\x85\u2028\u2029]+\n)+")

CHESS = r'''
root ::= "1. " move " " move "\n" ( [1-9] [0-9]? ". " move " " move "\n" )+
move ::= ( pawn | nonpawn | castle ) [+#]?
pawn ::= ( [a-h] "x" )? [a-h] [1-8] ( "=" [NBRQ] )?
nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
castle ::= "O-O" ( "-O" )?
'''
CHESS_MOVE = r"((([a-h]x)?[a-h][1-8](=[NBRQ])?)|([NBKQR][a-h]?[1-8]?x?[a-h][1-8])|(O-O(-O)?))[+#]?"
CHESS_RE = re.compile(rf"1\. {CHESS_MOVE} {CHESS_MOVE}\n([1-9][0-9]?\. {CHESS_MOVE} {CHESS_MOVE}\n)+")

C_LIKE = r'''
root ::= ( declaration )*
declaration ::= type ws identifier ws "(" ws parameters? ")" ws "{" ws statement* "}" ws
parameters ::= type ws identifier ws ( "," ws type ws identifier ws )*
type ::= "int" | "float" | "char" | "void"
statement ::=
    ( type ws identifier ws "=" ws expression ";" ws ) |
    ( identifier ws "=" ws expression ";" ws ) |
    ( "return" ws expression ";" ws ) |
    ( "while" ws "(" ws condition ")" ws "{" ws statement* "}" ws )
condition ::= expression ws relop ws expression ws
relop ::= "<" | ">" | "<=" | ">=" | "==" | "!="
expression ::= term ( ws [-+*/] ws term )*
term ::= identifier | [0-9]+ | "(" ws expression ws ")"
identifier ::= [a-zA-Z_] [a-zA-Z_0-9]*
ws ::= [ \t\n]*
'''


def kind(grammar, text) -> int:
    return match(grammar, text)


# ----------------------------------------------------------- the examples


def random_json(rng: random.Random, depth: int = 0):
    choice = rng.randrange(7 if depth < 3 else 5)
    if choice == 0:
        return rng.choice([True, False, None])
    if choice == 1:
        return rng.randrange(-10**9, 10**9)
    if choice == 2:
        return round(rng.uniform(-1e3, 1e3), rng.randrange(1, 6))
    if choice in (3, 4):
        return "".join(rng.choice('ab "\\\n\t/é€😀\x01') for _ in range(rng.randrange(8)))
    if choice == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{i}{rng.choice('xé')}": random_json(rng, depth + 1) for i in range(rng.randrange(4))}


def test_json_documents_are_accepted_in_any_layout():
    g = gbnf(JSON)
    rng = random.Random(1)
    for _ in range(200):
        doc = {"top": random_json(rng)}
        for text in (json.dumps(doc), json.dumps(doc, ensure_ascii=False), json.dumps(doc, indent=2),
                     json.dumps(doc, separators=(",", ":"))):
            assert kind(g, text) == COMPLETE, text
            assert kind(g, text[:len(text) // 2]) == PREFIX, text


def test_json_rejects_what_json_loads_rejects():
    g = gbnf(JSON)
    rng = random.Random(2)
    rejected = 0
    for _ in range(400):
        text = json.dumps({"a": random_json(rng), "b": [1, 2.5, "x"]})
        i = rng.randrange(len(text))
        mutated = text[:i] + rng.choice('{}[]",:x0-. \\') + text[i + 1:]
        try:
            json.loads(mutated)
        except json.JSONDecodeError:
            rejected += 1
            assert kind(g, mutated) != COMPLETE, mutated
    assert rejected > 100
    for bad in ['{"a": 01}', '{"a": 1.}', '{"a" 1}', '{"a": "\x01"}', "[1]", '{"a": tru}', '{"a": 1,}']:
        assert kind(g, bad) != COMPLETE, bad


def test_arithmetic_agrees_with_pythons_parser():
    g = gbnf(ARITHMETIC)
    rng = random.Random(3)
    alphabet = "0123456789+-*/()"
    seen = {COMPLETE: 0, PREFIX: 0, NO: 0}
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12)))
        seen[kind(g, text)] += 1
        assert (kind(g, text) == COMPLETE) == python_accepts_arithmetic(text), text
    assert min(seen.values()) > 50, seen


def python_accepts_arithmetic(text: str) -> bool:
    """Binary + - * / over non-negative integers and parentheses, no unary minus or plus."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return False

    def ok(node) -> bool:
        if isinstance(node, ast.BinOp):
            return isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)) and ok(node.left) and ok(node.right)
        return isinstance(node, ast.Constant) and type(node.value) is int

    # "//" and "**" parse in Python but are two operators in a row here, and
    # Python allows "00" where the grammar wants a number without leading zeros
    return ok(tree.body) and "//" not in text and "**" not in text and not re.search(r"(^|[^0-9])0[0-9]", text)


def random_list(rng: random.Random) -> str:
    items = ["- milk\n", "- a b\n", "- é\n", "-  \n", "- \n", "- x\u2028y\n", "- x\ry\n", "-x\n", "- x", "\n"]
    return "".join(rng.choice(items) for _ in range(rng.randrange(1, 5)))


def random_game(rng: random.Random) -> str:
    moves = ["e4", "e5", "Nf3", "Nxe5", "exd5", "O-O", "O-O-O", "e8=Q", "Qh5#", "Rad1+", "e9", "Kx", "O-O-O-O", "N", ""]
    text = "".join(f"{n}. {rng.choice(moves)} {rng.choice(moves)}\n" for n in range(1, rng.randrange(2, 5)))
    if rng.random() < 0.3:  # and some damage
        i = rng.randrange(len(text))
        text = text[:i] + rng.choice([" ", "\n", ".", "x", ""]) + text[i + 1:]
    return text


@pytest.mark.parametrize("grammar_text, pattern, make, good", [
    (LIST, LIST_RE, random_list, "- milk\n- eggs\n"),
    (CHESS, CHESS_RE, random_game, "1. e4 e5\n2. Nf3 Nc6\n3. dxc4 O-O-O+\n"),
])
def test_regular_grammars_agree_with_re(grammar_text, pattern, make, good):
    g = gbnf(grammar_text)
    rng = random.Random(4)
    complete = 0
    for _ in range(3000):
        text = make(rng)
        accepted = kind(g, text) == COMPLETE
        complete += accepted
        assert accepted == bool(pattern.fullmatch(text)), repr(text)
    assert 100 < complete < 2900
    assert kind(g, good) == COMPLETE


def test_c_like_programs():
    g = gbnf(C_LIKE)
    good = [
        "int main() { return 0; }",
        "int add(int a, int b) {\n  int c = a + b;\n  return c;\n}\nvoid f() { }",
        "float f(float x) { while (x < 10) { x = x * 2; } return (x - 1) / 3; }",
        "",
    ]
    bad = ["int main( { }", "int main() { return 0 }", "int 1x() {}", "main() {}", "int f() { while x < 1 { } }"]
    for text in good:
        assert kind(g, text) == COMPLETE, text
    for text in bad:
        assert kind(g, text) != COMPLETE, text
    assert kind(g, "int main() { int x = 4") == PREFIX


def test_utf8_classes_and_escapes():
    g = gbnf(r'''root ::= [α-ω]+ "\u00e9" [^a-z\U0001F600] "\x41" .''')
    assert kind(g, "αβé€A😀") == COMPLETE
    assert kind(g, "ωéZA\n") == COMPLETE
    assert kind(g, "αéaA") == NO            # a is excluded
    assert kind(g, "αé😀A") == NO           # so is U+1F600
    assert kind(g, "αβ") == PREFIX
    assert kind(g, "αβé".encode()[:-1]) == PREFIX  # half of é
    assert kind(g, b"\xce") == PREFIX        # the first byte of α
    assert kind(g, b"\xff") == NO            # never UTF-8
    assert kind(g, "αéA".encode() + b"A\xed\xa0\x80") == NO  # a surrogate is no character


def test_repetition_counts():
    g = gbnf(r'''root ::= "a"{2} "b"{1,3} "c"{2,} "d"?''')
    for text, expected in [("aabcc", COMPLETE), ("aabbbcccccd", COMPLETE), ("abcc", NO), ("aabbbbcc", NO),
                           ("aabc", PREFIX), ("aab", PREFIX), ("aabccdd", NO)]:
        assert kind(g, text) == expected, text


def test_root_can_be_chosen():
    g = gbnf('greeting ::= "hi" | "hello"\nroot ::= "x"', root="greeting")
    assert kind(g, "hello") == COMPLETE and kind(g, "x") == NO


# ------------------------------------------------------------ bad grammars


@pytest.mark.parametrize("text, message", [
    ('root ::= "abc', "1:10: the literal is not terminated"),
    ('root ::= [abc', "1:10: the character class is not terminated"),
    ('root ::= "a"\nx ::= y', '2:7: rule "x" refers to "y", which is not defined'),
    ('root ::= expr\nexpr ::= expr "+" term | term\nterm ::= [0-9]', 'rule "expr" is left-recursive (expr → expr)'),
    ('root ::= a\na ::= b? "x" | ""\nb ::= a "y"', "left-recursive"),
    ('root ::= ("a"?)*', 'rule "root" is left-recursive'),
    ('root ::= "a" root', "the language is empty"),
    ('root ::= [^\\x00-\\U0010FFFF]', "the language is empty"),
    ('root ::= "a"\nroot ::= "b"', '2:1: rule "root" is defined twice (first at 1:1)'),
    ('root = "a"', "1:6: expected ::="),
    ('root ::= "\\q"', "1:11: unknown escape"),
    ('root ::= "\\x4"', "the escape needs 2 hexadecimal digits"),
    ('root ::= "\\uD800"', "not a Unicode scalar value"),
    ('root ::= "a"{3,1}', "the maximum is below the minimum"),
    ('root ::= "a"{100000}', "a repetition count above 10000"),
    ('root ::= ("a"', "the ( at 1:10 is not closed"),
    ('root ::= "a")', "unbalanced )"),
    ('root ::= }', "unexpected '}'"),
    ('start ::= "a"', 'there is no rule "root"'),
    ('', "the grammar has no rules"),
    ('# only a comment\n', "the grammar has no rules"),
])
def test_malformed_grammars_are_errors_with_the_place(text, message):
    status, error = compile_gbnf(text)
    assert status == sw.ERROR_INVALID_ARGUMENT
    assert message in error, error


def test_null_arguments():
    lib = sw.load()
    out = ctypes.c_void_p()
    assert lib.swiftlet_grammar_create(None, None, None, ctypes.byref(out)) == sw.ERROR_INVALID_ARGUMENT
    assert lib.swiftlet_grammar_create(None, b'root ::= "a"', None, None) == sw.ERROR_INVALID_ARGUMENT
    r = ctypes.c_int32()
    assert lib.swiftlet_grammar_match(None, b"a", 1, ctypes.byref(r)) == sw.ERROR_INVALID_ARGUMENT
    g = gbnf('root ::= "a"')
    assert lib.swiftlet_grammar_match(g, None, 1, ctypes.byref(r)) == sw.ERROR_INVALID_ARGUMENT
    sw.check(lib.swiftlet_grammar_match(g, None, 0, ctypes.byref(r)))
    assert r.value == PREFIX
    lib.swiftlet_grammar_free(g)
    lib.swiftlet_grammar_free(None)


# --------------------------------------------------------- hostile grammars


def test_huge_and_deep_grammars_stay_bounded():
    chain = "root ::= r0\n" + "".join(f"r{i} ::= r{i + 1} | \"x\"\n" for i in range(20000)) + 'r20000 ::= "y"\n'
    g = gbnf(chain)
    assert kind(g, "x") == COMPLETE and kind(g, "y") == COMPLETE and kind(g, "z") == NO
    deep = "root ::= " + "(" * 200 + '"a"' + ")" * 200
    assert kind(gbnf(deep), "a") == COMPLETE
    status, error = compile_gbnf("root ::= " + "(" * 201 + '"a"' + ")" * 201)
    assert status == sw.ERROR_INVALID_ARGUMENT and "nest deeper than 200" in error
    long_repeats = gbnf('root ::= ("ab" "c"{0,10000} ";"){0,10000}')
    assert kind(long_repeats, ("ab" + "c" * 9000 + ";") * 3) == COMPLETE
    # Repetitions of repetitions that may be empty: 10^8 ways to start,
    # refused by the expansion bound instead of being worked through.
    nested = gbnf('root ::= ((("ab"{0,10000}){0,10000}){0,10000})')
    out = ctypes.c_int32()
    assert sw.load().swiftlet_grammar_match(nested, b"abab", 4, ctypes.byref(out)) == sw.ERROR_OUT_OF_MEMORY
    assert "too many alternatives" in sw.last_error()
    status, error = compile_gbnf('root ::= ' + ' '.join(['"ab"{10000}'] * 500))
    assert status == sw.ERROR_INVALID_ARGUMENT and "larger than" in error


def test_exponential_alternatives_are_bounded():
    # Every "a" may open either kind of pending close: 2^n parses of a^n.
    g = gbnf('root ::= s\ns ::= "a" s "b" | "a" s "c" | ""')
    assert kind(g, "aaabcb") == COMPLETE
    out = ctypes.c_int32()
    data = b"a" * 40
    status = sw.load().swiftlet_grammar_match(g, data, len(data), ctypes.byref(out))
    assert status == sw.ERROR_OUT_OF_MEMORY
    assert "ambiguous" in sw.last_error()
    # Ambiguity that merges back stays cheap however long the input.
    g = gbnf('root ::= ("a" | "a" | "aa" | "a" "a")*')
    assert kind(g, "a" * 20000) == COMPLETE


# ------------------------------------------------- sampling under a grammar


@pytest.fixture(scope="module")
def vocabulary(real_model):
    return Vocabulary(real_model)


def test_mask_equals_brute_force(real_model, vocabulary):
    """Greedy sampling under a grammar picks the best token the grammar
    allows: compared with the argmax over the allowed set found by matching
    each token's bytes after the text so far (no prefix tree, no cache)."""
    g = gbnf(JSON)
    rng = np.random.default_rng(5)
    prefixes = [b"", b"{", b'{"na', b'{"a": [1, tr', b'{"a": "caf\xc3', b'{"x": 12', b'{"a": {}}']
    for prefix in prefixes:
        allowed = np.array(sorted(vocabulary.allowed_after(g, prefix)))
        assert allowed.size > 0
        for trial in range(6):
            sampler = sampler_for(g, temperature=0.0)
            try:
                walk_to(sampler, real_model, vocabulary, prefix)
                logits = rng.normal(0, 3, vocabulary.size).astype(np.float32)
                picked = sample_logits(sampler, real_model, logits)
            finally:
                sw.load().swiftlet_sampler_free(sampler)
            best = allowed[np.argmax(logits[allowed])]
            assert picked == best, (prefix, trial)


def walk_to(sampler, model, vocabulary: Vocabulary, prefix: bytes) -> None:
    """Drives the sampler through `prefix`, one forced token per step (the
    longest token that is a prefix of what is left)."""
    while prefix:
        token = max((t for t in range(vocabulary.size) if vocabulary.has_text[t] and vocabulary.bytes[t]
                     and prefix.startswith(vocabulary.bytes[t])), key=lambda t: len(vocabulary.bytes[t]))
        logits = np.zeros(vocabulary.size, dtype=np.float32)
        logits[token] = 100.0
        assert sample_logits(sampler, model, logits) == token
        prefix = prefix[len(vocabulary.bytes[token]):]


def test_random_walks_of_json_are_json(real_model, vocabulary):
    g = gbnf(JSON)
    done = 0
    for seed in range(40):
        text = random_walk(real_model, vocabulary, g, seed, closing=b'"]}', short_bias=0.3)
        if text is None:
            continue
        done += 1
        assert isinstance(json.loads(text.decode("utf-8")), dict), text
        assert kind(g, text) == COMPLETE
    assert done >= 30


def test_random_walks_split_characters_correctly(real_model, vocabulary):
    """Non-ASCII text comes in tokens that hold parts of characters; the
    walk's bytes must still be whole characters of the class."""
    g = gbnf(r'root ::= [^\x00-\x7F]{3,8}')
    for seed in range(20):
        text = random_walk(real_model, vocabulary, g, seed, max_tokens=40)
        assert text is not None
        decoded = text.decode("utf-8")
        assert 3 <= len(decoded) <= 8 and all(ord(c) > 0x7F for c in decoded), decoded


def test_end_of_generation_only_where_complete(real_model, vocabulary):
    """With end-of-generation as the best logit at every step, the walk
    still runs until the text is complete; once nothing can follow, only
    end-of-generation is left."""
    g = gbnf('root ::= "yes" | "no" | "maybe later"')
    eog = sorted(vocabulary.end_of_generation)
    for seed in range(10):
        sampler = sampler_for(g, seed=seed)
        rng = np.random.default_rng(seed)
        text = b""
        try:
            for _ in range(20):
                logits = rng.normal(0, 1, vocabulary.size).astype(np.float32)
                logits[eog] = 50.0
                token = sample_logits(sampler, real_model, logits)
                if token in vocabulary.end_of_generation:
                    break
                text += vocabulary.bytes[token]
        finally:
            sw.load().swiftlet_sampler_free(sampler)
        assert text in (b"yes", b"no", b"maybe later"), text


def test_sampler_reset_and_errors(real_model, vocabulary):
    lib = sw.load()
    g = gbnf('root ::= "a"')
    sampler = sampler_for(g, temperature=0.0)
    logits = np.zeros(vocabulary.size, dtype=np.float32)
    try:
        first = sample_logits(sampler, real_model, logits)
        assert vocabulary.bytes[first] == b"a"
        assert sample_logits(sampler, real_model, logits) in vocabulary.end_of_generation
        out = ctypes.c_int32()
        data = logits.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        assert lib.swiftlet_sampler_sample_logits(sampler, real_model, data, vocabulary.size, ctypes.byref(out)) \
            == sw.ERROR_INVALID_ARGUMENT
        assert "complete" in sw.last_error()
        assert lib.swiftlet_sampler_sample_logits(sampler, real_model, data, 7, ctypes.byref(out)) \
            == sw.ERROR_INVALID_ARGUMENT
        sw.check(lib.swiftlet_sampler_reset(sampler))
        assert sample_logits(sampler, real_model, logits) == first
    finally:
        lib.swiftlet_sampler_free(sampler)
    lib.swiftlet_grammar_free(g)  # the sampler held its own reference


def test_a_byte_no_token_holds_is_an_error(real_model, vocabulary):
    held = {b for text in vocabulary.bytes for b in text}
    missing = [b for b in range(256) if b not in held]
    if not missing:
        pytest.skip("this vocabulary holds every byte")
    g = gbnf(f'root ::= "\\x{missing[0]:02x}"')
    sampler = sampler_for(g)
    out = ctypes.c_int32()
    logits = np.zeros(vocabulary.size, dtype=np.float32)
    status = sw.load().swiftlet_sampler_sample_logits(
        sampler, real_model, logits.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), vocabulary.size, ctypes.byref(out))
    sw.load().swiftlet_sampler_free(sampler)
    assert status == sw.ERROR_INVALID_ARGUMENT and "no token" in sw.last_error()


@pytest.mark.parametrize("temperature, seed", [(0.0, 0), (0.7, 1), (1.2, 2)])
def test_generate_under_a_grammar_ends_where_it_accepts(real_model, make_context, temperature, seed):
    g = gbnf(r'''root ::= "{\"answer\": " ("\"yes\"" | "\"no\"") ", \"confidence\": " [0-9] "}"''')
    ctx = make_context(real_model, n_ctx=512)
    collector = sw.Collector()
    params = sw.new_generate_params(sampling=dict(temperature=temperature, seed=seed, grammar=g), max_tokens=64,
                                    tokenize_flags=sw.abi.TOKENIZE_SPECIAL | sw.abi.TOKENIZE_MODEL_BOS)
    prompt = "<|im_start|>user\nIs the sky blue? Answer in JSON.<|im_end|>\n<|im_start|>assistant\n"
    status, result = sw.generate(ctx, prompt, params, collector)
    assert status == sw.OK, sw.last_error()
    assert result.stop_reason == sw.abi.STOP_END_OF_GENERATION
    reply = json.loads(b"".join(collector.pieces))
    assert reply["answer"] in ("yes", "no") and 0 <= reply["confidence"] <= 9


def test_a_sentencepiece_vocabulary_follows_a_schema(gemma3_model):
    """Gemma 3's vocabulary (262,144 SentencePiece pieces, "▁" for spaces,
    byte tokens for what has no piece): a schema-constrained chat reply
    validates and ends where the document does."""
    jsonschema = pytest.importorskip("jsonschema")
    lib = sw.load()
    schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20},
                                               "age": {"type": "integer", "minimum": 0, "maximum": 120},
                                               "mood": {"enum": ["happy", "sad"]}},
              "required": ["name", "age", "mood"], "additionalProperties": False}
    grammar = ctypes.c_void_p()
    sw.check(lib.swiftlet_grammar_from_json_schema(gemma3_model, json.dumps(schema).encode(), ctypes.byref(grammar)))
    ctx = sw.context_create(gemma3_model, n_ctx=512)
    try:
        for temperature, seed in [(0.0, 0), (0.8, 1)]:
            lib.swiftlet_context_reset(ctx)
            collector = sw.Collector()
            params = sw.new_generate_params(sampling=dict(temperature=temperature, seed=seed, grammar=grammar),
                                            max_tokens=120)
            result = sw.new_generate_result()
            messages = sw.messages_array([("user", "Invent a person and describe them as JSON.")])
            sw.check(lib.swiftlet_chat(ctx, messages, 1, None, ctypes.byref(params), collector.cfunc, None,
                                       ctypes.byref(result)))
            assert result.stop_reason == sw.abi.STOP_END_OF_GENERATION
            jsonschema.validate(json.loads(b"".join(collector.pieces)), schema)
    finally:
        lib.swiftlet_context_free(ctx)
        lib.swiftlet_grammar_free(grammar)
