"""Hostile chat templates: a template is code inside a model file, so a
malicious or broken one must fail with a template error, never take its host
down. Each case runs in its own process (the ChatTemplateCheck driver,
`--render FILE`), where a crash is the failure: a stack overflow or a trap is
a signal, an allocation failure is the Swift runtime's "Fatal error" on
stderr and SIGABRT.

- Chains of 50,000 (`1+1+…`, `x[0][0]…`, `x|f|f…`, `not not…`, `- - …`, `a.b.c…`,
  `~`, parentheses...) are refused at parse time, on a normal stack and on a
  256 KiB thread stack (game engines' worker threads), parsing and releasing
  the template included (`--parse-only`).
- The deepest templates the limits allow (Sources/SwiftletCore/Templates/
  JinjaLimits.swift, read here so the tests follow the limits) render on a
  256 KiB stack, using well under half of it.
- Blow-ups of size (string and list repetition, replace, join, printing,
  tojson, loops over huge strings...) fail fast under a 1 GB address-space
  limit, with nothing on stderr.
- Integer overflow, division by zero and extreme ranges or slices are
  template errors or Python's answer, never a trap.
- A model whose template does not parse still loads; chat with its own
  template then fails with a template error, with a caller's template it works.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import make_tiny_models as mk  # noqa: E402
import swiftlet_ctypes as sw  # noqa: E402

DRIVER = Path(os.environ.get("SWIFTLET_TEMPLATE_CHECK", REPO / "build" / "test-bin" / "chat-template-check"))
LIMITS_SOURCE = REPO / "Sources" / "SwiftletCore" / "Templates" / "JinjaLimits.swift"

CHAIN = 50_000
SMALL_STACK_KIB = 256
# The deepest allowed templates used at most ~96 KiB of a thread's stack when
# the limits were chosen (JinjaLimits.swift); a 256 KiB thread has ~180 KiB
# left after the TLS glibc puts on it. Failing here means a limit or a frame
# grew: measure again before raising it.
MAX_WORK_STACK = 150 * 1024
ADDRESS_SPACE = 1_000_000 * 1024   # `ulimit -v 1000000`
FAST_SECONDS = 3.0


def limit(name: str) -> int:
    """A limit from JinjaLimits.swift (`static let name = value`)."""
    text = LIMITS_SOURCE.read_text()
    m = re.search(rf"static let {name} = ([0-9_]+)(?: << ([0-9]+))?", text)
    assert m, f"{name} not found in {LIMITS_SOURCE}"
    value = int(m.group(1).replace("_", ""))
    return value << int(m.group(2)) if m.group(2) else value


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def line(self) -> str:
        """The driver's verdict: "ok …", "template error: …" or "other error: …"."""
        for line in self.stdout.splitlines():
            if line.startswith(("ok", "template error", "other error")):
                return line
        return ""

    @property
    def work_stack(self) -> int | None:
        m = re.search(r"stack used: \d+ \(work (\d+)\)", self.stdout)
        return int(m.group(1)) if m else None

    def describe(self) -> str:
        return f"exit {self.returncode}, {self.seconds:.2f} s\nstdout: {self.stdout[-1500:]}\nstderr: {self.stderr[-1500:]}"


def run_template(tmp_path: Path, source: str, *flags: str, address_space: int | None = None) -> Outcome:
    assert DRIVER.is_file(), f"{DRIVER} is missing: run `make build`"
    path = tmp_path / "template.jinja"
    path.write_text(source)

    def limit_address_space():
        if address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    start = time.monotonic()
    result = subprocess.run([str(DRIVER), "--render", str(path), *flags], capture_output=True, text=True,
                            timeout=120, preexec_fn=limit_address_space)
    return Outcome(result.returncode, result.stdout, result.stderr, time.monotonic() - start)


def expect_template_error(outcome: Outcome, *, containing: str = "") -> None:
    assert outcome.returncode == 3, outcome.describe()   # not a signal (negative), not another error
    assert outcome.line.startswith("template error: "), outcome.describe()
    assert containing in outcome.line, outcome.describe()
    assert outcome.stderr == "", outcome.describe()


def expect_rendered(outcome: Outcome) -> None:
    assert outcome.returncode == 0 and outcome.line.startswith("ok"), outcome.describe()
    assert outcome.stderr == "", outcome.describe()


