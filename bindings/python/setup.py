"""Build hook for the swiftlet package: puts libswiftlet.so inside it.

`pip install ./bindings/python` and `python -m build --wheel bindings/python`
both run build_py below, which copies the library into the built package, so
the installed package is self-contained. Where the library comes from:

1. $SWIFTLET_BUNDLE_LIBRARY, if set (a path to a libswiftlet.so to bundle);
2. <repo>/build/lib/libswiftlet.so, where <repo> is the Swiftlet checkout
   this directory belongs to (found by walking up to include/swiftlet.h);
3. otherwise `make -C <repo> build` is run to build it (needs Swift 6.3 on the PATH).

If none of these works the build fails with a message saying what to do.
The wheel is tagged py3-none-<platform>: pure Python calling a native library.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = os.path.dirname(os.path.abspath(__file__))
LIBRARY = "libswiftlet.so"


def find_repository() -> str | None:
    """The Swiftlet checkout containing this directory, or None (e.g. an unpacked sdist)."""
    directory = HERE
    while True:
        if os.path.isfile(os.path.join(directory, "include", "swiftlet.h")) and \
                os.path.isfile(os.path.join(directory, "Makefile")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def fail(message: str) -> None:
    raise SystemExit(f"\nswiftlet: cannot bundle {LIBRARY}: {message}\n")


def locate_library() -> str:
    override = os.environ.get("SWIFTLET_BUNDLE_LIBRARY")
    if override:
        if not os.path.isfile(override):
            fail(f"$SWIFTLET_BUNDLE_LIBRARY={override} does not exist")
        return override
    repository = find_repository()
    if repository is None:
        fail(f"{HERE} is not inside a Swiftlet checkout (no include/swiftlet.h above it). "
             f"Build from the repository (pip install ./bindings/python), or set "
             f"SWIFTLET_BUNDLE_LIBRARY to a built {LIBRARY}.")
    built = os.path.join(repository, "build", "lib", LIBRARY)
    if os.path.isfile(built):
        return built
    if shutil.which("swift") is None:
        fail(f"{built} does not exist and there is no Swift toolchain on the PATH to build it. "
             f"Run `make build` in {repository} with Swift 6.3 installed, or set "
             f"SWIFTLET_BUNDLE_LIBRARY to a built {LIBRARY}.")
    print(f"swiftlet: {built} is missing; running `make -C {repository} build`", file=sys.stderr)
    completed = subprocess.run(["make", "-C", repository, "build"], stdout=sys.stderr)
    if completed.returncode != 0 or not os.path.isfile(built):
        fail(f"`make -C {repository} build` failed (exit status {completed.returncode}); see its output above.")
    return built


class BuildPyWithLibrary(build_py):
    """build_py that also copies libswiftlet.so into the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install uses the checkout's build/lib directly
        source = locate_library()
        target = os.path.join(self.build_lib, "swiftlet", LIBRARY)
        self.mkpath(os.path.dirname(target))
        self.copy_file(source, target, preserve_mode=True)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        target = os.path.join(self.build_lib, "swiftlet", LIBRARY)
        if target not in outputs:
            outputs.append(target)
        return outputs


class BinaryDistribution(Distribution):
    """A distribution with a native part: built into the platform-specific
    library directory and packaged as a non-pure wheel."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    """Tags the wheel py3-none-<platform>: it holds a native library but no
    Python extension, so any Python 3 on that platform can use it."""

    def get_tag(self) -> tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(distclass=BinaryDistribution, cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel})
