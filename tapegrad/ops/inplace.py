"""In-place methods (``add_``, ``mul_``, ``zero_``, ``x -= y``, ...), as torch has them.

Each computes the out-of-place op, writes the result into the tensor's own memory (so views
and ``.data`` see it), bumps its version and, when recording, makes the op its grad_fn.
"""

from __future__ import annotations

import numpy as np

from tapegrad.autograd.grad_mode import current
from tapegrad.ops import arithmetic, elementwise
from tapegrad.random import rng
from tapegrad.tensor import Tensor, _make


def write_back(self: Tensor, result: Tensor, op: str) -> Tensor:
    """Store ``result`` in ``self``'s memory as the in-place op ``op`` and return ``self``."""
    recording = current().enabled and (self._rg or result._rg)
    if recording and self._rg and self.grad_fn is None:
        raise RuntimeError(
            f"{op}: a leaf Variable that requires grad is being used in an in-place operation; "
            "wrap it in tg.no_grad() or work on .data"
        )
    if result._data.shape != self._data.shape:
        raise RuntimeError(
            f"{op}: output with shape {tuple(self._data.shape)} doesn't match the broadcast "
            f"shape {tuple(result._data.shape)}"
        )
    if not np.can_cast(result._data.dtype, self._data.dtype, casting="same_kind"):
        raise RuntimeError(
            f"{op}: result type {result._data.dtype} can't be cast to the desired output type "
            f"{self._data.dtype}"
        )
    if not self._data.flags.writeable:
        raise RuntimeError(
            f"{op}: this tensor is a read-only view (made by expand or broadcast_to); "
            "clone() it before writing to it"
        )
    np.copyto(self._data, result._data, casting="same_kind")
    self._bump_version()
    if recording:
        self.grad_fn, self._output_nr, self._rg = result.grad_fn, result._output_nr, True
    return self


def _operand(self: Tensor, *others) -> Tensor:
    """What stands for ``self`` in the out-of-place op that an in-place op runs first.

    When that op is recorded it may save its input for backward, and ``write_back`` is about to
    overwrite ``self``'s memory: give it a copy of the old values that holds ``self``'s place in
    the graph, so ``y = x * 2; y.mul_(x)`` can backward (as torch), while a tensor saved *before*
    the write still fails its version check.
    """
    if not current().enabled or not any(getattr(t, "_rg", False) for t in (self, *others)):
        return self
    return _make(self._data.copy(), self._rg, self.grad_fn, self._output_nr)


# numpy's ufunc of each arithmetic op, for writing the result straight into the tensor
_UFUNCS = {
    arithmetic.add: np.add,
    arithmetic.sub: np.subtract,
    arithmetic.mul: np.multiply,
    arithmetic.div: np.true_divide,
}


def _direct(self: Tensor, other) -> np.ndarray | float | None:
    """``other``'s value when ``self op= other`` can run as one numpy ufunc with ``out=``.

    That is an optimizer's update (``p -= lr * p.grad`` under no_grad): nothing records, both
    are floating of one dtype (or a Python float/int), and ``other`` has ``self``'s shape or is
    a scalar, so no promotion, cast or broadcast check can differ from the general path.
    """
    data = self._data
    if data.dtype.kind != "f" or not data.flags.writeable:
        return None
    if isinstance(other, Tensor):
        if current().enabled and (self._rg or other._rg):
            return None
        value = other._data
        if value.dtype != data.dtype or (value.shape != data.shape and value.ndim):
            return None
        return value
    if type(other) in (float, int) and not (current().enabled and self._rg):
        return other
    return None


def _inplace(fn, name: str):
    ufunc = _UFUNCS.get(fn)

    def method(self, *args, **kwargs):
        if ufunc is not None and len(args) == 1 and not kwargs:
            value = _direct(self, args[0])
            if value is not None:
                ufunc(self._data, value, out=self._data)
                self._bump_version()
                return self
        source = _operand(self, *args, *kwargs.values())
        return write_back(self, fn(source, *args, **kwargs), name)

    method.__name__ = name
    method.__doc__ = f"In-place ``{fn.__name__}``. Same as ``torch.Tensor.{name}``."
    return method


for _fn in (
    arithmetic.add,
    arithmetic.sub,
    arithmetic.mul,
    arithmetic.div,
    arithmetic.pow,
    arithmetic.neg,
    arithmetic.remainder,
    elementwise.abs,
    elementwise.exp,
    elementwise.log,
    elementwise.sqrt,
    elementwise.sigmoid,
    elementwise.tanh,
    elementwise.relu,
    elementwise.clamp,
    elementwise.floor,
    elementwise.ceil,
    elementwise.round,
    elementwise.sin,
    elementwise.cos,
    elementwise.reciprocal,
    elementwise.square,
):
    setattr(Tensor, _fn.__name__ + "_", _inplace(_fn, _fn.__name__ + "_"))
Tensor.clip_ = Tensor.clamp_
for _dunder, _fn in (
    ("__iadd__", arithmetic.add),
    ("__isub__", arithmetic.sub),
    ("__imul__", arithmetic.mul),
    ("__itruediv__", arithmetic.div),
    ("__ipow__", arithmetic.pow),
    ("__imod__", arithmetic.remainder),
):
    setattr(Tensor, _dunder, _inplace(_fn, _dunder))


def fill_(self: Tensor, value) -> Tensor:
    """Set every element to ``value``. Same as ``torch.Tensor.fill_``."""
    if current().enabled and (self._rg or getattr(value, "_rg", False)):
        return write_back(self, _operand(self, value) * 0 + value, "fill_")
    self._data[...] = value._data if isinstance(value, Tensor) else value
    self._bump_version()
    return self


def zero_(self: Tensor) -> Tensor:
    """Set every element to zero. Same as ``torch.Tensor.zero_``."""
    return fill_(self, 0)


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast to this shape) into this tensor. Same as ``torch.Tensor.copy_``."""
    if not isinstance(src, Tensor):
        src = Tensor(np.asarray(src))
    try:
        result = src.expand(self._data.shape)
    except RuntimeError:
        raise RuntimeError(
            f"copy_: source of shape {tuple(src.shape)} cannot be broadcast to the destination "
            f"shape {tuple(self._data.shape)}"
        ) from None
    if result._data.dtype != self._data.dtype:
        result = result.to(self._data.dtype)
    if current().enabled and (self._rg or result._rg):
        return write_back(self, result + 0, "copy_")
    self._data[...] = result._data
    self._bump_version()
    return self


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill with uniform numbers from ``[a, b)``. Same as ``torch.Tensor.uniform_``."""
    draw = rng(generator).uniform(a, b, size=self._data.shape)
    return _fill_random(self, draw, "uniform_")


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with normal numbers of ``mean`` and ``std``. Same as ``torch.Tensor.normal_``."""
    draw = rng(generator).normal(mean, std, size=self._data.shape)
    return _fill_random(self, draw, "normal_")


def _fill_random(self: Tensor, draw: np.ndarray, op: str) -> Tensor:
    if current().enabled and self._rg and self.grad_fn is None:
        write_back(self, self, op)  # raises the leaf error
    self._data[...] = draw
    self._bump_version()
    return self


Tensor.fill_ = fill_
Tensor.zero_ = zero_
Tensor.copy_ = copy_
Tensor.uniform_ = uniform_
Tensor.normal_ = normal_
