"""The safetensors reader (SafeTensorsFile, SafeTensorsCheckpoint), through the
test driver `safetensors-inspect` (Tests/SafeTensorsInspect, built by `make`
into build/test-bin/, or $SWIFTLET_SAFETENSORS_INSPECT).

Files are written here with struct + json + numpy, so hostile files can be
exactly as hostile as wanted; expected values come from numpy (and Python's json
for the real MiniLM header), never from the reader itself. The real checkpoint
is all-MiniLM-L6-v2 from $SWIFTLET_MODEL_MINILM (`minilm_folder`, required).
"""
from __future__ import annotations

import json
import os
import random
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
INVALID = "SWIFTLET_ERROR_INVALID_FILE"

# The spec's dtypes and their element sizes, written down from the specification.
DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8,
}


# ----------------------------------------------------------------- the driver

@pytest.fixture(scope="session")
def inspect() -> str:
    candidates = [os.environ.get("SWIFTLET_SAFETENSORS_INSPECT", ""), str(REPO / "build" / "test-bin" / "safetensors-inspect")]
    found = next((c for c in candidates if c and os.path.isfile(c)), None)
    if not found:
        pytest.fail("safetensors-inspect not found: run `make build` or set SWIFTLET_SAFETENSORS_INSPECT", pytrace=False)
    return found


def run(inspect: str, *args) -> tuple[int, list[dict]]:
    proc = subprocess.run([inspect, *map(str, args)], capture_output=True, timeout=60)
    assert proc.returncode in (0, 1), f"driver crashed (exit {proc.returncode}): {proc.stderr.decode()[-2000:]}"
    assert proc.stderr == b"", proc.stderr.decode()[-2000:]
    lines = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]
    return proc.returncode, lines


def load(inspect: str, path) -> list[dict]:
    """The tensor lines of a successful load."""
    code, lines = run(inspect, "load", path)
    assert code == 0, lines
    return [line for line in lines if "tensor" in line]


def load_error(inspect: str, path) -> tuple[str, str]:
    """(status, message) of a load that must fail."""
    code, lines = run(inspect, "load", path)
    assert code == 1, f"{path} loaded but should not have: {lines[:3]}"
    assert len(lines) == 1 and "error" in lines[0], lines
    return lines[0]["error"], lines[0]["message"]


def assert_invalid(inspect: str, path, *fragments: str) -> str:
    status, message = load_error(inspect, path)
    assert status == INVALID, (status, message)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def floats(inspect: str, path, name: str, tmp_path: Path) -> np.ndarray:
    out = tmp_path / "floats.bin"
    code, lines = run(inspect, "floats", path, name, out)
    assert code == 0, lines
    return np.fromfile(out, dtype="<f4")


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


# ----------------------------------------------------------------- writing files

