"""GGUF reading, writing and Q8_0 conversion, checked against the gguf package.

Backends (chosen automatically, see `backend()`):
  - the C API: libswiftlet.so via ctypes (swiftlet_model_load,
    swiftlet_model_meta_*), found through $SWIFTLET_LIB or the build folder;
  - the GGUF test driver `gguf-inspect` (Tests/GGUFInspect, built by `make`
    into build/test-bin/, or $SWIFTLET_GGUF_INSPECT), which also exposes the
    Q8_0 quantizer row by row.
The real model comes from $SWIFTLET_MODEL_Q4_1 (or $SWIFTLET_TEST_MODEL, else the
SmolLM2 Q4_1 GGUF in the shared cache); tests needing it skip when it is absent.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import gguf
from gguf import GGMLQuantizationType as QT
from gguf import quants

import gguf_corpus as corpus

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_MODEL = Path(os.path.expanduser("~/.cache/swiftlet/models/SmolLM2-135M-Instruct.Q4_1.gguf"))  # scripts/fetch-model.sh
STATUS_NAMES = [
    "SWIFTLET_OK", "SWIFTLET_ERROR_INVALID_ARGUMENT", "SWIFTLET_ERROR_IO", "SWIFTLET_ERROR_INVALID_FILE",
    "SWIFTLET_ERROR_UNSUPPORTED", "SWIFTLET_ERROR_NOT_FOUND", "SWIFTLET_ERROR_BUFFER_TOO_SMALL",
    "SWIFTLET_ERROR_CONTEXT_FULL", "SWIFTLET_ERROR_CANCELLED", "SWIFTLET_ERROR_OUT_OF_MEMORY",
    "SWIFTLET_ERROR_TEMPLATE", "SWIFTLET_ERROR_INTERNAL", "SWIFTLET_ERROR_BUSY",
]


# ----------------------------------------------------------------- backends

class InspectBackend:
    """The development driver: any well-formed GGUF loads (no model checks)."""
    reads_any_gguf = True
    can_quantize = True
    loads_folders = False

    def __init__(self, exe: Path):
        self.exe = str(exe)

    def _run(self, *args: str, timeout: float = 30) -> tuple[int, list[dict]]:
        proc = subprocess.run([self.exe, *args], capture_output=True, timeout=timeout)
        lines = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]
        return proc.returncode, lines

    def load(self, path: Path) -> tuple[str, str]:
        """(status name, message); a crash is reported as "CRASH"."""
        code, lines = self._run("load", str(path), timeout=10)
        if code == 0:
            return "SWIFTLET_OK", ""
        if code == 1 and lines and "error" in lines[-1]:
            return lines[-1]["error"], lines[-1]["message"]
        return "CRASH", f"exit code {code}"

    def metadata(self, path: Path) -> list[tuple[str, str]]:
        code, lines = self._run("load", str(path))
        assert code == 0, lines
        return [(l["key"], l["value"]) for l in lines if "key" in l]

    def tensors(self, path: Path) -> list[dict]:
        code, lines = self._run("load", str(path))
        assert code == 0, lines
        return [l for l in lines if "tensor" in l]

    def header(self, path: Path) -> dict:
        code, lines = self._run("load", str(path))
        assert code == 0, lines
        return lines[0]

    def quantize(self, source: Path, target: Path) -> None:
        code, lines = self._run("quantize", str(source), str(target), timeout=300)
        assert code == 0, lines

    def quantize_row_q8_0(self, values: np.ndarray, tmp: Path) -> bytes:
        src, dst = tmp / "row.f32", tmp / "row.q8"
        src.write_bytes(np.ascontiguousarray(values, dtype="<f4").tobytes())
        code, lines = self._run("q8", str(src), str(dst))
        assert code == 0, lines
        return dst.read_bytes()

    def dequantize(self, type_id: int, raw: bytes, count: int, tmp: Path) -> np.ndarray:
        src, dst = tmp / "in.bin", tmp / "out.f32"
        src.write_bytes(raw)
        code, lines = self._run("dequant", str(type_id), str(src), str(dst), str(count))
        assert code == 0, lines
        return np.frombuffer(dst.read_bytes(), dtype="<f4")


class CApiBackend:
    """libswiftlet.so: loading also needs a complete llama model, so small
    synthetic files that are valid GGUF are refused later (NOT_FOUND etc.)."""
    reads_any_gguf = False
    can_quantize = False
    loads_folders = True  # a directory is a Hugging Face checkpoint folder

    def __init__(self, lib: Path):
        import swiftlet_ctypes  # the one declaration of the header's functions
        self.lib = swiftlet_ctypes.load(str(lib))

    def _open(self, path: Path) -> tuple[int, ctypes.c_void_p]:
        model = ctypes.c_void_p()
        status = self.lib.swiftlet_model_load(str(path).encode(), None, ctypes.byref(model))
        return status, model

    def load(self, path: Path) -> tuple[str, str]:
        status, model = self._open(path)
        if status == 0:
            self.lib.swiftlet_model_free(model)
            return "SWIFTLET_OK", ""
        name = STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else f"status {status}"
        return name, self.lib.swiftlet_last_error().decode(errors="replace")

    def _text(self, call) -> str:
        needed = ctypes.c_size_t()
        status = call(None, 0, ctypes.byref(needed))
        assert status in (0, 6), status  # OK or BUFFER_TOO_SMALL
        buf = ctypes.create_string_buffer(needed.value + 1)
        assert call(buf, len(buf), ctypes.byref(needed)) == 0
        return buf.raw[:needed.value].decode()

    def metadata(self, path: Path) -> list[tuple[str, str]]:
        status, model = self._open(path)
        assert status == 0, self.lib.swiftlet_last_error()
        try:
            result = []
            for i in range(self.lib.swiftlet_model_meta_count(model)):
                key = self._text(lambda b, n, o: self.lib.swiftlet_model_meta_key(model, i, b, n, o))
                value = self._text(lambda b, n, o: self.lib.swiftlet_model_meta_value(model, key.encode(), b, n, o))
                result.append((key, value))
            return result
        finally:
            self.lib.swiftlet_model_free(model)


def _find_library() -> Path | None:
    candidates = [os.environ.get("SWIFTLET_LIB", "")]
    try:  # the suite's shared wrapper knows the default build location
        import swiftlet_ctypes
        candidates.append(swiftlet_ctypes.library_path())
    except ImportError:
        pass
    candidates += [str(REPO / d / "libswiftlet.so") for d in ("build/lib", ".build/release", ".build/debug")]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def _find_inspect() -> Path | None:
    candidates = [os.environ.get("SWIFTLET_GGUF_INSPECT", ""), str(REPO / "build" / "test-bin" / "gguf-inspect")]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="session")
def backend():
    """The C API if the library is built (unless SWIFTLET_GGUF_BACKEND=inspect), else the driver."""
    lib, exe = _find_library(), _find_inspect()
    if lib and os.environ.get("SWIFTLET_GGUF_BACKEND") != "inspect":
        return CApiBackend(lib)
    if exe:
        return InspectBackend(exe)
    pytest.skip("neither libswiftlet.so nor gguf-inspect is available")


@pytest.fixture(scope="session")
def quantizer():
    exe = _find_inspect()
    if not exe:
        pytest.skip("the quantizer driver gguf-inspect is not available ($SWIFTLET_GGUF_INSPECT)")
    return InspectBackend(exe)


@pytest.fixture(scope="session")
def gguf_model_path() -> Path:
    path = Path(os.environ.get("SWIFTLET_MODEL_Q4_1") or os.environ.get("SWIFTLET_TEST_MODEL") or DEFAULT_MODEL)
    if not path.is_file():
        pytest.skip(f"real model {path} not present")
    return path


@pytest.fixture(scope="session")
def any_gguf(backend, quantizer):
    """A backend that loads any well-formed GGUF, runnable model or not: the
    C API only loads models, so the driver serves files that are not."""
    return backend if backend.reads_any_gguf else quantizer


# ------------------------------------------------- value comparison helpers

def check_scalar(vtype: str, expected, text: str, where: str) -> None:
    if vtype == "string":
        assert text == expected, where
    elif vtype == "bool":
        assert text == ("true" if expected else "false"), where
    elif vtype == "float32":
        assert np.float32(float(text)) == np.float32(expected), (where, text)
    elif vtype == "float64":
        assert float(text) == float(expected), (where, text)
    else:
        assert text.lstrip("-").isdigit() and int(text) == int(expected), (where, text)


def check_json_elements(etype: str, expected: list, parsed: list, where: str) -> None:
    assert isinstance(parsed, list) and len(parsed) == len(expected), where
    for i, (e, p) in enumerate(zip(expected, parsed)):
        w = f"{where}[{i}]"
        if etype == "array":
            check_json_elements(e[0], e[1], p, w)
        elif etype == "string":
            assert p == e, w
        elif etype == "bool":
            assert p is bool(e), w
        elif etype == "float32":
            assert np.float32(p) == np.float32(e), w
        elif etype == "float64":
            assert float(p) == float(e), w
        else:
            assert isinstance(p, int) and p == int(e), w


def check_rendered(vtype: str, expected, text: str, where: str) -> None:
    """`text` is Swiftlet's rendering of a value the test knows."""
    if vtype == "array":
        etype, items = expected
        check_json_elements(etype, items, json.loads(text), where)
    else:
        check_scalar(vtype, expected, text, where)


