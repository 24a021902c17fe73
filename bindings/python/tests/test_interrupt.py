"""Ctrl-C during a long generation: SIGINT is sent to a subprocess in the
middle of generating (or evaluating); it must raise KeyboardInterrupt within
moments (the cancel path stops the C call within a layer), the model and the
context must work afterwards inside that process (interrupt_child.py checks
and prints), and the process must then end by the KeyboardInterrupt."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("mode", ["model-generate", "model-generate-batch", "context-stream", "context-eval",
                                  "context-eval-host-fd"])
def test_ctrl_c_cancels_and_the_model_stays_usable(model_path: str, mode: str) -> None:
    child = subprocess.Popen([sys.executable, os.path.join(HERE, "interrupt_child.py"), model_path, mode],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "GENERATING", line + child.stderr.read() if child.stderr else ""
        time.sleep(0.5)  # well inside the generation (1900 tokens take > 15 s)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
        elapsed = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
    assert "NOT INTERRUPTED" not in out
    assert child.returncode == -signal.SIGINT, (child.returncode, out, err)
    assert err.rstrip().endswith("KeyboardInterrupt"), err
    assert "INTERRUPTED after" in out
    usable = re.search(r"USABLE position=(\d+) answer='(.*)' again='(.*)'", out)
    assert usable, out
    assert usable.group(2).startswith(" Paris") and usable.group(3).startswith(" Paris")
    if mode == "context-stream":
        assert 4 < int(usable.group(1)) < 1900  # stopped partway, keeping what was evaluated
    if mode == "context-eval-host-fd":
        assert "HOST-FD restored=True forwarded=True" in out
    assert elapsed < 10, f"the child took {elapsed:.1f}s to stop and check itself"


def test_a_host_sigint_handler_is_left_alone(model_path: str) -> None:
    """With a SIGINT handler of the host's own, Ctrl-C is the host's business:
    the evaluation is not cancelled, and the handler runs (after the call)."""
    child = subprocess.Popen([sys.executable, os.path.join(HERE, "interrupt_child.py"), model_path, "host-handler"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "GENERATING", line + child.stderr.read() if child.stderr else ""
        time.sleep(0.3)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, (out, err)
    finished = re.search(r"FINISHED position=(\d+) of (\d+) handled=\[(\d+)\]", out)
    assert finished, out + err
    assert finished.group(1) == finished.group(2)  # evaluated to the end
    assert int(finished.group(3)) == signal.SIGINT
