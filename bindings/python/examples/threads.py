"""One model, several threads, one context each.  Usage: python threads.py MODEL.gguf

The model is immutable and shared; each thread evaluates in its own Context.
ctypes releases the GIL during C calls, so the threads really run at once.
"""
import sys
import threading

import swiftlet

model = swiftlet.Model(sys.argv[1])
prompts = ["The capital of France is", "Water boils at", "The largest planet is"]
answers = {}


def work(prompt: str) -> None:
    with model.context(n_ctx=256, n_threads=1) as context:
        answers[prompt] = context.generate(prompt, max_tokens=12, temperature=0)


threads = [threading.Thread(target=work, args=(p,)) for p in prompts]
for t in threads:
    t.start()
for t in threads:
    t.join()
for prompt in prompts:
    print(f"{prompt}{answers[prompt]!r}")
