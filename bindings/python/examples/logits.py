"""Token-level control: eval, logits, sampling, rewind.  Usage: python logits.py MODEL.gguf"""
import sys

import numpy as np

import swiftlet

model = swiftlet.Model(sys.argv[1])
with model.context(n_ctx=512) as context:
    prompt = model.tokenize("The capital of France is")
    context.eval(prompt)
    logits = context.logits                      # a copy: float32[n_vocab]
    top = np.argsort(logits)[::-1][:5]
    print("top 5 next tokens:", [(model.detokenize([int(t)]), round(float(logits[t]), 2)) for t in top])

    sampler = swiftlet.Sampler(temperature=0.9, top_k=40, seed=42)
    for attempt in range(3):                     # three continuations of the same prefix
        context.rewind(len(prompt) - 1)          # re-evaluate the last prompt token for fresh logits
        context.eval(prompt[-1:])
        tokens = []
        for _ in range(8):
            token = sampler.sample(context)
            if model.is_end_of_generation(token):
                break
            tokens.append(token)
            context.eval([token])
        print(f"continuation {attempt}: {model.detokenize(tokens)!r}")
