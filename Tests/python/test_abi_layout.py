"""The ABI layout as published: Tests/abi/layout.txt against the compiler.

Tests/c/abi_layout.c prints, as gcc lays them out, the size of every public
struct and each field's offset and size. An accidental layout change fails
here; a deliberate one updates layout.txt and the README's changelog. The
header's struct bodies are parsed independently, so a field abi_layout.c
forgot to print fails too, and so does implicit padding (the header promises
none: gaps are named `reserved` fields)."""
from __future__ import annotations

import os
import re
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HEADER = os.path.join(ROOT, "include", "swiftlet.h")
LAYOUT = os.path.join(ROOT, "Tests", "abi", "layout.txt")


@pytest.fixture(scope="module")
def compiled_layout(tmp_path_factory) -> str:
    exe = str(tmp_path_factory.mktemp("abi") / "abi_layout")
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", os.path.join(ROOT, "include"),
                    os.path.join(ROOT, "Tests", "c", "abi_layout.c"), "-o", exe], check=True)
    return subprocess.run([exe], check=True, capture_output=True, text=True).stdout


def parse(text: str) -> tuple[dict[str, int], dict[str, list[tuple[str, int, int]]]]:
    sizes: dict[str, int] = {}
    fields: dict[str, list[tuple[str, int, int]]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            sizes[parts[0]] = int(parts[1])
            fields.setdefault(parts[0], [])
        else:
            struct, field = parts[0].split(".")
            fields.setdefault(struct, []).append((field, int(parts[1]), int(parts[2])))
    return sizes, fields


def header_struct_fields() -> dict[str, list[str]]:
    """Field names of each `typedef struct swiftlet_x { ... } swiftlet_x;` in the header."""
    text = open(HEADER).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    result = {}
    for name, body in re.findall(r"typedef struct (swiftlet_\w+) \{(.*?)\}", text, flags=re.S):
        names = []
        for declaration in body.split(";"):
            declaration = declaration.strip()
            if declaration:
                names.append(re.findall(r"\w+", declaration)[-1])
        result[name] = names
    return result


def test_layout_matches_the_published_file(compiled_layout):
    with open(LAYOUT) as f:
        published = f.read()
    assert compiled_layout == published, "the ABI layout changed: update Tests/abi/layout.txt and the changelog"


def test_every_public_struct_and_field_is_recorded(compiled_layout):
    _, fields = parse(compiled_layout)
    declared = header_struct_fields()
    assert set(fields) == set(declared)
    for struct, names in declared.items():
        assert [f[0] for f in fields[struct]] == names, struct


def test_no_implicit_padding_and_struct_size_first(compiled_layout):
    sizes, fields = parse(compiled_layout)
    for struct, entries in fields.items():
        assert entries[0] == ("struct_size", 0, 4), struct
        end = 0
        for name, offset, size in entries:
            assert offset == end, f"{struct}.{name}: a gap before offset {offset}"
            end = offset + size
        assert end == sizes[struct], f"{struct}: {sizes[struct] - end} bytes of tail padding"


def test_no_bool_or_enum_in_the_header():
    text = re.sub(r"/\*.*?\*/", "", open(HEADER).read(), flags=re.S)
    assert not re.search(r"\bbool\b|\b_Bool\b|stdbool", text)
    assert not re.search(r"\benum\b", text)
