"""The package's ctypes declaration of the C ABI (swiftlet/_abi.py, the one
Python copy of include/swiftlet.h) against the published layout and the header.

- every struct: the size and each field's name, offset and size equal
  Tests/abi/layout.txt (the published x86-64 layout, which Tests/c/abi_layout.c
  checks against gcc), and no struct is missing either side;
- every integer ``#define SWIFTLET_*`` of the header has the same value here;
- every function, callback type and struct field: the types match the
  header's declarations, read from its text (pointer targets included:
  ``const swiftlet_sampler_params *`` must be ``POINTER(SamplerParams)``).

Nothing here loads the library. Tests/python/test_ctypes_layout.py runs these
same checks on the source file the repository's C API tests use."""
from __future__ import annotations

import ctypes
import os
import re
from types import ModuleType
from typing import Any

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
HEADER = os.path.join(REPO, "include", "swiftlet.h")
LAYOUT = os.path.join(REPO, "Tests", "abi", "layout.txt")


@pytest.fixture
def abi() -> ModuleType:
    from swiftlet import _abi
    return _abi


def header_code() -> str:
    with open(HEADER) as handle:
        return re.sub(r"/\*.*?\*/", " ", handle.read(), flags=re.S)


def published_layout() -> dict[str, tuple[int, list[tuple[str, int, int]]]]:
    """struct -> (size, [(field, offset, size)]) from Tests/abi/layout.txt."""
    layout: dict[str, tuple[int, list[tuple[str, int, int]]]] = {}
    with open(LAYOUT) as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 2:
                layout[parts[0]] = (int(parts[1]), [])
            elif len(parts) == 3:
                struct, field = parts[0].split(".")
                layout[struct][1].append((field, int(parts[1]), int(parts[2])))
    return layout


def test_struct_layouts_equal_the_published_file(abi: ModuleType) -> None:
    layout = published_layout()
    assert layout, f"{LAYOUT} is empty"
    assert set(abi.STRUCTS) == set(layout)
    for name, struct in abi.STRUCTS.items():
        size, fields = layout[name]
        assert ctypes.sizeof(struct) == size, name
        ours = [(field, getattr(struct, field).offset, getattr(struct, field).size) for field, _ in struct._fields_]
        assert ours == fields, name


def test_constants_equal_the_header(abi: ModuleType) -> None:
    defines = re.findall(r"^#define SWIFTLET_(\w+)\s+(-?\d+)u?\s*$", header_code(), flags=re.M)
    assert len(defines) > 25
    for name, value in defines:
        assert getattr(abi, name) == int(value), name
    version = re.search(r'#define SWIFTLET_VERSION_STRING "([^"]+)"', header_code())
    assert version and abi.VERSION_STRING == version.group(1)
    assert abi.VERSION_NUMBER == abi.VERSION_MAJOR * 1000000 + abi.VERSION_MINOR * 1000 + abi.VERSION_PATCH


# ------------------------------------------------------------- signatures

_SCALARS = {"int32_t": "int32", "swiftlet_status": "int32", "uint32_t": "uint32", "uint64_t": "uint64",
            "size_t": "size_t", "float": "float", "void": "void"}
_CTYPES_SCALARS = {ctypes.c_int32: "int32", ctypes.c_uint32: "uint32", ctypes.c_uint64: "uint64",
                   ctypes.c_size_t: "size_t", ctypes.c_float: "float", ctypes.c_int8: "int8", None: "void"}


def c_type(text: str, abi: ModuleType) -> str:
    """A C parameter or return type (name removed) as a comparable word:
    "int32", "char*", "swiftlet_sampler_params*", "handle**", "callback:swiftlet_log_callback"."""
    text = re.sub(r"\bconst\b", " ", text)
    stars = text.count("*")
    base = text.replace("*", " ").split()[0]
    if base.endswith("_callback"):
        assert stars == 0
        return "callback:" + base
    if stars == 0:
        return _SCALARS[base]
    if base.startswith("swiftlet_") and base not in abi.STRUCTS:
        base = "handle"  # an opaque handle
    return base + "*" * stars


def callback_types(abi: ModuleType) -> dict[str, Any]:
    """Each callback typedef of the header -> its ctypes declaration."""
    return {"swiftlet_log_callback": abi.LogCallback, "swiftlet_token_callback": abi.TokenCallback,
            "swiftlet_progress_callback": abi.ProgressCallback,
            "swiftlet_batch_token_callback": abi.BatchTokenCallback,
            "swiftlet_observer_callback": abi.ObserverCallback}


