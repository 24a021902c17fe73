"""Generates the llama.cpp goldens for the real Gemma 3 270M file (gemma-3-270m-q4_k_m.gguf).

llama.cpp is not available where the test suite runs, so this script is run
once, by hand, and its output is committed next to it:

  llamacpp_gemma3.json  the file's sha256; greedy continuations of five prompts,
                        one llama eval per generated token (step records: chosen
                        token, top-2 logit margin, top-5 ids + log-probabilities),
                        with llama.cpp's text of the first one ("The capital of
                        France is") for the CLI test; a teacher-forced pass over
                        a long text (> 512 tokens, so the 15 sliding-window
                        layers' 512-position window is exceeded) evaluated in one
                        batch, the same records at every position; llama.cpp's
                        own one-token-per-eval pass over that text compared with
                        the batched one (self_disagreement); and llama.cpp's
                        token ids of every prompt and of the long text.

Tests/python/test_llamacpp_gemma3.py checks Swiftlet against it. The records,
the greedy loop and the llama.cpp settings are make_llamacpp_goldens.py's (the
SmolLM2 goldens), imported, except n_batch: the long text must fit one batch.

Requirements: llama-cpp-python (the `llama_cpp` package) and numpy in one
interpreter. On the dev machine:

    ~/.cache/swiftlet/llama-venv/bin/python Tests/goldens/make_llamacpp_gemma3_goldens.py

The model defaults to $SWIFTLET_MODEL_GEMMA3 (scripts/fetch-gemma3.sh prints
its path). Re-running on the same llama.cpp build gives the same file; a
different build may move near-tie steps, which the test tolerates.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import make_llamacpp_goldens as base  # noqa: E402  (records, greedy loop, llama.cpp settings)
from llamacpp_compare import (  # noqa: E402  (shared with the tests)
    MIN_DECIDED_MARGIN,
    sha256_file,
    teacher_forced_stats,
)

OUT_GOLDENS = os.path.join(HERE, "llamacpp_gemma3.json")

# The long text is evaluated in one batch: n_batch (and n_ubatch) = n_ctx.
base.N_BATCH = base.N_CTX
SLIDING_WINDOW = 512    # gemma3.attention.sliding_window of the file; checked below

# Picked (from a pool of twenty, by running this llama.cpp build) so that
# llama.cpp's greedy path stays clear of near ties (top-2 margin < 0.5) for
# many steps: 146 of the 240 steps come before each prompt's first near tie.
# Prose prompts reach one within a few steps on this 270M base model
# ("Once upon a time": 1, "The quick brown fox": 8); "The capital of France
# is" is kept for the CLI test all the same (4 steps: " the capital of the").
PROMPTS = [
    ("capital", "The capital of France is"),
    ("code", "def add(a, b):\n    return a + b\n\n\ndef subtract(a, b):"),
    ("list", "1, 2, 3, 4, 5, 6,"),
    ("letters", "A, B, C, D, E, F,"),
    ("months", "January, February, March,"),
]
CLI_PROMPT = "capital"

# An original passage, plain English prose, for the teacher-forced pass.
LONG_TEXT = """\
The ferry across the Tarn estuary ran for one hundred and six years, and for most of that time \
it was the only way to reach the village of Wexcombe without a detour of forty miles. It was not \
a grand vessel. The first boat, launched in 1889, was a flat-bottomed barge pulled along a steel \
cable by a steam winch on the northern bank. It carried two carts, a dozen passengers and, on \
market days, whatever livestock the farmers could persuade to stand still for eleven minutes. \
The crossing was short, but the tide was not kind, and the ferrymen learned to read the water \
the way other people read the weather.

The village kept careful records of the ferry, mostly because the parish council was responsible \
for its upkeep and disliked spending money without writing it down. From the council minutes we \
know that the cable snapped three times before 1900, that a new winch was bought in 1912 for the \
sum of two hundred and forty pounds, and that the ferry stopped running for six weeks in the \
winter of 1947, when ice formed along both banks and the channel filled with slush. We also know \
the names of every ferryman, because each of them signed the ledger at the end of the day.

The longest-serving of them was a man called Thomas Avery, who took charge of the ferry in 1921 \
and retired in 1963. He was, by every account, a quiet man. He rarely spoke to passengers unless \
they spoke to him first, and even then he preferred short answers. But he noticed everything. He \
knew which children were late for school and which farmers were late paying their bills. He knew \
when a storm was coming two hours before the wireless said so, because the gulls stopped resting \
on the cable and flew inland. When a young teacher asked him how he could tell, he said only, \
"The birds have more sense than we do, and fewer things to pretend about."

