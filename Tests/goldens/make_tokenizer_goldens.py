#!/usr/bin/env python3
"""Writes tokenizer_smollm2.json: expected token ids for a hard corpus.

The expected ids come from an implementation independent of Swiftlet: a
Hugging Face `tokenizers` Tokenizer assembled from the GGUF's own vocabulary
and merges, configured like SmolLM2's tokenizer.json (no normalizer;
pre-tokenizer Sequence[Digits(individual_digits=True),
ByteLevel(add_prefix_space=False, use_regex=True)]; ByteLevel decoder).

Special tokens: with parse_special the control tokens are registered as HF
"added tokens" (split out of the text whole); without it, a second tokenizer
that has no added tokens treats "<|im_start|>" as ordinary text -- which is
what llama.cpp does with parse_special=false.

Also writes tokenizer_smollm2_vocab_gpt2_pre.json: the same corpus and
vocabulary with the plain GPT-2 pre-tokenizer (for tokenizer.ggml.pre "gpt-2").

Usage: make_tokenizer_goldens.py [MODEL.gguf] [OUT_DIR]
Needs the `gguf` and `tokenizers` pip packages.
"""
import json
import os
import random
import sys

import gguf
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = os.path.expanduser("~/.cache/swiftlet/models/SmolLM2-135M-Instruct.Q4_1.gguf")  # scripts/fetch-model.sh
TOKEN_TYPE_CONTROL = 3
TOKEN_TYPE_USER_DEFINED = 4


def read_gguf_tokenizer(path):
    reader = gguf.GGUFReader(path)

    def strings(key):
        field = reader.fields[key]
        return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

    def ints(key):
        field = reader.fields[key]
        return [int(field.parts[i][0]) for i in field.data]

    def scalar(key):
        field = reader.fields.get(key)
        if field is None:
            return None
        value = field.parts[field.data[0]]
        if field.types[0] == gguf.GGUFValueType.STRING:
            return bytes(value).decode("utf-8")
        return value.tolist()[0]

    return {
        "tokens": strings("tokenizer.ggml.tokens"),
        "token_types": ints("tokenizer.ggml.token_type"),
        "merges": strings("tokenizer.ggml.merges"),
        "model": scalar("tokenizer.ggml.model"),
        "pre": scalar("tokenizer.ggml.pre"),
        "bos": scalar("tokenizer.ggml.bos_token_id"),
        "eos": scalar("tokenizer.ggml.eos_token_id"),
        "add_bos": scalar("tokenizer.ggml.add_bos_token"),
    }


def build_hf_tokenizer(meta, with_special_tokens, pre="smollm"):
    vocab = {text: index for index, text in enumerate(meta["tokens"])}
    # A GGUF merge is "LEFT RIGHT"; split at the first space after the first
    # character (the left part may itself be a space in exotic vocabularies).
    merges = []
    for merge in meta["merges"]:
        cut = merge.index(" ", 1)
        merges.append((merge[:cut], merge[cut + 1:]))
    model = models.BPE(vocab=vocab, merges=merges, unk_token=None, fuse_unk=False, byte_fallback=False)
    tokenizer = Tokenizer(model)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre == "smollm":
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    elif pre == "gpt-2":
        tokenizer.pre_tokenizer = byte_level
    else:
        raise ValueError(pre)
    tokenizer.decoder = decoders.ByteLevel()
    if with_special_tokens:
        specials = [
            AddedToken(text, special=True, normalized=False, lstrip=False, rstrip=False, single_word=False)
            for text, kind in zip(meta["tokens"], meta["token_types"])
            if kind in (TOKEN_TYPE_CONTROL, TOKEN_TYPE_USER_DEFINED)
        ]
        tokenizer.add_special_tokens(specials)
    return tokenizer


