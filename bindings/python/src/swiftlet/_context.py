"""Contexts: a KV cache over a model, evaluated, sampled from, generated on.

The rules for calling into a context (one thread at a time, cancel, close,
Ctrl-C) live in :mod:`swiftlet._core`; generation's streams in
:mod:`swiftlet._stream`. This module is the public face over them.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import weakref
from typing import TYPE_CHECKING, Callable, Literal, Mapping, Optional, Sequence, Union, overload

import numpy as np
import numpy.typing as npt

from . import _abi, _lib
from ._adapter import Adapter
from ._batch import TokenBatch
from ._core import INT32_MAX, ContextCore, token_array
from ._generation import DEFAULT, MaxTokens, StopArgument
from ._grammar import GrammarArgument, JsonSchema, ResponseFormat, constraint
from ._keywords import ChatKeywords, GenerateKeywords
from ._lib import Status
from ._observe import (Collector, ObservedView, ObserveArgument, Observations, ObserverHandle, hub_of, kind_mask,
                       listening, view_listener)
from ._runtime import check
from ._sampler import Sampler
from ._sampling import SamplingOptions
from ._stream import ChatMessages, Options, TextStream, chat_job, deliver, generate_job
from .errors import ContextBusyError, ContextFullError, InvalidArgumentError, error_for

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is Python 3.11+

    from ._model import Model, PathLike


#: Context's overflow names -> SWIFTLET_OVERFLOW_*.
Overflow = Literal["error", "shift"]
_OVERFLOW: dict[str, int] = {"error": _abi.OVERFLOW_ERROR, "shift": _abi.OVERFLOW_SHIFT}

#: Context.embed's pooling names -> SWIFTLET_POOLING_* (None: the model's own).
Pooling = Literal["mean", "cls", "last"]
_POOLING: dict[Optional[str], int] = {None: _abi.POOLING_MODEL, "mean": _abi.POOLING_MEAN, "cls": _abi.POOLING_CLS,
                                      "last": _abi.POOLING_LAST}


class Context:
    """One conversation over a shared :class:`Model`: a KV cache, scratch
    buffers and worker threads (``swiftlet_context``). Make one with
    :meth:`Model.context`.

    A context is used by one thread at a time (a second thread gets
    :class:`~swiftlet.ContextBusyError`); give each thread its own, they may
    all share one model. :meth:`cancel` is the exception: any thread may call it.

    A context keeps its model's weights alive (the library counts them), so
    the model may be closed or collected first: the context goes on working.
    """

    def __init__(self, model: Model, *, n_ctx: Optional[int] = None, n_threads: Optional[int] = None,
                 n_batch: Optional[int] = None, n_seq_max: Optional[int] = None, overflow: Optional[Overflow] = None,
                 n_keep: Optional[int] = None, n_discard: Optional[int] = None) -> None:
        """Creates a context for `model`. Options left at None take the
        library's defaults (``swiftlet_context_params_init_sized``).

        Args:
            n_ctx: tokens each sequence holds (default: the model's training
                length, at most 4096).
            n_threads: evaluation threads (default: one per core, or the
                model's ``n_threads``).
            n_batch: most tokens evaluated in one pass (default 256).
            n_seq_max: sequences the context holds, ids ``0 .. n_seq_max-1``
                (default 1, at most 256); the KV cache is ``n_seq_max × n_ctx``.
                See :meth:`decode`.
            overflow: what happens when a sequence is full: ``"error"`` (the
                default: :class:`~swiftlet.ContextFullError`, and generation
                ends with finish reason "length") or ``"shift"`` (a context
                shift: the first `n_keep` tokens and the most recent stay,
                `n_discard` between them go, and generation runs on in bounded
                memory for as many tokens as ``max_tokens`` says).
            n_keep: with ``"shift"``, a sequence's first tokens, always kept (default 4).
            n_discard: with ``"shift"``, tokens dropped at each shift (default
                0: half of those not kept).

        Raises:
            ValueError: `overflow` is not ``"error"`` or ``"shift"``.
            InvalidArgumentError: a value the library refuses (negative
                sizes, more than 256 sequences, n_keep ≥ n_ctx).
        """
        if overflow is not None and overflow not in _OVERFLOW:
            raise ValueError(f"overflow must be one of {sorted(_OVERFLOW)}, not {overflow!r}")
        library = _lib.load()
        params = _abi.ContextParams()
        library.context_params_init_sized(params)
        if n_ctx is not None:
            params.n_ctx = _int32(n_ctx, "n_ctx")
        threads = n_threads if n_threads is not None else model._n_threads
        if threads is not None:
            params.n_threads = _int32(threads, "n_threads")
        if n_batch is not None:
            params.n_batch = _int32(n_batch, "n_batch")
        if n_seq_max is not None:
            params.n_seq_max = _int32(n_seq_max, "n_seq_max")
        if overflow is not None:
            params.overflow = _OVERFLOW[overflow]
        if n_keep is not None:
            params.n_keep = _int32(n_keep, "n_keep")
        if n_discard is not None:
            params.n_discard = _int32(n_discard, "n_discard")
        out = ctypes.c_void_p()
        with model._use() as model_address:
            check(library, library.context_create(model_address, params, out))
        self._core = ContextCore(library, int(out.value or 0), model.info.n_vocab)
        self._model: Optional[Model] = model
        self._model_ref: weakref.ref[Model] = weakref.ref(model)
        self._size = library.context_size(self._core.address)
        self._n_seq_max = max(1, int(params.n_seq_max))  # 0 means 1; the library refused anything it cannot hold
        self._finalizer = weakref.finalize(self, self._core.close)
        self._sampler: Optional[Sampler] = None
        self._adapters: dict[Adapter, float] = {}
        self._sampler_options: Optional[SamplingOptions] = None  # what self._sampler was made with

    def _weak_model(self) -> None:
        """For the model's own context: no strong reference back to the model
        (a reference cycle would keep an unused model until the next collection)."""
        self._model = None

    # -- state

    @property
    def model(self) -> Model:
        """The :class:`Model` this context was made from (it may be closed:
        the context does not need it)."""
        model = self._model or self._model_ref()
        if model is None:
            raise ValueError("the model of this context was garbage collected")
        return model

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._core.closed

    @property
    def size(self) -> int:
        """The capacity in tokens (``n_ctx``), of each sequence."""
        return self._size

    @property
    def n_ctx(self) -> int:
        """The capacity in tokens (same as :attr:`size`)."""
        return self._size

    @property
    def n_seq_max(self) -> int:
        """The number of sequences the context holds (ids ``0 .. n_seq_max-1``)."""
        return self._n_seq_max

    @property
    def position(self) -> int:
        """Tokens in the KV cache (of sequence 0): the position of the next token."""
        with self._using() as core:
            return core.lib.context_position(core.address)

    @property
    def logits(self) -> Optional[npt.NDArray[np.float32]]:
        """The logits of the last evaluated token (of sequence 0) as a new
        ``float32`` array of ``n_vocab`` values, or None if there are none
        (after creation, reset or rewind). A call cancelled before it
        evaluated anything keeps the logits there were.

        A **copy**: it stays valid and unchanged after later calls (the C
        pointer it is copied from is only valid until the next eval)."""
        with self._using() as core:
            address = core.lib.context_logits(core.address)
            return None if address is None else _copy_logits(address, core.n_vocab)

    # -- evaluation

    @overload
    def eval(self, tokens: Sequence[int], observe: None = None) -> None: ...

    @overload
    def eval(self, tokens: Sequence[int], observe: ObserveArgument) -> Observations: ...

    def eval(self, tokens: Sequence[int], observe: Optional[ObserveArgument] = None) -> Optional[Observations]:
        """Evaluates `tokens` after the current position (KV cache updated;
        :attr:`logits` then holds the last token's). Ctrl-C on the main thread
        cancels it and raises ``KeyboardInterrupt``.

        With `observe` (``"hidden"``, ``"after_attention"``, ``"attention"``,
        ``"final"``, or an iterable of them), returns an :class:`Observations`
        of what the forward pass computed for these tokens: ``hidden`` and
        ``after_attention`` ``float32[n_layer, len(tokens), n_embd]``,
        ``attention`` ``float32[n_layer, n_head, len(tokens), position]``
        (``position`` after the call: earlier tokens of the context are
        columns too), ``final`` ``float32[len(tokens), n_embd]``; views not
        asked for are None. The arrays are allocated once, before the call
        (attention takes ``4·n_layer·n_head·len(tokens)·position`` bytes).
        An observer is installed for this call only. Without `observe`,
        returns None.

        Raises InvalidArgumentError (bad id, no tokens), ContextFullError
        (they do not fit; nothing is evaluated; with `observe` also on a
        context that would shift instead), CancelledError; ValueError for
        an unknown `observe` name."""
        array = token_array(tokens)
        count = len(array)
        mask = None if observe is None else kind_mask(observe)
        info = None if mask is None else self.model.info
        collector: Optional[Collector] = None
        with self._using() as core, contextlib.ExitStack() as observing:
            if mask is not None and info is not None:
                start = core.lib.context_position(core.address)
                if count and start + count > self._size:  # (a context shift would renumber the positions)
                    raise ContextFullError(Status.CONTEXT_FULL, f"{count} tokens after position {start} do not fit "
                                           f"in n_ctx {self._size}; eval(observe=...) does not shift the context")
                collector = Collector(mask, tuple(array), start, info.n_layer, info.n_embd, info.n_head)
                observing.enter_context(listening(core, mask, collector))
            evaluate = core.lib.c.swiftlet_context_eval
            status, message = core.run(lambda address: int(evaluate(address, array, count)))
        if status != Status.OK:
            raise error_for(status, message)
        return None if collector is None else collector.result

    def observe(self, callback: Callable[[ObservedView], Optional[bool]],
                kinds: ObserveArgument = ("hidden", "after_attention", "attention", "final")) -> ObserverHandle:
        """Installs `callback` as an observer of every forward pass this
        context runs (eval, decode, generate, chat, embed) until the returned
        :class:`ObserverHandle` is removed (``handle.remove()``, or use it in
        a ``with`` block). `callback` gets one :class:`ObservedView` per
        view of `kinds`, per layer and pass, on the thread that runs the
        pass; returning False stops the call (CancelledError). An exception
        it raises stops the call and is raised by it.

        ``view.values`` is the library's memory, **valid only during the
        callback**: copy what you keep. The call running holds the context,
        so the callback may not use it (ContextBusyError) except for
        :meth:`cancel` and :meth:`close`. While installed, the context holds
        a reference to `callback`. Several observers may be installed at once;
        ``eval(observe=...)`` works alongside them.

        Raises ValueError for an unknown kind; ContextBusyError while a call
        runs on the context."""
        listener = view_listener(callback)
        mask = kind_mask(kinds, "kinds")
        with self._using() as core:
            hub_of(core).add(mask, listener)
            return ObserverHandle(core, functools.partial(_Using, core), listener)  # (not the Context: no reference)

    def eval_all_logits(self, tokens: Sequence[int]) -> npt.NDArray[np.float32]:
        """As :meth:`eval`, and returns every token's logits: a new array of
        shape ``(len(tokens), n_vocab)``."""
        array = token_array(tokens)
        count = len(array)
        with self._using() as core:
            logits = np.empty((count, core.n_vocab), dtype=np.float32)
            pointer = logits.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            status, message = core.run(
                lambda address: core.lib.context_eval_all_logits(address, array, count, pointer, logits.size))
        if status != Status.OK:
            raise error_for(status, message)
        return logits

    def embed(self, texts: Sequence[Union[str, bytes]], *, normalize: bool = True,
              pooling: Optional[Pooling] = None) -> npt.NDArray[np.float32]:
        """One embedding per text: a new float32 array of shape ``(len(texts), n_embd)``.

        Each text is tokenized as the model's sequences are ([CLS] … [SEP] on
        BERT) and truncated to the model's longest sequence
        (sentence_bert_config.json's max_seq_length, else n_ctx_train).
        An encoder embeds as many texts per pass as fit in n_batch tokens,
        each attending only to itself; a decoder embeds them one by one and
        the context is empty afterwards (see swiftlet_embed).

        Args:
            texts: a list of ``str`` (or UTF-8 ``bytes``), not one string.
            normalize: scale each vector to length 1 (sentence-transformers'
                Normalize), the default.
            pooling: ``"mean"``, ``"cls"`` (the first token) or ``"last"``;
                None for the model's own (from its files; ``"last"`` for a decoder).

        Raises:
            TypeError: `texts` is one string rather than a list.
            ValueError: a text holds a NUL character.
            InvalidArgumentError: a text with no tokens (a decoder without
                BOS given ""), or a BERT text longer than n_batch tokens.
            ContextFullError: a decoder text longer than n_ctx.
        """
        with self._using() as core:
            return embed_texts(core, self.model.info.n_embd, texts, normalize=normalize, pooling=pooling)

    def rewind(self, position: int) -> None:
        """Forgets every token after the first `position` (to reuse a shared
        prefix). Logits are unavailable until the next eval. On a model with
        sliding-window layers (Gemma 3), a rewind more than n_batch tokens
        back evaluates the kept tokens again (see swiftlet_context_rewind).
        InvalidArgumentError if `position` is negative or past the current one."""
        with self._using() as core:
            check(core.lib, core.lib.context_rewind(core.address, _int32(position, "position")))

    def reset(self) -> None:
        """Empties the context (position 0). The grammar of the sampler
        :meth:`sample` keeps starts over too (its random sequence goes on)."""
        with self._using() as core:
            check(core.lib, core.lib.context_reset(core.address))
        if self._sampler is not None:
            self._sampler.reset()

    def set_adapters(self, adapters: Optional[Mapping[Adapter, float]]) -> None:
        """Attaches LoRA adapters, each at its scale (``{adapter: scale}``),
        replacing the ones attached before; ``{}`` or None detaches all.
        Several adapters add. Changing the set empties the context (position
        0 in every sequence, as :meth:`reset`), since the cached keys and
        values were computed without it; setting the same set again changes
        nothing.

        Raises:
            InvalidArgumentError: an adapter loaded for another model, a scale
                that is not finite, more than 64 adapters.
            TypeError: a key that is not an :class:`Adapter`.
            ValueError: a closed adapter.
        """
        entries = list((adapters or {}).items())
        for adapter, _ in entries:
            if not isinstance(adapter, Adapter):
                raise TypeError(f"adapters must map swiftlet.Adapter to a scale, not {type(adapter).__name__}")
        scales = [float(scale) for _, scale in entries]
        with contextlib.ExitStack() as held, self._using() as core:
            addresses = [held.enter_context(adapter._use()) for adapter, _ in entries]
            check(core.lib, core.lib.context_set_adapters(core.address, addresses, scales))
        attached = dict(zip((adapter for adapter, _ in entries), scales))
        changed = list(attached.items()) != list(self._adapters.items())
        self._adapters = attached
        if changed and self._sampler is not None:
            self._sampler.reset()

    @property
    def adapters(self) -> dict[Adapter, float]:
        """The adapters attached by :meth:`set_adapters`, with their scales."""
        return dict(self._adapters)

    def cancel(self) -> None:
        """Stops the eval/generate/chat running on this context now, as soon as
        possible (within one layer); that call then raises
        :class:`~swiftlet.CancelledError` (a stream: from ``next()``). Any
        thread may call this. It applies only to the call running when it is
        made (the library's rule): with nothing running it does nothing, and
        never cancels a later call."""
        self._core.cancel()

    # -- sequences

    def decode(self, tokens: Sequence[int], seq_ids: Optional[Sequence[int]] = None,
               positions: Optional[Sequence[int]] = None, logits: Optional[Sequence[bool]] = None) -> None:
        """Evaluates tokens of several sequences in one pass (``swiftlet_context_decode``),
        reading the weights once for all of them; each token attends only to
        the earlier tokens of its own sequence.

        Entry i is ``tokens[i]``, appended to sequence ``seq_ids[i]`` (None:
        all to sequence 0); entries of different sequences may be
        interleaved. ``positions[i]``, if given, must be the position it
        takes (its sequence's length, then +1 for each further entry of that
        sequence): a check, not a choice. ``logits[i]`` true keeps entry i's
        logits for :meth:`logits_for`; None keeps those of each sequence's
        last entry. A sequence whose last entry kept its logits can be
        sampled from (:meth:`sample` with ``seq``). Ctrl-C on the main thread
        cancels it and raises ``KeyboardInterrupt``.

        Raises:
            ValueError: `seq_ids`, `positions` or `logits` is not as long as `tokens`.
            InvalidArgumentError: no tokens, a sequence id outside
                ``0 .. n_seq_max-1``, a position that is not the next, a token
                id outside the vocabulary (nothing is evaluated).
            ContextFullError: a sequence would go past n_ctx (with
                ``overflow="error"``; nothing is evaluated).
            CancelledError: the passes finished before the cancel stay evaluated.
        """
        batch = TokenBatch(tokens, seq_ids, positions, logits)
        with self._using() as core:
            decode = core.lib.c.swiftlet_context_decode
            pointer = ctypes.byref(batch.struct)
            status, message = core.run(lambda address: int(decode(address, pointer)))
        if status != Status.OK:
            raise error_for(status, message)

    def logits_for(self, index: int) -> Optional[npt.NDArray[np.float32]]:
        """Entry `index`'s logits from the last :meth:`decode` as a new
        ``float32`` array (a copy, as :attr:`logits`), or None if that entry
        did not keep them, `index` is outside that batch, or anything was
        evaluated, removed or reset since."""
        with self._using() as core:
            address = core.lib.context_logits_for(core.address, _int32(index, "index"))
            return None if address is None else _copy_logits(address, core.n_vocab)

    def seq_length(self, seq: int) -> int:
        """The number of tokens sequence `seq` holds (its next position).
        InvalidArgumentError for an id outside ``0 .. n_seq_max-1``."""
        with self._using() as core:
            length = core.lib.context_seq_length(core.address, _int32(seq, "seq"))
        if length < 0:
            raise InvalidArgumentError(Status.INVALID_ARGUMENT, f"sequence {seq} is not a sequence of this context "
                                       f"(0 to {self._n_seq_max - 1}: n_seq_max is {self._n_seq_max})")
        return length

    def tokens(self, seq: int = 0) -> list[int]:
        """The tokens sequence `seq` holds, in position order (after a context
        shift: the kept ones). InvalidArgumentError for a bad id."""
        with self._using() as core:
            seq_id = _int32(seq, "seq")
            count = ctypes.c_size_t()
            status = core.lib.context_tokens(core.address, seq_id, None, 0, ctypes.byref(count))
            if status not in (Status.OK, Status.BUFFER_TOO_SMALL):
                check(core.lib, status)
            held = (ctypes.c_int32 * max(count.value, 1))()
            check(core.lib, core.lib.context_tokens(core.address, seq_id, held, count.value, ctypes.byref(count)))
            return list(held[:count.value])

    def seq_remove(self, seq: int, start: int, end: int = -1) -> None:
        """Removes positions ``start <= p < end`` of sequence `seq` (`end`
        negative: to its end). Its later tokens move down to close the gap,
        keeping their cached keys (re-rotated to their new positions); the
        sequence's logits become unavailable. Removing a tail is a rewind.
        Ctrl-C on the main thread cancels it (some models evaluate the kept
        tokens again). InvalidArgumentError for a bad id or range."""
        seq_id, p0, p1 = _int32(seq, "seq"), _int32(start, "start"), _int32(end, "end")
        with self._using() as core:
            remove = core.lib.context_seq_remove
            status, message = core.run(lambda address: remove(address, seq_id, p0, p1))
        if status != Status.OK:
            raise error_for(status, message)

    def seq_copy(self, src: int, dst: int, n: int = -1) -> None:
        """Makes sequence `dst` hold the first `n` tokens of sequence `src`
        (`n` negative: all of them) with their cached keys and values: a
        shared prompt evaluated once and continued differently in each
        sequence. What `dst` held is forgotten; it has `src`'s logits if all
        of `src` is copied. InvalidArgumentError for bad ids or `n` past `src`'s length."""
        source, destination, count = _int32(src, "src"), _int32(dst, "dst"), _int32(n, "n")
        with self._using() as core:
            check(core.lib, core.lib.context_seq_copy(core.address, source, destination, count))

    def seq_keep(self, seq: int) -> None:
        """Empties every sequence except `seq`. InvalidArgumentError for a bad id."""
        with self._using() as core:
            check(core.lib, core.lib.context_seq_keep(core.address, _int32(seq, "seq")))

    # -- saved state

    def save_state(self, seq: Optional[int] = None) -> bytes:
        """The context's state as bytes (``swiftlet_context_state_save``): each
        sequence's tokens, its last logits and its KV cache, behind a header
        naming the format and the model, and a checksum. :meth:`load_state` on
        a context of the same model, in this process or another, continues
        exactly as this one would: the same greedy tokens, and the same sampled
        tokens for the same seed. About 23 KiB per token for SmolLM2-135M.

        Samplers are not part of the state (see :meth:`load_state`).

        Args:
            seq: one sequence's id, or None for the whole context.

        Raises:
            InvalidArgumentError: `seq` is outside ``0 .. n_seq_max-1``.
        """
        seq_id = self._state_seq(seq)
        with self._using() as core:
            size = ctypes.c_size_t(0)
            check(core.lib, core.lib.context_state_size(core.address, seq_id, size))
            buffer = ctypes.create_string_buffer(size.value)
            # the size cannot change between the two calls: this thread holds the context
            check(core.lib, core.lib.context_state_save(core.address, seq_id, buffer, len(buffer), size))
            return ctypes.string_at(buffer, size.value)

    def load_state(self, data: Union[bytes, bytearray, memoryview], seq: Optional[int] = None) -> None:
        """Restores a state from :meth:`save_state` (``swiftlet_context_state_load``).

        With `seq` None each saved sequence goes back to its own id (a
        whole-context state also empties the sequences it does not hold);
        with an id, the state must hold one sequence (saved with ``seq``),
        which goes there, whatever id it was saved from, and the other
        sequences are untouched. This context may differ from the saving one
        in n_batch, n_threads and n_seq_max, as long as the ids and lengths fit.
        Everything is checked before anything changes: on an error the
        context is as it was.

        Samplers are not part of the state. The sampler :meth:`sample` keeps
        is dropped, so ``sample(seed=s)`` afterwards draws what it would
        draw on a new context; ``generate`` and ``chat`` make a sampler per
        call. So the same seed gives the same tokens after a load.

        Raises:
            TypeError: `data` is a ``str``.
            InvalidFileError: `data` is not a Swiftlet state, or is truncated or
                corrupted (the checksum).
            UnsupportedError: a state of a newer format than this library reads.
            InvalidArgumentError: another model's state; `seq` outside
                ``0 .. n_seq_max-1``; with `seq`, a state of several sequences;
                a saved sequence id this context does not have.
            ContextFullError: a saved sequence is longer than this context's n_ctx.
        """
        if isinstance(data, str):
            raise TypeError("data must be the bytes save_state returned, not str")
        payload = data if isinstance(data, bytes) else bytes(data)
        seq_id = self._state_seq(seq)
        with self._using() as core:
            check(core.lib, core.lib.context_state_load(core.address, seq_id, payload))
            self._drop_sampler()

    def save_state_file(self, path: PathLike, seq: Optional[int] = None) -> None:
        """As :meth:`save_state`, into the file at `path`
        (``swiftlet_context_state_save_file``). It is written to
        ``<path>.partial`` and renamed over `path`, so a failed save leaves
        what was there.

        Raises:
            ValueError: `path` holds a NUL character.
            FileIOError: the file could not be written (also an ``OSError``).
            InvalidArgumentError: `seq` is outside ``0 .. n_seq_max-1``.
        """
        encoded, seq_id = _state_path(path), self._state_seq(seq)
        with self._using() as core:
            check(core.lib, core.lib.context_state_save_file(core.address, seq_id, encoded))

    def load_state_file(self, path: PathLike, seq: Optional[int] = None) -> None:
        """As :meth:`load_state`, from the file at `path`
        (``swiftlet_context_state_load_file``).

        Raises:
            ValueError: `path` holds a NUL character.
            FileIOError: the file could not be read: missing, unreadable (also an ``OSError``).
            InvalidFileError, UnsupportedError, InvalidArgumentError,
            ContextFullError: as :meth:`load_state`.
        """
        encoded, seq_id = _state_path(path), self._state_seq(seq)
        with self._using() as core:
            check(core.lib, core.lib.context_state_load_file(core.address, seq_id, encoded))
            self._drop_sampler()

    def _state_seq(self, seq: Optional[int]) -> int:
        """`seq` as the C API's seq_id: None is SWIFTLET_STATE_ALL_SEQUENCES
        (-1 itself is refused, so that a computed -1 does not mean "all")."""
        if seq is None:
            return _abi.STATE_ALL_SEQUENCES
        seq_id = _int32(seq, "seq")
        if seq_id < 0:
            raise InvalidArgumentError(Status.INVALID_ARGUMENT,
                                       f"sequence {seq_id} is negative; pass seq=None for every sequence")
        return seq_id

    def _drop_sampler(self) -> None:
        """Forgets the sampler :meth:`sample` keeps (a loaded state starts a new random sequence)."""
        if self._sampler is not None:
            self._sampler.close()
        self._sampler = None
        self._sampler_options = None

    # -- sampling

    def sample(self, *, temperature: Optional[float] = None, top_k: Optional[int] = None,
               top_p: Optional[float] = None, min_p: Optional[float] = None,
               repeat_penalty: Optional[float] = None, repeat_last_n: Optional[int] = None,
               seed: Optional[int] = None, grammar: GrammarArgument = None, sampler: Optional[Sampler] = None,
               seq: int = 0) -> int:
        """Picks the next token from the current logits (not evaluated): those
        of sequence `seq` (0 unless the context holds several; see :meth:`decode`).

        With `sampler`, that :class:`Sampler` is used and the other arguments
        are ignored. Otherwise the context keeps one sampler for the settings
        given (None: the library's defaults, as :class:`Sampler`) and reuses it
        while they stay the same (and no state is loaded: see
        :meth:`load_state`), so successive calls continue one random
        sequence (reproducible from `seed`), across every `seq` sampled from:
        give each sequence a :class:`Sampler` of its own to draw for it what
        it would draw alone.

        With `grammar` (GBNF text or a :class:`~swiftlet.Grammar`), the kept
        sampler's parse state advances with each token it returns (the same
        text or Grammar keeps the same sampler), so :meth:`eval` each one;
        :meth:`reset` starts it over, and so does a change of settings. For
        anything else (several sequences, a rewind), use a :class:`Sampler`
        with ``grammar`` and its ``reset``."""
        if sampler is None:
            options = SamplingOptions(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                      repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed,
                                      grammar=constraint(grammar))
            if self._sampler is None or self._sampler_options != options:
                if self._sampler is not None:
                    self._sampler.close()
                self._sampler = Sampler._from_options(options)
                self._sampler_options = options
            sampler = self._sampler
        return sampler.sample(self, seq=seq)

    # -- generation

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
        """Continues what the context holds with `prompt` and generated text.

        Returns the text (``str``), or with ``stream=True`` a
        :class:`TextStream` of pieces. The context then holds the prompt and
        every generated token (an empty prompt continues from the current
        logits). See :meth:`Model.generate` for the options."""
        sampling = SamplingOptions(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                   repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed,
                                   grammar=constraint(grammar, json_schema))
        with self._reserved() as core:
            options = Options(core, max_tokens, sampling, stop)
            job = generate_job(core, prompt, options, reset=False, add_bos=add_bos, special=special, owned=None)
        return deliver(job, stream, (self,))

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
        """The assistant's reply to `messages` (``[{"role": ..., "content": ...}]``),
        rendered with the model's chat template, or with `chat_template` (a
        Jinja template as in Hugging Face's tokenizer_config.json) if given.
        If the context already holds the earlier turns of the same
        conversation, only the new tokens are evaluated. Returns ``str``, or a
        :class:`TextStream` with ``stream=True``. See :meth:`Model.chat` for
        `response_format`, and :meth:`Model.generate` for the other options."""
        sampling = SamplingOptions(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                                   repeat_penalty=repeat_penalty, repeat_last_n=repeat_last_n, seed=seed,
                                   grammar=constraint(grammar, json_schema, response_format))
        with self._reserved() as core:
            options = Options(core, max_tokens, sampling, stop)
            job = chat_job(core, messages, options, chat_template=chat_template, owned=None)
        return deliver(job, stream, (self,))

    # -- lifetime

    def close(self) -> None:
        """Stops anything running on the context and frees it. Idempotent;
        also done when the object is collected. Allowed from the context's own
        callbacks too (the running call then stops)."""
        if self._sampler is not None:
            self._sampler.close()
        self._finalizer()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"n_vocab={self._core.n_vocab}"
        return f"<swiftlet.Context {state}>"

    # -- the use lock

    def _using(self) -> _Using:
        return _Using(self._core)

    def _reserved(self) -> _Reserved:
        return _Reserved(self._core)


class _Using:
    """``with``: holds the context's use lock for one call (never waits)."""

    __slots__ = ("_core",)

    def __init__(self, core: ContextCore) -> None:
        self._core = core

    def __enter__(self) -> ContextCore:
        core = self._core
        if core.closed:
            raise ValueError("the context is closed")
        if not core.use_lock.acquire(blocking=False):
            raise ContextBusyError(Status.BUSY, "the context is in use by another thread or an open stream; "
                                   "use one context per thread, and finish or close streams")
        if core.closed:
            core.use_lock.release()
            raise ValueError("the context is closed")
        return core

    def __exit__(self, *exc_info: object) -> None:
        self._core.use_lock.release()


class _Reserved(_Using):
    """``with``: takes the use lock for a job; releases it only if the block fails
    (on success the job owns it until it ends)."""

    __slots__ = ()

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is not None:
            self._core.use_lock.release()


def _copy_logits(address: int, n_vocab: int) -> npt.NDArray[np.float32]:
    """A new array of the `n_vocab` floats at `address` (the library's, valid until the next call)."""
    view = np.ctypeslib.as_array(ctypes.cast(address, ctypes.POINTER(ctypes.c_float)), shape=(n_vocab,))
    return np.array(view, dtype=np.float32, copy=True)


def _state_path(path: PathLike) -> bytes:
    """`path` for the C API; a NUL would cut it short there."""
    encoded = os.fsencode(path)
    if b"\0" in encoded:
        raise ValueError(f"the path {os.fsdecode(encoded)!r} holds a NUL character")
    return encoded


def _int32(value: int, name: str) -> int:
    number = int(value)
    if not -INT32_MAX - 1 <= number <= INT32_MAX:
        raise ValueError(f"{name} {number} does not fit in 32 bits")
    return number


__all__ = ["Context", "Sampler", "TextStream", "ChatMessages"]


def embed_texts(core: ContextCore, width: int, texts: Sequence[Union[str, bytes]], *, normalize: bool,
                pooling: Optional[Pooling]) -> npt.NDArray[np.float32]:
    """swiftlet_embed on a context whose use lock the caller holds (see :meth:`Context.embed`)."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a list of strings, not one string")
    encoded = [text.encode("utf-8") if isinstance(text, str) else bytes(text) for text in texts]
    if any(b"\0" in text for text in encoded):
        raise ValueError("a text holds a NUL character, which cannot cross the C interface")
    if pooling not in _POOLING:
        raise ValueError(f"pooling must be one of {sorted(k for k in _POOLING if k)} or None, not {pooling!r}")
    if not encoded:
        return np.empty((0, width), dtype=np.float32)
    array = (ctypes.c_char_p * len(encoded))(*encoded)
    params = _abi.EmbedParams()
    core.lib.embed_params_init(params)
    params.pooling = _POOLING[pooling]
    params.normalize = 1 if normalize else 0
    out = np.empty((len(encoded), width), dtype=np.float32)
    pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    count = ctypes.c_size_t(0)
    status, message = core.run(
        lambda address: core.lib.embed(address, array, len(encoded), params, pointer, out.size, count))
    if status != Status.OK:
        raise error_for(status, message)
    return out
