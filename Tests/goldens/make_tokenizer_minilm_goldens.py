#!/usr/bin/env python3
"""Goldens for the WordPiece (BERT) tokenizer read from a Hugging Face tokenizer.json:
HF `tokenizers`' own token ids for a hard corpus on all-MiniLM-L6-v2's tokenizer.json.

    python3 Tests/goldens/make_tokenizer_minilm_goldens.py [MODEL_FOLDER]

(MODEL_FOLDER defaults to $SWIFTLET_MODEL_MINILM, see scripts/fetch-minilm.sh.) Writes
Tests/goldens/tokenizer_minilm.json. Truncation and padding are switched off: the embedding
code truncates, not the tokenizer. Each text is tokenized three ways:
  "plain":   add_special_tokens=False ("[CLS]" written in the text is still its one id, as HF does)
  "wrapped": add_special_tokens=True  ([CLS] ... [SEP])
  "literal": add_special_tokens=False with encode_special_tokens=True ("[CLS]" is plain text)
Texts are stored as hex too, so control characters survive any JSON reader.
"""
import hashlib
import json
import os
import sys
from pathlib import Path

import tokenizers

LONG_WORD = "a" * 101
CORPUS: list[str] = [
    "",
    " ",
    "   \t\t \n\n\r\n  ",
    "Hello, World!",
    "hello world",
    "HELLO WORLD",
    "The quick brown fox jumps over the lazy dog.",
    "unaffable",
    "playing played plays player",
    "  leading and trailing spaces   ",
    "tab\tseparated\tvalues\nand\nnewlines\r\nCRLF",
    "non\u00a0breaking\u2003em\u3000ideographic spaces",
    "control\x00null\x01soh\x07bel\x0bvt\x0cff\x1bescape\x7fdel\u0085nel",
    "format\u200bzero\u200cwidth\u200djoiner\ufeffbom\u00adsoft-hyphen",
    "replacement \ufffd char",
    "private \ue000 use",
    "café résumé naïve",
    "Åsa Ñandú Øresund Ærø",
    "e\u0301 combining acute, a\u0308 diaeresis, n\u0303 tilde",
    "İstanbul ǅemal ß ẞ ﬁ ﬀ",
    "ΑΘΗΝΑ Ελληνικά ΣΊΣΥΦΟΣ",
    "Москва Кириллица",
    "我想在apple工作1314151天",
    "日本語のテキスト、カタカナとひらがな。",
    "한국어 텍스트 안녕하세요",
    "𠀀𠀁 extension B and 𪜀 extension C",
    "\U0002b820\U0002b920 extension E edges",
    "CJK compatibility 豈 更",
    "emoji 😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️",
    "newer emoji 🫠 🥹 🪿",
    "digits 0123456789 3.14159 1,000,000 ٣٤٥ ४५६",
    "punctuation!!! ??? ... --- ((())) [[]] {{}} <<>> ''\"\" `~@#$%^&*_+=|\\/",
    "unicode punctuation «quoted» „low“ ‘single’ — em – en … ellipsis ¿¡ ·",
    "symbols © ® ™ € £ ¥ ° ± × ÷ → ∑ √ ∞",
    "https://www.example.com/path/to/page?query=1&x=y#frag",
    "email someone@example.org now",
    "def f(x): return x**2 + 1  # code\nif (a && b) { c[i] = d->e; }",
    LONG_WORD,
    "a" * 100,
    "short " + "supercalifragilisticexpialidocious" * 3 + " after",
    "long word with accents " + "é" * 101,
    "ᚠᚢᚦᚨᚱᚲ runes ꦲꦏ꧀ javanese 𓀀 hieroglyph",
    "ትግርኛ ge'ez ᏣᎳᎩ cherokee ⴰⵣⵓⵍ tifinagh",
    "Tiếng Việt có dấu",
    "עברית ושלום العربية مرحبا",
    "हिन्दी देवनागरी தமிழ்",
    "ไทย ภาษาไทย",
    "[CLS]",
    "[CLS] sentence [SEP]",
    "fill the [MASK] here",
    "[cls] lowercase is not special",
    "[UNK][PAD][MASK]",
    "text[SEP]glued[CLS]together",
    "[unused0] [unused1]",
    "MiXeD CaSe, ünïcödé & números 42 — 中文 mixed with English!",
    "a\u0300\u0301\u0302b\u0323\u0307c",
    "ﬃ ligature, ℌ𝔢𝔩𝔩𝔬 fraktur, ①②③ circled, ｆｕｌｌｗｉｄｔｈ",
    "Straße STRASSE straße",
    "x" * 30 + " " + "y" * 30,
    "\u2028line\u2029paragraph separators",
    "sentence one. sentence two? sentence three!",
]


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ["SWIFTLET_MODEL_MINILM"])
    path = folder / "tokenizer.json"
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def ids(text: str, add_special: bool, literal: bool) -> list[int]:
        tokenizer.encode_special_tokens = literal
        return tokenizer.encode(text, add_special_tokens=add_special).ids

    cases = [{
        "text": text,
        "text_hex": text.encode("utf-8").hex(),
        "plain": ids(text, False, False),
        "wrapped": ids(text, True, False),
        "literal": ids(text, False, True),
    } for text in CORPUS]
    document = {
        "generator": f"tokenizers {tokenizers.__version__}",
        "tokenizer_json_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
        "cases": cases,
    }
    out = Path(__file__).resolve().parent / "tokenizer_minilm.json"
    out.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
