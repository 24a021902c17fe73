"""A stand-in for the most used part of ``llama_cpp.Llama`` (llama-cpp-python).

Scripts written for llama-cpp-python switch with one line::

    from swiftlet.compat import Llama      # was: from llama_cpp import Llama

    llm = Llama(model_path="SmolLM2-135M-Instruct.Q4_1.gguf", n_ctx=2048, seed=1, verbose=False)
    out = llm("Q: Name the planets. A:", max_tokens=32, stop=["Q:", "\\n"])
    print(out["choices"][0]["text"])

What is covered: the constructor (``model_path``, ``n_ctx``, ``n_threads``,
``n_batch``, ``seed``, ``verbose``; other llama.cpp options are accepted and
ignored), ``__call__``/:meth:`Llama.create_completion` and
:meth:`Llama.create_chat_completion` (``max_tokens``, ``temperature``,
``top_p``, ``top_k``, ``min_p``, ``repeat_penalty``, ``stop``, ``seed``,
``stream``, ``echo``) returning the same dictionary shapes (streamed as the
same chunks), :meth:`Llama.tokenize`/:meth:`Llama.detokenize` on bytes, and
the small accessors (``n_ctx()``, ``n_vocab()``, ``token_bos()``,
``token_eos()``, ``reset()``, ``close()``).

State, as llama-cpp-python keeps it: :attr:`Llama.n_tokens` and
:attr:`Llama.input_ids` say which tokens the context holds (after
:meth:`Llama.eval` or a completion: the prompt and the generated tokens), and
a completion whose prompt starts with them evaluates only the rest (a prompt
the context holds whole, with its logits, is not evaluated at all).
:meth:`Llama.save_state` returns a :class:`LlamaState` (llama-cpp-python's
attributes; ``llama_state`` is :meth:`swiftlet.Context.save_state`'s bytes)
and :meth:`Llama.load_state` restores one, the seed sequence included, so
the completions after a load are those after the save. A chat completion
rewinds the context to the conversation's shared prefix itself, so after
one ``n_tokens`` is 0 (nothing known to reuse) until the next completion or
:meth:`Llama.eval`.

Embeddings: ``Llama(model_path, embedding=True)`` (a GGUF file or a Hugging
Face folder such as all-MiniLM-L6-v2's), then :meth:`Llama.embed` and
:meth:`Llama.create_embedding`, with llama-cpp-python's shapes: one vector
(a list of floats) per text, pooled as the model says (mean for
all-MiniLM-L6-v2, the last token for a decoder), not normalized unless asked.

Not covered (``NotImplementedError`` if asked for): ``logprobs``, ``suffix``,
grammars, logits processors, per-token embeddings (``truncate=False``). Penalties other than
``repeat_penalty`` (frequency, presence), mirostat, tfs and typical-p are
accepted and ignored.
"""
from __future__ import annotations

import random
import sys
import time
import uuid
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

from ._context import Context
from ._generation import GenerationResult
from ._model import Model
from ._stream import TextStream
from .errors import ContextFullError

#: llama.cpp's "pick a random seed" value.
LLAMA_DEFAULT_SEED = 0xFFFFFFFF

Completion = Dict[str, Any]
CompletionChunk = Dict[str, Any]
ChatMessage = Dict[str, Any]


class LlamaState:
    """A saved :class:`Llama` state, with llama-cpp-python's ``LlamaState`` attributes.

    Attributes:
        input_ids: the tokens the context held (an ``intc`` array of ``n_ctx``
            entries; the first `n_tokens` count).
        scores: the last token's logits, shape ``(1, n_vocab)`` (``(0,
            n_vocab)`` if there were none). llama.cpp without ``logits_all``
            keeps no others either; the logits a load restores are those in
            `llama_state`, so this is for reading only.
        n_tokens: how many of `input_ids` the context held.
        llama_state: :meth:`swiftlet.Context.save_state`'s bytes (not
            llama.cpp's: the two do not load into each other).
        llama_state_size: ``len(llama_state)``.
        seed: the seed the next completion without one derives its seed from.
    """

    def __init__(self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single], n_tokens: int,
                 llama_state: bytes, llama_state_size: int, seed: int) -> None:
        self.input_ids = input_ids
        self.scores = scores
        self.n_tokens = n_tokens
        self.llama_state = llama_state
        self.llama_state_size = llama_state_size
        self.seed = seed


