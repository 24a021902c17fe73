"""A stand-in for the most used part of ``llama_cpp.Llama`` (llama-cpp-python).

Scripts written for llama-cpp-python switch with one line::

    from swiftlet.compat import Llama      # was: from llama_cpp import Llama

    llm = Llama(model_path="SmolLM2-135M-Instruct.Q4_1.gguf", n_ctx=2048, seed=1, verbose=False)
    out = llm("Q: Name the planets. A:", max_tokens=32, stop=["Q:", "\\n"])
    print(out["choices"][0]["text"])

What is covered: the constructor (``model_path``, ``n_ctx``, ``n_threads``,
``n_batch``, ``seed``, ``verbose``, ``embedding``, ``last_n_tokens_size``,
``pooling_type`` mean/cls/last), ``__call__``/:meth:`Llama.create_completion`
and :meth:`Llama.create_chat_completion` (``max_tokens``, ``temperature``,
``top_p``, ``top_k``, ``min_p``, ``repeat_penalty``, ``stop``, ``seed``,
``stream``, ``echo``, ``grammar``, and ``response_format`` for chat)
returning the same dictionary shapes (streamed as the same chunks),
:meth:`Llama.tokenize`/:meth:`Llama.detokenize` on bytes, and the small
accessors (``n_ctx()``, ``n_vocab()``, ``token_bos()``, ``token_eos()``,
``reset()``, ``close()``). A completion's text prompt is tokenized with
special tokens recognised, as llama-cpp-python does (``"<|im_start|>"`` is
one token).

Grammars: ``grammar=`` takes a :class:`LlamaGrammar` (``from_string``,
``from_file``, ``from_json_schema``, as llama-cpp-python's), any
:class:`swiftlet.Grammar`, or GBNF text; ``response_format=`` takes
``{"type": "json_object"}`` (a JSON object), ``{"type": "json_object",
"schema": {...}}``, OpenAI's ``{"type": "json_schema", "json_schema":
{"schema": {...}}}`` or ``{"type": "text"}``. Unlike llama-cpp-python, a
grammar is compiled when it is made (errors come at once, with the
position), a schema the converter cannot honour is an error rather than a
fallback to any JSON, and ``grammar`` with a JSON ``response_format`` is a
ValueError rather than the grammar silently replaced.

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
all-MiniLM-L6-v2, the last token for a decoder) or as ``pooling_type`` asks
(mean, cls, last), not normalized unless asked.

Not covered: every argument of llama-cpp-python's that would change what it
computes, and that Swiftlet cannot do, raises ``NotImplementedError`` naming
it when given a value other than its default (:data:`UNSUPPORTED` lists
them): ``suffix``, ``logprobs``, ``typical_p``, ``frequency_penalty``,
``presence_penalty``, ``tfs_z``, ``mirostat_mode``, ``logit_bias``,
``logits_processor``, ``stopping_criteria``, ``functions``,
``function_call``, ``tools``, ``tool_choice``, ``truncate=False``, and in
the constructor ``vocab_only``, ``kv_overrides``, RoPE/YaRN overrides,
``attention_type``, ``logits_all``, ``lora_base``, ``chat_format``,
``chat_handler``, ``draft_model``, ``tokenizer``, KV cache types other than
F16 and ``pooling_type`` none/rank. Arguments that llama-cpp-python itself
would not use with the others at their defaults (``mirostat_tau`` and
``mirostat_eta`` without ``mirostat_mode``, ``top_logprobs`` without
``logprobs``, ``lora_scale`` without ``lora_path``, ``spm_infill`` without
``suffix``, ``prev_tokens``) are accepted, and so are the options that only
choose where and how fast llama.cpp runs (``n_gpu_layers``, ``split_mode``,
``main_gpu``, ``tensor_split``, ``use_mmap``, ``use_mlock``, ``n_ubatch``,
``n_threads_batch``, ``offload_kqv``, ``flash_attn``, ``op_offload``,
``swa_full``, ``numa``, ``no_perf``) and unknown constructor keywords, which
llama-cpp-python ignores too.
"""
from __future__ import annotations

import os
import random
import sys
import time
import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

from ._context import Context, Pooling
from ._generation import GenerationResult
from ._grammar import Grammar
from ._model import Model
from ._stream import TextStream
from .errors import ContextFullError

#: llama.cpp's "pick a random seed" value.
LLAMA_DEFAULT_SEED = 0xFFFFFFFF
# llama.cpp's enum values that the constructor's defaults are spelled in.
LLAMA_SPLIT_MODE_LAYER = 1
LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED = -1
LLAMA_ATTENTION_TYPE_UNSPECIFIED = -1
LLAMA_POOLING_TYPE_UNSPECIFIED = -1
GGML_TYPE_F16 = 1
#: llama.cpp's pooling types that Swiftlet's embeddings honour.
_POOLING: Dict[int, Optional[Pooling]] = {LLAMA_POOLING_TYPE_UNSPECIFIED: None, 1: "mean", 2: "cls", 3: "last"}

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


