"""Run by test_interrupt.py: starts a long generation, is sent SIGINT, and
checks that the model and the context are usable afterwards, then lets the
KeyboardInterrupt end the process. Usage: interrupt_child.py MODEL MODE

Modes: model-generate, model-generate-batch (two sequences, one C call on
the main thread), context-stream, context-eval (the main thread inside
one long C call: cancelled by the watcher thread), context-eval-host-fd (the
same with a wakeup fd of the host's own, as asyncio sets: it must be back
after the calls and must have received the SIGINT too), host-handler (a SIGINT
handler of the host's own: the evaluation is left to finish, the handler runs,
no KeyboardInterrupt)."""
import os
import signal
import sys
import time

import swiftlet

# A test run started in the background (`make test &`) hands its children
# SIGINT ignored, and Python then installs no handler of its own: put back
# the one an interactive program has.
signal.signal(signal.SIGINT, signal.default_int_handler)
model = swiftlet.Model(sys.argv[1], n_threads=1, n_ctx=2048)
mode = sys.argv[2]
context = model.context(n_ctx=2048)
prompt_length = len(model.tokenize("Once upon a time"))
started = time.monotonic()
host_fd = None
if mode == "context-eval-host-fd":
    host_read, host_fd = os.pipe()
    os.set_blocking(host_fd, False)
    os.set_blocking(host_read, False)
    signal.set_wakeup_fd(host_fd)
if mode == "host-handler":
    handled = []
    signal.signal(signal.SIGINT, lambda number, frame: handled.append(number))
    tokens = model.tokenize("the quick brown fox jumps over the lazy dog " * 180)[:1900]
    print("GENERATING", flush=True)
    context.eval(tokens)  # ~2 s on one thread: the SIGINT comes in the middle
    print(f"FINISHED position={context.position} of {len(tokens)} handled={handled} "
          f"after {time.monotonic() - started:.2f}s", flush=True)
    sys.exit(0)
try:
    if mode == "model-generate":  # not streamed: waiting inside generate()
        print("GENERATING", flush=True)
        model.generate("Once upon a time", max_tokens=1900, temperature=0.8, seed=1)
    elif mode == "model-generate-batch":
        print("GENERATING", flush=True)
        model.generate_batch(["Once upon a time", "The sea"], max_tokens=1900, temperature=0.8, seed=1)
    elif mode == "context-stream":
        for count, piece in enumerate(context.generate("Once upon a time", max_tokens=1900, temperature=0.8,
                                                       seed=1, stream=True)):
            if count == 2:
                print("GENERATING", flush=True)
    elif mode in ("context-eval", "context-eval-host-fd"):  # one long evaluation of many batches
        tokens = model.tokenize("the quick brown fox jumps over the lazy dog " * 180)[:1900]
        print("GENERATING", flush=True)
        for _ in range(100):
            context.eval(tokens)
            context.reset()
    print("NOT INTERRUPTED", flush=True)
except KeyboardInterrupt:
    print(f"INTERRUPTED after {time.monotonic() - started:.2f}s", flush=True)
    position = context.position  # raises ContextBusyError if the context were still held
    answer = model.generate("The capital of France is", max_tokens=4, temperature=0)
    context.reset()
    again = context.generate("The capital of France is", max_tokens=4, temperature=0)
    print(f"USABLE position={position} answer={answer!r} again={again!r}", flush=True)
    if host_fd is not None:
        restored = signal.set_wakeup_fd(-1) == host_fd
        forwarded = signal.SIGINT in os.read(host_read, 512)
        print(f"HOST-FD restored={restored} forwarded={forwarded}", flush=True)
    raise
