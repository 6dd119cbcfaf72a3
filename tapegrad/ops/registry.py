"""The op registry: one ``@register`` line under each op's public wrapper.

Registering records the op in ``REGISTRY`` (which the gradient-check test walks), exports it
as ``tg.<name>`` and attaches it to Tensor as a method and operator dunders.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tapegrad.autograd.grad_mode import current
from tapegrad.tensor import Tensor


@dataclass(frozen=True)
class OpDef:
    """What the registry knows of one public op."""

    name: str
    function_cls: type | None  # None for composites built from other registered ops
    public_fn: Callable
    method: bool
    dunders: tuple[str, ...]
    differentiable: bool
    export: bool
    aliases: tuple[str, ...] = ()


REGISTRY: dict[str, OpDef] = {}

# Operands a binary dunder accepts; anything else returns NotImplemented so Python can try
# the other operand (``t == None`` is then False, as in torch).
_OPERANDS = (Tensor, numbers.Number, np.ndarray, np.generic)


def register(
    function_cls: type | None = None,
    *,
    method: bool = False,
    dunders: tuple[str, ...] = (),
    differentiable: bool = True,
    export: bool = True,
    name: str | None = None,
    aliases: tuple[str, ...] = (),
):
    """Register the decorated public wrapper as op ``name`` (default: the wrapper's name).

    ``aliases`` are other public spellings of the same op (``clip`` for ``clamp``); they are
    exported and attached alongside it and share its test case.
    """

    def decorate(fn: Callable) -> Callable:
        key = name or fn.__name__
        if key in REGISTRY:
            raise ValueError(f"op {key!r} is registered twice")
        if not differentiable:
            fn = _observed(key, fn)
        REGISTRY[key] = OpDef(
            key, function_cls, fn, method, tuple(dunders), differentiable, export, tuple(aliases)
        )
        if method:
            for attr in (key, *aliases):
                setattr(Tensor, attr, fn)
        for dunder in dunders:
            setattr(Tensor, dunder, _dunder(fn, dunder))
        return fn

    return decorate


def _observed(name: str, fn: Callable) -> Callable:
    """``fn``, also reported to the active tracers: no Function runs, so no node records it.

    tg.onnx.export needs comparisons, argmax and the like on its tape (a mask computed from an
    input must stay a computation, not become a constant); with no tracer this costs one check.
    """

    @functools.wraps(fn)
    def observed(*args, **kwargs):
        out = fn(*args, **kwargs)
        state = current()
        if state.tracers and state.enabled:
            for tracer in state.tracers:
                on_plain_op = getattr(tracer, "on_plain_op", None)
                if on_plain_op is not None:
                    on_plain_op(name, args, kwargs, out)
        return out

    return observed


def _dunder(fn: Callable, dunder: str) -> Callable:
    """The operator method for ``fn``: unary, binary, or binary with operands swapped."""
    if dunder in _UNARY:
        return fn
    if dunder in _REFLECTED:

        def reflected(self, other):
            if not isinstance(other, _OPERANDS):
                return NotImplemented
            return fn(other, self)

        reflected.__name__ = dunder
        return reflected

    def binary(self, other):
        if not isinstance(other, _OPERANDS):
            return NotImplemented
        return fn(self, other)

    binary.__name__ = dunder
    return binary


_UNARY = {"__neg__", "__abs__", "__invert__", "__pos__"}
_REFLECTED = {
    "__radd__",
    "__rsub__",
    "__rmul__",
    "__rtruediv__",
    "__rfloordiv__",
    "__rmod__",
    "__rpow__",
    "__rmatmul__",
    "__rand__",
    "__ror__",
    "__rxor__",
}


def exported() -> dict[str, Callable]:
    """Every op registered with ``export=True``, by its names: what ``tg.<name>`` holds."""
    names = {}
    for op in REGISTRY.values():
        if op.export:
            for name in (op.name, *op.aliases):
                names[name] = op.public_fn
    return names
