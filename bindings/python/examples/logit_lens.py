"""The logit lens: what the model would say next if it stopped after each layer.

    python logit_lens.py [MODEL.gguf] [--prompt "..."]

MODEL defaults to $SWIFTLET_MODEL_Q4_1. Needs the ``gguf`` package
(``pip install gguf``) to read the final norm and the output head from the
model file: Swiftlet hands out activations, not weights.

Evaluates the prompt with ``context.eval(tokens, observe=("hidden", "final"))``,
then for each layer puts the last token's hidden state through the model's
final RMSNorm and output head (nostalgebraist, "interpreting GPT: the logit
lens", 2020) and prints the top token and its probability. The last line
decodes ``final`` (the library's own normed state) and must agree with the
model's next token, from the context's logits, printed beside it.
For models with an RMSNorm before the head (Llama, SmolLM2, Qwen2).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import swiftlet

try:
    import gguf
except ImportError:
    sys.exit("logit_lens.py needs the gguf package: pip install gguf")


def read_head(path: str, architecture: str) -> tuple[np.ndarray, np.ndarray, float]:
    """The final norm's weights, the output head (n_vocab x n_embd; the token
    embedding when the head is tied to it) and the norm's epsilon."""
    reader = gguf.GGUFReader(path)
    tensors = {tensor.name: tensor for tensor in reader.tensors}

    def matrix(name: str) -> np.ndarray:
        tensor = tensors[name]
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        return np.asarray(values, dtype=np.float32).reshape(-1, int(tensor.shape[0]))

    head = matrix("output.weight" if "output.weight" in tensors else "token_embd.weight")
    norm = matrix("output_norm.weight")[0]
    field = reader.fields.get(f"{architecture}.attention.layer_norm_rms_epsilon")
    epsilon = float(field.parts[-1][0]) if field is not None else 1e-5
    return norm, head, epsilon


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=os.environ.get("SWIFTLET_MODEL_Q4_1"))
    parser.add_argument("--prompt", default="The capital of France is")
    args = parser.parse_args()
    if not args.model:
        parser.error("give a model path, or set SWIFTLET_MODEL_Q4_1")

    model = swiftlet.Model(args.model)
    norm, head, epsilon = read_head(args.model, model.info.architecture)
    tokens = model.tokenize(args.prompt)
    with model.context(n_ctx=max(len(tokens), 16)) as context:
        seen = context.eval(tokens, observe=("hidden", "final"))
        logits = context.logits
    assert seen.hidden is not None and seen.final is not None and logits is not None

    def show(x: np.ndarray) -> str:
        probabilities = softmax(head @ x)
        top = np.argsort(probabilities)[::-1][:3]
        return "  ".join(f"{model.detokenize([int(t)])!r:<12} {probabilities[t]:.3f}" for t in top)

    def rms_norm(h: np.ndarray) -> np.ndarray:
        return h / np.sqrt(np.mean(h * h) + epsilon) * norm

    print(f"{model.info.name}: {args.prompt!r}, the last token's top 3 next tokens after each layer")
    for layer, hidden in enumerate(seen.hidden[:, -1]):
        print(f"layer {layer:2d}: {show(rms_norm(hidden))}")
    # the norm above, applied to the last layer, is the library's own (a check of this script's RMSNorm)
    deviation = np.max(np.abs(rms_norm(seen.hidden[-1, -1]) - seen.final[-1])) / np.max(np.abs(seen.final[-1]))
    print(f"final   : {show(seen.final[-1])}   (the library's normed state; this script's norm is "
          f"{deviation:.1e} from it)")
    lens = model.detokenize([int(np.argmax(head @ seen.final[-1]))])
    own = model.detokenize([int(np.argmax(logits))])
    print(f"lens at the final layer: {lens!r}; the model's next token: {own!r} "
          f"({'agree' if lens == own else 'DISAGREE'})")
    return 0 if lens == own else 1


if __name__ == "__main__":
    sys.exit(main())
