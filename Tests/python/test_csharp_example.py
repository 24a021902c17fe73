"""bindings/csharp/examples/Generate.cs: Ctrl-C goes through swiftlet_context_cancel.

Mono raises Console.CancelKeyPress only when the console is a terminal, so the
example runs on a pseudo-terminal, as a person runs it. SIGINT is sent once
the first generated text has arrived (so the generation is running), well
before 3,000 tokens could be done; the example must then end by itself with
exit status 0 and say it was cancelled, instead of being killed by the signal."""
from __future__ import annotations

import os
import pty
import select
import signal
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "build", "csharp", "Generate.exe")


def test_ctrl_c_cancels_the_generation(real_model_path):
    assert os.path.exists(EXAMPLE), f"{EXAMPLE} is missing: run `make csharp`"
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("mono", ["mono", EXAMPLE, real_model_path, "Write a long story about a dragon.", "-n", "3000"])
    output, interrupted, deadline = b"", False, time.time() + 120
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            output += data
        # Mono writes terminal set-up sequences first; letters mean generated text.
        if not interrupted and sum(chr(b).isalpha() for b in output) > 40:
            os.kill(pid, signal.SIGINT)
            interrupted = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert interrupted, output.decode(errors="replace")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"status {status}: {output[-500:]!r}"
    assert b", cancelled]" in output, output[-500:]