Avery kept a notebook of his own, separate from the official ledger. It was not a diary in the \
usual sense. He did not write about his feelings or his family. Instead, he wrote down small \
observations: the height of the water at the landing stage, the colour of the sky at dawn, the \
first swallow of spring, the number of herons standing in the shallows. Over forty-two years the \
notebook grew into eleven volumes. His granddaughter found them in a tin trunk after his death \
and gave them to the county archive, where they sat unread for almost three decades.

In 1994 a student of natural history came across the volumes while looking for something else \
entirely. She was studying the decline of wading birds along the coast, and she had found that \
reliable counts from before the 1970s were almost impossible to obtain. Avery's notebooks, it \
turned out, contained exactly what she needed. He had counted herons, egrets, curlews and \
oystercatchers on the same stretch of mud, at the same time of day, for more than forty years. \
His method was simple and never changed, which is precisely what made the numbers valuable. A \
scientist would call it a consistent protocol. Avery would probably have called it paying \
attention.

The student spent two summers transcribing the notebooks. Some entries were easy to read; others \
had been written with a blunt pencil on a wet morning and were little more than smudges. Where \
she could not be sure of a number, she marked it as uncertain rather than guessing. In the end \
she had nearly nine thousand usable observations. When she plotted them, the pattern was clear. \
The number of curlews had fallen steadily since the late 1940s, while the herons had held their \
own and the egrets, which Avery had not seen at all before 1958, had slowly become common.

The ferry itself did not survive to see any of this. A road bridge was opened upstream in 1995, \
and within a year the number of passengers had fallen to a handful a day. The council voted to \
close the service, not without regret, and the last crossing was made on a grey afternoon in \
March. About two hundred people came to watch. Several of them had ridden the ferry to school as \
children; one elderly woman had been married on the northern bank and had crossed on the ferry \
with her new husband, still in her wedding dress, because the reception was held on the other \
side.

The boat was sold to a museum of river transport, where it can still be seen, freshly painted \
and rather cleaner than it ever was in service. The winch house on the northern bank became a \
small café. On the wall inside there is a framed page from one of Avery's notebooks. It is dated \
the fourteenth of May, 1936, and it reads, in a careful hand: "Wind south-west, light. Water \
high at twenty past six. Four herons, two curlews, one seal on the far bank. A fine crossing. \
The schoolmaster forgot his umbrella again."

Visitors tend to smile at the last line. It is a reminder that the notebooks were never meant to \
be a scientific record. They were one man's way of keeping track of a place he knew well, \
written for no one in particular. That they became useful to others is partly luck and partly \
the result of a habit kept up, day after day, long after anyone would have blamed him for giving \
it up. There is a lesson in that, though Avery himself would probably have been embarrassed to \
hear anyone say so.

Today the estuary is quieter than it was. The cable is gone, the landing stages have crumbled \
into the mud, and the only boats are the small ones that belong to fishermen and birdwatchers. \
The herons are still there, standing motionless in the shallows at low tide, and in recent years \
a few pairs of curlews have returned to nest in the salt marsh. Every spring a group of \
volunteers walks the old ferry route along the shore and counts the birds, at the same time of \
day, on the same stretch of mud, and writes the numbers down in a notebook.
"""


def piece(vocab, token: int) -> bytes:
    """llama.cpp's text of one token, as a generator prints it (special tokens render as nothing)."""
    import llama_cpp
    buf = ctypes.create_string_buffer(256)
    n = llama_cpp.llama_token_to_piece(vocab, token, buf, len(buf), 0, False)
    assert 0 <= n <= len(buf), (token, n)
    return buf.raw[:n]


def detokenize(vocab, tokens: list[int]) -> bytes:
    import llama_cpp
    arr = (llama_cpp.llama_token * len(tokens))(*tokens)
    size = 64 * len(tokens) + 16
    buf = ctypes.create_string_buffer(size)
    n = llama_cpp.llama_detokenize(vocab, arr, len(tokens), buf, size, False, False)
    assert 0 <= n <= size, n
    return buf.raw[:n]


def rounded(stats: dict) -> dict:
    return {k: round(v, base.DECIMALS) if isinstance(v, float) else v for k, v in stats.items()}


def one_token_pass(llm, ids: list[int]) -> np.ndarray:
    """The long text again, one token per llama eval; the logits at every position."""
    llm.reset()
    for token in ids:
        llm.eval([token])
    return np.array(llm.scores[: len(ids)], dtype=np.float32)