# ------------------------------------------------------- malformed files

@pytest.mark.parametrize("make", corpus.malformed_cases(), ids=lambda f: f.__name__[5:])
def test_malformed_file_is_rejected(backend, tmp_path, make):
    path = tmp_path / "case.gguf"
    expected = make(path)
    if path.is_dir() and backend.loads_folders:
        expected = "SWIFTLET_ERROR_NOT_FOUND"  # read as a checkpoint folder, which has no config.json
    status, message = backend.load(path)
    assert status == expected, message
    assert message, "an error must come with a message"


def test_every_truncation_is_invalid_file(backend, tmp_path):
    data, layout = corpus.valid_sample()
    path = tmp_path / "cut.gguf"
    failures = []
    for n in range(layout.size):
        path.write_bytes(data[:n])
        status, message = backend.load(path)
        if status != corpus.INVALID_FILE:
            failures.append((n, status, message))
    assert not failures, failures[:10]


def test_truncation_messages_say_where(any_gguf, tmp_path):
    data, layout = corpus.valid_sample()
    path = tmp_path / "cut.gguf"
    cuts = {"metadata": layout.kv_ends[3] - 2, "tensor info": layout.info_ends[1] - 3,
            "tensor \"q41.weight\"": layout.size - 1}
    for expected_fragment, n in cuts.items():
        path.write_bytes(data[:n])
        status, message = any_gguf.load(path)
        assert status == corpus.INVALID_FILE and expected_fragment in message, (n, message)


