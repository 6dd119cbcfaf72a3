"""Arithmetic with broadcasting and Python scalars on either side: + - * / ** // % and neg."""

from __future__ import annotations

import math
import numbers

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function
from tapegrad.ops._args import arr as _arr
from tapegrad.ops._args import call_binary, operands, plain_binary
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor


class Add(Function):
    """x + y."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, y):
        return np.add(_arr(x), _arr(y))

    @staticmethod
    def backward(ctx, grad):
        return grad, grad  # the engine sums each back to its input's shape


@register(Add, method=True, dunders=("__add__", "__radd__"))
def add(input, other, *, alpha=1) -> Tensor:
    """Return ``input + alpha * other``, broadcasting. Same as ``torch.add``."""
    if alpha != 1:
        other = mul(other, alpha)
    x, y = operands(input, other, "add")
    return call_binary(Add, x, y, "add")


class Sub(Function):
    """x - y."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, y):
        return np.subtract(_arr(x), _arr(y))

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


@register(Sub, method=True, dunders=("__sub__", "__rsub__"))
def sub(input, other, *, alpha=1) -> Tensor:
    """Return ``input - alpha * other``, broadcasting. Same as ``torch.sub``."""
    if alpha != 1:
        other = mul(other, alpha)
    x, y = operands(input, other, "sub")
    return call_binary(Sub, x, y, "sub")


class Mul(Function):
    """x * y."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.multiply(_arr(x), _arr(y))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad_x = grad * y if ctx.needs_input_grad[0] else None
        grad_y = grad * x if ctx.needs_input_grad[1] else None
        return grad_x, grad_y


@register(Mul, method=True, dunders=("__mul__", "__rmul__"))
def mul(input, other) -> Tensor:
    """Return ``input * other``, broadcasting. Same as ``torch.mul``."""
    x, y = operands(input, other, "mul")
    return call_binary(Mul, x, y, "mul")


class Div(Function):
    """x / y."""

    raw_backward = True
    numerics_check = 1  # x / sum(exp(x)) is a fragile softmax

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.true_divide(_arr(x), _arr(y))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad_x = grad / y if ctx.needs_input_grad[0] else None
        grad_y = -grad * x / (y * y) if ctx.needs_input_grad[1] else None  # d(x/y)/dy = -x/y^2
        return grad_x, grad_y


@register(Div, method=True, dunders=("__truediv__", "__rtruediv__"))
def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """Return ``input / other``: true division, or rounded ('trunc', 'floor'). As ``torch.div``."""
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        return _div_trunc(input, other)
    if rounding_mode is not None:
        raise ValueError(
            f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}"
        )
    x, y = operands(input, other, "div")
    x, y = _to_float(x), _to_float(y)
    return call_binary(Div, x, y, "div")


def _to_float(value):
    """True division of integers gives the default float dtype, as in torch."""
    if isinstance(value, Tensor) and value._data.dtype.kind != "f":
        return value.to(dtypes.get_default_dtype())
    return value


class Pow(Function):
    """x ** y."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, y):
        out = np.power(_arr(x), _arr(y))
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved_tensors
        xp = ctx.xp
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:  # d x^y/dx = y x^(y-1), and 0 where y == 0 (as torch)
            if isinstance(y, numbers.Number):
                grad_x = grad * 0.0 if y == 0 else grad * y * x ** (y - 1)
            else:
                grad_x = xp.where(y == 0, 0.0, grad * y * x ** (y - 1))
        if ctx.needs_input_grad[1]:  # d x^y/dy = x^y log(x), taken as 0 where x == 0 and y >= 0
            if isinstance(x, numbers.Number):
                grad_y = grad * 0.0 if x == 0 else grad * out * (math.log(x) if x > 0 else math.nan)
            else:
                grad_y = xp.where((x == 0) & (y >= 0), 0.0, grad * out * xp.log(x))
        return grad_x, grad_y


@register(Pow, method=True, dunders=("__pow__", "__rpow__"))
def pow(input, exponent) -> Tensor:
    """Return ``input ** exponent``, broadcasting. Same as ``torch.pow``."""
    x, y = operands(input, exponent, "pow")
    return call_binary(Pow, x, y, "pow")


class Neg(Function):
    """-x."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x):
        if x._data.dtype == dtypes.bool:
            raise TypeError("neg: negation of a bool tensor is not supported; use logical_not")
        return np.negative(x._data)

    @staticmethod
    def backward(ctx, grad):
        return -grad


@register(Neg, method=True, dunders=("__neg__",))
def neg(input: Tensor) -> Tensor:
    """Return ``-input``. Same as ``torch.neg``."""
    return Neg.apply(input)


class Remainder(Function):
    """x - y * floor(x / y), with the sign of y (Python's %)."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.mod(_arr(x), _arr(y))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad_y = -grad * ctx.xp.floor(x / y) if ctx.needs_input_grad[1] else None
        return grad, grad_y


@register(Remainder, method=True, dunders=("__mod__", "__rmod__"))
def remainder(input, other) -> Tensor:
    """Return the remainder of ``input / other`` with the sign of ``other``. As torch."""
    x, y = operands(input, other, "remainder")
    return call_binary(Remainder, x, y, "remainder")


@register(method=True, dunders=("__floordiv__", "__rfloordiv__"), differentiable=False)
def floor_divide(input, other) -> Tensor:
    """Return ``floor(input / other)``; no gradient flows. Same as ``torch.floor_divide``."""
    x, y = operands(input, other, "floor_divide")
    return plain_binary(np.floor_divide, x, y, "floor_divide")


def _div_trunc(input, other) -> Tensor:
    x, y = operands(input, other, "div")
    if _is_integral(x) and _is_integral(y):
        return plain_binary(_int_trunc_divide, x, y, "div")
    return plain_binary(_float_trunc_divide, _to_float(x), y, "div")


def _int_trunc_divide(a, b):
    return (np.abs(a) // np.abs(b)) * (np.sign(a) * np.sign(b))


def _float_trunc_divide(a, b):
    return np.trunc(np.true_divide(a, b))


def _is_integral(value) -> bool:
    if isinstance(value, Tensor):
        return value._data.dtype.kind in "iub"
    return isinstance(value, int)
