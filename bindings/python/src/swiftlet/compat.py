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


class Llama:
    """A Swiftlet model behind ``llama_cpp.Llama``'s interface (the subset
    described in :mod:`swiftlet.compat`)."""

    def __init__(self, model_path: str, *, n_ctx: int = 512, n_threads: Optional[int] = None,
                 n_batch: int = 512, seed: int = LLAMA_DEFAULT_SEED, verbose: bool = True,
                 embedding: bool = False, **ignored: Any) -> None:
        """Loads `model_path`. ``n_ctx`` 0 means the model's training length.
        ``seed`` seeds the sequence of per-call seeds (``LLAMA_DEFAULT_SEED``
        or -1: random). ``verbose`` prints a one-line summary to stderr.
        ``embedding`` enables :meth:`embed` and :meth:`create_embedding`. Other
        llama.cpp options (``n_gpu_layers``, ``use_mmap``, ...) are ignored."""
        started = time.perf_counter()
        self.model_path = model_path
        self.verbose = verbose
        self._embedding = embedding
        self._model = Model(model_path, n_threads=n_threads)
        self._context: Context = self._model.context(n_ctx=n_ctx if n_ctx > 0 else None, n_threads=n_threads,
                                                     n_batch=n_batch if n_batch > 0 else None)
        self._rng = random.Random(None if seed in (LLAMA_DEFAULT_SEED, -1) else seed)
        self._control_tokens: dict[int, bool] = {}
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
        """Empties the context."""
        self._context.reset()

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
        context.reset()
        try:
            context.eval(tokens)
        except ContextFullError as error:
            raise ValueError(f"Requested tokens ({len(tokens)}) exceed context window of {context.size}") from error
        stream: TextStream = context.generate("", max_tokens=_max_tokens(max_tokens), temperature=temperature,
                                              top_k=top_k, top_p=top_p, min_p=min_p, repeat_penalty=repeat_penalty,
                                              seed=self._seed(seed), stop=stop, stream=True)
        return stream

    def _seed(self, seed: Optional[int]) -> int:
        if seed is None or seed in (LLAMA_DEFAULT_SEED, -1):
            return self._rng.getrandbits(64) if seed is None else random.getrandbits(64)
        return int(seed) & 0xFFFFFFFFFFFFFFFF

    @staticmethod
    def _completion_chunks(text_stream: TextStream, completion_id: str, created: int, model_name: str,
                           prefix: str) -> Iterator[CompletionChunk]:
        def chunk(text: str, finish_reason: Optional[str]) -> CompletionChunk:
            return {"id": completion_id, "object": "text_completion", "created": created, "model": model_name,
                    "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}]}

        with text_stream:
            if prefix:
                yield chunk(prefix, None)
            for piece in text_stream:
                yield chunk(piece, None)
            yield chunk("", _result(text_stream).finish_reason)

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
        text_stream: TextStream = self._context.chat(
            conversation, max_tokens=_max_tokens(max_tokens), temperature=temperature, top_k=top_k, top_p=top_p,
            min_p=min_p, repeat_penalty=repeat_penalty, seed=self._seed(seed), stop=stop, stream=True)
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


__all__ = ["Llama", "LLAMA_DEFAULT_SEED"]
