"""Which earlier tokens each attention head looks at, for one sentence.

    python attention_map.py [MODEL.gguf] [--text "..."] [--layer N] [--png attention_map.png]

MODEL defaults to $SWIFTLET_MODEL_Q4_1. Evaluates the sentence once with
``context.eval(tokens, observe="attention")`` and prints, for each head of
the layer (the last by default), the three positions the last token weighs
most; then what each head does over the whole sentence (its favourite
position for most tokens: the first token, the previous one, the token
itself). With matplotlib installed it also draws every head's map (query
tokens x positions) to --png; without, it prints the heads' average as a
text heat map.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import swiftlet

SHADES = " .:-=+*#%@"  # weight 0 .. 1, as characters


def label(model: swiftlet.Model, token: int) -> str:
    text = model.token_to_bytes(token).decode("utf-8", "replace")
    return text.replace(" ", "\u00b7").replace("\n", "\\n") or f"<{token}>"  # a space shown as a middle dot


def habit(weights: np.ndarray) -> str:
    """What one head's (tokens x positions) map does, from each token's
    favourite position (tokens 2.. : before that, first and previous coincide)."""
    rows = np.arange(2, weights.shape[0])
    if len(rows) == 0:
        return ""
    favourite = np.argmax(weights[rows], axis=1)
    shares = {"first token": np.mean(favourite == 0), "previous token": np.mean(favourite == rows - 1),
              "itself": np.mean(favourite == rows)}
    name, share = max(shares.items(), key=lambda item: item[1])
    return f"{name} ({share:.0%} of tokens)" if share >= 0.5 else "spread (no single habit)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=os.environ.get("SWIFTLET_MODEL_Q4_1"))
    parser.add_argument("--text", default="The cat sat on the mat because it was tired.")
    parser.add_argument("--layer", type=int, default=-1, help="the layer to show (default: the last)")
    parser.add_argument("--png", default="attention_map.png", help="where the heat map goes (with matplotlib)")
    args = parser.parse_args()
    if not args.model:
        parser.error("give a model path, or set SWIFTLET_MODEL_Q4_1")

    model = swiftlet.Model(args.model)
    tokens = model.tokenize(args.text)
    with model.context(n_ctx=max(len(tokens), 16)) as context:
        seen = context.eval(tokens, observe="attention")
    assert seen.attention is not None
    layer = args.layer % model.info.n_layer
    weights = seen.attention[layer]  # (heads, tokens, positions): row t weighs positions 0..t
    labels = [label(model, t) for t in tokens]
    last = len(tokens) - 1

    print(f"{model.info.name}: {len(tokens)} tokens, layer {layer} of {model.info.n_layer}, {len(weights)} heads")
    print("tokens: " + " ".join(f"{i}:{text}" for i, text in enumerate(labels)))
    print(f"\nthe last token, {labels[last]!r}, attends most to (position:token weight):")
    for head, rows in enumerate(weights):
        top = np.argsort(rows[last])[::-1][:3]
        print(f"head {head:2d}: " + "  ".join(f"{p:2d}:{labels[p]:<10} {rows[last, p]:.3f}" for p in top))

    print("\neach head over the sentence (the position most tokens weigh most):")
    for head, rows in enumerate(weights):
        print(f"head {head:2d}: {habit(rows)}")

    average = weights.mean(axis=0)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"\nlayer {layer}, the heads' average (rows: tokens; columns: positions; '{SHADES}' = 0..1):")
        width = max(len(text) for text in labels)
        for t, text in enumerate(labels):
            shades = "".join(SHADES[min(int(w * len(SHADES)), len(SHADES) - 1)] for w in average[t])
            print(f"{text:>{width}} |{shades}|")
        return 0

    columns = int(np.ceil(np.sqrt(len(weights))))
    rows_n = int(np.ceil(len(weights) / columns))
    figure, axes = plt.subplots(rows_n, columns, figsize=(3.2 * columns, 3.2 * rows_n), squeeze=False)
    for head, axis in enumerate(axes.flat):
        axis.axis("off")
        if head >= len(weights):
            continue
        axis.imshow(weights[head], cmap="viridis", vmin=0, vmax=1)
        axis.set_title(f"head {head}", fontsize=9)
        if head % columns == 0:
            axis.axis("on")
            axis.set_yticks(range(len(labels)), labels, fontsize=6)
            axis.set_xticks([])
    figure.suptitle(f"{model.info.name}, layer {layer}: attention of each token (row) to each position (column)")
    figure.tight_layout()
    figure.savefig(args.png, dpi=120)
    print(f"\nheat map of every head: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
