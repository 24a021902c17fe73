"""Observers: what a context's forward passes compute, seen from Python
(``swiftlet_context_set_observer``).

The library hands a C callback one *view* at a time while it evaluates: a
layer's hidden states, the residual after its attention, its attention
weights, or the final normed state, each valid only during the callback.
Two ways to receive them, both built on one dispatcher per context
(:class:`ObserverHub`), which installs a single C callback with the union of
what its listeners asked for, and removes it when none is left (a context
without an observer pays nothing):

- ``Context.eval(tokens, observe=("hidden", "attention"))`` copies every view
  of that call into arrays allocated once, up front (:class:`Observations`);
- ``Context.observe(callback, kinds=...)`` hands a Python callable each view
  (:class:`ObservedView`) for as long as its :class:`ObserverHandle` is open.

Exceptions: ctypes would print and swallow an exception raised in a
callback, so the dispatcher catches it (``KeyboardInterrupt`` included),
returns 0 (the library stops the call, CANCELLED) and keeps it;
:meth:`~swiftlet._core.ContextCore.run` raises it once the C call returned,
in place of the CancelledError, as the token callbacks of generation do.
"""
from __future__ import annotations

import contextlib
import ctypes
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Iterable, Iterator, Literal, Optional, Union

import numpy as np
import numpy.typing as npt

from . import _abi

if TYPE_CHECKING:
    from ._core import ContextCore

#: The names of the views, as ``observe=`` and ``kinds=`` take them.
ObserveKind = Literal["hidden", "after_attention", "attention", "final"]
ObserveArgument = Union[ObserveKind, Iterable[ObserveKind]]

#: Name -> SWIFTLET_OBSERVE_* bit, in the order a pass delivers them.
KINDS: dict[str, int] = {"attention": _abi.OBSERVE_ATTENTION, "after_attention": _abi.OBSERVE_AFTER_ATTENTION,
                         "hidden": _abi.OBSERVE_HIDDEN, "final": _abi.OBSERVE_FINAL}
_NAMES: dict[int, str] = {bit: name for name, bit in KINDS.items()}


def kind_mask(kinds: ObserveArgument, what: str = "observe") -> int:
    """The SWIFTLET_OBSERVE_* bits of `kinds`: one name or an iterable of them.
    ValueError for an unknown name or none at all."""
    names = [kinds] if isinstance(kinds, str) else list(kinds)
    mask = 0
    for name in names:
        if name not in KINDS:
            raise ValueError(f"{what}: unknown view {name!r}; the views are {', '.join(map(repr, KINDS))}")
        mask |= KINDS[name]
    if not mask:
        raise ValueError(f"{what}: no view named; the views are {', '.join(map(repr, KINDS))}")
    return mask


def _values(o: _abi.Observation) -> npt.NDArray[np.float32]:
    """The view's floats as an array over the library's memory (no copy):
    valid only while the callback runs."""
    shape = (int(o.n_heads), int(o.n_tokens), int(o.n_columns))
    return np.ctypeslib.as_array(o.values, shape=shape)


class ObservedView:
    """One view handed to a :meth:`Context.observe` callback.

    Attributes:
        kind: ``"hidden"``, ``"after_attention"``, ``"attention"`` or ``"final"``.
        layer: ``0 .. n_layer-1``; ``n_layer`` for ``"final"``.
        seq_id: the sequence the tokens continue (0 unless :meth:`Context.decode`
            evaluates several).
        first_token: the index of the first of these tokens in the pass (a
            call longer than ``n_batch`` runs several passes).
        n_tokens: how many tokens the view holds.
        first_position: the position of the first of them in its sequence.
        values: ``float32[heads, tokens, columns]``: for ``"attention"``,
            ``n_head`` heads and the columns are the sequence's positions
            ``0 .. first_position + n_tokens - 1`` (each row sums to 1, later
            positions weigh 0); otherwise one "head" and ``n_embd`` columns.
            **It is the library's memory, valid only during the callback**:
            copy what you keep (``view.values.copy()``).
    """

    __slots__ = ("kind", "layer", "seq_id", "first_token", "n_tokens", "first_position", "values")

    def __init__(self, o: _abi.Observation) -> None:
        self.kind: str = _NAMES.get(int(o.kind), str(o.kind))
        self.layer = int(o.layer)
        self.seq_id = int(o.seq_id)
        self.first_token = int(o.first_token)
        self.n_tokens = int(o.n_tokens)
        self.first_position = int(o.first_position)
        self.values = _values(o)

    def __repr__(self) -> str:
        return (f"<swiftlet.ObservedView {self.kind} layer={self.layer} seq_id={self.seq_id} "
                f"positions={self.first_position}..{self.first_position + self.n_tokens - 1} "
                f"shape={self.values.shape}>")