def test_random_byte_corruption_never_crashes(backend, tmp_path):
    data, layout = corpus.valid_sample()
    rng = np.random.default_rng(7)
    path = tmp_path / "fuzz.gguf"
    allowed = {"SWIFTLET_OK", corpus.INVALID_FILE, corpus.UNSUPPORTED,
               "SWIFTLET_ERROR_NOT_FOUND", "SWIFTLET_ERROR_OUT_OF_MEMORY"}
    for _ in range(300):
        mutated = bytearray(data)
        # Corrupt the structured part (header, metadata, tensor infos) where parsing happens.
        for _ in range(int(rng.integers(1, 4))):
            mutated[int(rng.integers(0, layout.data_start))] = int(rng.integers(0, 256))
        path.write_bytes(bytes(mutated))
        status, message = backend.load(path)
        assert status in allowed, (status, message)


def test_corpus_generator_writes_every_case(tmp_path):
    cases = corpus.write_all(tmp_path / "corpus")
    assert len(cases) > len(corpus.malformed_cases()) + 1000
    assert {expected for _, _, expected in cases} == {corpus.INVALID_FILE, corpus.UNSUPPORTED, corpus.IO}


# ------------------------------------------------------------ valid files

def test_sample_is_read_identically_by_gguf_package(tmp_path):
    """The corpus builder itself is right: the gguf package agrees with it."""
    path = tmp_path / "sample.gguf"
    path.write_bytes(corpus.valid_sample()[0])
    reader = gguf.GGUFReader(path)
    keys = [k for k in reader.fields if not k.startswith("GGUF.")]
    assert keys == [k for k, _, _ in corpus.every_type_metadata()]
    for key, vtype, value in corpus.every_type_metadata():
        if vtype == "array" and value[0] == "array":
            continue  # the package flattens nested arrays
        contents = reader.fields[key].contents()
        if vtype in ("float32", "float64"):
            assert np.float32(contents) == np.float32(value) if vtype == "float32" else contents == value
        elif vtype == "array" and value[0] in ("float32",):
            assert np.array_equal(np.float32(contents), np.float32(value[1]))
        else:
            assert contents == (value[1] if vtype == "array" else value), key
    for t, expected in zip(reader.tensors, corpus.sample_tensors()):
        assert t.name == expected.name and t.tensor_type.name == expected.type
        assert bytes(t.data.tobytes()) == expected.data


