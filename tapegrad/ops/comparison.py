"""Comparisons and logical ops: bool results that never require grad."""

from __future__ import annotations

import numpy as np

from tapegrad.ops._args import arr, operands, plain_binary
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor, _make


def _compare(fn, input, other, name: str) -> Tensor:
    x, y = operands(input, other, name)
    return plain_binary(fn, x, y, name)


def _bitwise(fn, input, other, name: str) -> Tensor:
    kinds = [_kind(v) for v in (input, other)]
    if "f" in kinds:
        found = " and ".join(_type_name(v) for v in (input, other))
        raise TypeError(f"{name}: expected bool or integer operands, got {found}")
    x, y = operands(input, other, name)
    return plain_binary(fn, x, y, name)


def _kind(value) -> str:
    return value._data.dtype.kind if isinstance(value, Tensor) else np.result_type(value).kind


def _type_name(value) -> str:
    if isinstance(value, Tensor):
        return f"a {value._data.dtype} tensor"
    return f"a Python {type(value).__name__}"


@register(method=True, dunders=("__eq__",), differentiable=False)
def eq(input, other) -> Tensor:
    """Elementwise ``input == other``. Same as ``torch.eq``."""
    return _compare(np.equal, input, other, "eq")


@register(method=True, dunders=("__ne__",), differentiable=False)
def ne(input, other) -> Tensor:
    """Elementwise ``input != other``. Same as ``torch.ne``."""
    return _compare(np.not_equal, input, other, "ne")


@register(method=True, dunders=("__lt__",), differentiable=False)
def lt(input, other) -> Tensor:
    """Elementwise ``input < other``. Same as ``torch.lt``."""
    return _compare(np.less, input, other, "lt")


@register(method=True, dunders=("__le__",), differentiable=False)
def le(input, other) -> Tensor:
    """Elementwise ``input <= other``. Same as ``torch.le``."""
    return _compare(np.less_equal, input, other, "le")


@register(method=True, dunders=("__gt__",), differentiable=False)
def gt(input, other) -> Tensor:
    """Elementwise ``input > other``. Same as ``torch.gt``."""
    return _compare(np.greater, input, other, "gt")


@register(method=True, dunders=("__ge__",), differentiable=False)
def ge(input, other) -> Tensor:
    """Elementwise ``input >= other``. Same as ``torch.ge``."""
    return _compare(np.greater_equal, input, other, "ge")


@register(method=True, differentiable=False)
def isnan(input: Tensor) -> Tensor:
    """True where an element is NaN. Same as ``torch.isnan``."""
    return _make(np.asarray(np.isnan(input._data)))


@register(method=True, differentiable=False)
def isinf(input: Tensor) -> Tensor:
    """True where an element is +inf or -inf. Same as ``torch.isinf``."""
    return _make(np.asarray(np.isinf(input._data)))


@register(method=True, differentiable=False)
def isfinite(input: Tensor) -> Tensor:
    """True where an element is neither NaN nor infinite. Same as ``torch.isfinite``."""
    return _make(np.asarray(np.isfinite(input._data)))


@register(method=True, differentiable=False)
def allclose(input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """Whether all elements are close: ``|a - b| <= atol + rtol * |b|``. Same as torch."""
    return bool(np.all(_closeness(input, other, rtol, atol, equal_nan, "allclose")._data))


@register(method=True, differentiable=False)
def isclose(
    input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> Tensor:
    """Elementwise closeness, as in ``allclose``. Same as ``torch.isclose``."""
    return _closeness(input, other, rtol, atol, equal_nan, "isclose")


def _closeness(input, other, rtol: float, atol: float, equal_nan: bool, op: str) -> Tensor:
    if isinstance(input, Tensor) and isinstance(other, Tensor) and input.dtype != other.dtype:
        raise RuntimeError(
            f"{op}: dtypes {input.dtype} and {other.dtype} differ; torch requires one dtype"
        )

    def close(a, b):
        return np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)

    return plain_binary(close, input, other, op)


@register(method=True, differentiable=False)
def equal(input: Tensor, other: Tensor) -> bool:
    """Whether both tensors have the same shape and elements. Same as ``torch.equal``."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        found = " and ".join(type(v).__name__ for v in (input, other))
        raise TypeError(f"equal: expected two Tensors, got {found}")
    return input.shape == other.shape and bool(np.array_equal(arr(input), arr(other)))


@register(method=True, dunders=("__and__", "__rand__"), differentiable=False)
def bitwise_and(input, other) -> Tensor:
    """Elementwise AND of bool or integer tensors (``&``). Same as ``torch.bitwise_and``."""
    return _bitwise(np.bitwise_and, input, other, "bitwise_and")


@register(method=True, dunders=("__or__", "__ror__"), differentiable=False)
def bitwise_or(input, other) -> Tensor:
    """Elementwise OR of bool or integer tensors (``|``). Same as ``torch.bitwise_or``."""
    return _bitwise(np.bitwise_or, input, other, "bitwise_or")


@register(method=True, dunders=("__xor__", "__rxor__"), differentiable=False)
def bitwise_xor(input, other) -> Tensor:
    """Elementwise XOR of bool or integer tensors (``^``). Same as ``torch.bitwise_xor``."""
    return _bitwise(np.bitwise_xor, input, other, "bitwise_xor")


@register(method=True, dunders=("__invert__",), differentiable=False)
def bitwise_not(input: Tensor) -> Tensor:
    """Elementwise NOT of a bool or integer tensor (``~``). Same as ``torch.bitwise_not``."""
    if input._data.dtype.kind == "f":
        raise TypeError(f"bitwise_not: expected a bool or integer tensor, got {input.dtype}")
    return _make(np.asarray(np.invert(input._data)))


@register(method=True, differentiable=False)
def logical_and(input, other) -> Tensor:
    """Elementwise logical AND (nonzero is True). Same as ``torch.logical_and``."""
    return _compare(np.logical_and, input, other, "logical_and")


@register(method=True, differentiable=False)
def logical_or(input, other) -> Tensor:
    """Elementwise logical OR (nonzero is True). Same as ``torch.logical_or``."""
    return _compare(np.logical_or, input, other, "logical_or")


@register(method=True, differentiable=False)
def logical_not(input: Tensor) -> Tensor:
    """Elementwise logical NOT (nonzero is True). Same as ``torch.logical_not``."""
    return _make(np.asarray(np.logical_not(input._data)))