class LlamaGrammar(Grammar):
    """llama-cpp-python's ``LlamaGrammar``: a :class:`swiftlet.Grammar` made
    with its class methods. It is compiled when made, so a mistake raises
    :class:`~swiftlet.InvalidArgumentError` (a ``ValueError``) with the rule
    and the line:column at once. ``verbose`` is accepted and unused."""

    @classmethod
    def from_string(cls, grammar: str, verbose: bool = True) -> LlamaGrammar:
        """The GBNF `grammar` (start rule ``root``)."""
        return cls(grammar)

    @classmethod
    def from_file(cls, file: Union[str, "os.PathLike[str]"], verbose: bool = True) -> LlamaGrammar:
        """The GBNF grammar in `file`. OSError if it cannot be read,
        ValueError if it is empty."""
        with open(file, encoding="utf-8") as handle:
            text = handle.read()
        if not text:
            raise ValueError(f"from_file: the grammar file {os.fspath(file)!r} is empty")
        return cls(text)

    @classmethod
    def from_json_schema(cls, json_schema: Any, verbose: bool = True) -> LlamaGrammar:
        """The grammar of the JSON documents valid against `json_schema` (its
        JSON text, as llama-cpp-python takes it, or a dict)."""
        grammar = super().from_json_schema(json_schema)
        assert isinstance(grammar, LlamaGrammar)
        return grammar


#: Every llama-cpp-python argument compat refuses: (method, argument) ->
#: the test of a value it cannot honour (the default passes).
UNSUPPORTED: Dict[tuple[str, str], Callable[[Any], bool]] = {
    **{("Llama", name): test for name, test in {
        "vocab_only": bool,
        "kv_overrides": bool,
        "rope_scaling_type": lambda v: v != LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED,
        "rope_freq_base": lambda v: v != 0.0,
        "rope_freq_scale": lambda v: v != 0.0,
        "yarn_ext_factor": lambda v: v != -1.0,
        "yarn_attn_factor": lambda v: v != 1.0,
        "yarn_beta_fast": lambda v: v != 32.0,
        "yarn_beta_slow": lambda v: v != 1.0,
        "yarn_orig_ctx": lambda v: v != 0,
        "attention_type": lambda v: v != LLAMA_ATTENTION_TYPE_UNSPECIFIED,
        "pooling_type": lambda v: v not in _POOLING,
        "logits_all": bool,
        "lora_base": lambda v: v is not None,
        "chat_format": lambda v: v is not None,
        "chat_handler": lambda v: v is not None,
        "draft_model": lambda v: v is not None,
        "tokenizer": lambda v: v is not None,
        "type_k": lambda v: v not in (None, GGML_TYPE_F16),
        "type_v": lambda v: v not in (None, GGML_TYPE_F16),
    }.items()},
    **{(method, name): test for method in ("create_completion", "create_chat_completion")
       for name, test in {
           "typical_p": lambda v: v != 1.0,
           "frequency_penalty": lambda v: v != 0.0,
           "presence_penalty": lambda v: v != 0.0,
           "tfs_z": lambda v: v != 1.0,
           "mirostat_mode": lambda v: v != 0,
           "logits_processor": bool,
           "logit_bias": bool,
       }.items()},
    ("create_completion", "suffix"): lambda v: v is not None,
    ("create_completion", "logprobs"): lambda v: v is not None,
    ("create_completion", "stopping_criteria"): bool,
    ("create_chat_completion", "logprobs"): bool,
    ("create_chat_completion", "functions"): lambda v: v is not None,
    ("create_chat_completion", "function_call"): lambda v: v is not None,
    ("create_chat_completion", "tools"): lambda v: v is not None,
    ("create_chat_completion", "tool_choice"): lambda v: v is not None,
    ("embed", "truncate"): lambda v: not v,
}


def _refuse(method: str, arguments: Dict[str, Any]) -> None:
    """NotImplementedError naming every argument of `arguments` (a call's
    ``locals()``) that compat cannot honour at the value given."""
    names = [name for (owner, name), test in UNSUPPORTED.items() if owner == method and test(arguments[name])]
    if names:
        raise NotImplementedError(f"{method}: {', '.join(f'{name}={arguments[name]!r}' for name in names)} "
                                  f"{'is' if len(names) == 1 else 'are'} not supported by swiftlet.compat")