# ---------------------------------------------------------------- chains

def chain_templates(n: int) -> dict[str, str]:
    """Templates whose syntax tree is about `n` levels deep, one per way to nest."""
    return {
        "plus": "{{ " + "1+" * n + "1 }}",
        "minus": "{{ " + "1-" * n + "1 }}",
        "times": "{{ " + "1*" * n + "1 }}",
        "power": "{{ 1" + "**1" * n + " }}",
        "concat": "{{ 'a'" + " ~ 'a'" * n + " }}",
        "and": "{{ 1" + " and 1" * n + " }}",
        "or": "{{ 0" + " or 0" * n + " }}",
        "subscript": "{{ messages" + "[0]" * n + " }}",
        "attribute": "{{ messages" + ".a" * n + " }}",
        "filter": "{{ 'a'" + "|upper" * n + " }}",
        "filter with arguments": "{{ 'a'" + "|replace('a', 'b')" * n + " }}",
        "call": "{{ range" + "(1)" * n + " }}",
        "method": "{{ 'a'" + ".strip()" * n + " }}",
        "not": "{{ " + "not " * n + "1 }}",
        "unary minus": "{{ " + "-" * n + "1 }}",
        "negated parentheses": "{{ " + "-(" * n + "1" + ")" * n + " }}",
        "parentheses": "{{ " + "(" * n + "1" + ")" * n + " }}",
        "lists": "{{ " + "[" * n + "1" + "]" * n + " }}",
        "inline if": "{{ 1" + " if 1" * n + " }}",
        "inline else": "{{ " + "1 if 0 else " * n + "1 }}",
        "if blocks": "{% if 1 %}" * n + "x" + "{% endif %}" * n,
        "for blocks": "{% for x in [1] %}" * n + "x" + "{% endfor %}" * n,
        "set": "{% set x = " + "1+" * n + "1 %}{{ x }}",
    }


CHAINS = chain_templates(CHAIN)


@pytest.mark.parametrize("name", CHAINS)
def test_chain_of_50000_is_a_template_error(tmp_path, name):
    expect_template_error(run_template(tmp_path, CHAINS[name]), containing="too deeply")


@pytest.mark.parametrize("name", CHAINS)
def test_chain_of_50000_parsed_and_released_only(tmp_path, name):
    expect_template_error(run_template(tmp_path, CHAINS[name], "--parse-only"), containing="too deeply")


@pytest.mark.parametrize("name", CHAINS)
def test_chain_of_50000_on_a_256k_stack(tmp_path, name):
    outcome = run_template(tmp_path, CHAINS[name], "--stack-kb", str(SMALL_STACK_KIB))
    expect_template_error(outcome, containing="too deeply")


def test_chain_error_says_where(tmp_path):
    outcome = run_template(tmp_path, "{{ " + "1+" * CHAIN + "1 }}")
    expect_template_error(outcome)
    assert re.search(r"syntax error at line 1, column \d+: expression nested too deeply", outcome.line), outcome.line


# ---------------------------------------------------------------- the deepest allowed templates

