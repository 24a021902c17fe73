"""The WordPiece (BERT) tokenizer read from a Hugging Face tokenizer.json, and its GGUF form.

Reference: HF `tokenizers` itself. The goldens (Tests/goldens/tokenizer_minilm.json, written by
make_tokenizer_minilm_goldens.py) hold its ids for a hard corpus on all-MiniLM-L6-v2's
tokenizer.json; variants of that file (cased, no CJK handling, a short word limit) are tokenized
by `tokenizers` here in the test. The GGUF metadata is checked against what llama.cpp's
converter writes: its "phantom space" token spelling (BertModel.set_vocab, replayed below) and
gguf-py's SpecialVocab for the special ids and add_* flags.

Driver: build/test-bin/tokenizer-check (Tests/TokenizerCheck; `make build`), or
$SWIFTLET_TOKENIZER_CHECK. Model folder: $SWIFTLET_MODEL_MINILM (the `minilm_folder` fixture).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import gguf
import pytest
import tokenizers

REPO = Path(__file__).resolve().parent.parent.parent
DRIVER = Path(os.environ.get("SWIFTLET_TOKENIZER_CHECK", REPO / "build" / "test-bin" / "tokenizer-check"))
GOLDENS = REPO / "Tests" / "goldens" / "tokenizer_minilm.json"
MODES = {"plain": (0, 1), "wrapped": (1, 1), "literal": (0, 0)}  # golden key -> (add special, parse special)
CLS, SEP, UNK, PAD, MASK = 101, 102, 100, 0, 103


def run(*arguments: str) -> subprocess.CompletedProcess:
    assert DRIVER.is_file(), f"{DRIVER} is missing: run `make build`"
    return subprocess.run([str(DRIVER), *arguments], capture_output=True, text=True, timeout=300)


def json_lines(result: subprocess.CompletedProcess) -> list[dict]:
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def encode(tokenizer_file: Path, tmp_path: Path, cases: list[tuple[int, int, str]]) -> list[dict]:
    """The driver's output for (add special, parse special, text) cases, one dict per case."""
    lines = [f"{special} {parse} {text.encode('utf-8').hex()}" for special, parse, text in cases]
    case_file = tmp_path / "cases.txt"
    case_file.write_text("\n".join(lines) + "\n")
    out = json_lines(run("encode", str(tokenizer_file), str(case_file)))
    assert len(out) == len(cases)
    return out


@pytest.fixture(scope="module")
def tokenizer_json(minilm_folder) -> Path:
    return Path(minilm_folder) / "tokenizer.json"


@pytest.fixture(scope="module")
def goldens(tokenizer_json) -> dict:
    document = json.loads(GOLDENS.read_text(encoding="utf-8"))
    assert document["tokenizer_json_sha256"] == hashlib.sha256(tokenizer_json.read_bytes()).hexdigest(), \
        "the goldens were made from another tokenizer.json: rerun make_tokenizer_minilm_goldens.py"
    for case in document["cases"]:
        assert bytes.fromhex(case["text_hex"]) == case["text"].encode("utf-8")
    return document


@pytest.fixture(scope="module")
def golden_cases(goldens) -> list[tuple[int, int, str]]:
    return [(*MODES[mode], case["text"]) for case in goldens["cases"] for mode in MODES]