class Llama:
    """A Swiftlet model behind ``llama_cpp.Llama``'s interface (the subset
    described in :mod:`swiftlet.compat`)."""

    def __init__(self, model_path: str, *, n_gpu_layers: int = 0, split_mode: int = LLAMA_SPLIT_MODE_LAYER,
                 main_gpu: int = 0, tensor_split: Optional[List[float]] = None, vocab_only: bool = False,
                 use_mmap: bool = True, use_mlock: bool = False,
                 kv_overrides: Optional[Dict[str, Union[bool, int, float, str]]] = None,
                 seed: int = LLAMA_DEFAULT_SEED, n_ctx: int = 512, n_batch: int = 512, n_ubatch: int = 512,
                 n_threads: Optional[int] = None, n_threads_batch: Optional[int] = None,
                 rope_scaling_type: Optional[int] = LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED,
                 pooling_type: int = LLAMA_POOLING_TYPE_UNSPECIFIED,
                 attention_type: int = LLAMA_ATTENTION_TYPE_UNSPECIFIED, rope_freq_base: float = 0.0,
                 rope_freq_scale: float = 0.0, yarn_ext_factor: float = -1.0, yarn_attn_factor: float = 1.0,
                 yarn_beta_fast: float = 32.0, yarn_beta_slow: float = 1.0, yarn_orig_ctx: int = 0,
                 logits_all: bool = False, embedding: bool = False, offload_kqv: bool = True,
                 flash_attn: bool = False, op_offload: Optional[bool] = None, swa_full: Optional[bool] = None,
                 no_perf: bool = False, last_n_tokens_size: int = 64, lora_base: Optional[str] = None,
                 lora_scale: float = 1.0, lora_path: Optional[str] = None, numa: Union[bool, int] = False,
                 chat_format: Optional[str] = None, chat_handler: Any = None, draft_model: Any = None,
                 tokenizer: Any = None, type_k: Optional[int] = None, type_v: Optional[int] = None,
                 spm_infill: bool = False, verbose: bool = True, **kwargs: Any) -> None:
        """Loads `model_path`. ``n_ctx`` 0 means the model's training length.
        ``seed`` starts the sequence of per-call seeds (``LLAMA_DEFAULT_SEED``
        or -1: a random start). ``verbose`` prints a one-line summary to stderr.
        ``embedding`` enables :meth:`embed` and :meth:`create_embedding`
        (pooled as ``pooling_type`` says: mean 1, cls 2, last 3, or the
        model's own). ``last_n_tokens_size`` is the window of the repetition
        penalty. Options that only choose where and how fast llama.cpp runs
        (``n_gpu_layers``, ``use_mmap``, ...) and unknown keywords are
        accepted and change nothing; the options that would change the
        results and that Swiftlet cannot honour raise NotImplementedError
        (see :mod:`swiftlet.compat`)."""
        _refuse("Llama", locals())
        started = time.perf_counter()
        self.model_path = model_path
        self.verbose = verbose
        self._embedding = embedding
        self._pooling = _POOLING[pooling_type]
        self.last_n_tokens_size = last_n_tokens_size
        self._model = Model(model_path, n_threads=n_threads)
        self._context: Context = self._model.context(n_ctx=n_ctx if n_ctx > 0 else None, n_threads=n_threads,
                                                     n_batch=n_batch if n_batch > 0 else None)
        if lora_path is not None:  # a LoRA adapter at lora_scale, as llama.cpp applies it
            self._context.set_adapters({self._model.load_adapter(lora_path): lora_scale})
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
        _refuse("embed", locals())  # truncate=False: texts are always truncated
        texts = [input] if isinstance(input, str) else list(input)
        self.n_tokens = 0  # a decoder's context is empty afterwards
        vectors = [row.tolist() for row in self._context.embed(texts, normalize=normalize, pooling=self._pooling)]
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

    def create_completion(self, prompt: Union[str, List[int]], suffix: Optional[str] = None,
                          max_tokens: Optional[int] = 16, temperature: float = 0.8, top_p: float = 0.95,
                          min_p: float = 0.05, typical_p: float = 1.0, logprobs: Optional[int] = None,
                          echo: bool = False, stop: Optional[Union[str, List[str]]] = None,
                          frequency_penalty: float = 0.0, presence_penalty: float = 0.0,
                          repeat_penalty: float = 1.0, top_k: int = 40, stream: bool = False,
                          seed: Optional[int] = None, tfs_z: float = 1.0, mirostat_mode: int = 0,
                          mirostat_tau: float = 5.0, mirostat_eta: float = 0.1, model: Optional[str] = None,
                          stopping_criteria: Optional[List[Any]] = None, logits_processor: Optional[List[Any]] = None,
                          grammar: Optional[Union[Grammar, str]] = None,
                          logit_bias: Optional[Dict[int, float]] = None) -> Union[Completion, Iterator[CompletionChunk]]:
        """Continues `prompt` (text, tokenized with special tokens recognised,
        or token ids). Returns ``{"id", "object": "text_completion",
        "created", "model", "choices": [{"text", "index", "logprobs",
        "finish_reason"}], "usage": {...}}``, or with ``stream=True`` an
        iterator of chunks of the same shape (without ``usage``), the last one
        carrying the finish reason. ``max_tokens`` None or <= 0 generates
        until the context is full. ``grammar`` (a :class:`LlamaGrammar`, any
        :class:`swiftlet.Grammar`, or GBNF text) constrains the text."""
        _refuse("create_completion", locals())
        tokens = (self.tokenize(prompt.encode("utf-8"), special=True) if isinstance(prompt, str)
                  else [int(t) for t in prompt])
        if not tokens:
            bos = self._model.bos
            if bos is None:
                raise ValueError("the prompt is empty and the model has no BOS token to start from")
            tokens = [bos]
        if len(tokens) >= self._context.size:
            raise ValueError(f"Requested tokens ({len(tokens)}) exceed context window of {self._context.size}")
        text_stream = self._start(tokens, max_tokens, temperature, top_p, min_p, repeat_penalty, top_k, stop, seed,
                                  grammar)
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

    #: Same as :meth:`create_completion` (llama-cpp-python's ``__call__`` takes the same arguments).
    __call__ = create_completion

    def _start(self, tokens: List[int], max_tokens: Optional[int], temperature: float, top_p: float, min_p: float,
               repeat_penalty: float, top_k: int, stop: Optional[Union[str, List[str]]],
               seed: Optional[int], grammar: Optional[Union[Grammar, str]]) -> TextStream:
        context = self._context
        self._evaluate_prompt(tokens)
        stream: TextStream = context.generate("", max_tokens=_max_tokens(max_tokens), temperature=temperature,
                                              top_k=top_k, top_p=top_p, min_p=min_p, repeat_penalty=repeat_penalty,
                                              repeat_last_n=self.last_n_tokens_size, seed=self._next_seed(seed),
                                              stop=stop, grammar=grammar, stream=True)
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

    def create_chat_completion(self, messages: List[ChatMessage], functions: Optional[List[Any]] = None,
                               function_call: Any = None, tools: Optional[List[Any]] = None, tool_choice: Any = None,
                               temperature: float = 0.2, top_p: float = 0.95, top_k: int = 40, min_p: float = 0.05,
                               typical_p: float = 1.0, stream: bool = False,
                               stop: Optional[Union[str, List[str]]] = None, seed: Optional[int] = None,
                               response_format: Optional[Dict[str, Any]] = None, max_tokens: Optional[int] = None,
                               presence_penalty: float = 0.0, frequency_penalty: float = 0.0,
                               repeat_penalty: float = 1.0, tfs_z: float = 1.0, mirostat_mode: int = 0,
                               mirostat_tau: float = 5.0, mirostat_eta: float = 0.1, model: Optional[str] = None,
                               logits_processor: Optional[List[Any]] = None,
                               grammar: Optional[Union[Grammar, str]] = None,
                               logit_bias: Optional[Dict[int, float]] = None, logprobs: Optional[bool] = None,
                               top_logprobs: Optional[int] = None) -> Union[Completion, Iterator[CompletionChunk]]:
        """The assistant's reply to `messages`, rendered with the model's chat
        template. Returns ``{"id", "object": "chat.completion", "created",
        "model", "choices": [{"index", "message": {"role": "assistant",
        "content"}, "logprobs", "finish_reason"}], "usage"}``, or with
        ``stream=True`` ``chat.completion.chunk`` dictionaries whose ``delta`` is
        first ``{"role": "assistant"}``, then ``{"content": ...}`` pieces, and
        finally ``{}`` with the finish reason. ``grammar`` or
        ``response_format`` (``{"type": "json_object"}``, optionally with a
        ``"schema"``) constrains the reply."""
        _refuse("create_chat_completion", locals())
        conversation = [{"role": str(m["role"]), "content": _content_text(m.get("content"))} for m in messages]
        prompt_tokens = len(self._model.tokenize(self._model.chat_format(conversation), special=True))
        if prompt_tokens >= self._context.size:
            raise ValueError(f"Requested tokens ({prompt_tokens}) exceed context window of {self._context.size}")
        self.n_tokens = 0  # the library rewinds to the conversation's shared prefix: what stays is not known here
        text_stream: TextStream = self._context.chat(
            conversation, max_tokens=_max_tokens(max_tokens), temperature=temperature, top_k=top_k, top_p=top_p,
            min_p=min_p, repeat_penalty=repeat_penalty, repeat_last_n=self.last_n_tokens_size,
            seed=self._next_seed(seed), stop=stop, grammar=grammar, response_format=response_format, stream=True)
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


__all__ = ["Llama", "LlamaGrammar", "LlamaState", "LLAMA_DEFAULT_SEED"]
