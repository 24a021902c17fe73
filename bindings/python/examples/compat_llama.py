"""A llama-cpp-python script moved to Swiftlet by changing one import.
Usage: python compat_llama.py MODEL.gguf"""
import sys

from swiftlet.compat import Llama  # was: from llama_cpp import Llama

llm = Llama(model_path=sys.argv[1], n_ctx=1024, seed=1, verbose=False)
output = llm("Q: What is the capital of France? A:", max_tokens=16, temperature=0, stop=["Q:", "\n"])
print(output["choices"][0]["text"].strip(), output["usage"])

for chunk in llm.create_chat_completion([{"role": "user", "content": "Name three colors."}],
                                        max_tokens=32, temperature=0, stream=True):
    print(chunk["choices"][0]["delta"].get("content", ""), end="", flush=True)
print()