def self_disagreement(recs: dict, batched: np.ndarray, one_token: np.ndarray) -> dict:
    """llama.cpp's one-token path measured against its batched records exactly as the
    test measures Swiftlet (teacher_forced_stats): over the whole text and over the
    positions past the sliding window."""
    beyond = {k: v[SLIDING_WINDOW:] for k, v in recs.items()}
    whole = teacher_forced_stats(recs, one_token)
    mismatch = np.nonzero(np.argmax(one_token, axis=1) != np.argmax(batched, axis=1))[0]
    margins = np.asarray(recs["margin"])[mismatch]
    return {
        "one_token_per_eval": rounded(whole),
        f"positions_from_{SLIDING_WINDOW}": rounded(teacher_forced_stats(beyond, one_token[SLIDING_WINDOW:])),
        "top1_mismatch_batched_margins": sorted(round(float(m), base.DECIMALS) for m in margins),
    }


def evaluate(path: str) -> dict:
    import llama_cpp
    llm = base.make_llama(path)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    meta = llm.metadata
    assert meta["general.architecture"] == "gemma3", meta["general.architecture"]
    assert int(meta["gemma3.attention.sliding_window"]) == SLIDING_WINDOW, meta["gemma3.attention.sliding_window"]
    add_bos = str(meta.get("tokenizer.ggml.add_bos_token", "false")).lower() == "true"

    prompts = []
    for name, text in PROMPTS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False)
        steps = base.greedy(llm, vocab, ids)
        entry = {"name": name, "kind": "raw", "text": text, "special": False,
                 "prompt_tokens": ids, "steps": steps}
        generated = detokenize(vocab, steps["token"])
        if name == CLI_PROMPT:
            pieces = [piece(vocab, t) for t in steps["token"]]
            assert b"".join(pieces) == generated, "llama.cpp's detokenization is not its pieces joined"
            entry["continuation_text"] = generated.decode("utf-8")
            entry["pieces_hex"] = [p.hex() for p in pieces]
        decided = next((i for i, m in enumerate(steps["margin"]) if m < MIN_DECIDED_MARGIN), len(steps["margin"]))
        print(f"{name}: {decided}/{len(steps['token'])} steps before the first near tie: "
              f"{generated.decode('utf-8', 'replace')!r}", file=sys.stderr)
        prompts.append(entry)

    long_ids = llm.tokenize(LONG_TEXT.encode("utf-8"), add_bos=add_bos, special=False)
    assert SLIDING_WINDOW < len(long_ids) <= base.N_BATCH, len(long_ids)
    started = time.monotonic()
    recs, batched = base.teacher_forced(llm, long_ids)
    batched_seconds = time.monotonic() - started
    started = time.monotonic()
    one_token = one_token_pass(llm, long_ids)
    one_token_seconds = time.monotonic() - started
    selfd = self_disagreement(recs, batched, one_token)
    print(f"long text: {len(long_ids)} tokens, batched {batched_seconds:.1f} s, one token per eval "
          f"{one_token_seconds:.1f} s; self-disagreement {json.dumps(selfd)}", file=sys.stderr)
    if hasattr(llm, "close"):
        llm.close()
    return {
        "file": os.path.basename(path),
        "file_sha256": sha256_file(path),
        "add_bos": add_bos,
        "sliding_window": SLIDING_WINDOW,
        "prompts": prompts,
        "long_text": {"text": LONG_TEXT, "tokens": long_ids, **recs},
        "self_disagreement": selfd,
    }


def settings() -> dict:
    s = base.settings()
    s["swa_cache"] = "llama.cpp default (full-size SWA cache: every position kept, the window applied by the mask)"
    s["self_disagreement"] = ("llama.cpp's one-token-per-eval pass over the whole long text against its batched "
                              "records, by llamacpp_compare.teacher_forced_stats (the test's measure), also "
                              f"over positions >= {SLIDING_WINDOW} alone; and the batched margins where the "
                              "two passes' top-1 differ")
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.environ.get("SWIFTLET_MODEL_GEMMA3"),
                    help="gemma-3-270m-q4_k_m.gguf (default $SWIFTLET_MODEL_GEMMA3; scripts/fetch-gemma3.sh)")
    args = ap.parse_args()
    if not args.model or not os.path.isfile(args.model):
        ap.error("--model (or $SWIFTLET_MODEL_GEMMA3) must name gemma-3-270m-q4_k_m.gguf")

    started = time.monotonic()
    doc = {
        "generator": "Tests/goldens/make_llamacpp_gemma3_goldens.py",
        "llama_cpp": base.llama_version(),
        "settings": settings(),
        **evaluate(args.model),
    }
    with open(OUT_GOLDENS, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT_GOLDENS} ({os.path.getsize(OUT_GOLDENS)} bytes) in {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
