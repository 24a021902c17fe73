"""Chat templates: SwiftletCore's Jinja renderer against jinja2.

The goldens (Tests/goldens/chat_templates.json) were rendered by jinja2 set up
as transformers' apply_chat_template sets it up (make_chat_template_goldens.py):
real templates (ChatML, SmolLM2, Llama-3, Mistral, Gemma, Qwen, ...) over
several conversations, plus small feature templates and expected errors.
The C API only renders a model's own template, so the driver
Tests/ChatTemplateCheck (built into build/test-bin/) checks every case, then
that hostile templates (runaway loops, huge values, deep nesting) fail cleanly.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
DRIVER = Path(os.environ.get("SWIFTLET_TEMPLATE_CHECK", REPO / "build" / "test-bin" / "chat-template-check"))
GOLDENS = REPO / "Tests" / "goldens" / "chat_templates.json"


def run_driver(*arguments: str) -> subprocess.CompletedProcess:
    assert DRIVER.is_file(), f"{DRIVER} is missing: run `make build`"
    return subprocess.run([str(DRIVER), str(GOLDENS), *arguments], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_every_golden_renders_exactly_and_hostile_templates_fail_cleanly():
    cases = json.loads(GOLDENS.read_text())["cases"]
    result = run_driver()
    summary = re.search(r"goldens: (\d+) passed, (\d+) failed, of (\d+) cases", result.stdout)
    assert summary, result.stdout + result.stderr
    passed, failed, total = map(int, summary.groups())
    assert (passed, failed, total) == (len(cases), 0, len(cases)), result.stdout[-4000:]
    assert "robustness: 0 failures" in result.stdout, result.stdout[-4000:]
    assert result.returncode == 0
