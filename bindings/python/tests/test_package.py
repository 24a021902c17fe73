"""The installed package: self-contained (libswiftlet.so inside it), working
with no environment variables and no Swift toolchain on the PATH,
$SWIFTLET_LIBRARY overriding the bundled library, and a platform wheel built
with the standard `build` tool.

scripts/test-python-package.sh installs the package into a fresh virtual
environment and runs this suite with it. Run from a source tree instead
(PYTHONPATH=src), the install-specific checks are skipped."""
from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

import swiftlet

from conftest import PARIS_PROMPT

PACKAGE_DIR = os.path.dirname(os.path.abspath(swiftlet.__file__))
SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUNDLED = os.path.join(PACKAGE_DIR, "libswiftlet.so")
installed = pytest.mark.skipif(PACKAGE_DIR.startswith(SOURCE_DIR + os.sep),
                               reason="swiftlet is imported from the source tree, not installed")


@installed
def test_the_installed_package_carries_the_library() -> None:
    assert os.path.isfile(BUNDLED)
    assert os.path.isfile(os.path.join(PACKAGE_DIR, "py.typed"))
    if "SWIFTLET_LIBRARY" not in os.environ:
        assert swiftlet.library_path() == BUNDLED


@installed
def test_works_with_no_environment_and_no_swift_on_the_path(model_path: str) -> None:
    script = (
        "import os, shutil, sys, swiftlet\n"
        "assert shutil.which('swift') is None and shutil.which('swiftc') is None\n"
        "assert not [k for k in os.environ if k.startswith('SWIFTLET')]\n"
        "model = swiftlet.Model(sys.argv[1])\n"
        "print(swiftlet.library_path())\n"
        "print(model.generate(sys.argv[2], max_tokens=4, temperature=0))\n")
    out = subprocess.run([sys.executable, "-c", script, model_path, PARIS_PROMPT],
                         env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    path, text = out.stdout.split("\n", 1)
    assert path == BUNDLED
    assert text.startswith(" Paris")


def test_swiftlet_library_overrides_the_bundled_one(tmp_path: object, tiny_path: str) -> None:
    copy = os.path.join(str(tmp_path), "libswiftlet-copy.so")
    shutil.copyfile(swiftlet.library_path(), copy)
    script = ("import sys, swiftlet\n"
              "print(swiftlet.library_path())\n"
              "print(swiftlet.Model(sys.argv[1]).info.architecture)\n")
    env = {"PATH": "/usr/bin:/bin", "SWIFTLET_LIBRARY": copy}
    if "PYTHONPATH" in os.environ:  # running from the source tree
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    out = subprocess.run([sys.executable, "-c", script, tiny_path], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [copy, "llama"]


def header_version() -> tuple[str, int]:
    """SWIFTLET_VERSION_STRING and SWIFTLET_VERSION_NUMBER of include/swiftlet.h."""
    with open(os.path.join(SOURCE_DIR, "..", "..", "include", "swiftlet.h")) as handle:
        text = handle.read()
    parts = {k: int(v) for k, v in re.findall(r"#define SWIFTLET_VERSION_(MAJOR|MINOR|PATCH) (\d+)", text)}
    return f"{parts['MAJOR']}.{parts['MINOR']}.{parts['PATCH']}", \
        parts["MAJOR"] * 1000000 + parts["MINOR"] * 1000 + parts["PATCH"]


def test_version_matches_the_header() -> None:
    string, number = header_version()
    assert swiftlet.version() == string == swiftlet.__version__
    assert swiftlet.HEADER_VERSION_NUMBER == number


@pytest.mark.skipif(importlib.util.find_spec("build") is None, reason="the `build` package is not installed")
def test_wheel_is_platform_specific_and_carries_the_library(tmp_path: object) -> None:
    outdir = os.path.join(str(tmp_path), "dist")
    out = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", outdir, SOURCE_DIR],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    (wheel,) = glob.glob(os.path.join(outdir, "*.whl"))
    version = header_version()[0]
    assert os.path.basename(wheel).startswith(f"swiftlet-{version}-py3-none-linux_")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"swiftlet/libswiftlet.so", "swiftlet/py.typed", "swiftlet/__init__.py", "swiftlet/compat.py"} <= names
        wheel_file = archive.read(f"swiftlet-{version}.dist-info/WHEEL").decode()
        library = archive.getinfo("swiftlet/libswiftlet.so")
    assert "Root-Is-Purelib: false" in wheel_file
    assert library.file_size > 1_000_000
