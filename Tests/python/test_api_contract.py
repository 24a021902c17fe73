"""The API rules of include/swiftlet.h, checked through ctypes on the tiny
models (and lightly on the real model from $SWIFTLET_MODEL_Q4_1)."""
from __future__ import annotations

import ctypes
import dataclasses
import os
import re
import struct
import threading
from ctypes import byref, c_char_p, c_float, c_int32, c_size_t, c_void_p

import numpy as np
import pytest

import gguf
from gguf import GGMLQuantizationType as QT

import make_tiny_models as mk
import reference_llama as R
import swiftlet_ctypes as sw

TINY = "tiny-f32-mha-tied"
SPEC = mk.SPECS_BY_NAME[TINY]
V = mk.VOCAB
N_VOCAB = V.n_vocab
HEADER = os.path.join(sw.REPO_ROOT, "include", "swiftlet.h")

# validated against llama.cpp's tokenizer on these models (validate_reference_with_llamacpp.py)
HELLO_TEXT = "hello the world and"
HELLO_IDS = [292, 262, 296, 100, 288]  # "hello" " the" " worl" "d" " and"
PROMPT = "hello the world"
PROMPT_IDS = [292, 262, 296, 100]


@pytest.fixture
def model(tiny_model):
    return tiny_model(TINY)


def status_name(st):
    return sw.STATUS_NAMES.get(st, str(st))


def expect(st, want, what=""):
    assert st == want, f"{what}: got {status_name(st)}, want {status_name(want)} ({sw.last_error()!r})"
    if want != sw.OK:
        assert sw.last_error() != "", f"{what}: last_error empty after a failure"


# ------------------------------------------------------------------ versions


def test_version_matches_header(lib):
    text = open(HEADER).read()
    macros = {k: int(v) for k, v in re.findall(r"#define SWIFTLET_VERSION_(MAJOR|MINOR|PATCH) (\d+)", text)}
    string = re.search(r'#define SWIFTLET_VERSION_STRING "([^"]+)"', text).group(1)
    number = macros["MAJOR"] * 1000000 + macros["MINOR"] * 1000 + macros["PATCH"]
    assert string == f"{macros['MAJOR']}.{macros['MINOR']}.{macros['PATCH']}"
    assert lib.swiftlet_version().decode() == string
    assert lib.swiftlet_version_number() == number
    assert (string, number) == (sw.SWIFTLET_VERSION_STRING, sw.SWIFTLET_VERSION_NUMBER), "swiftlet_ctypes is stale"


def test_every_header_function_is_exported_and_wrapped(lib):
    code = re.sub(r"/\*.*?\*/", "", open(HEADER).read(), flags=re.S)  # declarations, not prose
    declared = set(re.findall(r"SWIFTLET_API[^;(]*?\b(swiftlet_[a-z_0-9]+)\s*\(", code))
    assert len(declared) > 30
    assert declared == set(sw.FUNCTION_NAMES)
    for name in declared:
        assert hasattr(lib, name), name


# -------------------------------------------------------------------- errors


def test_status_strings(lib):
    names = {}
    for st in range(0, 13):
        s = lib.swiftlet_status_string(st)
        assert s is not None and s.decode() != ""
        names[st] = s.decode()
    assert len(set(names.values())) == 13, names
    assert names[sw.ERROR_CONTEXT_FULL] == "context full"
    assert names[sw.ERROR_BUSY] == "context busy"
    for bad in (13, 999, -1):
        assert lib.swiftlet_status_string(bad).decode() == "unknown status"


def test_last_error_is_per_thread(lib, model):
    seen = {}

    def fresh():
        seen["fresh"] = lib.swiftlet_last_error()

    t = threading.Thread(target=fresh)
    t.start()
    t.join()
    assert seen["fresh"] == b"", "a thread that made no failing call must see \"\""
    expect(lib.swiftlet_context_eval(None, None, 0), sw.ERROR_INVALID_ARGUMENT, "eval(NULL)")
    msg = lib.swiftlet_last_error()
    assert msg

    def other():
        seen["other"] = lib.swiftlet_last_error()
        st = lib.swiftlet_model_load(b"/nonexistent/swiftlet.gguf", None, byref(c_void_p()))
        seen["other_status"] = st
        seen["other_msg"] = lib.swiftlet_last_error()

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen["other"] == b""
    assert seen["other_status"] == sw.ERROR_IO and seen["other_msg"]
    assert lib.swiftlet_last_error() == msg, "another thread's failure changed this thread's error"


def test_log_callback(lib, tiny_paths):
    got = []

    def cb(level, message, user):
        got.append((level, message))

    keep = sw.LOG_CALLBACK(cb)
    lib.swiftlet_set_log_callback(keep, None)
    try:
        h = sw.model_load(tiny_paths[TINY])
        lib.swiftlet_model_free(h)
    finally:
        lib.swiftlet_set_log_callback(sw.LOG_CALLBACK(), None)
    # A load is reported once, at INFO, naming the file.
    assert len(got) == 1, got
    level, message = got[0]
    assert level == sw.LOG_INFO and os.path.basename(tiny_paths[TINY]).encode() in message
    # With the callback removed the library is silent again.
    lib.swiftlet_model_free(sw.model_load(tiny_paths[TINY]))
    assert len(got) == 1


# -------------------------------------------------------------- NULL handling