def test_sample_metadata_values_and_order(any_gguf, tmp_path):
    path = tmp_path / "sample.gguf"
    path.write_bytes(corpus.valid_sample()[0])
    got = any_gguf.metadata(path)
    expected = corpus.every_type_metadata()
    assert [k for k, _ in got] == [k for k, _, _ in expected]
    for (key, text), (_, vtype, value) in zip(got, expected):
        check_rendered(vtype, value, text, key)


def test_rendering_exact_text(any_gguf, tmp_path):
    path = tmp_path / "render.gguf"
    kvs = [("ints", "array", ("int32", [1, 2, 3])), ("strs", "array", ("string", ['a"b', "c\nd", "e\\f", "\x01"])),
           ("nested", "array", ("array", [("uint8", [1]), ("bool", [True, False])])),
           ("flag", "bool", True), ("neg", "int8", -5), ("text", "string", 'as "is"\n'),
           ("empty", "array", ("string", [])), ("eps", "float32", 1e-5), ("half", "float64", 0.5)]
    path.write_bytes(corpus.build_gguf(kvs, [])[0])
    got = dict(any_gguf.metadata(path))
    assert got["ints"] == "[1, 2, 3]"
    assert got["strs"] == '["a\\"b", "c\\nd", "e\\\\f", "\\u0001"]'
    assert got["nested"] == "[[1], [true, false]]"
    assert got["flag"] == "true" and got["neg"] == "-5" and got["text"] == 'as "is"\n'
    assert got["empty"] == "[]" and got["eps"] == "1e-05" and got["half"] == "0.5"


@pytest.mark.parametrize("variant", ["version2", "alignment64", "alignment1", "no_tensors", "padded_end"])
def test_valid_variants_load(any_gguf, tmp_path, variant):
    kvs, tensors, options = [("general.architecture", "string", "test")], corpus.sample_tensors(), {}
    if variant == "version2":
        options["version"] = 2
    elif variant.startswith("alignment"):
        a = int(variant[len("alignment"):])
        kvs.append(("general.alignment", "uint32", a))
        options["alignment"] = a
    elif variant == "no_tensors":
        tensors = []
    else:
        options["pad_end"] = True
    data, layout = corpus.build_gguf(kvs, tensors, **options)
    path = tmp_path / "v.gguf"
    path.write_bytes(data)
    assert any_gguf.load(path)[0] == "SWIFTLET_OK"
    gguf_reader = gguf.GGUFReader(path)
    got = any_gguf.tensors(path)
    assert [t["tensor"] for t in got] == [t.name for t in gguf_reader.tensors]
    for mine, ref in zip(got, gguf_reader.tensors):
        assert mine["offset"] == ref.data_offset and mine["bytes"] == ref.n_bytes
        assert mine["dims"] == [int(d) for d in ref.shape] and mine["type"] == ref.tensor_type.name
    assert any_gguf.header(path)["data_offset"] == layout.data_start


