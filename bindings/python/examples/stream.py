"""Stream a model's reply, in three lines.  Usage: python stream.py MODEL.gguf"""
import sys, swiftlet
model = swiftlet.Model(sys.argv[1])
for piece in model.chat([{"role": "user", "content": "Write a haiku about the sea."}], stream=True): print(piece, end="", flush=True)