def raw_file(path: Path, header, data: bytes = b"", length: int | None = None) -> Path:
    """8-byte length (default: the header's), the header (JSON of a value, or raw bytes), then data."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return path


def safetensors_bytes(tensors: list[tuple[str, str, list[int], bytes]], metadata: dict | None = None,
                      pad: bool = True) -> tuple[bytes, int]:
    """A valid file: tensors (name, dtype, shape, bytes) in order, back to back. Returns (file, data offset)."""
    header: dict = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header).encode()
    if pad:  # as the reference writer does: spaces up to a multiple of 8
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors), 8 + len(text)


def write_safetensors(path: Path, tensors, metadata=None, pad=True) -> Path:
    path.write_bytes(safetensors_bytes(tensors, metadata, pad)[0])
    return path


def f32(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(count).astype(np.float32)


# ----------------------------------------------------------------- valid files

def test_float_tensors_decode_exactly(inspect, tmp_path):
    a = f32(24, 1).reshape(2, 3, 4)
    # F16 values: random, plus subnormals, ±0, ±inf, the largest finite.
    h = np.concatenate([np.random.default_rng(2).standard_normal(13).astype(np.float16),
                        np.array([6e-8, -6e-5, 0.0, -0.0, np.inf, -np.inf, 65504.0], dtype=np.float16)])
    # BF16 from float32 bits >> 16 (truncation), so the exact value is bits << 16.
    b32 = np.concatenate([f32(9, 3) * 1000, np.array([0.0, -0.0, np.inf, -np.inf, 1e-40], dtype=np.float32)])
    b16 = (b32.view(np.uint32) >> 16).astype(np.uint16)
    scalar = np.array(3.25, dtype=np.float32)
    vector = f32(5, 4)
    path = write_safetensors(tmp_path / "floats.safetensors", [
        ("a", "F32", [2, 3, 4], a.astype("<f4").tobytes()),
        ("h", "F16", [4, 5], h.astype("<f2").tobytes()),
        ("b", "BF16", [14], b16.astype("<u2").tobytes()),
        ("scalar", "F32", [], scalar.astype("<f4").tobytes()),
        ("vector", "F32", [5], vector.astype("<f4").tobytes()),
    ])
    expected = {
        "a": a.reshape(-1),
        "h": h.astype(np.float32),
        "b": (b16.astype(np.uint32) << 16).view(np.float32),
        "scalar": scalar.reshape(1),
        "vector": vector,
    }
    for name, want in expected.items():
        got = floats(inspect, path, name, tmp_path)
        assert got.view(np.uint32).tolist() == want.astype(np.float32).view(np.uint32).tolist(), name


def test_load_reports_names_dtypes_shapes_offsets_and_bytes(inspect, tmp_path):
    tensors = [
        ("z.last.in.name.order", "F32", [2, 2], f32(4, 5).tobytes()),
        ("position_ids", "I64", [1, 6], np.arange(6, dtype="<i8").tobytes()),
        ("scalar", "F16", [], np.array([1.5], dtype="<f2").tobytes()),
        ("cube", "U8", [2, 3, 4], bytes(range(24))),
        ("empty", "F32", [3, 0], b""),
        ("a", "BF16", [3], b"\x80\x3f\x00\x40\x40\x40"),
    ]
    file_bytes, data_offset = safetensors_bytes(tensors, metadata={"format": "pt", "note": "é ✓"})
    path = tmp_path / "mixed.safetensors"
    path.write_bytes(file_bytes)
    code, lines = run(inspect, "load", path)
    assert code == 0, lines
    assert lines[0]["metadata"] == {"format": "pt", "note": "é ✓"}
    assert lines[0]["data_offset"] == data_offset and lines[0]["tensor_count"] == len(tensors)
    offset = data_offset
    for line, (name, dtype, shape, data) in zip(lines[1:], tensors, strict=True):
        assert line["tensor"] == name and line["dtype"] == dtype and line["shape"] == shape
        assert line["elements"] == int(np.prod(shape)) and line["bytes"] == len(data)
        assert line["offset"] == offset and line["fnv1a64"] == fnv1a64(data), name
        offset += len(data)


def test_every_dtype_loads_with_its_size(inspect, tmp_path):
    tensors = [(f"t.{dtype}", dtype, [3, 2], bytes((7 * i + 1) % 256 for i in range(6 * size)))
               for dtype, size in DTYPE_SIZES.items()]
    path = write_safetensors(tmp_path / "dtypes.safetensors", tensors)
    lines = load(inspect, path)
    assert [(l["dtype"], l["bytes"], l["fnv1a64"]) for l in lines] == \
        [(dtype, len(data), fnv1a64(data)) for _, dtype, _, data in tensors]


def test_unaligned_data_is_read_correctly(inspect, tmp_path):
    # No header padding and a 1-byte tensor first: the F32 data starts at an odd address.
    values = f32(7, 6)
    tensors = [("flag", "BOOL", [1], b"\x01"), ("w", "F32", [7], values.tobytes())]
    for width in range(8):  # a metadata string whose length makes the header length even
        file_bytes, data_offset = safetensors_bytes(tensors, metadata={"pad": "x" * width}, pad=False)
        if data_offset % 2 == 0:
            break
    path = tmp_path / "odd.safetensors"
    path.write_bytes(file_bytes)
    lines = load(inspect, path)
    assert lines[1]["offset"] == data_offset + 1 and lines[1]["offset"] % 2 == 1
    assert floats(inspect, path, "w", tmp_path).tolist() == values.tolist()


def test_no_tensors_and_no_metadata(inspect, tmp_path):
    assert load(inspect, raw_file(tmp_path / "empty.safetensors", {})) == []
    assert load(inspect, raw_file(tmp_path / "meta.safetensors", {"__metadata__": {"a": "b"}})) == []


def test_independent_reader_agrees_if_installed(inspect, tmp_path):
    st = pytest.importorskip("safetensors.numpy", reason="the optional safetensors package is not installed")
    values = {"x": f32(6, 7).reshape(2, 3), "y": np.arange(4, dtype=np.int64)}
    path = tmp_path / "ref.safetensors"
    st.save_file(values, str(path))
    lines = {l["tensor"]: l for l in load(inspect, path)}
    for name, array in values.items():
        assert lines[name]["shape"] == list(array.shape)
        assert lines[name]["fnv1a64"] == fnv1a64(array.astype(array.dtype.newbyteorder("<")).tobytes())


# ----------------------------------------------------------------- hostile files

def entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


# (case id, header, data, fragments the message must hold)
HOSTILE_HEADERS = [
    ("array header", [1, 2], b"", ["not a JSON object"]),
    ("string header", "x", b"", ["not a JSON object"]),
    ("entry not object", {"w": [1, 2]}, b"", ['tensor "w"', "not an object"]),
    ("missing dtype", {"w": {"shape": [2], "data_offsets": [0, 8]}}, bytes(8), ['tensor "w"', 'missing field "dtype"']),
    ("missing shape", {"w": {"dtype": "F32", "data_offsets": [0, 8]}}, bytes(8), ['missing field "shape"']),
    ("missing offsets", {"w": {"dtype": "F32", "shape": [2]}}, bytes(8), ['missing field "data_offsets"']),
    ("dtype not string", {"w": entry(dtype=4)}, bytes(8), ['field "dtype" is not a string']),
    ("unknown dtype", {"w": entry(dtype="F4X")}, bytes(8), ['unknown dtype "F4X"']),
    ("lowercase dtype", {"w": entry(dtype="f32")}, bytes(8), ['unknown dtype "f32"']),
    ("shape not array", {"w": {**entry(), "shape": 2}}, bytes(8), ['field "shape" is not an array']),
    ("negative dim", {"w": entry(shape=(2, -1), offsets=(0, 8))}, bytes(8), ["shape[1] is -1", "not a non-negative integer"]),
    ("float dim", {"w": entry(shape=(2.0,))}, bytes(8), ["shape[0] is 2.0", "not a non-negative integer"]),
    ("string dim", {"w": entry(shape=("2",))}, bytes(8), ["shape[0]", "not a non-negative integer"]),
    ("dim beyond int64", {"w": entry(shape=(2**64,))}, bytes(8), ["shape[0]", "not a non-negative integer"]),
    ("element overflow", {"w": entry(shape=(2**62, 2**62))}, bytes(8), ["overflows the element count"]),
    ("byte overflow", {"w": entry(shape=(2**62,))}, bytes(8), ["overflows the byte size"]),
    ("offsets not pair", {"w": entry(offsets=(0, 8, 16))}, bytes(8), ["not an array [begin, end]"]),
    ("offsets not array", {"w": {**entry(), "data_offsets": 8}}, bytes(8), ["not an array [begin, end]"]),
    ("negative offset", {"w": entry(offsets=(-8, 0))}, bytes(8), ["not two non-negative integers"]),
    ("float offset", {"w": entry(offsets=(0, 8.0))}, bytes(8), ["not two non-negative integers"]),
    ("end before begin", {"w": entry(shape=(0,), offsets=(8, 0))}, bytes(8), ["end before they begin"]),
    ("size mismatch", {"w": entry(shape=(3,), offsets=(0, 8))}, bytes(8), ["hold 8 bytes", "needs 3 × 4 = 12 bytes"]),
    ("size mismatch bf16", {"w": entry(dtype="BF16", shape=(2,), offsets=(0, 8))}, bytes(8), ["hold 8 bytes", "4 bytes"]),
    ("beyond the file", {"w": entry(shape=(4,), offsets=(0, 16))}, bytes(8), ['tensor "w"', "run past the end of the file"]),
    ("offsets beyond int64", {"w": entry(offsets=(2**64, 2**64 + 8))}, bytes(8), ["not two non-negative integers"]),
    ("overlap", {"a": entry(shape=(4,), offsets=(0, 16)), "b": entry(shape=(4,), offsets=(8, 24))}, bytes(24),
     ['tensor "b"', "overlaps", 'tensor "a"']),
    ("same range twice", {"a": entry(), "b": entry()}, bytes(8), ["overlaps"]),
    ("hole between", {"a": entry(offsets=(0, 8)), "b": entry(offsets=(16, 24))}, bytes(24),
     ["hole of 8 bytes", 'tensor "b" begins at 16', 'tensor "a", which ends at 8']),
    ("hole at start", {"a": entry(offsets=(8, 16))}, bytes(16), ["hole of 8 bytes", "start of the data region"]),
    ("trailing bytes", {"a": entry()}, bytes(12), ["4 trailing bytes", 'last tensor "a"']),
    ("data but no tensors", {}, bytes(4), ["4 trailing bytes", "no tensors"]),
    ("empty name", {"": entry()}, bytes(8), ["empty tensor name"]),
    ("metadata not object", {"__metadata__": ["a"], "w": entry()}, bytes(8), ['"__metadata__"', "not an object"]),
    ("metadata value not string", {"__metadata__": {"total": 3}, "w": entry()}, bytes(8), ['"total"', "not a string"]),
    ("unknown field", {"w": {**entry(), "byte_order": "big"}}, bytes(8), ['unknown field "byte_order"']),
]


@pytest.mark.parametrize("case", HOSTILE_HEADERS, ids=[c[0] for c in HOSTILE_HEADERS])
def test_hostile_header_is_invalid_file(inspect, tmp_path, case):
    _, header, data, fragments = case
    path = raw_file(tmp_path / "hostile.safetensors", header, data)
    message = assert_invalid(inspect, path, *fragments)
    assert str(path) in message


@pytest.mark.parametrize("text, fragment", [
    (b'{"w": ' + json.dumps(entry()).encode() + b', "w": ' + json.dumps(entry()).encode() + b"}", 'duplicate key "w"'),
    (b'{"w": {"dtype": "F32"', "expected '}' at byte 21"),
    (b'{"w\xff": 1}', "invalid UTF-8"),
    (b"", "unexpected end"),
    (b'{"a": 1} {}', "unexpected bytes after the document"),
], ids=["duplicate name", "unterminated", "bad utf8", "empty header", "two documents"])
def test_malformed_json_header_is_invalid_file(inspect, tmp_path, text, fragment):
    path = raw_file(tmp_path / "json.safetensors", text, bytes(8))
    message = assert_invalid(inspect, path, fragment, "safetensors header")
    assert str(path) in message


@pytest.mark.parametrize("length, fragment", [
    (2**63, "exceeds the limit"),
    (2**64 - 1, "exceeds the limit"),
    (100_000_001, "exceeds the limit"),
    (1000, "runs past the end of the file"),
])
def test_header_length_beyond_file_or_limit(inspect, tmp_path, length, fragment):
    path = raw_file(tmp_path / "length.safetensors", {"w": entry()}, bytes(8), length=length)
    assert_invalid(inspect, path, fragment, str(path))


def test_too_short_for_the_length(inspect, tmp_path):
    for size in range(8):
        path = tmp_path / f"short{size}.safetensors"
        path.write_bytes(b"\x02" * size)
        assert_invalid(inspect, path, "too few for the 8-byte header length")


def small_valid_file() -> bytes:
    return safetensors_bytes([("w", "F32", [2], f32(2, 8).tobytes()), ("i", "I64", [1], struct.pack("<q", 9))],
                             metadata={"format": "pt"})[0]


def test_every_truncation_is_a_clean_error(inspect, tmp_path):
    whole = small_valid_file()
    path = tmp_path / "whole.safetensors"
    path.write_bytes(whole)
    load(inspect, path)  # the untruncated file is valid
    for cut in range(len(whole)):
        path = tmp_path / f"cut{cut}.safetensors"
        path.write_bytes(whole[:cut])
        assert_invalid(inspect, path, str(path))


def test_every_header_prefix_with_a_consistent_length_is_a_clean_error(inspect, tmp_path):
    # The length field agrees with the cut header, so the JSON parser itself meets the end.
    whole = small_valid_file()
    (length,) = struct.unpack("<Q", whole[:8])
    header, data = whole[8:8 + length], whole[8 + length:]
    for cut in range(len(header.rstrip(b" "))):
        path = raw_file(tmp_path / f"prefix{cut}.safetensors", header[:cut], data)
        assert_invalid(inspect, path, str(path))


def test_random_header_corruption_never_crashes(inspect, tmp_path):
    whole = small_valid_file()
    rng = random.Random(1234)
    for trial in range(150):
        corrupt = bytearray(whole)
        for _ in range(rng.randint(1, 3)):
            corrupt[rng.randrange(0, 8 + 60)] = rng.randrange(256)
        path = tmp_path / f"corrupt{trial}.safetensors"
        path.write_bytes(bytes(corrupt))
        code, lines = run(inspect, "load", path)  # run() asserts no crash
        assert code == 0 or lines[-1]["error"] == INVALID, lines


# ----------------------------------------------------------------- checkpoint folders

def write_sharded(folder: Path, shards: dict[str, list[str]], weight_map: dict[str, str] | None = None,
                  index_text: bytes | None = None) -> dict[str, np.ndarray]:
    """Shards {file name: [tensor names]} of F32 [2, 3] tensors, and an index (default: the true map)."""
    folder.mkdir(parents=True, exist_ok=True)
    values: dict[str, np.ndarray] = {}
    true_map: dict[str, str] = {}
    for number, (shard, names) in enumerate(shards.items()):
        tensors = []
        for k, name in enumerate(names):
            values[name] = f32(6, 100 * number + k).reshape(2, 3)
            tensors.append((name, "F32", [2, 3], values[name].tobytes()))
            true_map[name] = shard
        write_safetensors(folder / shard, tensors)
    if index_text is None:
        index_text = json.dumps({"metadata": {"total_size": 24 * len(values)},
                                 "weight_map": true_map if weight_map is None else weight_map}).encode()
    (folder / "model.safetensors.index.json").write_bytes(index_text)
    return values


SHARDS = {"model-00001-of-00002.safetensors": ["b.weight", "a.weight"],
          "model-00002-of-00002.safetensors": ["c.weight"]}


def test_sharded_folder_loads_in_index_order(inspect, tmp_path):
    order = {"c.weight": "model-00002-of-00002.safetensors", "a.weight": "model-00001-of-00002.safetensors",
             "b.weight": "model-00001-of-00002.safetensors"}
    values = write_sharded(tmp_path / "ckpt", SHARDS, weight_map=order)
    code, lines = run(inspect, "load", tmp_path / "ckpt")
    assert code == 0, lines
    assert lines[0]["sharded"] is True and lines[0]["tensor_count"] == 3
    assert [(l["tensor"], os.path.basename(l["file"])) for l in lines[1:]] == list(order.items())
    for name, want in values.items():
        assert floats(inspect, tmp_path / "ckpt", name, tmp_path).tolist() == want.reshape(-1).tolist()


def test_single_file_folder_and_single_file_wins_over_index(inspect, tmp_path):
    folder = tmp_path / "one"
    write_sharded(folder, SHARDS)
    write_safetensors(folder / "model.safetensors", [("only", "F32", [1], f32(1).tobytes())])
    code, lines = run(inspect, "load", folder)
    assert code == 0 and lines[0]["sharded"] is False
    assert [l["tensor"] for l in lines[1:]] == ["only"]


@pytest.mark.parametrize("shard_name, fragment", [
    ("../model-00001-of-00002.safetensors", 'contains "/"'),
    ("..", 'is ".."'),
    ("/etc/passwd", "absolute path"),
    ("sub/model.safetensors", 'contains "/"'),
    ("", "is empty"),
])
def test_shard_name_must_be_a_plain_file_name(inspect, tmp_path, shard_name, fragment):
    folder = tmp_path / "ckpt"
    weight_map = {"b.weight": "model-00001-of-00002.safetensors", "a.weight": "model-00001-of-00002.safetensors",
                  "c.weight": shard_name}
    write_sharded(folder, SHARDS, weight_map=weight_map)
    assert_invalid(inspect, folder, fragment, "plain file name inside the folder", '"c.weight"')


def test_missing_shard(inspect, tmp_path):
    folder = tmp_path / "ckpt"
    write_sharded(folder, SHARDS)
    (folder / "model-00002-of-00002.safetensors").unlink()
    assert_invalid(inspect, folder, 'shard "model-00002-of-00002.safetensors"', "does not exist")


def test_tensor_in_two_shards(inspect, tmp_path):
    folder = tmp_path / "ckpt"
    write_sharded(folder, {"model-00001-of-00002.safetensors": ["a.weight", "b.weight"],
                           "model-00002-of-00002.safetensors": ["c.weight", "a.weight"]},
                  weight_map={"a.weight": "model-00001-of-00002.safetensors",
                              "b.weight": "model-00001-of-00002.safetensors",
                              "c.weight": "model-00002-of-00002.safetensors"})
    assert_invalid(inspect, folder, 'tensor "a.weight" is in two shards')


def test_tensor_in_the_wrong_shard(inspect, tmp_path):
    folder = tmp_path / "ckpt"
    write_sharded(folder, SHARDS, weight_map={"a.weight": "model-00002-of-00002.safetensors",
                                              "b.weight": "model-00001-of-00002.safetensors",
                                              "c.weight": "model-00002-of-00002.safetensors"})
    assert_invalid(inspect, folder, 'tensor "a.weight" is in shard "model-00001-of-00002.safetensors"',
                   'places it in "model-00002-of-00002.safetensors"')


def test_tensor_missing_from_its_shard(inspect, tmp_path):
    folder = tmp_path / "ckpt"
    weight_map = {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00001-of-00002.safetensors",
                  "c.weight": "model-00002-of-00002.safetensors", "d.weight": "model-00002-of-00002.safetensors"}
    write_sharded(folder, SHARDS, weight_map=weight_map)
    assert_invalid(inspect, folder, 'tensor "d.weight" is missing from shard "model-00002-of-00002.safetensors"')


def test_extra_tensor_not_in_the_index(inspect, tmp_path):
    folder = tmp_path / "ckpt"
    write_sharded(folder, SHARDS, weight_map={"a.weight": "model-00001-of-00002.safetensors",
                                              "c.weight": "model-00002-of-00002.safetensors"})
    assert_invalid(inspect, folder, 'tensor "b.weight" of shard "model-00001-of-00002.safetensors"',
                   'is not in the "weight_map"')


@pytest.mark.parametrize("index_text, fragment", [
    (b"{not json", "model.safetensors.index.json"),
    (b"[]", "is not a JSON object"),
    (b'{"metadata": {}}', 'has no "weight_map"'),
    (b'{"weight_map": []}', '"weight_map" of'),
    (b'{"weight_map": {}}', "lists no tensors"),
    (b'{"weight_map": {"a.weight": 1}}', "not a file name string"),
    (b'{"metadata": 5, "weight_map": {"a.weight": "model-00001-of-00002.safetensors"}}', '"metadata" of'),
], ids=["not json", "array", "no weight_map", "weight_map array", "empty weight_map", "shard not string",
        "metadata not object"])
def test_malformed_index(inspect, tmp_path, index_text, fragment):
    folder = tmp_path / "ckpt"
    write_sharded(folder, SHARDS, index_text=index_text)
    assert_invalid(inspect, folder, fragment)


def test_hostile_shard_is_invalid_file(inspect, tmp_path):
    folder = tmp_path / "ckpt"
    write_sharded(folder, SHARDS)
    shard = folder / "model-00002-of-00002.safetensors"
    shard.write_bytes(shard.read_bytes()[:-1])
    assert_invalid(inspect, folder, str(shard))


def test_folder_without_weights_is_not_found(inspect, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    status, message = load_error(inspect, tmp_path)
    assert status == "SWIFTLET_ERROR_NOT_FOUND" and str(tmp_path) in message
    assert "model.safetensors" in message and "model.safetensors.index.json" in message


# ----------------------------------------------------------------- the real checkpoint

def test_minilm_checkpoint_loads(inspect, minilm_folder, tmp_path):
    path = Path(minilm_folder) / "model.safetensors"
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])  # Python's json: an independent reading of the header
    metadata = header.pop("__metadata__", {})
    lines = load(inspect, minilm_folder)
    assert [l["tensor"] for l in lines] == list(header)
    assert "embeddings.position_ids" in header and header["embeddings.position_ids"]["dtype"] == "I64"
    for line in lines:
        info = header[line["tensor"]]
        begin, end = info["data_offsets"]
        assert (line["dtype"], line["shape"]) == (info["dtype"], info["shape"])
        assert (line["offset"], line["bytes"]) == (8 + length + begin, end - begin)
        if end - begin <= 1 << 16:  # pure-Python FNV is slow; the large ones are checked as floats below
            assert line["fnv1a64"] == fnv1a64(raw[8 + length + begin:8 + length + end]), line["tensor"]
    code, summary = run(inspect, "load", path)
    assert code == 0 and summary[0]["metadata"] == metadata
    for name in ("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight"):
        begin, end = header[name]["data_offsets"]
        want = np.frombuffer(raw[8 + length + begin:8 + length + end], dtype="<f4")
        assert np.array_equal(floats(inspect, minilm_folder, name, tmp_path), want), name