def assert_matches_goldens(out: list[dict], goldens: dict) -> None:
    expected = [case[mode] for case in goldens["cases"] for mode in MODES]
    mismatches = [(goldens["cases"][i // 3]["text"][:60], list(MODES)[i % 3], want, got["ids"])
                  for i, (want, got) in enumerate(zip(expected, out)) if got["ids"] != want]
    assert not mismatches, "\n".join(f"{t!r} {m}: HF {w} ours {g}" for t, m, w, g in mismatches[:10])


def test_every_golden_tokenizes_exactly(tokenizer_json, goldens, golden_cases, tmp_path):
    assert_matches_goldens(encode(tokenizer_json, tmp_path, golden_cases), goldens)


def test_framing_and_special_ids(tokenizer_json, goldens):
    info = json_lines(run("info", str(tokenizer_json)))[0]
    assert info == {"vocab_size": goldens["vocab_size"], "bos": CLS, "eos": SEP, "add_bos": True, "add_eos": True,
                    "prefix": [CLS], "suffix": [SEP]}


def test_pieces_decode_with_word_spaces(tokenizer_json, tmp_path):
    """A word-start piece decodes with a leading space, a "##" piece without, specials silently."""
    text = "Unaffable playing, [MASK] ok"
    out = encode(tokenizer_json, tmp_path, [(1, 1, text)])[0]
    hf = tokenizers.Tokenizer.from_file(str(tokenizer_json))
    hf.no_truncation()
    hf.no_padding()
    tokens = hf.encode(text).tokens
    assert [hf.id_to_token(i) for i in out["ids"]] == tokens
    assert tokens[0] == "[CLS]" and any(t.startswith("##") for t in tokens)
    expected = "".join("" if t.startswith("[") else t[2:] if t.startswith("##") else " " + t for t in tokens)
    assert bytes.fromhex(out["pieces_hex"]).decode() == expected == " unaffable playing , ok"


# -- GGUF: the converter's metadata, and the round trip -------------------------------------------

def converter_tokens(tokenizer_json: Path) -> tuple[list[str], list[int]]:
    """llama.cpp's convert_hf_to_gguf.py for a BERT vocabulary: tokens by id, CONTROL (3) for special
    added tokens, USER_DEFINED (4) for other added tokens, NORMAL (1) otherwise, then the phantom
    spelling of BertModel.set_vocab (control as is, "##x" -> "x", else "\u2581" + token)."""
    document = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    by_id = {i: t for t, i in document["model"]["vocab"].items()}
    kinds = {}
    for added in document["added_tokens"]:
        by_id[added["id"]] = added["content"]
        kinds[added["id"]] = 3 if added["special"] else 4
    types = [kinds.get(i, 1) for i in range(len(by_id))]

    def phantom(token: str, kind: int) -> str:
        if kind == 3:
            return token
        return token[2:] if token.startswith("##") else "\u2581" + token
    return [phantom(by_id[i], types[i]) for i in range(len(by_id))], types


def special_vocab_entries(folder: str, n_vocab: int) -> dict[str, object]:
    """What gguf-py's SpecialVocab.add_to_gguf writes, as {key: value}."""
    recorded: dict[str, object] = {}

    class Recorder:
        def __getattr__(self, name: str):
            def record(value):
                if name.startswith("add_add_"):
                    recorded[f"tokenizer.ggml.add_{name[len('add_add_'):]}"] = value
                elif name.endswith("_token_id"):
                    kind = name[len("add_"):-len("_token_id")]
                    key = {"unk": "unknown", "sep": "seperator", "pad": "padding"}.get(kind, kind)
                    recorded[f"tokenizer.ggml.{key}_token_id"] = value
                else:
                    recorded[name] = value
            return record
    gguf.SpecialVocab(folder, n_vocab=n_vocab).add_to_gguf(Recorder(), quiet=True)
    return recorded


def read_gguf_metadata(path: Path) -> dict[str, object]:
    reader = gguf.GGUFReader(str(path))
    values = {}
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        values[name] = field.contents()
    return values


@pytest.fixture(scope="module")
def converted_gguf(tokenizer_json, minilm_folder, tmp_path_factory) -> Path:
    config = json.loads((Path(minilm_folder) / "config.json").read_text())
    out = tmp_path_factory.mktemp("wordpiece") / "minilm-tokenizer.gguf"
    keys = json_lines(run("gguf-keys", str(tokenizer_json), str(out), str(config["type_vocab_size"])))[0]["keys"]
    assert keys[:5] == ["tokenizer.ggml.token_type_count", "tokenizer.ggml.model", "tokenizer.ggml.pre",
                        "tokenizer.ggml.tokens", "tokenizer.ggml.token_type"]
    return out


def test_gguf_metadata_is_what_llama_cpp_writes(converted_gguf, tokenizer_json, minilm_folder):
    ours = read_gguf_metadata(converted_gguf)
    tokens, types = converter_tokens(tokenizer_json)
    assert ours.pop("general.architecture") == "bert"
    assert ours.pop("tokenizer.ggml.tokens") == tokens
    assert ours.pop("tokenizer.ggml.token_type") == types
    # convert_hf_to_gguf.py names this pre-tokenizer by the hash of its tokenization of a test text;
    # for this tokenizer.json the hash is that of BAAI/bge-small-en-v1.5, "bert-bge".
    assert ours.pop("tokenizer.ggml.pre") == "bert-bge"
    assert ours.pop("tokenizer.ggml.model") == "bert"
    assert ours.pop("tokenizer.ggml.token_type_count") == 2
    expected = special_vocab_entries(minilm_folder, len(tokens))
    assert ours == expected
    assert (ours["tokenizer.ggml.cls_token_id"], ours["tokenizer.ggml.seperator_token_id"]) == (CLS, SEP)


def test_gguf_round_trip_gives_the_same_ids(converted_gguf, goldens, golden_cases, tmp_path):
    info = json_lines(run("info", str(converted_gguf)))[0]
    assert (info["bos"], info["eos"], info["prefix"], info["suffix"]) == (CLS, SEP, [CLS], [SEP])
    assert_matches_goldens(encode(converted_gguf, tmp_path, golden_cases), goldens)


def write_converter_gguf(path: Path, tokens: list[str], types: list[int], folder: str | None) -> None:
    """A tokenizer-only GGUF as llama.cpp's converter would write it, through gguf-py's own writer."""
    writer = gguf.GGUFWriter(str(path), "bert")
    writer.add_token_type_count(2)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("bert-bge")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    if folder:
        gguf.SpecialVocab(folder, n_vocab=len(tokens)).add_to_gguf(writer, quiet=True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_gguf_from_the_reference_writer_gives_the_same_ids(tokenizer_json, minilm_folder, goldens, golden_cases,
                                                            tmp_path):
    """Our GGUF reader on a file our writer had no part in: the converter's tokens and gguf-py's writer."""
    path = tmp_path / "converter.gguf"
    tokens, types = converter_tokens(tokenizer_json)
    write_converter_gguf(path, tokens, types, minilm_folder)
    assert_matches_goldens(encode(path, tmp_path, golden_cases), goldens)


def test_malformed_gguf_bert_vocabularies_fail_cleanly(tokenizer_json, tmp_path):
    tokens, types = converter_tokens(tokenizer_json)
    cases = {
        # no unknown_token_id and no "[UNK]" token to fall back on
        "no-unk": (["[PAD]" if t == "[UNK]" else t for t in tokens[:101]] + ["\u2581x"], [1] * 102),
        "duplicate": (tokens[:200] + [tokens[150]], types[:200] + [types[150]]),
        "types-length": (tokens, types[:-1]),
    }
    for name, (case_tokens, case_types) in cases.items():
        path = tmp_path / f"{name}.gguf"
        write_converter_gguf(path, case_tokens, case_types, None)
        result = run("info", str(path))
        assert result.returncode == 1, (name, result.stdout)
        assert json.loads(result.stdout)["error"] == "SWIFTLET_ERROR_INVALID_FILE", (name, result.stdout)


# -- variants of the file: other supported settings against HF, and clean errors -------------------

VARIANT_TEXTS = [
    "Héllo WORLD, naïve Åsa!", "我想在apple工作", "e\u0301 İstanbul ΣΊΣΥΦΟΣ", "[CLS] Straße [MASK]",
    "extraordinarily long words here", "abcdefgh abc", "",
]


def variant(tokenizer_json: Path, tmp_path: Path, name: str, change) -> Path:
    document = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    change(document)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def set_normalizer(**fields):
    def change(document):
        document["normalizer"].update(fields)
    return change


@pytest.mark.parametrize("name,change", [
    ("cased", set_normalizer(lowercase=False, strip_accents=None)),
    ("lowercase-keep-accents", set_normalizer(strip_accents=False)),
    ("no-cjk-no-clean", set_normalizer(handle_chinese_chars=False, clean_text=False)),
    ("short-words", lambda d: d["model"].update(max_input_chars_per_word=5)),
    ("bert-processing", lambda d: d.update(post_processor={"type": "BertProcessing", "sep": ["[SEP]", SEP],
                                                           "cls": ["[CLS]", CLS]})),
    ("no-post-processor", lambda d: d.update(post_processor=None)),
    ("sequence-normalizer", lambda d: d.update(normalizer={"type": "Sequence", "normalizers": [d["normalizer"]]})),
])
def test_supported_variants_match_hf(tokenizer_json, tmp_path, name, change):
    path = variant(tokenizer_json, tmp_path, name, change)
    hf = tokenizers.Tokenizer.from_file(str(path))
    hf.no_truncation()
    hf.no_padding()
    out = encode(path, tmp_path, [(special, 1, text) for text in VARIANT_TEXTS for special in (0, 1)])
    expected = [hf.encode(text, add_special_tokens=bool(special)).ids for text in VARIANT_TEXTS for special in (0, 1)]
    assert [o["ids"] for o in out] == expected


def replace_vocab_id(token: str, new_id: int):
    def change(document):
        document["model"]["vocab"][token] = new_id
    return change


ERRORS = [
    ("bpe", lambda d: d["model"].update(type="BPE"), "UNSUPPORTED", "BPE"),
    ("unigram", lambda d: d["model"].update(type="Unigram"), "UNSUPPORTED", "Unigram"),
    ("wordlevel", lambda d: d["model"].update(type="WordLevel"), "UNSUPPORTED", "WordLevel"),
    ("normalizer", lambda d: d.update(normalizer={"type": "Lowercase"}), "UNSUPPORTED", "Lowercase"),
    ("normalizer-sequence", lambda d: d.update(normalizer={"type": "Sequence", "normalizers": [
        d["normalizer"], {"type": "NFC"}]}), "UNSUPPORTED", "NFC"),
    ("pre-tokenizer", lambda d: d.update(pre_tokenizer={"type": "Whitespace"}), "UNSUPPORTED", "Whitespace"),
    ("no-pre-tokenizer", lambda d: d.update(pre_tokenizer=None), "UNSUPPORTED", "pre_tokenizer"),
    ("post-processor", lambda d: d.update(post_processor={"type": "RobertaProcessing", "sep": ["[SEP]", SEP],
                                                          "cls": ["[CLS]", CLS]}),
     "UNSUPPORTED", "RobertaProcessing"),
    ("template-pair-only", lambda d: d["post_processor"].update(single=[{"Sequence": {"id": "B", "type_id": 0}}]),
     "UNSUPPORTED", "TemplateProcessing"),
    ("lstrip", lambda d: d["added_tokens"][4].update(lstrip=True), "UNSUPPORTED", "lstrip"),
    ("vocab-gap", replace_vocab_id("hello", 40000), "INVALID_FILE", "hello"),
    ("vocab-duplicate-id", replace_vocab_id("hello", 7593), "INVALID_FILE", "7593"),
    ("vocab-negative-id", replace_vocab_id("hello", -1), "INVALID_FILE", "hello"),
    ("unk-missing", lambda d: d["model"].update(unk_token="[NOPE]"), "INVALID_FILE", "[NOPE]"),
    ("added-token-conflict", lambda d: d["added_tokens"][2].update(content="[CLASS]"), "INVALID_FILE", "[CLASS]"),
    ("added-token-gap", lambda d: d["added_tokens"].append({"id": 40000, "content": "[NEW]", "special": True}),
     "INVALID_FILE", "[NEW]"),
    ("no-model", lambda d: d.pop("model"), "INVALID_FILE", "model"),
]


@pytest.mark.parametrize("name,change,status,mentions", ERRORS, ids=[e[0] for e in ERRORS])
def test_unsupported_and_malformed_files_fail_cleanly(tokenizer_json, tmp_path, name, change, status, mentions):
    path = variant(tokenizer_json, tmp_path, name, change)
    for result in (run("info", str(path)), run("gguf-keys", str(path), str(tmp_path / "out.gguf"))):
        assert result.returncode == 1, result.stdout + result.stderr
        error = json.loads(result.stdout)
        assert error["error"] == f"SWIFTLET_ERROR_{status}", error
        assert mentions in error["message"], error
    assert not (tmp_path / "out.gguf").exists()


def test_not_json_fails_cleanly(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text('{"model": {"type": "WordPiece", "vocab": {"a": 0,}}}')
    error = json.loads(run("info", str(path)).stdout)
    assert error["error"] == "SWIFTLET_ERROR_INVALID_FILE", error