def ctypes_type(value: Any, abi: ModuleType) -> str:
    """The same word for a ctypes type in the declaration."""
    callbacks = {declared: name for name, declared in callback_types(abi).items()}
    names = {struct: name for name, struct in abi.STRUCTS.items()}
    if value in callbacks:
        return "callback:" + callbacks[value]
    if value in _CTYPES_SCALARS:
        return _CTYPES_SCALARS[value]
    if value is ctypes.c_char_p:
        return "char*"
    if value is ctypes.c_void_p:
        return "void*|handle*"
    if hasattr(value, "_type_") and issubclass(value, ctypes._Pointer):
        target = value._type_
        if target is ctypes.c_void_p:
            return "handle**"
        if target is ctypes.c_char_p:
            return "char**"
        if target in names:
            return names[target] + "*"
        inner = _CTYPES_SCALARS.get(target) or {ctypes.c_char: "char"}[target]
        return {"int32": "int32_t", "int8": "int8_t", "size_t": "size_t", "float": "float"}.get(inner, inner) + "*"
    raise AssertionError(f"unexpected ctypes type {value!r}")


def same(c_word: str, ours: str) -> bool:
    # ctypes.c_size_t is ctypes.c_uint64 on LP64 platforms: one type, two names
    c_word, ours = (word.replace("uint64", "size_t") for word in (c_word, ours))
    return c_word == ours or (ours == "void*|handle*" and c_word in ("void*", "handle*"))


def split_parameters(text: str) -> list[str]:
    text = text.strip()
    if text in ("", "void"):
        return []
    return [re.sub(r"\w+$", "", part.strip()).strip() or part.strip() for part in text.split(",")]


def test_functions_match_the_header(abi: ModuleType) -> None:
    declared = re.findall(r"SWIFTLET_API\s+([^;(]*?)\b(swiftlet_\w+)\s*\(([^)]*)\)\s*;", header_code())
    assert {name for _, name, _ in declared} == set(abi.FUNCTIONS)
    for returns, name, parameters in declared:
        restype, argtypes = abi.FUNCTIONS[name]
        assert same(c_type(returns, abi), ctypes_type(restype, abi)), (name, returns, restype)
        c_parameters = split_parameters(parameters)
        assert len(c_parameters) == len(argtypes), name
        for index, (c_parameter, ours) in enumerate(zip(c_parameters, argtypes)):
            assert same(c_type(c_parameter, abi), ctypes_type(ours, abi)), (name, index, c_parameter, ours)


def test_callback_types_match_the_header(abi: ModuleType) -> None:
    typedefs = re.findall(r"typedef\s+([^;(]*?)\(\s*\*\s*(swiftlet_\w+_callback)\s*\)\s*\(([^)]*)\)\s*;",
                          header_code())
    callbacks = callback_types(abi)
    assert {name for _, name, _ in typedefs} == set(callbacks)
    for returns, name, parameters in typedefs:
        ours = callbacks[name]
        assert same(c_type(returns, abi), ctypes_type(ours._restype_, abi)), name
        c_parameters = split_parameters(parameters)
        assert len(c_parameters) == len(ours._argtypes_), name
        for c_parameter, argument in zip(c_parameters, ours._argtypes_):
            if name in ("swiftlet_token_callback", "swiftlet_batch_token_callback") and \
                    c_type(c_parameter, abi) == "char*":
                assert argument is ctypes.c_void_p  # `piece` is taken as an address: not NUL-terminated
                continue
            assert same(c_type(c_parameter, abi), ctypes_type(argument, abi)), (name, c_parameter, argument)


def test_struct_field_types_match_the_header(abi: ModuleType) -> None:
    bodies = re.findall(r"typedef struct (swiftlet_\w+) \{(.*?)\}", header_code(), flags=re.S)
    assert {name for name, _ in bodies} == set(abi.STRUCTS)
    for name, body in bodies:
        c_fields = [declaration.strip() for declaration in body.split(";") if declaration.strip()]
        ours = abi.STRUCTS[name]._fields_
        assert [re.findall(r"\w+", field)[-1] for field in c_fields] == [field for field, _ in ours], name
        for declaration, (field, ctype) in zip(c_fields, ours):
            c_word = c_type(re.sub(r"\w+$", "", declaration), abi)
            assert same(c_word, ctypes_type(ctype, abi)), (name, field, declaration, ctype)
