"""Run by test_interrupt.py: starts a long generation, is sent SIGINT, and
checks that the model and the context are usable afterwards, then lets the
KeyboardInterrupt end the process. Usage: interrupt_child.py MODEL MODE"""
import sys
import time

import swiftlet

model = swiftlet.Model(sys.argv[1], n_threads=1, n_ctx=2048)
mode = sys.argv[2]
context = model.context(n_ctx=2048)
prompt_length = len(model.tokenize("Once upon a time"))
started = time.monotonic()
try:
    if mode == "model-generate":  # not streamed: waiting inside generate()
        print("GENERATING", flush=True)
        model.generate("Once upon a time", max_tokens=1900, temperature=0.8, seed=1)
    elif mode == "context-stream":
        for count, piece in enumerate(context.generate("Once upon a time", max_tokens=1900, temperature=0.8,
                                                       seed=1, stream=True)):
            if count == 2:
                print("GENERATING", flush=True)
    elif mode == "context-eval":  # one long evaluation of many batches
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
    raise
