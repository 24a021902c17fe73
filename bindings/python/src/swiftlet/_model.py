"""Models: loading, metadata, tokens, and generation on a model-owned context."""
from __future__ import annotations

import ctypes
import dataclasses
import os
import threading
import weakref
from typing import TYPE_CHECKING, Callable, Literal, Mapping, Optional, Sequence, Union, overload

import numpy as np
import numpy.typing as npt

from . import _abi, _lib
from ._adapter import Adapter
from ._context import Context, Overflow, Pooling, embed_texts
from ._core import token_array
from ._generate_batch import generate_on_new_context
from ._generation import DEFAULT, MaxTokens, StopArgument
from ._grammar import GrammarArgument, JsonSchema, ResponseFormat, constraint
from ._keywords import ChatKeywords, GenerateKeywords
from ._lib import Status
from ._runtime import ModelHandle, check, read_sized
from ._sampling import SamplingOptions
from ._stream import (ChatMessages, Options, TextStream, c_string, chat_job, chat_message_array, chat_params,
                      deliver, generate_job, tokenize_flags)
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is Python 3.11+

PathLike = Union[str, "os.PathLike[str]"]
#: ``progress(fraction)`` during a load; returning False cancels it.
ProgressHandler = Callable[[float], Optional[bool]]


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What a model is (``swiftlet_model_get_info``).

    Attributes:
        architecture: e.g. ``"llama"``.
        name: ``general.name`` from the file, or ``""``.
        n_vocab: vocabulary size.
        n_ctx_train: context length the model was trained with.
        n_embd: embedding width.
        n_layer: number of transformer blocks.
        n_head: attention heads.
        n_head_kv: key/value heads (fewer than ``n_head`` with grouped-query attention).
        n_ff: feed-forward width.
        n_params: number of weights in the file's tensors.
        bos_token: the beginning-of-sequence id, or None.
        eos_token: the end-of-sequence id, or None.
    """

    architecture: str
    name: str
    n_vocab: int
    n_ctx_train: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    n_params: int
    bos_token: Optional[int]
    eos_token: Optional[int]


class Model:
    """A loaded GGUF model (``swiftlet_model``): immutable, shareable by any
    number of threads and contexts.

    Use it as a context manager or call :meth:`close`. Contexts made from it
    keep its weights alive (the library counts them), so models, contexts,
    samplers and streams may be closed or garbage collected in any order.

    :meth:`generate` and :meth:`chat` run on a context the model keeps for
    them (created on first use with ``n_ctx``/``n_batch`` given here). If
    another thread is using it, or a stream on it is still open, a temporary
    context is made for the call, so calls from several threads are safe (for
    repeated use from many threads, give each thread its own :meth:`context`).
    """

    def __init__(self, path: PathLike, *, n_threads: Optional[int] = None, n_ctx: Optional[int] = None,
                 n_batch: Optional[int] = None, progress: Optional[ProgressHandler] = None) -> None:
        """Loads the model at `path`: a GGUF file (v2/v3; architectures
        llama, qwen2, gpt2, gemma3, bert), or a Hugging Face checkpoint folder (config.json +
        *.safetensors + tokenizer.json; BERT sentence encoders such as
        all-MiniLM-L6-v2), whose float weights are quantized to 8-bit blocks.

        Args:
            path: the ``.gguf`` file or the checkpoint folder.
            n_threads: threads for load-time conversion and for evaluation in
                the model's contexts (default: one per core).
            n_ctx: context size of the model's own context for
                :meth:`generate`/:meth:`chat` (default: the training length,
                at most 4096).
            n_batch: most tokens evaluated in one pass in that context
                (default 256; for an encoder, n_ctx).
            progress: called on this thread with the fraction loaded, from 0
                to 1 (the last call gives 1); returning False cancels the load.

        Raises:
            ModelLoadError: for any failure; the object raised is also the
                status class (FileIOError for a missing file, InvalidFileError
                for a corrupt one, UnsupportedError, NotFoundError,
                CancelledError when `progress` returned False, ...).
            KeyboardInterrupt: Ctrl-C during the load, which is cancelled first.
        """
        library = _lib.load()
        self._lib = library
        self.path: str = os.fspath(path)
        self._n_threads = n_threads
        self._n_ctx = n_ctx
        self._n_batch = n_batch
        params = _abi.ModelParams()
        library.model_params_init(params)
        if n_threads is not None:
            params.n_threads = int(n_threads)
        raised: list[BaseException] = []

        def report(fraction: float, _user_data: Optional[int]) -> int:
            # Also how Ctrl-C stops a load: the KeyboardInterrupt is raised
            # here, on the loading thread, and cancels the load.
            try:
                return 0 if progress is not None and progress(fraction) is False else 1
            except BaseException as error:  # never into the C library
                raised.append(error)
                return 0

        params.progress = _abi.ProgressCallback(report)
        out = ctypes.c_void_p()
        status = library.model_load(os.fsencode(self.path), params, out)
        if raised:
            if status == Status.OK:  # the exception came with the last report
                library.model_free(out.value)
            raise raised[0]
        check(library, status, loading=True)
        address = int(out.value or 0)
        self._handle = ModelHandle(address, library.model_free)
        self._finalizer = weakref.finalize(self, self._handle.close)
        self._closed = False
        self._own_context: Optional[Context] = None
        self._own_context_lock = threading.Lock()
        self._adds_bos: Optional[bool] = None  # _chat_tokenize_flags: found on first use
        self._bos_text = ""
        info = _abi.new(_abi.ModelInfo)
        check(library, library.model_get_info(address, info))
        self.info: ModelInfo = ModelInfo(
            architecture=_decode(info.architecture), name=_decode(info.name), n_vocab=int(info.n_vocab),
            n_ctx_train=int(info.n_ctx_train), n_embd=int(info.n_embd), n_layer=int(info.n_layer),
            n_head=int(info.n_head), n_head_kv=int(info.n_head_kv), n_ff=int(info.n_ff),
            n_params=int(info.n_params), bos_token=None if info.bos_token < 0 else int(info.bos_token),
            eos_token=None if info.eos_token < 0 else int(info.eos_token))

    # -- the C pointer, held for the duration of a call

    def _use(self) -> ModelHandle:
        """``with model._use() as address``: the C model, not freed by a
        :meth:`close` on another thread until the block ends."""
        if self._closed:
            raise ValueError("the model is closed")
        return self._handle

    # -- description

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def name(self) -> str:
        """``general.name`` from the file, or ``""``."""
        return self.info.name

    @property
    def n_vocab(self) -> int:
        """Vocabulary size."""
        return self.info.n_vocab

    @property
    def n_ctx_train(self) -> int:
        """Context length the model was trained with."""
        return self.info.n_ctx_train

    @property
    def bos(self) -> Optional[int]:
        """The beginning-of-sequence token id, or None if the model has none."""
        return self.info.bos_token

    @property
    def eos(self) -> Optional[int]:
        """The end-of-sequence token id, or None if the model has none."""
        return self.info.eos_token

    def metadata(self, key: str) -> str:
        """The value of metadata `key` as text: strings as they are, numbers in
        decimal, booleans as ``true``/``false``, arrays as JSON-like lists.
        Raises NotFoundError (a KeyError) if the key does not exist."""
        data = key.encode("utf-8")
        with self._use() as address:
            status, value = read_sized(
                lambda buf, size, out: self._lib.model_meta_value(address, data, buf, size, out), 256)
            check(self._lib, status)
        return value.decode("utf-8", "replace")

    def metadata_keys(self) -> list[str]:
        """Every metadata key, in file order."""
        keys = []
        with self._use() as address:
            for index in range(self._lib.model_meta_count(address)):
                status, key = read_sized(
                    lambda buf, size, out: self._lib.model_meta_key(address, index, buf, size, out), 64)
                check(self._lib, status)
                keys.append(key.decode("utf-8", "replace"))
        return keys

    # -- tokens

    def tokenize(self, text: Union[str, bytes], *, add_bos: Optional[bool] = None, special: bool = False) -> list[int]:
        """Splits `text` into token ids.

        Args:
            text: ``str``, or ``bytes`` (invalid UTF-8 becomes byte tokens).
            add_bos: prepend the BOS token (True), never (False), or as the
                model's metadata asks (None, the default).
            special: recognise special tokens written in the text, e.g. ``"<|im_start|>"``.
        """
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        flags = tokenize_flags(add_bos, special)
        with self._use() as address:
            capacity = len(data) + 2
            for _ in range(3):
                buffer = (ctypes.c_int32 * capacity)()
                count = ctypes.c_size_t(0)
                status = self._lib.tokenize(address, data, flags, buffer, capacity, count)
                if status == Status.BUFFER_TOO_SMALL and count.value > capacity:
                    capacity = count.value
                    continue
                check(self._lib, status)
                return list(buffer[:count.value])
        raise AssertionError("unreachable: the library reported an inconsistent token count")

    def detokenize(self, tokens: Sequence[int]) -> str:
        """The text of `tokens`. Control tokens (BOS, EOS, ...) produce no text;
        bytes that are not valid UTF-8 become U+FFFD.
        InvalidArgumentError for an id outside the vocabulary."""
        array = token_array(tokens)
        with self._use() as address:
            status, text = read_sized(
                lambda buf, size, out: self._lib.detokenize(address, array, len(array), buf, size, out),
                8 * len(array) + 16)
            check(self._lib, status)
        return text.decode("utf-8", "replace")

    def token_to_bytes(self, token: int) -> bytes:
        """The raw bytes of one token (possibly part of a UTF-8 character).
        InvalidArgumentError for an id outside the vocabulary."""
        value = _token_id(token)
        with self._use() as address:
            status, data = read_sized(
                lambda buf, size, out: self._lib.token_to_bytes(address, value, buf, size, out), 32)
            check(self._lib, status)
        return data

    def is_end_of_generation(self, token: int) -> bool:
        """True if generation stops at `token` (EOS, end-of-turn and similar)."""
        value = _token_id(token)
        with self._use() as address:
            return self._lib.token_is_end_of_generation(address, value)

    def chat_format(self, messages: ChatMessages, *, add_generation_prompt: bool = True,
                    chat_template: Optional[str] = None) -> str:
        """`messages` rendered with the model's chat template (if it has none:
        Gemma's turns for a Gemma vocabulary, else ChatML), or with `chat_template` (a Jinja template as in Hugging Face's
        tokenizer_config.json), as :meth:`chat` feeds them to the model. With
        `add_generation_prompt`, the opening of the assistant's turn is appended.
        Raises TemplateError if the template fails."""
        array = chat_message_array(messages)
        params = chat_params(self._lib, add_generation_prompt=add_generation_prompt, chat_template=chat_template)
        with self._use() as address:
            status, text = read_sized(
                lambda buf, size, out: self._lib.chat_format(address, array, len(array), params, buf, size, out),
                1024)
            check(self._lib, status)
        return text.decode("utf-8", "replace")

    # -- adapters

    def load_adapter(self, path: Union[str, os.PathLike[str]]) -> Adapter:
        """Loads the LoRA adapter at `path` (a GGUF file as llama.cpp's
        ``convert_lora_to_gguf.py`` writes it) for this model; attach it to a
        context with :meth:`Context.set_adapters`.

        Raises:
            InvalidArgumentError: a file that is not a LoRA adapter, one for
                another architecture, or one that does not fit this model (a
                missing or unadaptable base tensor, rank 0, shapes that do not
                match, non-finite values); the message names the tensor.
            UnsupportedError: a tensor type other than F32, F16, BF16, Q8_0.
            FileIOError, InvalidFileError: a file that cannot be read as GGUF.
        """
        if self._closed:
            raise ValueError("the model is closed")
        return Adapter(self, path)

    # -- contexts and generation

    def context(self, *, n_ctx: Optional[int] = None, n_threads: Optional[int] = None,
                n_batch: Optional[int] = None, n_seq_max: Optional[int] = None, overflow: Optional[Overflow] = None,
                n_keep: Optional[int] = None, n_discard: Optional[int] = None) -> Context:
        """A new :class:`Context` (KV cache) for this model; see :class:`Context`
        for the options (``n_seq_max`` sequences of ``n_ctx`` tokens each;
        ``overflow="shift"`` to generate on past ``n_ctx``)."""
        if self._closed:
            raise ValueError("the model is closed")
        return Context(self, n_ctx=n_ctx, n_threads=n_threads, n_batch=n_batch, n_seq_max=n_seq_max,
                       overflow=overflow, n_keep=n_keep, n_discard=n_discard)

    def _reserve_context(self) -> tuple[Context, Optional[Context]]:
        """A context reserved (use lock held) for one model-level call: the
        model's own if free, else a temporary one (returned second, to be
        closed when the call ends)."""
        if self._closed:
            raise ValueError("the model is closed")
        with self._own_context_lock:
            if self._own_context is None:
                self._own_context = Context(self, n_ctx=self._n_ctx, n_batch=self._n_batch)
                self._own_context._weak_model()
            own = self._own_context
        if own._core.use_lock.acquire(blocking=False):
            return own, None
        temporary = Context(self, n_ctx=self._n_ctx, n_batch=self._n_batch)
        temporary._core.use_lock.acquire()
        return temporary, temporary

    @overload
    def generate(self, prompt: str, *, stream: Literal[False] = ..., **options: Unpack[GenerateKeywords]) -> str: ...

    @overload
    def generate(self, prompt: str, *, stream: Literal[True], **options: Unpack[GenerateKeywords]) -> TextStream: ...

    def generate(self, prompt: str, *, max_tokens: MaxTokens = DEFAULT, temperature: Optional[float] = None,
                 top_k: Optional[int] = None, top_p: Optional[float] = None, min_p: Optional[float] = None,
                 repeat_penalty: Optional[float] = None, repeat_last_n: Optional[int] = None,
                 seed: Optional[int] = None, stop: StopArgument = None, stream: bool = False,
                 add_bos: Optional[bool] = None, special: bool = False, grammar: GrammarArgument = None,
                 json_schema: Optional[JsonSchema] = None) -> Union[str, TextStream]:
        """Continues `prompt` (raw text, no chat template) from an empty context.

        Options left out take the library's defaults (``swiftlet_generate_params_init``
        and ``swiftlet_sampler_params_init``: 256 tokens, temperature 0.8,
        top_k 40, top_p 0.95, min_p 0.05, no repetition penalty over the last 64).

        Args:
            prompt: the text to continue.
            max_tokens: most tokens to generate (None: until the context is full).
            temperature: 0 is greedy (always the most likely token).
            top_k, top_p, min_p: the usual filters (0, 1.0 and 0 turn them off).
            repeat_penalty: > 1 discourages the last `repeat_last_n` tokens.
            seed: makes sampling reproducible; None draws a random seed.
            stop: a string or strings that end the text; they are not included,
                and are found even when they span several tokens.
            stream: return a :class:`TextStream` of pieces instead of the text.
            add_bos: prepend BOS (None: as the model's metadata says).
            special: recognise special tokens written in the prompt.
            grammar: only text of this grammar is generated: GBNF text, or
                a :class:`Grammar`. The text then ends only where the grammar
                accepts it (or at `max_tokens`, unfinished: give enough).
            json_schema: only JSON valid against this JSON Schema (a dict or
                its JSON text; see :meth:`Grammar.from_json_schema`). At
                most one of `grammar` and `json_schema`.

        Returns:
            The generated text (without the prompt), or a :class:`TextStream`.

        Raises:
            ContextFullError: the prompt does not fit in the context (running
                out of room *while* generating just ends the text, finish
                reason "length").
            InvalidArgumentError: bad sampling values, an empty prompt, a GBNF
                or schema error (with its position).
            ValueError: `grammar` and `json_schema` both given.
            KeyboardInterrupt: Ctrl-C; the generation is cancelled first and the model stays usable.
        """
        sampling = SamplingOptions(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                   repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed,
                                   grammar=constraint(grammar, json_schema))
        context, temporary = self._reserve_context()
        try:
            options = Options(context._core, max_tokens, sampling, stop)
            job = generate_job(context._core, prompt, options, reset=True, add_bos=add_bos, special=special,
                               owned=temporary)
        except BaseException:
            _unreserve(context, temporary)
            raise
        result: Union[str, TextStream] = deliver(job, stream, (self, context))
        return result

    def generate_batch(self, prompts: Sequence[str], *, max_tokens: MaxTokens = DEFAULT,
                       temperature: Optional[float] = None, top_k: Optional[int] = None,
                       top_p: Optional[float] = None, min_p: Optional[float] = None,
                       repeat_penalty: Optional[float] = None, repeat_last_n: Optional[int] = None,
                       seed: Optional[int] = None, stop: StopArgument = None, add_bos: Optional[bool] = None,
                       special: bool = False, grammar: GrammarArgument = None,
                       json_schema: Optional[JsonSchema] = None) -> list[str]:
        """Continues every prompt of `prompts` together (``swiftlet_generate_batch``):
        each step evaluates the next token of every sequence still going in
        one pass, reading the weights once for all of them, so n prompts take
        far less than n times one prompt's time.

        Each text is what :meth:`generate` gives for that prompt alone with
        the same options (each sequence samples with its own sampler made
        from them, the same `seed` for all, and its own parse state of
        `grammar` or `json_schema`), up to near ties: batched sums
        round differently, which can flip a choice between two almost equally
        likely tokens. `stop` strings end each text on its own.

        Runs on a temporary context of ``len(prompts)`` sequences, each just
        long enough for the longest prompt and `max_tokens` (rounded up to 64
        tokens), but no longer than the model's ``n_ctx`` if one was given,
        else its training length; ``max_tokens=None`` generates until that is
        full. At most 256 prompts (the library's n_seq_max).

        Returns:
            The generated texts (without their prompts), in the order of `prompts`.

        Raises:
            ContextFullError: a prompt does not fit (nothing is generated).
            InvalidArgumentError: bad sampling values, a prompt with no
                tokens, more than 256 prompts.
            CancelledError: the context was cancelled (no texts are returned).
            KeyboardInterrupt: Ctrl-C; the generation is cancelled first.
        """
        if isinstance(prompts, str):
            raise TypeError("prompts must be a list of strings, not one string")
        encoded = [c_string(prompt, f"prompts[{index}]") for index, prompt in enumerate(prompts)]
        sampling = SamplingOptions(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                   repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed,
                                   grammar=constraint(grammar, json_schema))
        flags = tokenize_flags(add_bos, special)
        return generate_on_new_context(self, encoded, [flags] * len(encoded), max_tokens, sampling, stop)

    def chat_batch(self, conversations: Sequence[ChatMessages], *, max_tokens: MaxTokens = DEFAULT,
                   temperature: Optional[float] = None, top_k: Optional[int] = None,
                   top_p: Optional[float] = None, min_p: Optional[float] = None,
                   repeat_penalty: Optional[float] = None, repeat_last_n: Optional[int] = None,
                   seed: Optional[int] = None, stop: StopArgument = None,
                   chat_template: Optional[str] = None, grammar: GrammarArgument = None,
                   json_schema: Optional[JsonSchema] = None,
                   response_format: Optional[ResponseFormat] = None) -> list[str]:
        """The assistant's reply to each of `conversations` (each a list of
        ``{"role": ..., "content": ...}``), generated together as
        :meth:`generate_batch` does. Each is rendered with the model's chat
        template (or `chat_template`) and tokenized as :meth:`chat` does:
        special tokens recognised, BOS added as the model's metadata asks
        unless the template wrote it already. Each reply is what :meth:`chat`
        gives for that conversation on a fresh context, up to near ties.
        Options, context size and errors as :meth:`generate_batch`, and
        TemplateError if the template cannot be rendered."""
        if isinstance(conversations, Mapping):
            raise TypeError("conversations must be a list of conversations (lists of messages)")
        texts = [self.chat_format(messages, add_generation_prompt=True, chat_template=chat_template)
                 for messages in conversations]
        sampling = SamplingOptions(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                   repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed,
                                   grammar=constraint(grammar, json_schema, response_format))
        flags = [self._chat_tokenize_flags(text) for text in texts]
        encoded = [text.encode("utf-8") for text in texts]
        return generate_on_new_context(self, encoded, flags, max_tokens, sampling, stop)

    def _chat_tokenize_flags(self, text: str) -> int:
        """The tokenize flags that give a rendered conversation the tokens
        ``swiftlet_chat`` evaluates (chatTokens in ChatRendering.swift):
        special tokens parsed, and BOS only if the model's metadata asks for
        it and the text does not begin with it. SWIFTLET_TOKENIZE_MODEL_BOS is
        not used, since it would also append an EOS the metadata asks for."""
        if self._adds_bos is None:
            # "a" tokenized as the metadata asks starts with BOS exactly when the model adds one
            framed, plain = self.tokenize("a", add_bos=None), self.tokenize("a", add_bos=False)
            self._adds_bos = self.bos is not None and framed[:1] == [self.bos] and plain[:1] != [self.bos]
            self._bos_text = "" if self.bos is None else self.token_to_bytes(self.bos).decode("utf-8", "replace")
        starts_with_bos = self._bos_text != "" and text.startswith(self._bos_text)
        add_bos = self._adds_bos and not starts_with_bos
        return tokenize_flags(add_bos, special=True)

    def embed(self, texts: Sequence[Union[str, bytes]], *, normalize: bool = True,
              pooling: Optional[Pooling] = None) -> npt.NDArray[np.float32]:
        """Sentence embeddings of `texts`: a float32 array of shape
        ``(len(texts), n_embd)``, L2-normalized unless `normalize` is False.
        Runs on the model's own context (a decoder's is reset); see
        :meth:`Context.embed` for the arguments and errors."""
        context, temporary = self._reserve_context()
        try:
            return embed_texts(context._core, self.info.n_embd, texts, normalize=normalize, pooling=pooling)
        finally:
            _unreserve(context, temporary)

    @overload
    def chat(self, messages: ChatMessages, *, stream: Literal[False] = ..., **options: Unpack[ChatKeywords]) -> str: ...

    @overload
    def chat(self, messages: ChatMessages, *, stream: Literal[True],
             **options: Unpack[ChatKeywords]) -> TextStream: ...

    def chat(self, messages: ChatMessages, *, max_tokens: MaxTokens = DEFAULT, temperature: Optional[float] = None,
             top_k: Optional[int] = None, top_p: Optional[float] = None, min_p: Optional[float] = None,
             repeat_penalty: Optional[float] = None, repeat_last_n: Optional[int] = None,
             seed: Optional[int] = None, stop: StopArgument = None, stream: bool = False,
             chat_template: Optional[str] = None, grammar: GrammarArgument = None,
             json_schema: Optional[JsonSchema] = None,
             response_format: Optional[ResponseFormat] = None) -> Union[str, TextStream]:
        """The assistant's reply to `messages`, a list of
        ``{"role": "system" | "user" | "assistant", "content": str}``, rendered
        with the model's chat template (or `chat_template`, a Jinja template
        as in Hugging Face's tokenizer_config.json). Options as :meth:`generate`.

        Successive calls that extend the same conversation reuse its earlier
        turns from the model's context (only new tokens are evaluated).
        Returns ``str``, or a :class:`TextStream` with ``stream=True``.
        Raises TemplateError if the template cannot be rendered.

        `response_format` constrains the reply as OpenAI's and
        llama-cpp-python's do: ``{"type": "json_object"}`` (a JSON object),
        ``{"type": "json_object", "schema": S}`` or ``{"type": "json_schema",
        "json_schema": {"schema": S}}`` (JSON valid against the JSON Schema
        S), ``{"type": "text"}`` (unconstrained); anything else is a
        ValueError. At most one of `grammar`, `json_schema` and
        `response_format` constrains a reply."""
        sampling = SamplingOptions(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                   repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed,
                                   grammar=constraint(grammar, json_schema, response_format))
        context, temporary = self._reserve_context()
        try:
            options = Options(context._core, max_tokens, sampling, stop)
            job = chat_job(context._core, messages, options, chat_template=chat_template, owned=temporary)
        except BaseException:
            _unreserve(context, temporary)
            raise
        result: Union[str, TextStream] = deliver(job, stream, (self, context))
        return result

    # -- lifetime

    def close(self) -> None:
        """Closes the model and its own context (used by :meth:`generate` and
        :meth:`chat`). Other contexts made from it go on working: they keep
        the weights alive until they are closed too. Idempotent."""
        if self._closed:
            return
        self._closed = True
        with self._own_context_lock:
            own, self._own_context = self._own_context, None
        if own is not None:
            own.close()
        self._finalizer()

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self.info.architecture}, {self.info.n_params} params"
        return f"<swiftlet.Model {self.path!r} ({state})>"


def _unreserve(context: Context, temporary: Optional[Context]) -> None:
    context._core.use_lock.release()
    if temporary is not None:
        temporary.close()


def _token_id(token: int) -> int:
    value = int(token)
    if not -2**31 <= value < 2**31:
        raise InvalidArgumentError(Status.INVALID_ARGUMENT, f"token id {value} is outside the vocabulary")
    return value


def _decode(value: Optional[bytes]) -> str:
    return value.decode("utf-8", "replace") if value else ""


__all__ = ["Model", "ModelInfo"]