def hand_written_corpus():
    """(name, text, parse_special) triples aimed at the pre-tokenizer's corners."""
    cases = [
        ("empty", ""),
        ("single_space", " "),
        ("two_spaces", "  "),
        ("single_tab", "\t"),
        ("single_newline", "\n"),
        ("three_newlines", "\n\n\n"),
        ("space_newline_mix", " \n \n  \n\t\n"),
        ("spaces_then_word", "   hello"),
        ("word_then_spaces", "hello   "),
        ("word_spaces_word", "hello    world"),
        ("tabs_between_words", "a\tb\t\tc\t\t\td"),
        ("newlines_between_words", "one\ntwo\n\nthree\n\n\nfour"),
        ("crlf", "line one\r\nline two\r\n"),
        ("trailing_spaces_lines", "trailing   \nspaces  \n"),
        ("space_before_newline_word", "a \nb"),
        ("mixed_whitespace_before_word", "x  \t \n y"),
        ("unicode_spaces", "a\u00a0b\u2003c\u3000d\u2028e\u0085f"),
        ("vertical_tab_formfeed", "a\x0bb\x0cc"),
        ("digits", "1234567890"),
        ("pi", "3.14159"),
        ("million", "1,000,000"),
        ("space_digits", "a 123 b  456"),
        ("digits_letters", "abc123def 4x4 mp3 h264"),
        ("negative_and_sci", "-42 +7 1e-9 0x1F"),
        ("unicode_numbers", "² ½ Ⅻ ٣٤ ௫ ①"),
        ("fullwidth_digits", "１２３ ４"),
        ("punctuation_run", "!!!??? ... --- *** ;;; ::"),
        ("punct_space_mix", "Hello, world! (yes) [no] {maybe} <tag/>"),
        ("quotes", "\"double\" 'single' `back` «guillemets» “curly” ‘curly’"),
        ("contractions", "I'm you'll they'd DON'T we've she's it'd you're"),
        ("contraction_edge", "'s 's' ''s 'S 'll' x'ss rock'n'roll"),
        ("apostrophe_alone", "' '' ''' ' '"),
        ("accents", "café naïve Ångström"),
        ("combining", "cafe\u0301 nai\u0308ve A\u030angstro\u0308m"),
        ("combining_alone", "\u0301\u0308 x\u20dd"),
        ("cjk", "你好世界 こんにちは 안녕하세요"),
        ("cjk_punct", "你好，世界！「引用」。"),
        ("emoji_zwj", "👨‍👩‍👧‍👦 🏳️‍🌈 👍🏽"),
        ("emoji_plain", "🙂🙂🙂 🚀 a🚀b"),
        ("flags", "🇯🇵🇺🇸"),
        ("python_code", "def f(x):\n    return x ** 2  # square\n\nprint(f(3))\n"),
        ("c_code_tabs", "int main(void) {\n\tint a[3] = {1, 2, 3};\n\tfor (int i = 0; i < 3; ++i) {\n\t\tprintf(\"%d\\n\", a[i]);\n\t}\n\treturn 0;\n}\n"),
        ("json_snippet", "{\"key\": [1, 2.5, null, true], \"nested\": {\"a\": \"b\"}}"),
        ("html", "<div class=\"x\">Hi &amp; bye</div>"),
        ("url_email", "https://example.com/path?q=1&r=two#frag mail@example.org"),
        ("mixed_scripts", "English Русский Ελληνικά עברית العربية हिन्दी ไทย"),
        ("rtl_marks", "abc\u200fdef\u200e ghi\u200bjkl"),
        ("long_word", "Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism"),
        ("very_long_word", "supercalifragilistic" * 20),
        ("repeated_char", "a" * 300),
        ("repeated_space", " " * 100 + "x"),
        ("repeated_newline", "\n" * 50),
        ("underscores", "__init__ snake_case_name CONSTANT_VALUE"),
        ("camel", "camelCaseIdentifier XMLHttpRequest getHTTPResponseCode"),
        ("math_symbols", "∑∫√∞ ≤ ≥ ≠ ± × ÷ → ⇒"),
        ("currency", "$100 €50 £20 ¥1000 ₹500"),
        ("control_chars", "a\x01b\x07c\x1bd"),
        ("missing_byte_tokens", "x\x04y\x06z\x13\x14\x16\x1d"),
        ("nul", "a\x00b"),
        ("noncharacter", "a\ufffeb\uffffc"),
        ("replacement_char", "bad \ufffd here"),
        ("private_use", "\ue000\U000f0000"),
        ("plane4_char_missing_lead_byte", "a\U00040000b"),
        ("special_text_plain", "<|im_start|>user\nhi<|im_end|>"),
        ("special_partial", "<|im_start|<|im_end|> <|im_sta"),
        ("endoftext_text", "end<|endoftext|>start"),
        ("chat_turns", "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"),
        ("specials_adjacent", "<|im_end|><|im_end|><|im_start|><repo_name><reponame>"),
        ("special_with_spaces", " <|im_start|> x <|im_end|>  "),
        ("jupyter_tokens", "<jupyter_code>print(1)<jupyter_output>1<empty_output>"),
    ]
    corpus = []
    for name, text in cases:
        # Every case is checked both ways; for text without specials the two
        # agree, which is itself a useful check.
        corpus.append((name, text, False))
        corpus.append((name + "+special", text, True))
    return corpus


