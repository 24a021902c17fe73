"""The package's modules import each other without a circle.

Imports under ``if TYPE_CHECKING:`` are left out: they are for annotations
(``Context`` names ``Model`` in its signatures, ``_model`` imports
``_context`` for real) and never run. A run-time circle would make import
order matter, and a module half-initialised when another reads it.
"""
from __future__ import annotations

import ast
import os

import swiftlet

PACKAGE = os.path.dirname(os.path.abspath(swiftlet.__file__))


def run_time_imports(path: str) -> set[str]:
    """The package modules `path` imports when it runs (``from .x import ...``, ``from . import x``)."""
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for statement in statements:
            if isinstance(statement, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(statement.test):
                    visit(statement.body)
                visit(statement.orelse)
            elif isinstance(statement, ast.Try):
                for block in (statement.body, *(handler.body for handler in statement.handlers), statement.orelse,
                              statement.finalbody):
                    visit(block)
            elif isinstance(statement, ast.ImportFrom) and statement.level == 1:
                found.update([statement.module] if statement.module else [alias.name for alias in statement.names])

    with open(path, encoding="utf-8") as file:
        visit(ast.parse(file.read()).body)
    return found


def test_no_module_imports_itself_through_others() -> None:
    modules = {name[:-3] for name in os.listdir(PACKAGE) if name.endswith(".py")}
    graph = {module: run_time_imports(os.path.join(PACKAGE, module + ".py")) & modules for module in modules}
    assert graph["_model"] >= {"_context"}  # the one direction there is (keeps this test from passing vacuously)
    for start in graph:
        seen, frontier = set(), set(graph[start])
        while frontier:
            module = frontier.pop()
            assert module != start, f"{start} imports itself (through some of {sorted(seen)})"
            if module not in seen:
                seen.add(module)
                frontier |= graph[module]