#: A listener: gets each view of its kinds, returns False to stop the call.
Listener = Callable[[_abi.Observation], bool]


class ObserverHub:
    """A context's one C observer callback, dispatching each view to the
    Python listeners that asked for its kind. :meth:`add` and :meth:`remove`
    call ``swiftlet_context_set_observer``, so they need the context's use
    lock held and no call running on it."""

    def __init__(self, core: ContextCore) -> None:
        self._core = core
        self._listeners: list[tuple[int, Listener]] = []
        self._installed = 0  # the kinds the library was given
        self.error: Optional[BaseException] = None  # raised in a listener; ContextCore.run raises it
        self._callback = _abi.ObserverCallback(self._dispatch)  # kept alive as long as the hub

    def add(self, mask: int, listener: Listener) -> None:
        self._listeners.append((mask, listener))
        self._apply()

    def remove(self, listener: Listener) -> None:
        self._listeners = [entry for entry in self._listeners if entry[1] is not listener]
        self._apply()

    def take_error(self) -> Optional[BaseException]:
        error, self.error = self.error, None
        return error

    def _apply(self) -> None:
        from ._runtime import check  # (import here: _runtime imports errors, which imports _lib)

        mask = 0
        for kinds, _ in self._listeners:
            mask |= kinds
        core = self._core
        if mask == self._installed or not core.address:
            return
        callback = self._callback if mask else _abi.ObserverCallback()  # (no arguments: a NULL pointer)
        check(core.lib, core.lib.context_set_observer(core.address, mask, callback))
        self._installed = mask

    def _dispatch(self, pointer: ctypes._Pointer[_abi.Observation], _user_data: Optional[int]) -> int:
        try:
            o = pointer.contents
            go_on = True
            for kinds, listener in self._listeners:
                if o.kind & kinds and listener(o) is False:
                    go_on = False
            return 1 if go_on else 0
        except BaseException as error:  # never into the C library (ctypes would swallow it)
            if self.error is None:
                self.error = error
            return 0


class Observations:
    """What :meth:`Context.eval` with ``observe=`` saw: one array per view
    asked for (None for the others), every row of the call's tokens.

    Attributes:
        tokens: the tokens evaluated (a tuple).
        first_position: the position of the first of them (the context's
            position before the call).
        hidden: ``float32[n_layer, tokens, n_embd]``, each layer's output.
        after_attention: ``float32[n_layer, tokens, n_embd]``, each layer's
            residual stream after its attention, before the feed-forward
            block (post-norm models: after that norm).
        attention: ``float32[n_layer, n_head, tokens, positions]``, the
            softmax weights: ``positions = first_position + len(tokens)``,
            the sequence's positions after the call, so tokens evaluated
            before this call are columns too. Row ``t`` (at position
            ``first_position + t``) sums to 1 and is 0 on later positions
            (and outside a sliding-window layer's window).
        final: ``float32[tokens, n_embd]``, the final normed hidden state
            (the output head's input).
    """

    def __init__(self, tokens: tuple[int, ...], first_position: int) -> None:
        self.tokens = tokens
        self.first_position = first_position
        self.hidden: Optional[npt.NDArray[np.float32]] = None
        self.after_attention: Optional[npt.NDArray[np.float32]] = None
        self.attention: Optional[npt.NDArray[np.float32]] = None
        self.final: Optional[npt.NDArray[np.float32]] = None

    @property
    def positions(self) -> int:
        """The sequence's length after the call: the attention's last axis."""
        return self.first_position + len(self.tokens)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name}={getattr(self, name).shape}" for name in KINDS if getattr(self, name) is not None)
        return f"<swiftlet.Observations first_position={self.first_position} tokens={len(self.tokens)} {shapes}>"