def test_null_arguments_are_invalid_argument(lib, model, make_context, tiny_paths):
    ctx = make_context(model, n_ctx=32)
    smp = sw.sampler_create(temperature=0.0)
    try:
        out_ptr = c_void_p()
        n = c_size_t()
        tok = c_int32()
        buf = ctypes.create_string_buffer(64)
        toks = sw.token_array([1, 2, 3])
        logits = (c_float * (3 * N_VOCAB))()
        msgs = sw.messages_array([("user", "hi")])
        mp, cp, spar = sw.new_model_params(), sw.new_context_params(), sw.new_sampler_params()
        path = os.fsencode(tiny_paths[TINY])  # a loadable file: only the NULL is wrong
        calls = {
            "memory_get_info(NULL)": lambda: lib.swiftlet_memory_get_info(None),
            "model_load(NULL path)": lambda: lib.swiftlet_model_load(None, byref(mp), byref(out_ptr)),
            "model_load(NULL out)": lambda: lib.swiftlet_model_load(path, None, None),
            "model_get_info(NULL model)": lambda: lib.swiftlet_model_get_info(None, byref(sw.new_model_info())),
            "model_get_info(NULL info)": lambda: lib.swiftlet_model_get_info(model, None),
            "meta_key(NULL model)": lambda: lib.swiftlet_model_meta_key(None, 0, buf, 64, byref(n)),
            "meta_key(NULL buf, size>0)": lambda: lib.swiftlet_model_meta_key(model, 0, None, 64, byref(n)),
            "meta_value(NULL model)": lambda: lib.swiftlet_model_meta_value(None, b"general.name", buf, 64, byref(n)),
            "meta_value(NULL key)": lambda: lib.swiftlet_model_meta_value(model, None, buf, 64, byref(n)),
            "meta_value(NULL buf, size>0)": lambda: lib.swiftlet_model_meta_value(model, b"general.name", None, 64, byref(n)),
            "tokenize(NULL model)": lambda: lib.swiftlet_tokenize(None, b"hi", 2, 0, toks, 3, byref(n)),
            "tokenize(NULL text)": lambda: lib.swiftlet_tokenize(model, None, 2, 0, toks, 3, byref(n)),
            "tokenize(NULL tokens, capacity>0)": lambda: lib.swiftlet_tokenize(model, b"hi", 2, 0, None, 3, byref(n)),
            "tokenize(NULL out_count)": lambda: lib.swiftlet_tokenize(model, b"hi", 2, 0, toks, 3, None),
            "token_to_bytes(NULL model)": lambda: lib.swiftlet_token_to_bytes(None, 65, buf, 64, byref(n)),
            "token_to_bytes(NULL buf, size>0)": lambda: lib.swiftlet_token_to_bytes(model, 65, None, 64, byref(n)),
            "detokenize(NULL model)": lambda: lib.swiftlet_detokenize(None, toks, 3, buf, 64, byref(n)),
            "detokenize(NULL tokens)": lambda: lib.swiftlet_detokenize(model, None, 3, buf, 64, byref(n)),
            "detokenize(NULL buf, size>0)": lambda: lib.swiftlet_detokenize(model, toks, 3, None, 64, byref(n)),
            "context_create(NULL model)": lambda: lib.swiftlet_context_create(None, byref(cp), byref(out_ptr)),
            "context_create(NULL out)": lambda: lib.swiftlet_context_create(model, byref(cp), None),
            "context_eval(NULL ctx)": lambda: lib.swiftlet_context_eval(None, toks, 3),
            "context_eval(NULL tokens)": lambda: lib.swiftlet_context_eval(ctx, None, 3),
            "eval_all_logits(NULL ctx)": lambda: lib.swiftlet_context_eval_all_logits(None, toks, 3, logits, 3 * N_VOCAB),
            "eval_all_logits(NULL tokens)": lambda: lib.swiftlet_context_eval_all_logits(ctx, None, 3, logits, 3 * N_VOCAB),
            "eval_all_logits(NULL logits, capacity>0)": lambda: lib.swiftlet_context_eval_all_logits(ctx, toks, 3, None, 3 * N_VOCAB),
            "context_rewind(NULL)": lambda: lib.swiftlet_context_rewind(None, 0),
            "sampler_create(NULL out)": lambda: lib.swiftlet_sampler_create(byref(spar), None),
            "sampler_sample(NULL sampler)": lambda: lib.swiftlet_sampler_sample(None, ctx, byref(tok)),
            "sampler_sample(NULL ctx)": lambda: lib.swiftlet_sampler_sample(smp, None, byref(tok)),
            "sampler_sample(NULL out)": lambda: lib.swiftlet_sampler_sample(smp, ctx, None),
            "generate(NULL ctx)": lambda: lib.swiftlet_generate(None, b"hi", None, sw.TOKEN_CALLBACK(), None, None),
            "generate(NULL prompt)": lambda: lib.swiftlet_generate(ctx, None, None, sw.TOKEN_CALLBACK(), None, None),
            "chat_format(NULL model)": lambda: lib.swiftlet_chat_format(None, msgs, 1, None, buf, 64, byref(n)),
            "chat_format(NULL messages)": lambda: lib.swiftlet_chat_format(model, None, 1, None, buf, 64, byref(n)),
            "chat_format(NULL buf, size>0)": lambda: lib.swiftlet_chat_format(model, msgs, 1, None, None, 64, byref(n)),
            "chat(NULL ctx)": lambda: lib.swiftlet_chat(None, msgs, 1, None, None, sw.TOKEN_CALLBACK(), None, None),
            "chat(NULL messages)": lambda: lib.swiftlet_chat(ctx, None, 1, None, None, sw.TOKEN_CALLBACK(), None, None),
            "context_reset(NULL)": lambda: lib.swiftlet_context_reset(None),
        }
        for what, call in calls.items():
            expect(call(), sw.ERROR_INVALID_ARGUMENT, what)
        assert out_ptr.value is None, "an out-parameter was written by a failing call"
        assert lib.swiftlet_context_position(ctx) == 0, "a failing call evaluated something"
        # a message with a NULL role or content
        bad = (sw.ChatMessage * 1)()
        bad[0].role = None
        bad[0].content = b"hi"
        bad[0].struct_size = ctypes.sizeof(sw.ChatMessage)
        expect(lib.swiftlet_chat_format(model, bad, 1, None, buf, 64, byref(n)), sw.ERROR_INVALID_ARGUMENT,
               "chat_format(role NULL)")
        # documented NULL-tolerant calls: no crash, documented results
        assert lib.swiftlet_model_meta_count(None) == 0
        assert lib.swiftlet_vocab_size(None) == 0
        assert lib.swiftlet_token_is_end_of_generation(None, V.eos_id) == 0
        assert not lib.swiftlet_context_logits(None)
        lib.swiftlet_context_position(None)
        lib.swiftlet_context_size(None)
        for free in ("swiftlet_model_free", "swiftlet_context_free", "swiftlet_sampler_free",
                     "swiftlet_context_cancel"):
            getattr(lib, free)(None)
        for init in ("swiftlet_model_params_init", "swiftlet_context_params_init",
                     "swiftlet_sampler_params_init", "swiftlet_generate_params_init", "swiftlet_chat_params_init"):
            getattr(lib, init)(None)
        lib.swiftlet_context_params_init_sized(None, ctypes.sizeof(sw.ContextParams))
        lib.swiftlet_set_log_callback(sw.LOG_CALLBACK(), None)
        # out_len may be NULL for meta_key
        expect(lib.swiftlet_model_meta_key(model, 0, buf, 64, None), sw.OK, "meta_key(out_len NULL)")
    finally:
        lib.swiftlet_sampler_free(smp)


# ------------------------------------------------------------- model loading


