"""The ctypes declaration these tests use (swiftlet_ctypes.abi, which is the
Python package's bindings/python/src/swiftlet/_abi.py loaded by path) against
Tests/abi/layout.txt and the header: every struct's size and field offsets,
every constant, every function's and callback's types. The checks are the
package's own (bindings/python/tests/test_abi.py), run here on the source file."""
from __future__ import annotations

import importlib.util
import os

import pytest

import swiftlet_ctypes as sw

_spec = importlib.util.spec_from_file_location(
    "swiftlet_package_abi_checks", os.path.join(sw.REPO_ROOT, "bindings", "python", "tests", "test_abi.py"))
_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_checks)


@pytest.fixture
def abi():
    return sw.abi


test_struct_layouts_equal_the_published_file = _checks.test_struct_layouts_equal_the_published_file
test_struct_field_types_match_the_header = _checks.test_struct_field_types_match_the_header
test_constants_equal_the_header = _checks.test_constants_equal_the_header
test_functions_match_the_header = _checks.test_functions_match_the_header
test_callback_types_match_the_header = _checks.test_callback_types_match_the_header
