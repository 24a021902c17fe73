"""The `swiftlet` command-line tool, run as a subprocess.

References are independent of Swiftlet: the `gguf` PyPI package's reader and
quantizer (a numpy port of llama.cpp's), the C API only where the CLI must
agree with the library (tokenize), and llama.cpp's greedy answer for the one
generation check. The binary comes from $SWIFTLET_CLI (default
<repo>/build/bin/swiftlet).
"""
from __future__ import annotations

import json
import os
import re
import subprocess

import numpy as np
import pytest

import gguf
from gguf import GGMLQuantizationType as QT
from gguf import GGUFValueType as VT

import swiftlet_ctypes as sw

CLI = os.environ.get("SWIFTLET_CLI") or os.path.join(sw.REPO_ROOT, "build", "bin", "swiftlet")
TINY_F16 = "tiny-f16-gqa2-untied"


@pytest.fixture(scope="module")
def cli():
    if not os.access(CLI, os.X_OK):
        pytest.fail(f"swiftlet CLI not found at {CLI}: build it or set SWIFTLET_CLI", pytrace=False)
    return CLI


def run(cli, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([cli, *args], capture_output=True, timeout=timeout)


def ok(proc) -> str:
    assert proc.returncode == 0, (proc.returncode, proc.stderr.decode(errors="replace"))
    return proc.stdout.decode("utf-8")


# ------------------------------------------------------------------ inspect


def scalar_text(field) -> str | None:
    """How a scalar field must read; None for arrays (checked separately)."""
    vtype = field.types[0]
    if vtype == VT.ARRAY:
        return None
    value = field.contents()
    if vtype == VT.BOOL:
        return "true" if value else "false"
    if vtype == VT.STRING:
        return value
    if vtype in (VT.FLOAT32, VT.FLOAT64):
        return "float"
    return str(int(value))


def check_inspect(cli, path, r=None):
    out = ok(run(cli, "inspect", path))
    r = r or gguf.GGUFReader(path)
    fields = [f for name, f in r.fields.items() if not name.startswith("GGUF.")]
    header = re.match(r"GGUF version (\d+), (\d+) metadata keys, (\d+) tensors\n\n", out)
    assert header, out[:200]
    assert [int(g) for g in header.groups()] == [int(r.fields["GGUF.version"].contents()), len(fields),
                                                 len(r.tensors)]
    body = out[header.end():]
    assert body.endswith("\n")
    lines = body[:-1].split("\n")
    tensor_lines, meta_text = lines[-len(r.tensors):], "\n".join(lines[: -len(r.tensors)])
    assert meta_text.endswith("\n"), "a blank line separates metadata and tensors"
    meta_text = meta_text[:-1]

    # Metadata: find each expected "key = " at a line start, in file order
    # (values may span lines); with the count of key-like lines equal to the
    # number of keys and every value compared, nothing is missing or extra.
    starts, cursor = [], 0
    for i, f in enumerate(fields):
        prefix = f.name + " = "
        at = 0 if i == 0 else meta_text.find("\n" + prefix, cursor) + 1  # 0 when not found
        assert meta_text.startswith(prefix, at) and (i == 0 or at > 0), f"key {f.name!r} not listed in order"
        starts.append(at)
        cursor = at + len(prefix)
    key_lines = [ln for ln in meta_text.split("\n") if re.match(r"[A-Za-z_][\w.\-]* = ", ln)]
    assert len(key_lines) == len(fields)
    for i, f in enumerate(fields):
        end = starts[i + 1] - 1 if i + 1 < len(fields) else len(meta_text)
        shown = meta_text[starts[i] + len(f.name) + 3: end]
        want = scalar_text(f)
        if want == "float":
            assert np.float32(float(shown)) == np.float32(f.contents()), (f.name, shown)
        elif want is not None:
            if shown.endswith("...") and len(want.encode()) > 150:  # long values are cut short
                assert want.startswith(shown[:-3]), f.name
            else:
                assert shown == want, f.name
        else:
            full = json.dumps(f.contents(), ensure_ascii=False)  # '["a", "b"]', '[1, 2]'
            if shown.endswith("..."):
                assert len(full.encode()) > 150 and full.startswith(shown[:-3]), (f.name, shown[:60])
            else:
                assert shown == full, f.name

    # Tensors: name, type, ggml dims and size, in file order.
    for line, t in zip(tensor_lines, r.tensors):
        name, ttype, dims, size = line.split("\t")
        assert name == t.name
        assert ttype == t.tensor_type.name, name  # ggml's spelling, e.g. Q4_K
        assert json.loads(dims) == [int(d) for d in t.shape], name
        assert size == f"{int(t.n_bytes)} bytes", name
    return r


@pytest.fixture(scope="module")
def real_reader(real_model_path):
    return gguf.GGUFReader(real_model_path)  # ~2 s for the 49k-token vocabulary: read once


def test_inspect_real_model_matches_gguf_reader(cli, real_model_path, real_reader):
    r = check_inspect(cli, real_model_path, real_reader)
    assert len(r.tensors) == 272 and "tokenizer.chat_template" in r.fields  # the file is the expected one


def test_inspect_tiny_model_matches_gguf_reader(cli, tiny_paths):
    check_inspect(cli, tiny_paths[TINY_F16])


def test_inspect_names_k_quant_tensor_types(cli):
    """The Gemma 3 Q4_K_M file mixes Q4_K, Q6_K, Q5_0, Q8_0 and F32 tensors."""
    path = os.environ.get("SWIFTLET_MODEL_GEMMA3", "")
    if not os.path.isfile(path):
        pytest.skip("$SWIFTLET_MODEL_GEMMA3 is not set (make test sets it: scripts/fetch-gemma3.sh)")
    r = check_inspect(cli, path)
    assert {"Q4_K", "Q6_K", "Q5_0", "Q8_0", "F32"} <= {t.tensor_type.name for t in r.tensors}


# ----------------------------------------------------------------- tokenize

TEXTS = [
    "Hello world, <|im_start|>user",
    "  leading spaces, 12345 digits,\ttabs\nand\n\nnewlines",
    "accents: café naïve; CJK: 日本語; emoji: 🤖👩‍👩‍👧",
    "",
]


def cli_ids(cli, *args) -> list[int]:
    out = ok(run(cli, "tokenize", *args))
    assert out == "" or out.endswith("\n")
    return [int(line.split("\t", 1)[0]) for line in out.split("\n")[:-1]]


def test_tokenize_matches_the_c_api(cli, real_model, real_model_path, real_reader, tiny_model, tiny_paths):
    # every text on a tiny model (GPT-2 pre-tokenizer; loads in milliseconds)
    tiny = tiny_model(TINY_F16)
    for text in TEXTS:
        assert cli_ids(cli, tiny_paths[TINY_F16], text) == sw.tokenize(tiny, text, 0), text
    # the real model (smollm pre-tokenizer): each CLI run converts it, ~0.5 s
    im_start = real_reader.fields["tokenizer.ggml.tokens"].contents().index("<|im_start|>")
    for text in TEXTS[:3:2]:
        plain = cli_ids(cli, real_model_path, text)
        assert plain == sw.tokenize(real_model, text, 0), text
        assert im_start not in plain
    special = cli_ids(cli, real_model_path, TEXTS[0], "--special")
    assert special == sw.tokenize(real_model, TEXTS[0], sw.TOKENIZE_SPECIAL)
    assert special.count(im_start) == 1
    with_bos = cli_ids(cli, real_model_path, "hi", "--bos")
    assert with_bos == sw.tokenize(real_model, "hi", sw.TOKENIZE_ADD_BOS)
    assert with_bos[0] == sw.model_info(real_model).bos_token and len(with_bos) == 2


def test_tokenize_prints_the_pieces(cli, tiny_paths):
    out = ok(run(cli, "tokenize", tiny_paths[TINY_F16], "hello the world"))
    # "hello" " the" " worl" "d" (the tiny vocabulary's merges), spaces shown as ␣
    assert [line.split("\t")[1] for line in out.split("\n")[:-1]] == ["hello", "␣the", "␣worl", "d"]


# ----------------------------------------------------------------- generate


def test_generate_raw_greedy_says_paris(cli, real_model_path):
    """llama.cpp's greedy continuation of this prompt on this file is " Paris."."""
    prompt = "The capital of France is"
    out = ok(run(cli, "generate", real_model_path, prompt, "--raw", "-n", "8"))
    continuation = out[len(prompt):] if out.startswith(prompt) else out
    assert "Paris" in continuation, out


# The schema of the --json-schema run: every string and number bounded, so the
# reply ends well within -n.
NPC_SCHEMA = {
    "type": "object",
    "properties": {
        "action": {"enum": ["attack", "flee", "talk"]},
        "target": {"type": "string", "minLength": 1, "maxLength": 20},
        "urgency": {"type": "integer", "minimum": 1, "maximum": 5},
    },
    "required": ["action", "target", "urgency"],
    "additionalProperties": False,
}


def test_generate_with_a_json_schema_prints_valid_json(cli, real_model_path, tmp_path):
    import jsonschema
    schema_file = tmp_path / "npc.json"
    schema_file.write_text(json.dumps(NPC_SCHEMA))
    for temp, seed in (("0", "0"), ("0.8", "7")):
        out = ok(run(cli, "generate", real_model_path, "A guard sees a dragon. Give the guard's action as JSON.",
                     "--json-schema", str(schema_file), "-n", "300", "--temp", temp, "--seed", seed))
        assert out.endswith("\n")
        jsonschema.validate(json.loads(out), NPC_SCHEMA)


def test_generate_with_a_grammar_file(cli, real_model_path, tmp_path):
    grammar = tmp_path / "yes-no.gbnf"
    grammar.write_text('# an answer\nroot ::= ("yes" | "no")\n')
    out = ok(run(cli, "generate", real_model_path, "Is the sky blue? Answer yes or no.", "--grammar", str(grammar)))
    assert out in ("yes\n", "no\n")


def test_a_bad_grammar_or_schema_file_fails_with_the_position(cli, real_model_path, tmp_path):
    bad = tmp_path / "bad.gbnf"
    bad.write_text('root ::= answer\nanswer ::= "yes" | [a-\n')
    proc = run(cli, "generate", real_model_path, "hi", "--grammar", str(bad))
    message = proc.stderr.decode()
    assert proc.returncode == 1 and proc.stdout == b"" and str(bad) in message and "2:" in message, message
    schema = tmp_path / "bad.json"
    schema.write_text('{"type": "object", "patternProperties": {"^a": {}}}')
    proc = run(cli, "generate", real_model_path, "hi", "--json-schema", str(schema))
    assert proc.returncode == 1 and proc.stdout == b"" and b"patternProperties" in proc.stderr, proc.stderr
    for args in (["--grammar", str(tmp_path / "missing.gbnf")],
                 ["--grammar", str(bad), "--json-schema", str(schema)],
                 ["--json-schema"]):
        proc = run(cli, "generate", real_model_path, "hi", *args)
        assert proc.returncode == 1 and proc.stdout == b"" and proc.stderr.strip(), args
    proc = run(cli, "chat", real_model_path, "--grammar", str(bad))
    assert proc.returncode == 1 and b"2:" in proc.stderr


# ---------------------------------------------------------------- bad usage


@pytest.fixture(scope="module")
def junk(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli-junk")
    text = d / "notes.txt"
    text.write_text("these are not the weights you are looking for\n")
    return {"text": str(text), "missing": str(d / "missing.gguf"), "dir": str(d)}


def bad_usage_cases(model, junk):
    return {
        "no command": [],
        "unknown command": ["frobnicate", model],
        "inspect without MODEL": ["inspect"],
        "tokenize without TEXT": ["tokenize", model],
        "generate without PROMPT": ["generate", model],
        "quantize without OUTPUT": ["quantize", model],
        "-n without value": ["generate", model, "hi", "-n"],
        "-n not a number": ["generate", model, "hi", "-n", "many"],
        "inspect missing file": ["inspect", junk["missing"]],
        "tokenize missing file": ["tokenize", junk["missing"], "hi"],
        "generate missing file": ["generate", junk["missing"], "hi"],
        "inspect non-GGUF": ["inspect", junk["text"]],
        "tokenize non-GGUF": ["tokenize", junk["text"], "hi"],
        "generate non-GGUF": ["generate", junk["text"], "hi", "--raw"],
        "quantize non-GGUF": ["quantize", junk["text"], os.path.join(junk["dir"], "out1.gguf")],
        "quantize missing input": ["quantize", junk["missing"], os.path.join(junk["dir"], "out2.gguf")],
        "quantize into a missing directory": ["quantize", model, os.path.join(junk["dir"], "no", "out3.gguf")],
        "quantize to an unknown type": ["quantize", model, os.path.join(junk["dir"], "out4.gguf"), "--type", "q4_k"],
        "quantize --type without value": ["quantize", model, os.path.join(junk["dir"], "out5.gguf"), "--type"],
    }


def test_bad_usage_fails_cleanly(cli, tiny_paths, junk):
    """Nonzero exit, a message on stderr, nothing on stdout, no output file."""
    problems = []
    for name, args in bad_usage_cases(tiny_paths[TINY_F16], junk).items():
        p = run(cli, *args)
        if p.returncode == 0 or not p.stderr.strip() or p.stdout:
            problems.append(f"{name}: exit {p.returncode}, stdout {p.stdout[:80]!r}, stderr {p.stderr[:80]!r}")
        if p.returncode < 0:
            problems.append(f"{name}: killed by signal {-p.returncode}")
    assert not problems, "\n".join(problems)
    assert not [f for f in os.listdir(junk["dir"]) if f.startswith("out")], "a failed quantize left a file"


def test_unknown_option_is_rejected(cli, tiny_paths):
    for args in (["tokenize", tiny_paths[TINY_F16], "hi", "--specail"],
                 ["tokenize", tiny_paths[TINY_F16], "hi", "extra"],
                 ["inspect", tiny_paths[TINY_F16], "-x"]):
        p = run(cli, *args)
        assert p.returncode != 0 and p.stderr.strip() and not p.stdout, args


# ----------------------------------------------------------------- quantize


def test_quantize_f16_model_to_q8_0(cli, tiny_paths, tmp_path, lib):
    src = tiny_paths[TINY_F16]
    dst = str(tmp_path / "q8.gguf")
    p = run(cli, "quantize", src, dst)
    assert p.returncode == 0 and not p.stdout, p.stderr
    a, b = gguf.GGUFReader(src), gguf.GGUFReader(dst)

    # metadata: identical, plus general.file_type = 7 (MOSTLY_Q8_0) as a uint32
    ka = [k for k in a.fields if not k.startswith("GGUF.")]
    kb = [k for k in b.fields if not k.startswith("GGUF.")]
    assert "general.file_type" not in ka
    assert [k for k in kb if k != "general.file_type"] == ka
    ft = b.fields["general.file_type"]
    assert ft.types == [VT.UINT32] and ft.contents() == 7
    for k in ka:
        assert a.fields[k].types == b.fields[k].types, k
        assert a.fields[k].contents() == b.fields[k].contents(), k
    assert b.fields["GGUF.version"].contents() == 3

    # tensors: same names, order and shapes; matrices Q8_0, vectors F32 unchanged
    assert [t.name for t in b.tensors] == [t.name for t in a.tensors]
    n_matrices = 0
    for ta, tb in zip(a.tensors, b.tensors):
        assert [int(d) for d in tb.shape] == [int(d) for d in ta.shape], ta.name
        x = np.asarray(ta.data, dtype=np.float32)
        if len(ta.shape) == 1:
            assert tb.tensor_type == QT.F32, ta.name
            assert np.array_equal(np.asarray(tb.data), x), ta.name
            continue
        n_matrices += 1
        assert ta.tensor_type == QT.F16 and tb.tensor_type == QT.Q8_0, ta.name
        raw = np.asarray(tb.data)
        # Q8_0 per 32 values: fp16 scale d, int8 q; x ~ d*q with |x - d*q| <= d/2
        # for d = amax/127, plus the fp16 rounding of d (relative 2^-11, times
        # |q| <= 127: 0.062 d). Bound 0.57 d.
        blocks = raw.reshape(-1, 34)
        d = blocks[:, :2].copy().view(np.float16).astype(np.float32).reshape(-1, 1)
        q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)
        xb = x.reshape(-1, 32)
        amax = np.abs(xb).max(axis=1, keepdims=True)
        assert np.allclose(d, amax / 127, rtol=2 ** -10, atol=0), ta.name
        assert np.all(np.abs(xb - d * q) <= 0.57 * d + 1e-12), ta.name
        assert np.array_equal(gguf.quants.dequantize(raw, QT.Q8_0).reshape(x.shape), (d * q).reshape(x.shape))
        # and it is what llama.cpp's reference quantizer (the gguf package's
        # port) writes for these values: no rounding ties occur in this data
        assert np.array_equal(raw, gguf.quants.quantize(x, QT.Q8_0)), ta.name
    assert n_matrices == 3 * 7 + 2

    # the copy loads in Swiftlet and describes the same model
    m = sw.model_load(dst, n_threads=1)
    try:
        info, ref = sw.model_info(m), None
        m2 = sw.model_load(src, n_threads=1)
        try:
            ref = sw.model_info(m2)
        finally:
            lib.swiftlet_model_free(m2)
        assert (info.n_vocab, info.n_layer, info.n_embd, info.n_params) == \
            (ref.n_vocab, ref.n_layer, ref.n_embd, ref.n_params)
    finally:
        lib.swiftlet_model_free(m)
    check_inspect(cli, dst)


# ---------------------------------------------------------------- embed and convert


def test_embed_prints_the_libraries_vectors(cli, lib, minilm_folder, make_context):
    texts = ["A man is eating food.", ""]
    out = ok(run(cli, "embed", minilm_folder, *texts, "--threads", "2"))
    printed = np.array([[float(v) for v in line.split()] for line in out.strip("\n").split("\n")])
    assert printed.shape == (2, 384)
    model = sw.model_load(minilm_folder, n_threads=2)
    try:
        expected = sw.embed(make_context(model, n_threads=2), texts, 384)
    finally:
        lib.swiftlet_model_free(model)
    np.testing.assert_allclose(printed, expected, atol=1e-6)
    raw = np.array([float(v) for v in ok(run(cli, "embed", minilm_folder, texts[0], "--raw", "--pooling", "cls")).split()])
    assert abs(np.linalg.norm(raw) - 1) > 1e-3


def test_embed_and_convert_errors(cli, minilm_folder, tmp_path):
    proc = run(cli, "embed", minilm_folder, "x", "--pooling", "max")
    assert proc.returncode == 1 and b"--pooling" in proc.stderr and proc.stdout == b""
    gguf_file = tmp_path / "not-a-folder.gguf"
    gguf_file.write_bytes(b"GGUF")
    proc = run(cli, "convert", str(gguf_file), str(tmp_path / "out.gguf"))
    assert proc.returncode == 1 and b"not a folder" in proc.stderr
    assert not (tmp_path / "out.gguf").exists()