def test_real_model_metadata_matches_gguf_package(backend, gguf_model_path):
    got = backend.metadata(gguf_model_path)
    reader = gguf.GGUFReader(gguf_model_path)
    fields = {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert [k for k, _ in got] == list(fields)
    names = {v: k for k, v in corpus.VALUE_TYPES.items()}
    for key, text in got:
        field = fields[key]
        vtype = names[int(field.types[0])]
        if vtype == "array":
            value = (names[int(field.types[-1])], field.contents())
        else:
            value = field.contents()
        check_rendered(vtype, value, text, key)


def test_real_model_parses_and_renders_fast(quantizer, gguf_model_path):
    """The 49152-entry vocabulary and merges must not make loading slow."""
    code, lines = quantizer._run("time", str(gguf_model_path), "5")
    assert code == 0, lines
    assert lines[-1]["best_ms"] < 100 and lines[-1]["render_all_ms"] < 300, lines[-1]


def test_real_model_tensors_match_gguf_package(any_gguf, gguf_model_path):
    got = any_gguf.tensors(gguf_model_path)
    gguf_reader = gguf.GGUFReader(gguf_model_path)
    assert len(got) == len(gguf_reader.tensors)
    for mine, ref in zip(got, gguf_reader.tensors):
        assert (mine["tensor"], mine["type"], mine["offset"], mine["bytes"]) == \
            (ref.name, ref.tensor_type.name, ref.data_offset, ref.n_bytes)
        assert mine["dims"] == [int(d) for d in ref.shape] and mine["elements"] == ref.n_elements


# ------------------------------------------------------ Q8_0 and dequant

def q8_reference(values: np.ndarray) -> bytes:
    return quants.quantize(np.asarray(values, dtype=np.float32).reshape(-1, 32), QT.Q8_0).tobytes()


def q8_edge_rows() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(42)
    ties = np.arange(-16, 16, dtype=np.float32) + np.float32(0.5)
    ties[0] = 127.0  # amax 127 -> d = 1 exactly, so x * id keeps every .5
    return {
        "normal": rng.standard_normal(32 * 512).astype(np.float32),
        "uniform_wide": (rng.uniform(-1, 1, 32 * 256) * 10.0 ** rng.integers(-30, 30, 32 * 256)).astype(np.float32),
        "zeros": np.zeros(64, np.float32),
        "negative_zeros": np.full(32, -0.0, np.float32),
        "tiny_subnormal": (rng.standard_normal(64) * 1e-42).astype(np.float32),
        "tiny": (rng.standard_normal(64) * 1e-30).astype(np.float32),
        "huge": (rng.standard_normal(64) * 1e37).astype(np.float32),
        "max_float": np.array([3.4e38, -3.4e38] * 16, np.float32),
        "fp16_scale_overflow": (rng.standard_normal(32) * 1e7).astype(np.float32),
        "fp16_scale_subnormal": (rng.standard_normal(32) * 1e-5).astype(np.float32),
        "ties": ties,
        "negative_ties": -ties,
        "one_hot": np.eye(32, dtype=np.float32)[3] * -7.0,
        "constant": np.full(32, 0.3, np.float32),
        "ulp_near_half": np.nextafter(ties, np.float32(100)),
        # One block per binary exponent: the scales cross every fp16 range
        # (zero, subnormal, normal, rounding up to infinity) with random mantissas.
        "every_exponent": (rng.uniform(-1, 1, (277, 32)) * np.exp2(np.arange(-149, 128))[:, None]).astype(np.float32).reshape(-1),
        "infinity_in_block": np.array([np.inf] + [1.0] * 31, np.float32),
    }


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy overflow notes on the extreme rows
@pytest.mark.parametrize("name", list(q8_edge_rows()))
def test_quantize_row_q8_0_bit_exact(quantizer, tmp_path, name):
    row = q8_edge_rows()[name]
    assert quantizer.quantize_row_q8_0(row, tmp_path) == q8_reference(row)


@pytest.mark.parametrize("tname", list(corpus.GGML_TYPES))
def test_dequantize_row_matches_gguf_package(quantizer, tmp_path, tname):
    type_id, block, _ = corpus.GGML_TYPES[tname]
    count = 32 * 64
    raw = corpus.random_tensor_bytes([count], tname, np.random.default_rng(type_id))
    mine = quantizer.dequantize(type_id, raw, count, tmp_path)
    ref = quants.dequantize(np.frombuffer(raw, np.uint8), QT(type_id)).reshape(-1).astype(np.float32)
    assert mine.tobytes() == ref.tobytes()


@pytest.mark.parametrize("tname", ["F16", "Q8_0", "Q4_0", "Q4_1"])
def test_dequantize_every_fp16_scale(quantizer, tmp_path, tname):
    """Every half bit pattern as a value or scale (zeros, subnormals, infinities, NaNs)."""
    type_id, block, size = corpus.GGML_TYPES[tname]
    halves = np.arange(65536, dtype=np.uint32).astype("<u2")
    if tname == "F16":
        raw = halves.tobytes()
    else:
        blocks = np.random.default_rng(5).integers(0, 256, (65536, size), dtype=np.uint8)
        blocks[:, 0:2] = halves.view(np.uint8).reshape(-1, 2)
        if tname == "Q4_1":
            blocks[:, 2:4] = halves[::-1].copy().view(np.uint8).reshape(-1, 2)
        raw = blocks.tobytes()
    count = 65536 * block
    with np.errstate(all="ignore"):
        ref = quants.dequantize(np.frombuffer(raw, np.uint8), QT(type_id)).reshape(-1).astype(np.float32)
    mine = quantizer.dequantize(type_id, raw, count, tmp_path)
    same = (mine.view(np.uint32) == ref.view(np.uint32)) | (np.isnan(mine) & np.isnan(ref))
    assert same.all(), np.flatnonzero(~same)[:10]


def expected_q8_model_tensor(t) -> tuple[str, bytes]:
    """What the quantizer must write for a tensor of the gguf reader."""
    dims = [int(d) for d in t.shape]
    raw = np.asarray(t.data).view(np.uint8).reshape(-1)
    if len(dims) >= 2 and dims[0] % 32 == 0:
        if t.tensor_type == QT.Q8_0:
            return "Q8_0", raw.tobytes()
        floats = quants.dequantize(raw, t.tensor_type).reshape(-1).astype(np.float32)
        return "Q8_0", q8_reference(floats)
    return "F32", quants.dequantize(raw, t.tensor_type).reshape(-1).astype("<f4").tobytes()


def check_q8_model(source: Path, target: Path, *, expect_file_type_appended: bool) -> None:
    src, out = gguf.GGUFReader(source), gguf.GGUFReader(target)
    assert out.fields["GGUF.version"].contents() == 3
    src_keys = [k for k in src.fields if not k.startswith("GGUF.")]
    out_keys = [k for k in out.fields if not k.startswith("GGUF.")]
    expected_keys = src_keys + (["general.file_type"] if expect_file_type_appended else [])
    assert out_keys == expected_keys
    assert out.fields["general.file_type"].contents() == 7
    for key in src_keys:
        if key != "general.file_type":
            a, b = src.fields[key], out.fields[key]
            # parts: key length, key, type id, value parts: compare the encoded value exactly.
            assert [p.tobytes() for p in a.parts[2:]] == [p.tobytes() for p in b.parts[2:]], key
    assert [t.name for t in out.tensors] == [t.name for t in src.tensors]
    alignment = out.fields["general.alignment"].contents() if "general.alignment" in out.fields else 32
    for s, o in zip(src.tensors, out.tensors):
        expected_type, expected_bytes = expected_q8_model_tensor(s)
        assert o.tensor_type.name == expected_type, s.name
        assert [int(d) for d in o.shape] == [int(d) for d in s.shape]
        assert o.data_offset % alignment == 0
        assert np.asarray(o.data).view(np.uint8).tobytes() == expected_bytes, s.name


@pytest.mark.parametrize("alignment", [None, 64])
def test_quantize_model_every_type(quantizer, tmp_path, alignment):
    rng = np.random.default_rng(3)
    tensors = [corpus.Tensor(f"{n}.weight", dims, t, corpus.random_tensor_bytes(dims, t, rng))
               for n, dims, t in [("f32", [64, 3], "F32"), ("f16", [32, 4], "F16"), ("bf16", [96, 2], "BF16"),
                                  ("q8", [64, 2], "Q8_0"), ("q40", [32, 5], "Q4_0"), ("q41", [64, 1, 2], "Q4_1"),
                                  ("norm", [64], "F32"), ("norm16", [40], "F16"), ("qvec", [32], "Q4_0"),
                                  ("odd_rows", [20, 3], "F16"), ("q50", [64, 3], "Q5_0"), ("q51", [32, 2], "Q5_1"),
                                  ("q2k", [256, 2], "Q2_K"), ("q3k", [256, 1], "Q3_K"), ("q4k", [512, 2], "Q4_K"),
                                  ("q5k", [256, 1, 2], "Q5_K"), ("q6k", [256, 3], "Q6_K"), ("iq4nl", [32, 4], "IQ4_NL"),
                                  ("iq4xs", [256, 2], "IQ4_XS"), ("q6vec", [256], "Q6_K")]]
    kvs = corpus.every_type_metadata()
    options = {}
    if alignment:
        kvs.append(("general.alignment", "uint32", alignment))
        options["alignment"] = alignment
    source, target = tmp_path / "in.gguf", tmp_path / "out.gguf"
    source.write_bytes(corpus.build_gguf(kvs, tensors, **options)[0])
    quantizer.quantize(source, target)
    check_q8_model(source, target, expect_file_type_appended=True)
    # Swiftlet reads back what it wrote, nested arrays included.
    assert quantizer.metadata(target) == quantizer.metadata(source) + [("general.file_type", "7")]
    assert not (tmp_path / "out.gguf.partial").exists()


def test_quantize_model_file_type_replaced_in_place(quantizer, tmp_path):
    kvs = [("general.architecture", "string", "x"), ("general.file_type", "uint32", 1), ("z", "int8", 3)]
    tensors = [corpus.Tensor("w", [32, 2], "F16", corpus.random_tensor_bytes([32, 2], "F16", np.random.default_rng(0)))]
    source, target = tmp_path / "in.gguf", tmp_path / "out.gguf"
    source.write_bytes(corpus.build_gguf(kvs, tensors)[0])
    quantizer.quantize(source, target)
    check_q8_model(source, target, expect_file_type_appended=False)


def test_quantize_rejects_malformed_input(quantizer, tmp_path):
    source, target = tmp_path / "in.gguf", tmp_path / "out.gguf"
    source.write_bytes(corpus.valid_sample()[0][:-5])
    code, lines = quantizer._run("quantize", str(source), str(target))
    assert code == 1 and lines[-1]["error"] == corpus.INVALID_FILE
    assert not target.exists() and not (tmp_path / "out.gguf.partial").exists()


def test_quantize_real_model(quantizer, gguf_model_path, tmp_path):
    target = tmp_path / "q8.gguf"
    quantizer.quantize(gguf_model_path, target)
    check_q8_model(gguf_model_path, target, expect_file_type_appended=False)