class Collector:
    """The listener behind ``eval(observe=...)``: copies each view into
    arrays allocated up front. A view's rows are placed by position (row =
    position - first_position), so passes of any size land where they
    belong; views of other positions (the re-evaluation of earlier tokens a
    sliding-window model may do) are not this call's and are skipped."""

    def __init__(self, mask: int, tokens: tuple[int, ...], first_position: int, n_layer: int, n_embd: int,
                 n_head: int) -> None:
        self.mask = mask
        self.result = Observations(tokens, first_position)
        count, positions = len(tokens), first_position + len(tokens)
        result = self.result
        if mask & _abi.OBSERVE_HIDDEN:
            result.hidden = np.empty((n_layer, count, n_embd), dtype=np.float32)
        if mask & _abi.OBSERVE_AFTER_ATTENTION:
            result.after_attention = np.empty((n_layer, count, n_embd), dtype=np.float32)
        if mask & _abi.OBSERVE_ATTENTION:
            # zeros: a pass's columns end at its last token; later positions weigh exactly 0
            result.attention = np.zeros((n_layer, n_head, count, positions), dtype=np.float32)
        if mask & _abi.OBSERVE_FINAL:
            result.final = np.empty((count, n_embd), dtype=np.float32)

    def __call__(self, o: _abi.Observation) -> bool:
        result = self.result
        row = int(o.first_position) - result.first_position
        count = int(o.n_tokens)
        if o.seq_id != 0 or row < 0 or row + count > len(result.tokens):
            return True
        values = _values(o)
        kind = int(o.kind)
        if kind == _abi.OBSERVE_ATTENTION:
            assert result.attention is not None
            result.attention[o.layer, :, row:row + count, :values.shape[2]] = values
        elif kind == _abi.OBSERVE_FINAL:
            assert result.final is not None
            result.final[row:row + count] = values[0]
        else:
            target = result.hidden if kind == _abi.OBSERVE_HIDDEN else result.after_attention
            assert target is not None
            target[o.layer, row:row + count] = values[0]
        return True


@contextlib.contextmanager
def listening(core: ContextCore, mask: int, listener: Listener) -> Iterator[None]:
    """``with``: `listener` gets the views of `mask` during the block, and is
    removed after it, also on error. The caller holds the use lock."""
    hub = hub_of(core)
    hub.add(mask, listener)
    try:
        yield
    finally:
        hub.remove(listener)


def hub_of(core: ContextCore) -> ObserverHub:
    """The context's dispatcher, made on first use."""
    if core.observers is None:
        core.observers = ObserverHub(core)
    return core.observers


class ObserverHandle:
    """What :meth:`Context.observe` returns: the callback stays installed
    until :meth:`remove` (idempotent), or the end of a ``with`` block."""

    def __init__(self, core: ContextCore, using: Callable[[], ContextManager[Any]], listener: Listener) -> None:
        self._core = core
        self._using = using
        self._listener: Optional[Listener] = listener

    @property
    def active(self) -> bool:
        """True until :meth:`remove` (or the context's close)."""
        return self._listener is not None and not self._core.closed

    def remove(self) -> None:
        """Removes the callback. Does nothing if it was removed already or
        the context is closed. ContextBusyError while a call runs on the
        context (a callback cannot remove itself: return False to stop the
        call, then remove it)."""
        listener = self._listener
        if listener is None or self._core.closed:
            self._listener = None
            return
        with self._using():
            hub_of(self._core).remove(listener)
        self._listener = None

    def __enter__(self) -> ObserverHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<swiftlet.ObserverHandle {'active' if self.active else 'removed'}>"


def view_listener(callback: Callable[[ObservedView], Optional[bool]]) -> Listener:
    """A listener handing `callback` an :class:`ObservedView`; the call stops
    when it returns False (None, its usual result, goes on)."""
    def listener(o: _abi.Observation) -> bool:
        return callback(ObservedView(o)) is not False
    return listener
