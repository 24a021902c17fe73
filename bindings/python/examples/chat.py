"""A chat loop on stdin/stdout.  Usage: python chat.py MODEL.gguf

One Context holds the conversation, so each turn evaluates only its new
tokens. Ctrl-C stops a reply; Ctrl-D (or Ctrl-C at the prompt) quits.
"""
import sys

import swiftlet

model = swiftlet.Model(sys.argv[1])
context = model.context(n_ctx=2048)
messages = [{"role": "system", "content": "You are a helpful, concise assistant."}]
while True:
    try:
        line = input("you> ")
    except (EOFError, KeyboardInterrupt):
        break
    messages.append({"role": "user", "content": line})
    reply = context.chat(messages, max_tokens=256, temperature=0.7, stream=True)
    print("bot> ", end="", flush=True)
    try:
        for piece in reply:
            print(piece, end="", flush=True)
    except KeyboardInterrupt:
        print(" [stopped]", end="")
    print()
    messages.append({"role": "assistant", "content": reply.text_so_far})