def prose_sample():
    """A few KB of realistic English and code (for timing and broad coverage)."""
    import textwrap
    with open(textwrap.__file__, encoding="utf-8") as handle:
        return handle.read()[:6000]


def random_corpus(count, seed):
    """Random strings over a pool built to hit pre-tokenizer boundaries."""
    pool = (
        list("abcXYZ019 ") + [" ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000"]
        + list(".,!?'\"-_()[]{}<>|/\\#$%^&*+=~`@:;")
        + ["'s", "'t", "'re", "'ll", "'D", "é", "e\u0301", "ß", "Ω", "ж", "中", "日本", "한", "ا", "्", "\u0308"]
        + ["²", "½", "٣", "１", "Ⅻ"]
        + ["🙂", "👍🏽", "‍", "🏳️‍🌈", "\ufe0f", "\x00"]
        + ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im", "|>"]
        + ["the", " the", "ing", " and", "tion", "Hello", " world", "123", "\n\n"]
    )
    rng = random.Random(seed)
    corpus = []
    for index in range(count):
        length = rng.randint(1, 40)
        text = "".join(rng.choice(pool) for _ in range(length))
        corpus.append((f"random_{index}", text, index % 2 == 1))
    return corpus


def make_document(meta, model_path, pre, corpus):
    plain = build_hf_tokenizer(meta, with_special_tokens=False, pre=pre)
    special = build_hf_tokenizer(meta, with_special_tokens=True, pre=pre)
    cases = []
    for name, text, parse_special in corpus:
        tokenizer = special if parse_special else plain
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        # Round trip: decoding every id (control tokens rendered as their
        # text) gives the text back, except where the vocabulary lacks a
        # byte (HF and llama.cpp both drop such bytes).
        decoded = tokenizer.decode(ids, skip_special_tokens=False)
        cases.append({
            "name": name,
            "text": text,
            "text_hex": text.encode("utf-8").hex(),
            "parse_special": parse_special,
            "add_bos": False,
            "ids": ids,
            "round_trips": decoded == text,
        })
    return {
        "description": "Tokenizer goldens from HF tokenizers (see make_tokenizer_goldens.py). "
                       "ids exclude BOS (add_bos false). parse_special: control tokens written in "
                       "the text are recognised. round_trips: decoding ids with control tokens "
                       "rendered as their text gives text back exactly.",
        "model_file": os.path.basename(model_path),
        "pre_tokenizer": pre,
        "tokenizers_version": __import__("tokenizers").__version__,
        "vocab_size": len(meta["tokens"]),
        "bos_id": meta["bos"],
        "eos_id": meta["eos"],
        "cases": cases,
    }


def main():
    model_path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL
    out_dir = sys.argv[2] if len(sys.argv) > 2 else HERE
    meta = read_gguf_tokenizer(model_path)
    assert meta["model"] == "gpt2" and meta["pre"] == "smollm", (meta["model"], meta["pre"])

    corpus = hand_written_corpus()
    corpus.append(("prose_and_code_6k", prose_sample(), False))
    corpus.extend(random_corpus(400, seed=20240611))

    # The model's own pre-tokenizer, and (for Swiftlet's "gpt-2" pre-tokenizer)
    # the same vocabulary with the plain GPT-2 split.
    for pre, file_name in (("smollm", "tokenizer_smollm2.json"), ("gpt-2", "tokenizer_smollm2_vocab_gpt2_pre.json")):
        document = make_document(meta, model_path, pre, corpus)
        out_path = os.path.join(out_dir, file_name)
        with open(out_path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, ensure_ascii=True, indent=1)
        lossy = sum(not case["round_trips"] for case in document["cases"])
        print(f"wrote {len(document['cases'])} cases ({lossy} not round-tripping) to {out_path}")


if __name__ == "__main__":
    main()