def deepest_allowed_templates() -> dict[str, str]:
    depth = limit("maxExpressionDepth")
    nesting = limit("maxParseNesting")
    values = limit("maxValueNesting")
    # Chains of `depth` levels (a leaf is 1), and statement blocks around them as deep as parsing allows
    # (the top-level body is one level of parse nesting, `{{` one more, and each block, parenthesis, list,
    # call's arguments one more).
    blocks = nesting - 1
    templates = {f"{name} at the limit": source for name, source in chain_templates(depth - 1).items()
                 if name not in ("if blocks", "for blocks", "negated parentheses", "parentheses", "lists",
                                 "inline else", "set", "subscript", "attribute", "call", "method")}
    templates["method at the limit"] = "{{ 'a'" + ".strip()" * ((depth - 1) // 2) + " }}"
    templates["subscript at the limit"] = "{{ 'a'" + "[0]" * (depth - 1) + " }}"
    templates["parentheses at the limit"] = "{{ " + "(" * (nesting - 2) + "1" + ")" * (nesting - 2) + " }}"
    templates["lists at the limit"] = "{{ " + "[" * (nesting - 2) + "1" + "]" * (nesting - 2) + " }}"
    templates["calls at the limit"] = "{{ " + "'a'.replace('a', " * (nesting - 2) + "'a'" + ")" * (nesting - 2) + " }}"
    templates["if blocks at the limit"] = "{% if 1 %}" * blocks + "x" + "{% endif %}" * blocks
    templates["for blocks at the limit"] = "{% for x in [1] %}" * blocks + "x" + "{% endfor %}" * blocks
    templates["blocks around a chain"] = ("{% for x in [1] %}" * (blocks - 2) + "{{ 'a'" + "|replace('a', 'b')" * (depth - 1)
                                          + " }}" + "{% endfor %}" * (blocks - 2))
    # Values as deeply nested as a stored value may be (one level more per iteration), walked by an attribute
    # chain, printed, encoded and compared at the bottom of an expression as deep as allowed, inside as many
    # blocks as allowed.
    deep_value = ("{% set ns = namespace(x=1, y=2) %}{% for i in range(" + str(values) + ") %}"
                  "{% set ns.x = {'a': ns.x} if i % 2 == 0 else [ns.x] %}{% endfor %}")
    deep_lists = ("{% set ns = namespace(x=1, y=2) %}{% for i in range(" + str(values) + ") %}"
                  "{% set ns.x = [ns.x] %}{% set ns.y = [ns.y] %}{% endfor %}")
    deep_dict = ("{% set ns = namespace(x=1) %}{% for i in range(" + str(depth - 3) + ") %}"
                 "{% set ns.x = {'a': ns.x} %}{% endfor %}")
    templates["attribute at the limit"] = deep_dict + "{{ ns.x" + ".a" * (depth - 3) + " }}"
    for label, operation in [("tojson", "(ns.x|tojson(indent=1, sort_keys=true))"), ("printed", "(ns.x|string)"),
                             ("compared", "(ns.x == ns.x)"), ("in", "(ns.x in [ns.x])"),
                             ("sorted", "([ns.y, ns.x]|sort|first == ns.x)")]:
        templates[f"deepest value {label} at the deepest expression"] = (
            (deep_lists if label == "sorted" else deep_value) + "{% if 1 %}" * (blocks - 4) + "{{ " + operation + " ~ 1" * (depth - 6) + " }}"
            + "{% endif %}" * (blocks - 4))
    # Macros recursing until the render's own depth limit stops them, by every way a macro can be re-entered.
    templates["macro recursion"] = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"
    templates["macro recursion through blocks"] = ("{% macro f(n) %}" + "{% if 1 %}" * 8 + "{{ f(n + 1) }}"
                                                   + "{% endif %}" * 8 + "{% endmacro %}{{ f(0) }}")
    templates["macro recursion through a filter chain"] = ("{% macro f(n) %}{{ 'a'" + "|replace('a', 'b')" * 40
                                                           + "|replace('b', f(n + 1)) }}{% endmacro %}{{ f(0) }}")
    templates["macro recursion through default arguments"] = "{% macro f(n, m=f(1)) %}x{% endmacro %}{{ f(0) }}"
    templates["macro recursion through set blocks"] = ("{% macro f(n) %}{% set x %}{{ f(n + 1) }}{% endset %}{{ x }}"
                                                       "{% endmacro %}{{ f(0) }}")
    templates["macro recursion ending in the deepest value"] = (
        deep_value + "{% macro f(n) %}{% if n < 20 %}{{ f(n + 1) }}{% else %}{{ ns.x|tojson(sort_keys=true) }}"
        "{% endif %}{% endmacro %}{{ f(0) }}")
    return templates


DEEPEST = deepest_allowed_templates()


@pytest.mark.parametrize("name", DEEPEST)
def test_deepest_allowed_template_fits_a_256k_stack(tmp_path, name):
    outcome = run_template(tmp_path, DEEPEST[name], "--stack-kb", str(SMALL_STACK_KIB))
    if name.startswith("macro recursion") and "deepest value" not in name:
        expect_template_error(outcome, containing="too deeply")   # the render's depth limit, cleanly
    else:
        expect_rendered(outcome)
    assert outcome.work_stack is not None and outcome.work_stack <= MAX_WORK_STACK, outcome.describe()


RECURSIONS = {
    "value wrapped by 50000 sets": "{% set x = 1 %}" + "{% set x = [x] %}" * CHAIN + "{{ x }}",
    "value wrapped in a loop": "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}",
    "dict wrapped in a loop": "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = dict(a=ns.x) %}{% endfor %}",
    "namespaces chained in a loop": ("{% set ns = namespace(n=none) %}{% for i in range(100000) %}"
                                     "{% set ns.n = namespace(n=ns.n) %}{% endfor %}{{ ns.n.n.n }}"),
    "map of map": ("{% set ns = namespace(x=1) %}{% for i in range(99) %}{% set ns.x = [ns.x] %}{% endfor %}"
                   "{{ ns.x|map(" + "'map', " * 98 + "'string')|list }}"),
    "macro calling itself through its arguments": "{% macro f(n) %}{{ f(f(n)) }}{% endmacro %}{{ f(0) }}",
}


@pytest.mark.parametrize("name", RECURSIONS)
def test_runaway_recursion_on_a_256k_stack(tmp_path, name):
    outcome = run_template(tmp_path, RECURSIONS[name], "--stack-kb", str(SMALL_STACK_KIB))
    expect_template_error(outcome)
    assert outcome.work_stack is not None and outcome.work_stack <= MAX_WORK_STACK, outcome.describe()


def test_one_level_past_the_expression_limit_is_refused(tmp_path):
    depth = limit("maxExpressionDepth")
    expect_rendered(run_template(tmp_path, "{{ " + "1+" * (depth - 1) + "1 }}"))
    expect_template_error(run_template(tmp_path, "{{ " + "1+" * depth + "1 }}"), containing="too deeply")


# ---------------------------------------------------------------- allocation blow-ups

BLOW_UPS = {
    "loop over a 50 MB string": "{% for c in 'x' * 50000000 %}{{ c }}{% endfor %}",
    "loop over a 16 MB string": "{% for c in 'x' * 16000000 %}{{ c }}{% endfor %}",
    "replace with a 1M string": "{% set s = 'x' * 1000000 %}{{ s.replace('x', s) }}",
    "replace filter with a 1M string": "{% set s = 'x' * 1000000 %}{{ s|replace('x', s) }}",
    "replace the empty string": "{% set s = 'x' * 4000000 %}{{ s.replace('', s) }}",
    "string repeat": "{{ 'abc' * 9000000000000000 }}",
    "list repeat": "{{ ([1] * 1000000) * 1000 }}",
    "range": "{{ range(1000000000000)|length }}",
    "concatenation": "{% set s = 'x' * 10000000 %}{{ s ~ s }}",
    "addition": "{% set s = 'x' * 10000000 %}{{ s + s }}",
    "doubling": "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "join": "{{ (['x' * 10000000] * 1000)|join(',') }}",
    "join of lists": "{{ ([['x' * 10000000]] * 1000)|join(',') }}",
    "printing a list": "{{ ['x' * 10000000] * 1000 }}",
    "tojson": "{{ (['x' * 10000000] * 1000)|tojson }}",
    "tojson ensure_ascii": "{{ ('\u0001' * 10000000)|tojson(ensure_ascii=true) }}",
    "tojson indent": "{{ [[[[1]]]]|tojson(indent=100000000) }}",
    "indent": "{{ ('a\\n' * 8000000)|indent(100) }}",
    "escape": "{{ ('&' * 16000000)|e }}",
    "split": "{{ ('x' * 16000000).split('x')|length }}",
    "split on whitespace": "{{ (' x' * 8000000).split()|length }}",
    "list of a string": "{{ ('x' * 16000000)|list|length }}",
    "many live copies": ("{% set ns = namespace(a=[]) %}{% for i in range(1000) %}"
                         "{% set ns.a = ns.a + ['x' * 10000000 ~ i] %}{% endfor %}"),
    "macro outputs": "{% macro f(n) %}{{ 'x' * 15000000 }}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "block set outputs": "{% macro f(n) %}{% set b %}{{ 'x' * 15000000 }}{{ f(n + 1) }}{% endset %}{{ b }}{% endmacro %}{{ f(0) }}",
    "sum of lists": "{{ ([[1] * 1000] * 100000)|sum(start=[])|length }}",
    "sort keys": "{% set s = 'x' * 16000000 %}{{ ([s, s ~ 'y'] * 50000)|sort|length }}",
    "unique": "{{ range(100000)|unique|list|length }}",
    "deep comparison": ("{% set s = 'x' * 16000000 %}{% set t = 'x' * 16000000 %}"
                        "{{ [s] * 100000 == [t] * 100000 }}"),
    "search": "{{ ('x' * 8000000 ~ 'y') in ('x' * 16000000) }}",
    "nested loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "slices in a loop": "{% set s = 'x' * 16000000 %}{% for i in range(100000) %}{% set t = s[1:] %}{% endfor %}",
    "case mapping in a loop": "{% set s = 'ß' * 4000000 %}{% for i in range(100000) %}{% set t = s|upper %}{% endfor %}",
}


@pytest.mark.parametrize("name", BLOW_UPS)
def test_blow_up_fails_fast_within_1gb(tmp_path, name):
    outcome = run_template(tmp_path, BLOW_UPS[name], address_space=ADDRESS_SPACE)
    # "search" finds nothing and renders False: the point is that it is quick.
    if name == "search":
        expect_rendered(outcome)
    else:
        expect_template_error(outcome)
    assert "Fatal error" not in outcome.stderr, outcome.describe()
    assert outcome.seconds < FAST_SECONDS, outcome.describe()


GOLDENS = REPO / "Tests" / "goldens" / "chat_templates.json"


@pytest.mark.parametrize("name", ["smollm2", "llama31", "mistral_v3", "qwen3", "gemma", "phi3"])
def test_real_templates_render_a_conversation_far_longer_than_any_context(tmp_path, name):
    """The budgets are far above real use: 4,000 messages of 1 KB (~1M tokens) render with real templates,
    within the 1 GB address space and quickly."""
    source = json.loads(GOLDENS.read_text())["templates"][name]
    outcome = run_template(tmp_path, source, "--conversation", "4000:1000", address_space=ADDRESS_SPACE)
    expect_rendered(outcome)
    assert int(outcome.line.split()[1]) > 4_000_000, outcome.describe()
    assert outcome.seconds < FAST_SECONDS, outcome.describe()


# ---------------------------------------------------------------- integer overflow and other traps

MIN = "(-9223372036854775807 - 1)"
ARITHMETIC = {
    # template: expected output, or None for a template error
    "{{ 9223372036854775807 + 1 }}": None,
    "{{ " + MIN + " - 1 }}": None,
    "{{ 9223372036854775807 * 2 }}": None,
    "{{ 4611686018427387904 * -2 }}": "-9223372036854775808",
    "{{ -" + MIN + " }}": None,
    "{{ " + MIN + "|abs }}": None,
    "{{ " + MIN + " // -1 }}": None,
    "{{ " + MIN + " % -1 }}": "0",
    "{{ 7 // 0 }}": None,
    "{{ 7 % 0 }}": None,
    "{{ 7 / 0 }}": None,
    "{{ 7.5 // 0 }}": None,
    "{{ 2 ** 63 }}": None,
    "{{ (-2) ** 63 }}": "-9223372036854775808",
    "{{ 2 ** -1 }}": "0.5",
    "{{ 9223372036854775808 }}": None,
    "{{ 99999999999999999999999999999 }}": None,
    "{{ " + MIN + " is divisibleby(-1) }}": "True",
    "{{ 7 is divisibleby(0) }}": None,
    "{{ range(0, 10, " + MIN + ")|list }}": "[]",
    "{{ range(10, 0, " + MIN + ")|list }}": "[10]",
    "{{ range(9223372036854775807, " + MIN + ", " + MIN + ")|list }}": "[9223372036854775807, -1]",
    "{{ range(" + MIN + ", 9223372036854775807)|length }}": None,
    "{{ range(" + MIN + ", 9223372036854775807, 9223372036854775807)|list }}":
        "[-9223372036854775808, -1, 9223372036854775806]",
    "{{ 'abc'[1::9223372036854775807] }}": "b",
    "{{ 'abc'[" + MIN + ":] }}": "abc",
    "{{ 'abc'[:" + MIN + "] }}": "",
    "{{ [1, 2, 3][::" + MIN + "] }}": "[3]",
    "{{ [1, 2, 3][-1:" + MIN + ":-9223372036854775807] }}": "[3]",
    "{{ 'abc'[9223372036854775807] }}": "",
    "{{ 'abc'[" + MIN + "] }}": "",
    "{{ 'ab' * -3 }}": "",
    "{{ 'ab' * 9223372036854775807 }}": None,
    "{{ [1] * " + MIN + " }}": "[]",
    "{{ [1, 2] * 9223372036854775807 }}": None,
    "{{ 'x'|indent(" + MIN + ") }}": "x",
    "{{ [1]|tojson(indent=" + MIN + ") }}": "[\n1\n]",
    "{{ 'abc'.split('b', " + MIN + ") }}": "['a', 'c']",
    "{{ 'aaa'.replace('a', 'b', " + MIN + ") }}": "bbb",
    "{{ 1e999 }}": "inf",
    "{{ -(1e308 * 10) }}": "-inf",
}


@pytest.mark.parametrize("source", ARITHMETIC)
def test_arithmetic_never_traps(tmp_path, source):
    outcome = run_template(tmp_path, source)
    expected = ARITHMETIC[source]
    if expected is None:
        expect_template_error(outcome)
    else:
        expect_rendered(outcome)
        assert outcome.line == f"ok {len(expected.encode())}", outcome.describe()


# ---------------------------------------------------------------- a model whose template does not parse

UNPARSABLE = {
    "center filter": "{{ messages[0]['content']|center(40) }}",
    "format filter": "{{ '%s'|format(messages[0]['content']) }}",
    "recursive loop": "{% for m in messages recursive %}{{ m['content'] }}{% endfor %}",
    "integer literal of 2**63": "{{ 9223372036854775808 }}",
    "chain of 50000": "{{ " + "1+" * CHAIN + "1 }}",
}


def write_model_with_template(path: Path, template: str, monkeypatch) -> Path:
    """A tiny standard model whose GGUF carries `template` as tokenizer.chat_template."""
    base_writer = mk.gguf.GGUFWriter

    class WriterWithTemplate(base_writer):
        def write_header_to_file(self, *args, **kwargs):
            self.add_chat_template(template)
            return super().write_header_to_file(*args, **kwargs)

    monkeypatch.setattr(mk.gguf, "GGUFWriter", WriterWithTemplate)
    try:
        mk.write_model(mk.SPECS_BY_NAME["tiny-q8_0-mqa-tied"], str(path))
    finally:
        monkeypatch.setattr(mk.gguf, "GGUFWriter", base_writer)
    return path


@pytest.mark.parametrize("name", UNPARSABLE)
def test_model_with_unparsable_template_loads_and_only_its_chat_fails(tmp_path, monkeypatch, name):
    model = write_model_with_template(tmp_path / "model.gguf", UNPARSABLE[name], monkeypatch)
    result = subprocess.run([str(DRIVER), "--load-model", str(model)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "loaded", result.stdout
    assert re.match(r"own template: template error: chat template syntax error at line \d+, column \d+: ", lines[1]), \
        result.stdout
    assert re.match(r"caller template: ok \d+$", lines[2]), result.stdout
    assert result.stderr == ""


def test_model_with_a_parsable_template_chats(tmp_path, monkeypatch):
    model = write_model_with_template(tmp_path / "model.gguf", "{{ messages|length }}", monkeypatch)
    result = subprocess.run([str(DRIVER), "--load-model", str(model)], capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines() == ["loaded", "own template: ok 1", "caller template: ok 164"], result.stdout


def test_c_api_loads_a_model_whose_template_does_not_parse(tmp_path, monkeypatch):
    """Through libswiftlet's swiftlet_model_load (status 0 = OK), the way a host loads it."""
    library = sw.library_path()
    assert os.path.exists(library), f"libswiftlet not found at {library}: build it or set SWIFTLET_LIB"
    lib = sw.load()  # declared by the package's _abi.py, the one copy of the header
    for name in ("center filter", "recursive loop", "integer literal of 2**63"):
        model_path = write_model_with_template(tmp_path / f"{name}.gguf", UNPARSABLE[name], monkeypatch)
        model = ctypes.c_void_p()
        assert lib.swiftlet_model_load(os.fsencode(model_path), None, ctypes.byref(model)) == 0, name
        assert model.value
        lib.swiftlet_model_free(model)