def test_model_load_errors(lib, tmp_path, tiny_paths):
    def load_status(path):
        out = c_void_p(12345)
        st = lib.swiftlet_model_load(os.fsencode(path), None, byref(out))
        if st == sw.OK:
            lib.swiftlet_model_free(out)
        else:
            assert out.value == 12345, "out_model written on failure"
        return st

    expect(load_status(tmp_path / "missing.gguf"), sw.ERROR_IO, "missing file")
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"this is not a gguf file at all" * 100)
    expect(load_status(garbage), sw.ERROR_INVALID_FILE, "not GGUF")
    good = open(tiny_paths[TINY], "rb").read()
    for cut in (10, 200, len(good) // 2, len(good) - 7):
        trunc = tmp_path / f"trunc{cut}.gguf"
        trunc.write_bytes(good[:cut])
        expect(load_status(trunc), sw.ERROR_INVALID_FILE, f"truncated at {cut}")
    p = mk.write_model(dataclasses.replace(SPEC, name="arch", architecture="mamba"), str(tmp_path / "arch.gguf"))
    expect(load_status(p), sw.ERROR_UNSUPPORTED, "unknown architecture")
    p = mk.write_model(dataclasses.replace(SPEC, name="tq20", wtype=QT.TQ2_0, n_embd=256, n_ff=256),
                       str(tmp_path / "tq20.gguf"))
    expect(load_status(p), sw.ERROR_UNSUPPORTED, "TQ2_0 tensors")
    p = mk.write_model(dataclasses.replace(SPEC, name="drop", drop_tensor="blk.1.ffn_up.weight"),
                       str(tmp_path / "drop.gguf"))
    expect(load_status(p), sw.ERROR_NOT_FOUND, "missing tensor")
    bad_specs = [
        ("pre", dict(tokenizer_pre="no-such-pre"), sw.ERROR_UNSUPPORTED, "unknown pre-tokenizer"),
        ("ugm", dict(tokenizer_model="t5"), sw.ERROR_UNSUPPORTED, "unsupported tokenizer model"),
        ("spm", dict(tokenizer_model="llama"), sw.ERROR_INVALID_FILE, "SentencePiece vocabulary without scores"),
        ("nokey", dict(omit_key="llama.embedding_length"), sw.ERROR_NOT_FOUND, "missing hyperparameter key"),
        ("notok", dict(omit_key="tokenizer.ggml.tokens"), sw.ERROR_NOT_FOUND, "missing vocabulary"),
        ("shape", dict(transpose_tensor="blk.0.ffn_up.weight"), sw.ERROR_INVALID_FILE, "tensor shape disagrees"),
    ]
    for name, change, status, what in bad_specs:
        p = mk.write_model(dataclasses.replace(SPEC, name=name, **change), str(tmp_path / f"{name}.gguf"))
        expect(load_status(p), status, what)
    expect(load_status(tiny_paths[TINY]), sw.OK, "good file")


@pytest.mark.parametrize("name", [s.name for s in mk.STANDARD_SPECS])
def test_model_info_matches_hyperparameters(lib, tiny_model, references, name):
    spec = mk.SPECS_BY_NAME[name]
    info = sw.model_info(tiny_model(name))
    assert info.architecture == b"llama"
    assert info.name.decode() == spec.name
    assert (info.n_vocab, info.n_ctx_train, info.n_embd, info.n_layer, info.n_head, info.n_head_kv, info.n_ff) == \
        (N_VOCAB, spec.n_ctx_train, spec.n_embd, spec.n_layer, spec.n_head, spec.n_head_kv, spec.n_ff)
    assert info.n_params == references[name].n_params
    assert (info.bos_token, info.eos_token) == (V.bos_id, V.eos_id)
    assert lib.swiftlet_vocab_size(tiny_model(name)) == N_VOCAB


def test_metadata(lib, model, tiny_paths):
    reader = gguf.GGUFReader(tiny_paths[TINY])
    keys = [k for k in reader.fields if not k.startswith("GGUF.")]
    assert lib.swiftlet_model_meta_count(model) == len(keys)
    assert [sw.meta_key(model, i) for i in range(len(keys))] == keys
    n = c_size_t()
    buf = ctypes.create_string_buffer(256)
    for bad in (-1, len(keys)):
        expect(lib.swiftlet_model_meta_key(model, bad, buf, 256, byref(n)), sw.ERROR_INVALID_ARGUMENT, f"key {bad}")
    expect(lib.swiftlet_model_meta_value(model, b"no.such.key", buf, 256, byref(n)), sw.ERROR_NOT_FOUND, "no key")
    assert sw.meta_value(model, "general.architecture") == "llama"
    assert sw.meta_value(model, "llama.block_count") == str(SPEC.n_layer)
    assert sw.meta_value(model, "tokenizer.ggml.add_bos_token") == "false"
    assert float(sw.meta_value(model, "llama.attention.layer_norm_rms_epsilon")) == pytest.approx(1e-5, rel=1e-6)
    merges = sw.meta_value(model, "tokenizer.ggml.merges")
    assert merges.startswith('["') and merges.endswith('"]')
    types = sw.meta_value(model, "tokenizer.ggml.token_type")
    assert types.startswith("[1, 1, ") and types.endswith(", 3, 3, 3]")


def test_meta_size_reporting(lib, model):
    key = b"general.architecture"
    n = c_size_t(0)
    small = ctypes.create_string_buffer(4)
    expect(lib.swiftlet_model_meta_key(model, 0, small, 4, byref(n)), sw.ERROR_BUFFER_TOO_SMALL, "meta_key small")
    assert n.value == len(key)
    exact = ctypes.create_string_buffer(len(key))
    expect(lib.swiftlet_model_meta_key(model, 0, exact, len(key), byref(n)), sw.ERROR_BUFFER_TOO_SMALL,
           "meta_key without room for NUL")
    expect(lib.swiftlet_model_meta_key(model, 0, None, 0, byref(n)), sw.ERROR_BUFFER_TOO_SMALL, "meta_key size query")
    assert n.value == len(key)
    ok = ctypes.create_string_buffer(b"\xff" * (len(key) + 1))
    expect(lib.swiftlet_model_meta_key(model, 0, ok, len(key) + 1, byref(n)), sw.OK, "meta_key fits")
    assert ok.raw[: len(key) + 1] == key + b"\0"
    expect(lib.swiftlet_model_meta_value(model, key, small, 4, byref(n)), sw.ERROR_BUFFER_TOO_SMALL, "meta_value small")
    assert n.value == len("llama")
    ok = ctypes.create_string_buffer(6)
    expect(lib.swiftlet_model_meta_value(model, key, ok, 6, byref(n)), sw.OK, "meta_value fits")
    assert ok.raw == b"llama\0"


# ------------------------------------------------------------------ tokenizer


def test_tokenize_and_size_reporting(lib, model):
    data = HELLO_TEXT.encode()
    n = c_size_t(0)
    expect(lib.swiftlet_tokenize(model, data, len(data), 0, None, 0, byref(n)), sw.ERROR_BUFFER_TOO_SMALL, "size query")
    assert n.value == len(HELLO_IDS)
    small = (c_int32 * 2)()
    expect(lib.swiftlet_tokenize(model, data, len(data), 0, small, 2, byref(n)), sw.ERROR_BUFFER_TOO_SMALL, "capacity 2")
    assert n.value == len(HELLO_IDS)
    assert sw.tokenize(model, HELLO_TEXT) == HELLO_IDS
    assert sw.tokenize(model, PROMPT) == PROMPT_IDS
    assert sw.tokenize(model, HELLO_TEXT, sw.TOKENIZE_ADD_BOS) == [V.bos_id] + HELLO_IDS
    # the empty text: zero tokens, OK even as a size query
    expect(lib.swiftlet_tokenize(model, b"", 0, 0, None, 0, byref(n)), sw.OK, "empty text")
    assert n.value == 0
    # special tokens only with the flag
    assert sw.tokenize(model, "<|im_end|>", sw.TOKENIZE_SPECIAL) == [V.eot_id]
    assert V.eot_id not in sw.tokenize(model, "<|im_end|>")
    # invalid UTF-8 becomes byte tokens
    assert sw.tokenize(model, b"\xff\xfe") == [0xFF, 0xFE] and V.token_bytes(0xFF) == b"\xff"


def test_token_bytes_and_detokenize(lib, model):
    for b in range(256):
        assert sw.token_to_bytes(model, b) == bytes([b]), b
    assert sw.token_to_bytes(model, 292) == b"hello"
    n = c_size_t(0)
    buf = ctypes.create_string_buffer(2)
    expect(lib.swiftlet_token_to_bytes(model, 292, buf, 2, byref(n)), sw.ERROR_BUFFER_TOO_SMALL, "token_to_bytes small")
    assert n.value == 5
    for bad in (-1, N_VOCAB, 1 << 30):
        expect(lib.swiftlet_token_to_bytes(model, bad, ctypes.create_string_buffer(64), 64, byref(n)),
               sw.ERROR_INVALID_ARGUMENT, f"token_to_bytes({bad})")
    # detokenize: control tokens produce no text; sizes exclude the NUL
    toks = [V.bos_id] + HELLO_IDS + [V.eos_id]
    assert sw.detokenize(model, toks) == HELLO_TEXT
    arr = sw.token_array(toks)
    L = len(HELLO_TEXT)
    for size in (0, 3, L):
        b = ctypes.create_string_buffer(max(size, 1))
        expect(lib.swiftlet_detokenize(model, arr, len(toks), b if size else None, size, byref(n)),
               sw.ERROR_BUFFER_TOO_SMALL, f"detokenize size {size}")
        assert n.value == L
    b = ctypes.create_string_buffer(L + 1)
    expect(lib.swiftlet_detokenize(model, arr, len(toks), b, L + 1, byref(n)), sw.OK, "detokenize fits")
    assert b.raw == HELLO_TEXT.encode() + b"\0"
    # invalid UTF-8 becomes U+FFFD
    assert "\ufffd" in sw.detokenize(model, [0xFF, ord("a")])
    for bad in (-1, N_VOCAB):
        expect(lib.swiftlet_detokenize(model, sw.token_array([65, bad]), 2, ctypes.create_string_buffer(64), 64,
                                       byref(n)), sw.ERROR_INVALID_ARGUMENT, f"detokenize({bad})")
    assert lib.swiftlet_token_is_end_of_generation(model, V.eos_id) == 1
    assert lib.swiftlet_token_is_end_of_generation(model, 292) == 0


def test_chat_format_chatml_and_sizes(lib, model):
    msgs = [("system", "be brief"), ("user", "hello")]
    want = "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n"
    assert sw.chat_format(model, msgs, False) == want
    assert sw.chat_format(model, msgs, True) == want + "<|im_start|>assistant\n"
    arr = sw.messages_array(msgs)
    n = c_size_t(0)
    for size in (0, 10, len(want)):
        b = ctypes.create_string_buffer(max(size, 1))
        no_prompt = sw.new_chat_params(add_generation_prompt=0)
        expect(lib.swiftlet_chat_format(model, arr, 2, byref(no_prompt), b if size else None, size, byref(n)),
               sw.ERROR_BUFFER_TOO_SMALL, f"chat_format size {size}")
        assert n.value == len(want)
    # NULL params: the defaults, which add the generation prompt
    b = ctypes.create_string_buffer(len(want) + 64)
    expect(lib.swiftlet_chat_format(model, arr, 2, None, b, len(b), byref(n)), sw.OK, "chat_format NULL params")
    assert b.value.decode() == want + "<|im_start|>assistant\n"


def test_chat_params_defaults_and_a_callers_template(lib, model):
    p = sw.new_chat_params()
    assert p.struct_size == ctypes.sizeof(sw.ChatParams)
    assert p.add_generation_prompt == 1 and not p.chat_template
    msgs = [("system", "be brief"), ("user", "hello")]
    own = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<bot>{% endif %}"
    assert sw.chat_format(model, msgs, True, chat_template=own) == "<system>be brief<user>hello<bot>"
    assert sw.chat_format(model, msgs, False, chat_template=own) == "<system>be brief<user>hello"
    # the messages' struct_size is their stride: a wrong one is refused
    arr = sw.messages_array(msgs)
    arr[0].struct_size = 8
    n = c_size_t()
    expect(lib.swiftlet_chat_format(model, arr, 2, None, None, 0, byref(n)), sw.ERROR_INVALID_ARGUMENT,
           "chat message struct_size 8")
    # a template that does not parse is TEMPLATE, and the model's own still works
    broken = sw.new_chat_params(chat_template="{% for m in messages %}")
    expect(lib.swiftlet_chat_format(model, sw.messages_array(msgs), 2, byref(broken), None, 0, byref(n)),
           sw.ERROR_TEMPLATE, "a caller's template that does not parse")
    assert sw.chat_format(model, msgs, False).startswith("<|im_start|>system")


# ------------------------------------------------------------------ contexts


def test_invalid_tokens_in_eval(lib, model, make_context):
    ctx = make_context(model, n_ctx=32)
    sw.eval_tokens(ctx, [1, 2])
    logits = (c_float * (4 * N_VOCAB))()
    for bad in ([-1], [N_VOCAB], [5, N_VOCAB + 7], [3, -2147483648]):
        arr = sw.token_array(bad)
        expect(lib.swiftlet_context_eval(ctx, arr, len(bad)), sw.ERROR_INVALID_ARGUMENT, f"eval {bad}")
        expect(lib.swiftlet_context_eval_all_logits(ctx, arr, len(bad), logits, 4 * N_VOCAB),
               sw.ERROR_INVALID_ARGUMENT, f"eval_all_logits {bad}")
        assert lib.swiftlet_context_position(ctx) == 2
    expect(lib.swiftlet_context_eval(ctx, sw.token_array([1]), 0), sw.ERROR_INVALID_ARGUMENT, "n_tokens 0")
    # too little room for the logits: BUFFER_TOO_SMALL before evaluating
    expect(lib.swiftlet_context_eval_all_logits(ctx, sw.token_array([1, 2, 3]), 3, logits, 3 * N_VOCAB - 1),
           sw.ERROR_BUFFER_TOO_SMALL, "eval_all_logits capacity")
    assert lib.swiftlet_context_position(ctx) == 2
    sw.eval_tokens(ctx, [3])
    assert lib.swiftlet_context_position(ctx) == 3


def test_context_full(lib, model, make_context):
    ctx = make_context(model, n_ctx=16)
    assert lib.swiftlet_context_size(ctx) == 16
    expect(lib.swiftlet_context_eval(ctx, sw.token_array(list(range(17))), 17), sw.ERROR_CONTEXT_FULL, "17 > 16")
    assert lib.swiftlet_context_position(ctx) == 0
    assert sw.logits(ctx, N_VOCAB) is None
    sw.eval_tokens(ctx, list(range(10)))
    before = sw.logits(ctx, N_VOCAB)
    expect(lib.swiftlet_context_eval(ctx, sw.token_array(list(range(7))), 7), sw.ERROR_CONTEXT_FULL, "10 + 7 > 16")
    logits = (c_float * (7 * N_VOCAB))()
    expect(lib.swiftlet_context_eval_all_logits(ctx, sw.token_array(list(range(7))), 7, logits, 7 * N_VOCAB),
           sw.ERROR_CONTEXT_FULL, "eval_all_logits 10 + 7 > 16")
    assert lib.swiftlet_context_position(ctx) == 10
    assert np.array_equal(sw.logits(ctx, N_VOCAB), before), "nothing may be evaluated on CONTEXT_FULL"
    sw.eval_tokens(ctx, list(range(6)))
    assert lib.swiftlet_context_position(ctx) == 16
    expect(lib.swiftlet_context_eval(ctx, sw.token_array([1]), 1), sw.ERROR_CONTEXT_FULL, "full")


def test_context_defaults(lib, model, make_context):
    p = sw.new_context_params()
    assert p.struct_size == ctypes.sizeof(sw.ContextParams)
    assert p.n_ctx == 0 and p.n_threads == 0 and p.n_batch in (0, 256)
    assert (p.n_seq_max, p.overflow, p.n_keep, p.n_discard) == (1, sw.abi.OVERFLOW_ERROR, 4, 0)
    ctx = make_context(model, n_ctx=0)
    assert lib.swiftlet_context_size(ctx) == min(SPEC.n_ctx_train, 4096)
    out = c_void_p()
    expect(lib.swiftlet_context_create(model, None, byref(out)), sw.OK, "NULL params = defaults")
    lib.swiftlet_context_free(out)
    for bad in (dict(n_ctx=-1), dict(n_threads=-1), dict(n_batch=-1)):
        cp = sw.new_context_params(**bad)
        out = c_void_p()
        expect(lib.swiftlet_context_create(model, byref(cp), byref(out)), sw.ERROR_INVALID_ARGUMENT, str(bad))


def test_context_params_init_writes_only_the_size_it_is_given(lib):
    """The guarantee that let swiftlet_context_params grow in 0.4.0: a caller
    compiled against an older header has the 16-byte struct of 0.1-0.3 and
    calls the unsized init (the exported symbol, not the header's macro),
    which must write those 16 bytes and nothing after them; the sized init
    writes exactly the size it is given (at most the whole struct), with
    struct_size saying how much, and nothing below the 0.3 size."""
    full = ctypes.sizeof(sw.ContextParams)
    assert full == 32
    defaults = struct.pack("<iiiiiii", 0, 0, 0, 1, sw.abi.OVERFLOW_ERROR, 4, 0)  # the fields after struct_size

    def written_by(call):
        buffer = (ctypes.c_uint8 * 48)(*([0xAB] * 48))
        call(ctypes.cast(buffer, ctypes.POINTER(sw.ContextParams)))
        return bytes(buffer)

    old = written_by(lib.swiftlet_context_params_init)
    assert old[16:] == b"\xab" * 32, "the unsized init wrote past the 0.3 struct"
    assert struct.unpack_from("<I", old)[0] == 16 and old[4:16] == defaults[:12]
    for size in (16, 20, 24, 28, 32, 40):
        data = written_by(lambda p: lib.swiftlet_context_params_init_sized(p, size))
        size_written = min(size, full)
        assert data[size_written:] == b"\xab" * (48 - size_written), size
        assert struct.unpack_from("<I", data)[0] == size_written, size
        assert data[4:size_written] == defaults[:size_written - 4], size
    for size in (0, 8, 15):
        assert written_by(lambda p: lib.swiftlet_context_params_init_sized(p, size)) == b"\xab" * 48, size


def test_sampler_params_init_writes_only_the_size_it_is_given(lib):
    """swiftlet_sampler_params grew a grammar pointer in 0.5.0, as the
    context params did in 0.4.0: the unsized init (what callers compiled
    against 0.4 call) writes the 40 bytes of the old struct and nothing
    after; the sized init writes what it is told, grammar NULL included."""
    full = ctypes.sizeof(sw.SamplerParams)
    assert full == 48
    # the fields after struct_size: temperature, top_k, top_p, min_p, penalty, last_n, reserved, seed, grammar
    defaults = struct.pack("<fifffiIQQ", 0.8, 40, 0.95, 0.05, 1.0, 64, 0, 0, 0)

    def written_by(call):
        buffer = (ctypes.c_uint8 * 64)(*([0xAB] * 64))
        call(ctypes.cast(buffer, ctypes.POINTER(sw.SamplerParams)))
        return bytes(buffer)

    old = written_by(lib.swiftlet_sampler_params_init)
    assert old[40:] == b"\xab" * 24, "the unsized init wrote past the 0.4 struct"
    assert struct.unpack_from("<I", old)[0] == 40 and old[4:40] == defaults[:36]
    for size in (40, 44, 48, 56):
        data = written_by(lambda p: lib.swiftlet_sampler_params_init_sized(p, size))
        size_written = min(size, full)
        assert data[size_written:] == b"\xab" * (64 - size_written), size
        assert struct.unpack_from("<I", data)[0] == size_written, size
        assert data[4:size_written] == defaults[:size_written - 4], size
    for size in (0, 8, 39):
        assert written_by(lambda p: lib.swiftlet_sampler_params_init_sized(p, size)) == b"\xab" * 64, size


def test_rewind_rules(lib, model, make_context):
    ctx = make_context(model, n_ctx=32)
    sw.eval_tokens(ctx, list(range(8)))
    for bad in (9, 100, -1):
        expect(lib.swiftlet_context_rewind(ctx, bad), sw.ERROR_INVALID_ARGUMENT, f"rewind {bad}")
        assert lib.swiftlet_context_position(ctx) == 8
    assert sw.logits(ctx, N_VOCAB) is not None
    expect(lib.swiftlet_context_rewind(ctx, 8), sw.OK, "rewind to current")
    expect(lib.swiftlet_context_rewind(ctx, 0), sw.OK, "rewind to 0")
    assert lib.swiftlet_context_position(ctx) == 0
    assert sw.logits(ctx, N_VOCAB) is None


def test_cancel_while_nothing_runs_does_nothing(lib, model, make_context):
    """A cancel applies only to the call running when it is made: one made
    while the context is idle is not kept for the next call."""
    ctx = make_context(model, n_ctx=32)
    lib.swiftlet_context_cancel(ctx)
    sw.eval_tokens(ctx, [1, 2, 3])
    assert lib.swiftlet_context_position(ctx) == 3
    sw.eval_tokens(ctx, [4])
    lib.swiftlet_context_cancel(ctx)
    lib.swiftlet_context_cancel(ctx)
    st, res = sw.generate(ctx, "", greedy_params(3), sw.Collector())
    expect(st, sw.OK, "generate after idle cancels")
    assert res.n_generated_tokens == 3 and lib.swiftlet_context_position(ctx) == 7


def test_cancel_from_a_callback_stops_only_that_call(lib, model, make_context):
    """Cancelled from its own token callback: the call returns CANCELLED, and
    the next call runs to its end."""
    ctx = make_context(model, n_ctx=64)

    def cancel_at_2(c):
        if len(c.tokens) == 2:
            lib.swiftlet_context_cancel(ctx)
        return True

    st, res = sw.generate(ctx, PROMPT, greedy_params(20), sw.Collector(on_token=cancel_at_2))
    expect(st, sw.ERROR_CANCELLED, "cancelled from the callback")
    assert res.stop_reason == sw.STOP_CANCELLED and res.n_generated_tokens == 2
    st, res = sw.generate(ctx, "", greedy_params(4), sw.Collector())
    expect(st, sw.OK, "the next call")
    assert res.n_generated_tokens == 4


def test_a_call_cancelled_before_any_work_keeps_the_logits(lib, model, make_context, references):
    """A chat cancelled from its first callback leaves nothing half-done: the
    one token delivered was not evaluated, and the logits stay those of the
    last evaluated token, so generation continues from there exactly."""
    ctx = make_context(model, n_ctx=64)
    sw.eval_tokens(ctx, PROMPT_IDS)
    before = sw.logits(ctx, N_VOCAB)

    def cancel_first(c):
        lib.swiftlet_context_cancel(ctx)
        return True

    col = sw.Collector(on_token=cancel_first)
    st, res = sw.generate(ctx, "", greedy_params(5), col)
    expect(st, sw.ERROR_CANCELLED, "cancelled at the first token")
    assert lib.swiftlet_context_position(ctx) == len(PROMPT_IDS)
    assert np.array_equal(sw.logits(ctx, N_VOCAB), before)
    assert col.tokens == [int(np.argmax(before))]


def test_calls_that_change_a_running_context_are_busy(lib, model, make_context):
    """From inside its own callback, eval/generate/rewind/reset of the running
    context return BUSY and change nothing; queries and sampling work."""
    ctx = make_context(model, n_ctx=64)
    seen = {}

    def inside(c):
        if len(c.tokens) == 1:
            pos = lib.swiftlet_context_position(ctx)
            seen["eval"] = lib.swiftlet_context_eval(ctx, sw.token_array([5]), 1)
            seen["rewind"] = lib.swiftlet_context_rewind(ctx, 0)
            seen["reset"] = lib.swiftlet_context_reset(ctx)
            seen["generate"], _ = sw.generate(ctx, "x", greedy_params(1))
            seen["position"] = (pos, lib.swiftlet_context_position(ctx), lib.swiftlet_context_size(ctx))
            smp = sw.sampler_create(temperature=0.0)
            tok = c_int32()
            seen["sample"] = lib.swiftlet_sampler_sample(smp, ctx, byref(tok))
            lib.swiftlet_sampler_free(smp)
        return True

    st, res = sw.generate(ctx, PROMPT, greedy_params(3), sw.Collector(on_token=inside))
    expect(st, sw.OK, "the running generate")
    assert res.n_generated_tokens == 3
    for call in ("eval", "rewind", "reset", "generate"):
        assert seen[call] == sw.ERROR_BUSY, (call, seen)
    assert seen["position"][0] == seen["position"][1] and seen["position"][2] == 64
    assert seen["sample"] == sw.OK
    assert lib.swiftlet_context_position(ctx) == len(PROMPT_IDS) + 3


def test_context_freed_from_its_own_callback(lib, model):
    """swiftlet_context_free inside the token callback: the running generate
    stops with CANCELLED, no further callback comes, and the memory is
    released when the call returns."""
    sw.memory_info()
    start = sw.memory_info().bytes_allocated
    ctx = sw.context_create(model, n_ctx=64, n_threads=2)
    calls = []

    def free_at_2(c):
        calls.append(len(c.tokens))
        if len(c.tokens) == 2:
            lib.swiftlet_context_free(ctx)
        return True

    col = sw.Collector(on_token=free_at_2)
    st, res = sw.generate(ctx, PROMPT, greedy_params(20), col)
    expect(st, sw.ERROR_CANCELLED, "generate whose context was freed by its callback")
    assert res.stop_reason == sw.STOP_CANCELLED
    assert calls == [1, 2]
    assert sw.memory_info().bytes_allocated == start


def test_free_order_never_matters(lib, tiny_paths):
    """The model freed before its context: the context keeps it alive and
    still generates what it generated before; everything goes with the context."""
    start = sw.memory_info()
    model = sw.model_load(tiny_paths[TINY], n_threads=1)
    ctx = sw.context_create(model, n_ctx=64, n_threads=1)
    other = sw.context_create(model, n_ctx=64, n_threads=1)
    expected, got = sw.Collector(), sw.Collector()
    expect(sw.generate(other, PROMPT, greedy_params(6), expected)[0], sw.OK, "generate before the model's free")
    lib.swiftlet_context_free(other)
    lib.swiftlet_model_free(model)
    expect(sw.generate(ctx, PROMPT, greedy_params(6), got)[0], sw.OK, "generate after the model's free")
    assert got.tokens == expected.tokens
    lib.swiftlet_context_free(ctx)
    after = sw.memory_info()
    assert (after.bytes_allocated, after.bytes_mapped) == (start.bytes_allocated, start.bytes_mapped)


# -------------------------------------------------------------------- memory


def test_memory_info(lib, tiny_model, tiny_paths):
    info = sw.memory_info()
    assert info.allocator and info.allocator.decode() != ""

    model = sw.model_load(tiny_paths["tiny-q8_0-mqa-tied"])  # a private copy: Q8_0 is used from the mapping
    try:
        loaded = sw.memory_info()
        assert loaded.bytes_mapped > 0
        ctx = sw.context_create(model, n_ctx=128, n_threads=2)
        with_ctx = sw.memory_info()
        # KV cache alone: 2 (k, v) * n_layer * n_ctx * n_head_kv * head_dim floats >= 12 KiB here
        assert with_ctx.bytes_allocated > loaded.bytes_allocated
        lib.swiftlet_context_free(ctx)
        freed = sw.memory_info()
        assert freed.bytes_allocated < with_ctx.bytes_allocated
    finally:
        lib.swiftlet_model_free(model)
    after = sw.memory_info()
    assert after.bytes_mapped < loaded.bytes_mapped


# ------------------------------------------------------------------ sampling


def test_sampler_defaults_and_validation(lib):
    p = sw.new_sampler_params()
    assert p.struct_size == ctypes.sizeof(sw.SamplerParams)
    assert (p.temperature, p.top_k, p.top_p, p.min_p, p.repeat_penalty, p.repeat_last_n, p.seed) == \
        (pytest.approx(0.8), 40, pytest.approx(0.95), pytest.approx(0.05), 1.0, 64, 0)
    nan = float("nan")
    bad = [dict(temperature=nan), dict(temperature=-0.5), dict(top_k=-1), dict(top_p=0.0), dict(top_p=1.5),
           dict(top_p=nan), dict(min_p=-0.1), dict(min_p=1.5), dict(min_p=nan), dict(repeat_penalty=nan),
           dict(repeat_penalty=-1.0), dict(repeat_last_n=-1)]
    for fields in bad:
        out = c_void_p()
        sp = sw.new_sampler_params(**fields)
        expect(lib.swiftlet_sampler_create(byref(sp), byref(out)), sw.ERROR_INVALID_ARGUMENT, str(fields))
        assert out.value is None
    for fields in (dict(top_p=1.0), dict(min_p=0.0), dict(min_p=1.0), dict(temperature=0.0), dict(top_k=0)):
        lib.swiftlet_sampler_free(sw.sampler_create(**fields))


def test_greedy_is_argmax(lib, model, make_context):
    ctx = make_context(model, n_ctx=64)
    smp = sw.sampler_create(temperature=0.0)
    try:
        tok = c_int32()
        expect(lib.swiftlet_sampler_sample(smp, ctx, byref(tok)), sw.ERROR_INVALID_ARGUMENT, "no logits yet")
        sw.eval_tokens(ctx, PROMPT_IDS)
        for _ in range(8):
            lg = sw.logits(ctx, N_VOCAB)
            sw.check(lib.swiftlet_sampler_sample(smp, ctx, byref(tok)))
            assert tok.value == int(np.argmax(lg))
            sw.eval_tokens(ctx, [tok.value])
    finally:
        lib.swiftlet_sampler_free(smp)


def _sample_run(lib, model, seed, n=12):
    ctx = sw.context_create(model, n_ctx=64, n_threads=2)
    smp = sw.sampler_create(temperature=1.0, seed=seed, top_k=0, top_p=1.0, min_p=0.0)
    try:
        sw.eval_tokens(ctx, PROMPT_IDS)
        out, tok = [], c_int32()
        for _ in range(n):
            sw.check(lib.swiftlet_sampler_sample(smp, ctx, byref(tok)))
            assert 0 <= tok.value < N_VOCAB
            out.append(tok.value)
            sw.eval_tokens(ctx, [tok.value])
        return out
    finally:
        lib.swiftlet_sampler_free(smp)
        lib.swiftlet_context_free(ctx)


def test_same_seed_same_sequence(lib, model):
    assert _sample_run(lib, model, 1234) == _sample_run(lib, model, 1234)
    assert _sample_run(lib, model, 99) == _sample_run(lib, model, 99)


# ---------------------------------------------------------------- generation


def greedy_params(max_tokens):
    return sw.new_generate_params(max_tokens=max_tokens, sampling=dict(temperature=0.0))


def test_generate_params_defaults(lib, model, make_context):
    p = sw.new_generate_params()
    assert p.struct_size == ctypes.sizeof(sw.GenerateParams)
    assert not p.sampling  # NULL: the sampler defaults
    assert p.max_tokens == 256 and p.reserved == 0
    assert p.tokenize_flags == sw.TOKENIZE_MODEL_BOS
    # NULL sampling draws as explicit default sampler params (seed 0) do
    runs = []
    for sampling in (None, {}):
        ctx = make_context(model, n_ctx=64)
        col = sw.Collector()
        expect(sw.generate(ctx, PROMPT, sw.new_generate_params(max_tokens=12, sampling=sampling), col)[0], sw.OK,
               f"sampling={sampling}")
        runs.append(col.tokens)
    assert runs[0] == runs[1]
    # a sampling struct without its struct_size is refused before anything runs
    bad = sw.new_generate_params(max_tokens=2, sampling={"struct_size": 0})
    ctx = make_context(model, n_ctx=64)
    expect(sw.generate(ctx, PROMPT, bad, sw.Collector())[0], sw.ERROR_INVALID_ARGUMENT, "sampling.struct_size 0")
    assert lib.swiftlet_context_position(ctx) == 0


def test_generate_callback_stop(lib, model, make_context):
    ctx = make_context(model, n_ctx=128)
    col = sw.Collector(stop_after=3)
    st, res = sw.generate(ctx, PROMPT, greedy_params(50), col)
    expect(st, sw.OK, "generate")
    assert res.stop_reason == sw.STOP_CALLBACK
    assert res.n_generated_tokens == 3 and len(col.tokens) == 3
    assert res.n_prompt_tokens == len(PROMPT_IDS)


def test_generate_continues_and_empty_prompt(lib, model, make_context):
    """Delivered tokens are evaluated: the position counts them, and an empty
    prompt continues exactly where the last generation stopped."""
    ctx = make_context(model, n_ctx=128)
    st, _ = sw.generate(ctx, "", greedy_params(3), sw.Collector())
    expect(st, sw.ERROR_INVALID_ARGUMENT, "empty prompt on an empty context")
    first, second = sw.Collector(), sw.Collector()
    st, res = sw.generate(ctx, PROMPT, greedy_params(4), first)
    expect(st, sw.OK, "generate")
    assert lib.swiftlet_context_position(ctx) == len(PROMPT_IDS) + 4
    st, res = sw.generate(ctx, "", greedy_params(3), second)
    expect(st, sw.OK, "continue with an empty prompt")
    assert res.n_prompt_tokens == 0 and lib.swiftlet_context_position(ctx) == len(PROMPT_IDS) + 7
    whole = sw.Collector()
    st, _ = sw.generate(make_context(model, n_ctx=128), PROMPT, greedy_params(7), whole)
    assert first.tokens + second.tokens == whole.tokens


def test_generate_max_tokens_and_matches_manual_greedy(lib, model, make_context):
    ctx = make_context(model, n_ctx=128)
    col = sw.Collector()
    st, res = sw.generate(ctx, PROMPT, greedy_params(7), col)
    expect(st, sw.OK, "generate")
    assert res.stop_reason == sw.STOP_MAX_TOKENS
    assert res.n_generated_tokens == 7 and len(col.tokens) == 7
    # the same tokens by hand: eval the prompt, argmax, eval, ...
    ctx2 = make_context(model, n_ctx=128)
    sw.eval_tokens(ctx2, PROMPT_IDS)
    manual = []
    for _ in range(7):
        t = int(np.argmax(sw.logits(ctx2, N_VOCAB)))
        manual.append(t)
        sw.eval_tokens(ctx2, [t])
    assert col.tokens == manual
    # NULL params / callback / result are allowed. The defaults ask for 256
    # tokens, more than this 128-token context holds: it runs until full.
    expect(lib.swiftlet_generate(ctx, PROMPT.encode(), None, sw.TOKEN_CALLBACK(), None, None), sw.ERROR_CONTEXT_FULL,
           "generate with NULLs")
    assert lib.swiftlet_context_position(ctx) == 128


def test_generate_same_seed_same_text(lib, model):
    runs = []
    for _ in range(2):
        ctx = sw.context_create(model, n_ctx=128, n_threads=2)
        try:
            col = sw.Collector()
            p = sw.new_generate_params(max_tokens=20, sampling=dict(temperature=0.9, seed=777))
            st, res = sw.generate(ctx, PROMPT, p, col)
            expect(st, sw.OK, "generate")
            runs.append(col.tokens)
        finally:
            lib.swiftlet_context_free(ctx)
    assert runs[0] == runs[1] and len(runs[0]) == 20


def test_generate_context_full(lib, model, make_context):
    ctx = make_context(model, n_ctx=16)
    col = sw.Collector()
    st, res = sw.generate(ctx, PROMPT, greedy_params(100), col)
    expect(st, sw.ERROR_CONTEXT_FULL, "generate into a full context")
    assert res.stop_reason == sw.STOP_CONTEXT_FULL
    assert lib.swiftlet_context_position(ctx) <= 16
    assert res.n_generated_tokens == len(col.tokens) <= 16 - len(PROMPT_IDS) + 1


def test_cancel_from_another_thread(lib, model, make_context, references):
    """The callback of the 2nd token waits until another thread has called
    swiftlet_context_cancel(): the cancel deterministically lands while
    generate runs. Generation cannot end by itself on the tiny models (EOS
    has logit exactly 0, far below the maximum), so the result must be
    CANCELLED."""
    ctx = make_context(model, n_ctx=128)
    started, cancelled = threading.Event(), threading.Event()

    def on_token(c):
        if len(c.tokens) == 2:
            started.set()
            assert cancelled.wait(30)
        return True

    def canceller():
        if started.wait(30):
            lib.swiftlet_context_cancel(ctx)
            cancelled.set()

    t = threading.Thread(target=canceller)
    t.start()
    col = sw.Collector(on_token=on_token)
    st, res = sw.generate(ctx, PROMPT, greedy_params(100), col)
    t.join()
    assert cancelled.is_set()
    expect(st, sw.ERROR_CANCELLED, "cancelled generate")
    assert res.stop_reason == sw.STOP_CANCELLED
    assert res.n_generated_tokens == len(col.tokens) and 2 <= len(col.tokens) <= 3
    # usable afterwards: the cache holds the prompt and the fully evaluated tokens
    pos = lib.swiftlet_context_position(ctx)
    n_gen_in_cache = pos - len(PROMPT_IDS)
    assert 1 <= n_gen_in_cache <= len(col.tokens)
    seq = PROMPT_IDS + col.tokens[:n_gen_in_cache] + [65]
    sw.eval_tokens(ctx, [65])
    assert lib.swiftlet_context_position(ctx) == pos + 1
    exp = R.expected_logits(references[TINY], seq)
    got = sw.logits(ctx, N_VOCAB).astype(np.float64)
    assert np.max(np.abs(got - exp.exact[-1])) <= exp.tol_exact, R.describe_mismatch(got, exp.exact[-1], exp.tol_exact)
    st, res = sw.generate(ctx, " and", greedy_params(3), sw.Collector())
    expect(st, sw.OK, "generate after cancel")
    assert res.n_generated_tokens == 3


def test_chat_reuses_prefix(lib, model, make_context):
    ctx = make_context(model, n_ctx=128)
    col = sw.Collector()
    p = greedy_params(4)
    res = sw.new_generate_result()
    msgs = [("user", "hello")]
    st = lib.swiftlet_chat(ctx, sw.messages_array(msgs), 1, None, byref(p), col.cfunc, None, byref(res))
    expect(st, sw.OK, "chat")
    assert res.n_generated_tokens == 4
    first = sw.tokenize(model, sw.chat_format(model, msgs, True), sw.TOKENIZE_SPECIAL)
    assert res.n_prompt_tokens == len(first)
    reply = sw.detokenize(model, col.tokens)
    msgs2 = msgs + [("assistant", reply), ("user", "and the world")]
    full = sw.tokenize(model, sw.chat_format(model, msgs2, True), sw.TOKENIZE_SPECIAL)
    res2 = sw.new_generate_result()
    st = lib.swiftlet_chat(ctx, sw.messages_array(msgs2), 3, None, byref(p), sw.TOKEN_CALLBACK(), None, byref(res2))
    expect(st, sw.OK, "chat turn 2")
    # The context held first + the 4 generated tokens. Re-tokenizing the
    # rendered reply can merge across the boundary ("\n" + "\n\n" → "\n\n" ...),
    # so exactly the longest common prefix of the two token lists is reused.
    held = first + col.tokens
    shared = 0
    while shared < min(len(held), len(full) - 1) and held[shared] == full[shared]:
        shared += 1
    assert shared >= len(first) - 1
    assert res2.n_prompt_tokens == len(full) - shared


# ---------------------------------------------------------------- real model


def test_real_model_basics(lib, real_model, make_context):
    info = sw.model_info(real_model)
    assert info.architecture == b"llama" and info.n_vocab > 1000 and info.n_layer > 0
    ids = sw.tokenize(real_model, "Hello, world!")
    assert ids and sw.detokenize(real_model, ids) == "Hello, world!"
    text = sw.chat_format(real_model, [("user", "Hi")], True)
    assert "Hi" in text
    ctx = make_context(real_model, n_ctx=64)
    col = sw.Collector()
    st, res = sw.generate(ctx, "The capital of France is", greedy_params(4), col)
    assert st == sw.OK and res.n_generated_tokens == len(col.tokens) <= 4
