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
    plain_forward = True

    # Add, Sub, Mul and Div take a Python scalar operand as it is. Their forwards unwrap
    # Tensors inline and assign ctx._saved (save_for_backward) directly, a Python call fewer
    # each: they run for most ops of every step.
    @staticmethod
    def forward(ctx, x, y):
        a = x._data if isinstance(x, Tensor) else x
        b = y._data if isinstance(y, Tensor) else y
        return np.add(a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad  # the engine sums each back to its input's shape


@register(Add, method=True, dunders=("__add__", "__radd__"))
def add(input, other, *, alpha=1) -> Tensor:
    """Return ``input + alpha * other``, broadcasting. Same as ``torch.add``."""
    if alpha != 1:
        other = mul(other, alpha)
    return call_binary(Add, input, other, "add")


class Sub(Function):
    """x - y."""

    raw_backward = True
    plain_forward = True

    @staticmethod
    def forward(ctx, x, y):
        a = x._data if isinstance(x, Tensor) else x
        b = y._data if isinstance(y, Tensor) else y
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


@register(Sub, method=True, dunders=("__sub__", "__rsub__"))
def sub(input, other, *, alpha=1) -> Tensor:
    """Return ``input - alpha * other``, broadcasting. Same as ``torch.sub``."""
    if _is_bool(input) or _is_bool(other):
        raise RuntimeError(
            "sub: subtraction, the `-` operator, with a bool tensor is not supported (got "
            f"{_dtype_name(input)} and {_dtype_name(other)}); use the `~` or logical_not() "
            "operator to invert a mask"
        )
    if alpha != 1:
        other = mul(other, alpha)
    return call_binary(Sub, input, other, "sub")


class Mul(Function):
    """x * y."""

    raw_backward = True
    plain_forward = True

    @staticmethod
    def forward(ctx, x, y):
        ctx._saved = (x, y)
        a = x._data if isinstance(x, Tensor) else x
        b = y._data if isinstance(y, Tensor) else y
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad_x = grad * y if ctx.needs_input_grad[0] else None
        grad_y = grad * x if ctx.needs_input_grad[1] else None
        return grad_x, grad_y


@register(Mul, method=True, dunders=("__mul__", "__rmul__"))
def mul(input, other) -> Tensor:
    """Return ``input * other``, broadcasting. Same as ``torch.mul``."""
    return call_binary(Mul, input, other, "mul")


class Div(Function):
    """x / y."""

    raw_backward = True
    plain_forward = True
    numerics_check = 1  # x / sum(exp(x)) is a fragile softmax

    @staticmethod
    def forward(ctx, x, y):
        ctx._saved = (x, y)
        a = x._data if isinstance(x, Tensor) else x
        b = y._data if isinstance(y, Tensor) else y
        return np.true_divide(a, b)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad_x = grad / y if ctx.needs_input_grad[0] else None
        # d(x/y)/dy = -x/y^2, as (x/y)/y: y*y would underflow to 0 (or overflow) first
        grad_y = -grad * (x / y) / y if ctx.needs_input_grad[1] else None
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
        base, exponent = _arr(x), _arr(y)
        if np.asarray(exponent).dtype.kind in "iu" and np.asarray(base).dtype.kind in "iub":
            out = _int_power(base, exponent)
        else:
            out = np.power(base, exponent)
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
                log_x = math.log(x) if x > 0 else -math.inf if x == 0 else math.nan
                grad_y = grad * out * log_x
                if x == 0:
                    grad_y = xp.where(y >= 0, 0.0, grad_y)
            else:
                grad_y = xp.where((x == 0) & (y >= 0), 0.0, grad * out * xp.log(x))
        return grad_x, grad_y


def _int_power(base, exponent):
    """Integer powers as torch computes them: a negative exponent gives 0, except for bases
    1 and -1 (numpy refuses negative integer exponents outright)."""
    negative = np.less(exponent, 0)
    if not np.any(negative):
        return np.power(base, exponent)
    kept = np.power(base, np.where(negative, 0, exponent))
    odd = np.remainder(exponent, 2) != 0
    unit = np.where(np.equal(base, -1) & odd, -1, np.where(np.abs(base) == 1, 1, 0))
    return np.where(negative, unit, kept).astype(kept.dtype, copy=False)


@register(Pow, method=True, dunders=("__pow__", "__rpow__"))
def pow(input, exponent) -> Tensor:
    """Return ``input ** exponent``, broadcasting. Same as ``torch.pow``."""
    if _is_bool(input) and _is_bool(exponent) and isinstance(input, Tensor):
        if isinstance(exponent, Tensor):
            raise TypeError("pow: not implemented for two bool tensors, as in torch")
        # a bool tensor to a bool power stays bool: x ** True is x, x ** False is all True
        return input.clone() if exponent else input.logical_or(True)
    if _is_bool(input) and _is_bool(exponent):
        raise TypeError("pow: not implemented for a bool base and bool tensor exponent")
    x, y = operands(input, exponent, "pow")
    if (
        isinstance(x, Tensor)
        and x._data.dtype.kind in "iu"
        and isinstance(y, int)
        and not isinstance(y, bool)
        and y < 0
    ):
        raise RuntimeError(
            f"pow: integers to negative integer powers are not allowed (a {x._data.dtype} "
            f"tensor to the power {y}); convert the tensor to float first"
        )
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
    """x - y * (x // y), with the sign of y (Python's %)."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.mod(_arr(x), _arr(y))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        # d(x mod y)/dy = -(x // y); floor division, not floor(x / y): 1 // 0.1 is 9, but the
        # rounded quotient 1 / 0.1 is exactly 10
        grad_y = -grad * ctx.xp.floor_divide(x, y) if ctx.needs_input_grad[1] else None
        return grad, grad_y


@register(Remainder, method=True, dunders=("__mod__", "__rmod__"))
def remainder(input, other) -> Tensor:
    """Return the remainder of ``input / other`` with the sign of ``other``. As torch."""
    x, y = _integer_division_operands(input, other, "remainder")
    return call_binary(Remainder, x, y, "remainder")


@register(method=True, dunders=("__floordiv__", "__rfloordiv__"), differentiable=False)
def floor_divide(input, other) -> Tensor:
    """Return ``floor(input / other)``; no gradient flows. Same as ``torch.floor_divide``."""
    x, y = _integer_division_operands(input, other, "floor_divide")
    return plain_binary(np.floor_divide, x, y, "floor_divide")


def _integer_division_operands(input, other, op: str):
    """Operands of // and %: torch has no bool kernel, and an integer zero divisor raises
    (numpy would return 0 with a warning)."""
    x, y = operands(input, other, op)
    if _is_bool(x) and _is_bool(y):
        raise TypeError(f"{op}: not implemented for dtype bool, as in torch")
    if _is_integral(x) and _is_integral(y) and np.any(np.equal(_arr(y), 0)) and _meets(x, y):
        raise RuntimeError(
            f"{op}: integer division by zero (ZeroDivisionError); the divisor has a zero"
        )
    return x, y


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


def _meets(x, y) -> bool:
    """Whether the broadcast result has elements (an empty one never divides by its zero)."""
    try:
        return math.prod(np.broadcast_shapes(np.shape(_arr(x)), np.shape(_arr(y)))) > 0
    except ValueError:
        return False  # shapes that do not broadcast: the op itself says so


def _is_bool(value) -> bool:
    if isinstance(value, Tensor):
        return value._data.dtype.kind == "b"
    return isinstance(value, (bool, np.bool_))


def _dtype_name(value) -> str:
    return str(value._data.dtype) if isinstance(value, Tensor) else type(value).__name__