class Llama:
    """A Swiftlet model behind ``llama_cpp.Llama``'s interface (the subset
    described in :mod:`swiftlet.compat`)."""

    def __init__(self, model_path: str, *, n_ctx: int = 512, n_threads: Optional[int] = None,
                 n_batch: int = 512, seed: int = LLAMA_DEFAULT_SEED, verbose: bool = True,
                 embedding: bool = False, **ignored: Any) -> None:
        """Loads `model_path`. ``n_ctx`` 0 means the model's training length.
        ``seed`` starts the sequence of per-call seeds (``LLAMA_DEFAULT_SEED``
        or -1: a random start). ``verbose`` prints a one-line summary to stderr.
        ``embedding`` enables :meth:`embed` and :meth:`create_embedding`. Other
        llama.cpp options (``n_gpu_layers``, ``use_mmap``, ...) are ignored."""
        started = time.perf_counter()
        self.model_path = model_path
        self.verbose = verbose
        self._embedding = embedding
        self._model = Model(model_path, n_threads=n_threads)
        self._context: Context = self._model.context(n_ctx=n_ctx if n_ctx > 0 else None, n_threads=n_threads,
                                                     n_batch=n_batch if n_batch > 0 else None)
        # llama-cpp-python's seed chain (see _next_seed)
        self._seed: int = random.getrandbits(32) if seed in (LLAMA_DEFAULT_SEED, -1) else int(seed)
        self._control_tokens: dict[int, bool] = {}
        #: The tokens the context holds, as llama-cpp-python's: the first `n_tokens` of `input_ids`.
        self.input_ids: npt.NDArray[np.intc] = np.zeros((self._context.size,), dtype=np.intc)
        self.n_tokens = 0
        if verbose:
            info = self._model.info
            print(f"swiftlet: loaded {model_path} ({info.architecture}, {info.n_params} parameters, "
                  f"n_ctx {self._context.size}) in {time.perf_counter() - started:.2f} s", file=sys.stderr)

    # -- accessors

    def n_ctx(self) -> int:
        """The context size in tokens."""
        return self._context.size

    def n_vocab(self) -> int:
        """The vocabulary size."""
        return self._model.n_vocab

    def token_bos(self) -> int:
        """The BOS token id (-1 if none)."""
        return -1 if self._model.bos is None else self._model.bos

    def token_eos(self) -> int:
        """The EOS token id (-1 if none)."""
        return -1 if self._model.eos is None else self._model.eos

    @property
    def model(self) -> Model:
        """The underlying :class:`swiftlet.Model`."""
        return self._model

    def reset(self) -> None:
        """Empties the context (``n_tokens`` 0)."""
        self._context.reset()
        self.n_tokens = 0

    def close(self) -> None:
        """Frees the context and the model."""
        self._context.close()
        self._model.close()

    def __enter__(self) -> Llama:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- embeddings

    def embed(self, input: Union[str, List[str]], normalize: bool = False, truncate: bool = True,
              return_count: bool = False) -> Any:
        """The embedding of `input`: a list of floats for one string, a list
        of them for a list of strings; with `return_count`, also the number of
        tokens read, as ``(embeddings, count)``. Texts longer than the model's
        longest sequence are truncated. RuntimeError unless the model was
        created with ``embedding=True``."""
        if not self._embedding:
            raise RuntimeError("Llama model must be created with embedding=True to call this method")
        if not truncate:
            raise NotImplementedError("truncate=False is not supported: texts are always truncated")
        texts = [input] if isinstance(input, str) else list(input)
        self.n_tokens = 0  # a decoder's context is empty afterwards
        vectors = [row.tolist() for row in self._context.embed(texts, normalize=normalize)]
        result: Any = vectors[0] if isinstance(input, str) else vectors
        if return_count:
            return result, sum(len(self._model.tokenize(text, special=True)) for text in texts)
        return result

    def create_embedding(self, input: Union[str, List[str]], model: Optional[str] = None) -> Dict[str, Any]:
        """``embed`` in the OpenAI-style dictionary llama-cpp-python returns."""
        embeddings, count = self.embed(input, return_count=True)
        if isinstance(input, str):
            embeddings = [embeddings]
        return {
            "object": "list",
            "data": [{"object": "embedding", "embedding": vector, "index": i} for i, vector in enumerate(embeddings)],
            "model": model if model is not None else self.model_path,
            "usage": {"prompt_tokens": count, "total_tokens": count},
        }

    # -- tokens

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> List[int]:
        """Token ids of `text` (bytes). ``add_bos=True`` adds BOS when the
        model's metadata asks for it, as llama.cpp does."""
        return self._model.tokenize(bytes(text), add_bos=None if add_bos else False, special=special)

    def detokenize(self, tokens: Sequence[int], prev_tokens: Optional[Sequence[int]] = None,
                   special: bool = False) -> bytes:
        """The raw bytes of `tokens`; control tokens are left out unless `special`."""
        pieces = []
        for token in tokens:
            if not special and self._is_control(int(token)):
                continue
            pieces.append(self._model.token_to_bytes(int(token)))
        return b"".join(pieces)

    def _is_control(self, token: int) -> bool:
        known = self._control_tokens.get(token)
        if known is None:
            # a control token has bytes (its name) but detokenizes to nothing
            known = self._model.detokenize([token]) == "" and self._model.token_to_bytes(token) != b""
            self._control_tokens[token] = known
        return known

    # -- evaluation and state

    def eval(self, tokens: Sequence[int]) -> None:
        """Evaluates `tokens` after the first ``n_tokens`` tokens the context
        holds (any after those are forgotten) and adds them to
        ``input_ids``, as llama-cpp-python's ``eval``. Raises
        :class:`~swiftlet.ContextFullError` if they do not fit (nothing is
        evaluated), :class:`~swiftlet.InvalidArgumentError` for an id outside
        the vocabulary."""
        values = [int(token) for token in tokens]
        held = self._keep_held(len(values) > 0)
        if values:
            self._context.eval(values)
        self.input_ids[held:held + len(values)] = values
        self.n_tokens = held + len(values)

    def save_state(self) -> LlamaState:
        """The context's state (:meth:`swiftlet.Context.save_state`) with the
        token bookkeeping and the seed sequence, as a :class:`LlamaState`."""
        logits = self._context.logits
        scores = np.zeros((0, self._model.n_vocab), dtype=np.single) if logits is None else logits[None, :]
        data = self._context.save_state()
        if self.verbose:
            print(f"swiftlet: saved {self.n_tokens} tokens of state, {len(data)} bytes", file=sys.stderr)
        return LlamaState(input_ids=self.input_ids.copy(), scores=scores, n_tokens=self.n_tokens,
                          llama_state=data, llama_state_size=len(data), seed=self._seed)

    def load_state(self, state: LlamaState) -> None:
        """Restores a :class:`LlamaState` from :meth:`save_state` (of a Llama of
        the same model file, in this process or another): the context, the
        token bookkeeping and the seed sequence. The next completion continues
        as one right after the save would.

        Raises:
            ValueError: `state` is inconsistent (``llama_state_size`` past the
                bytes, ``n_tokens`` past ``input_ids`` or past the tokens the
                state holds).
            InvalidFileError: ``llama_state`` is not Swiftlet's (llama.cpp's
                states are not), or is truncated or corrupted.
            InvalidArgumentError: a state of another model.
            ContextFullError: a state of more tokens than this Llama's n_ctx.
        """
        data = bytes(state.llama_state)
        size = int(state.llama_state_size)
        if not 0 <= size <= len(data):
            raise ValueError(f"llama_state_size {size} does not fit the {len(data)} bytes of llama_state")
        input_ids = np.asarray(state.input_ids, dtype=np.intc)
        n_tokens = int(state.n_tokens)
        if not 0 <= n_tokens <= len(input_ids):
            raise ValueError(f"n_tokens {n_tokens} is outside the {len(input_ids)} input_ids")
        self.n_tokens = 0  # the context changes below; nothing is known until it has
        self._context.load_state(data[:size])
        position = self._context.position
        if n_tokens > position:
            raise ValueError(f"n_tokens {n_tokens} is more than the {position} tokens llama_state holds")
        self.input_ids[:n_tokens] = input_ids[:n_tokens]
        self.n_tokens = n_tokens
        self._seed = int(state.seed)

    def _keep_held(self, evaluating: bool) -> int:
        """Forgets the tokens the context holds after the first ``n_tokens``
        (rewinds to them, if `evaluating` is about to follow); returns how many it holds."""
        context = self._context
        held = max(0, min(self.n_tokens, context.position))
        if evaluating and context.position > held:
            context.rewind(held)
        self.n_tokens = held
        return held

    # -- completions

    def __call__(self, prompt: Union[str, List[int]], **kwargs: Any) -> Union[Completion, Iterator[CompletionChunk]]:
        """Same as :meth:`create_completion`."""
        return self.create_completion(prompt, **kwargs)

    def create_completion(self, prompt: Union[str, List[int]], suffix: Optional[str] = None,
                          max_tokens: Optional[int] = 16, temperature: float = 0.8, top_p: float = 0.95,
                          min_p: float = 0.05, typical_p: float = 1.0, logprobs: Optional[int] = None,
                          echo: bool = False, stop: Optional[Union[str, List[str]]] = None,
                          frequency_penalty: float = 0.0, presence_penalty: float = 0.0,
                          repeat_penalty: float = 1.0, top_k: int = 40, stream: bool = False,
                          seed: Optional[int] = None, model: Optional[str] = None,
                          **ignored: Any) -> Union[Completion, Iterator[CompletionChunk]]:
        """Continues `prompt` (text or token ids). Returns
        ``{"id", "object": "text_completion", "created", "model", "choices":
        [{"text", "index", "logprobs", "finish_reason"}], "usage": {...}}``, or
        with ``stream=True`` an iterator of chunks of the same shape (without
        ``usage``), the last one carrying the finish reason.
        ``max_tokens`` None or <= 0 generates until the context is full."""
        if suffix is not None:
            raise NotImplementedError("suffix (infill) is not supported by swiftlet.compat")
        if logprobs is not None:
            raise NotImplementedError("logprobs are not supported by swiftlet.compat")
        tokens = self.tokenize(prompt.encode("utf-8")) if isinstance(prompt, str) else [int(t) for t in prompt]
        if not tokens:
            bos = self._model.bos
            if bos is None:
                raise ValueError("the prompt is empty and the model has no BOS token to start from")
            tokens = [bos]
        if len(tokens) >= self._context.size:
            raise ValueError(f"Requested tokens ({len(tokens)}) exceed context window of {self._context.size}")
        text_stream = self._start(tokens, max_tokens, temperature, top_p, min_p, repeat_penalty, top_k, stop, seed)
        completion_id = f"cmpl-{uuid.uuid4()}"
        created = int(time.time())
        model_name = model if model is not None else self.model_path
        prefix = self._model.detokenize(tokens) if echo else ""
        if stream:
            return self._completion_chunks(text_stream, completion_id, created, model_name, prefix)
        text = text_stream.text()
        result = _result(text_stream)
        self._record_generated(result.tokens)
        return {
            "id": completion_id, "object": "text_completion", "created": created, "model": model_name,
            "choices": [{"text": prefix + text, "index": 0, "logprobs": None,
                         "finish_reason": result.finish_reason}],
            "usage": _usage(len(tokens), result.n_generated_tokens),
        }

    def _start(self, tokens: List[int], max_tokens: Optional[int], temperature: float, top_p: float, min_p: float,
               repeat_penalty: float, top_k: int, stop: Optional[Union[str, List[str]]],
               seed: Optional[int]) -> TextStream:
        context = self._context
        self._evaluate_prompt(tokens)
        stream: TextStream = context.generate("", max_tokens=_max_tokens(max_tokens), temperature=temperature,
                                              top_k=top_k, top_p=top_p, min_p=min_p, repeat_penalty=repeat_penalty,
                                              seed=self._next_seed(seed), stop=stop, stream=True)
        return stream

    def _evaluate_prompt(self, tokens: List[int]) -> None:
        """Makes the context hold `tokens` with the last one's logits,
        evaluating only what it does not hold yet (llama-cpp-python's prefix
        reuse). A context that holds exactly `tokens` and their logits (after
        :meth:`eval` or :meth:`load_state`) is used as it is; otherwise at
        least the last token is evaluated again, for its logits."""
        context = self._context
        held = self._keep_held(False)
        shared = _shared_prefix(self.input_ids[:held].tolist(), tokens)
        if shared == len(tokens) == context.position and context.logits is not None:
            return
        shared = min(shared, len(tokens) - 1)
        context.rewind(shared)
        self.n_tokens = shared
        try:
            context.eval(tokens[shared:])
        except ContextFullError as error:
            raise ValueError(f"Requested tokens ({len(tokens)}) exceed context window of {context.size}") from error
        self.input_ids[shared:len(tokens)] = tokens[shared:]
        self.n_tokens = len(tokens)

    def _record_generated(self, generated: Sequence[int]) -> None:
        """Adds a finished generation's tokens to ``input_ids``: the context
        evaluated each one (a generation that stopped early, or did not
        evaluate them all, leaves only the prompt counted)."""
        start = self.n_tokens
        end = start + len(generated)
        if generated and end == self._context.position:
            self.input_ids[start:end] = generated
            self.n_tokens = end

    def _next_seed(self, seed: Optional[int]) -> int:
        """A call's sampling seed, by llama-cpp-python's chain: a call's `seed`
        becomes the Llama's (its ``set_seed``); a call without one takes
        ``random.Random(previous).randint(0, 2**32)``. So a saved state's
        `seed` restores the sequence. LLAMA_DEFAULT_SEED or -1: a random seed."""
        if seed is None:
            seed = random.Random(self._seed).randint(0, 2**32)
        self._seed = int(seed)
        if seed in (LLAMA_DEFAULT_SEED, -1):
            return random.getrandbits(64)
        return int(seed) & 0xFFFFFFFFFFFFFFFF

    def _completion_chunks(self, text_stream: TextStream, completion_id: str, created: int, model_name: str,
                           prefix: str) -> Iterator[CompletionChunk]:
        def chunk(text: str, finish_reason: Optional[str]) -> CompletionChunk:
            return {"id": completion_id, "object": "text_completion", "created": created, "model": model_name,
                    "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}]}

        with text_stream:
            if prefix:
                yield chunk(prefix, None)
            for piece in text_stream:
                yield chunk(piece, None)
            result = _result(text_stream)
            self._record_generated(result.tokens)
            yield chunk("", result.finish_reason)

    # -- chat

    def create_chat_completion(self, messages: List[ChatMessage], temperature: float = 0.2, top_p: float = 0.95,
                               top_k: int = 40, min_p: float = 0.05, typical_p: float = 1.0, stream: bool = False,
                               stop: Optional[Union[str, List[str]]] = None, seed: Optional[int] = None,
                               max_tokens: Optional[int] = None, presence_penalty: float = 0.0,
                               frequency_penalty: float = 0.0, repeat_penalty: float = 1.0,
                               model: Optional[str] = None,
                               **ignored: Any) -> Union[Completion, Iterator[CompletionChunk]]:
        """The assistant's reply to `messages`, rendered with the model's chat
        template. Returns ``{"id", "object": "chat.completion", "created",
        "model", "choices": [{"index", "message": {"role": "assistant",
        "content"}, "logprobs", "finish_reason"}], "usage"}``, or with
        ``stream=True`` ``chat.completion.chunk`` dictionaries whose ``delta`` is
        first ``{"role": "assistant"}``, then ``{"content": ...}`` pieces, and
        finally ``{}`` with the finish reason."""
        if ignored.get("logprobs") or ignored.get("tools") or ignored.get("functions"):
            raise NotImplementedError("logprobs, tools and functions are not supported by swiftlet.compat")
        conversation = [{"role": str(m["role"]), "content": _content_text(m.get("content"))} for m in messages]
        prompt_tokens = len(self._model.tokenize(self._model.chat_format(conversation), special=True))
        if prompt_tokens >= self._context.size:
            raise ValueError(f"Requested tokens ({prompt_tokens}) exceed context window of {self._context.size}")
        self.n_tokens = 0  # the library rewinds to the conversation's shared prefix: what stays is not known here
        text_stream: TextStream = self._context.chat(
            conversation, max_tokens=_max_tokens(max_tokens), temperature=temperature, top_k=top_k, top_p=top_p,
            min_p=min_p, repeat_penalty=repeat_penalty, seed=self._next_seed(seed), stop=stop, stream=True)
        completion_id = f"chatcmpl-{uuid.uuid4()}"
        created = int(time.time())
        model_name = model if model is not None else self.model_path
        if stream:
            return self._chat_chunks(text_stream, completion_id, created, model_name)
        text = text_stream.text()
        result = _result(text_stream)
        return {
            "id": completion_id, "object": "chat.completion", "created": created, "model": model_name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                         "finish_reason": result.finish_reason}],
            "usage": _usage(prompt_tokens, result.n_generated_tokens),
        }

    @staticmethod
    def _chat_chunks(text_stream: TextStream, completion_id: str, created: int,
                     model_name: str) -> Iterator[CompletionChunk]:
        def chunk(delta: Dict[str, str], finish_reason: Optional[str]) -> CompletionChunk:
            return {"id": completion_id, "model": model_name, "created": created, "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}

        with text_stream:
            yield chunk({"role": "assistant"}, None)
            for piece in text_stream:
                yield chunk({"content": piece}, None)
            yield chunk({}, _result(text_stream).finish_reason)


def _result(text_stream: TextStream) -> GenerationResult:
    result = text_stream.result
    if result is None:  # only possible if the stream was closed early
        raise RuntimeError("the generation did not finish")
    return result


def _shared_prefix(held: Sequence[int], tokens: Sequence[int]) -> int:
    """How many leading tokens `held` and `tokens` share."""
    count = 0
    for a, b in zip(held, tokens):
        if a != b:
            break
        count += 1
    return count


def _usage(prompt_tokens: int, completion_tokens: int) -> Dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def _max_tokens(max_tokens: Optional[int]) -> Optional[int]:
    return None if max_tokens is None or max_tokens <= 0 else int(max_tokens)


def _content_text(content: Any) -> str:
    """OpenAI message content: a string, None, or a list of parts (text parts joined)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    raise TypeError(f"message content must be a string, not {type(content).__name__}")


__all__ = ["Llama", "LlamaState", "LLAMA_DEFAULT_SEED"]
