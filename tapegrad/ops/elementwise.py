"""Elementwise math: one-input functions (exp, tanh, ...), clamp, maximum/minimum and where.

Each one-input op is a small class naming its numpy function and its derivative; the shared
forward and backward live once, in ``_Unary``.
"""

from __future__ import annotations

import math

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function
from tapegrad.ops._args import arr, as_tensor, call_binary, operands
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor


class _Unary(Function):
    """out = f(x) elementwise; grad_x = grad * f'(x), where f' may use x and out."""

    raw_backward = True
    plain_forward = True

    keeps_int = False  # True: integer input gives integer output (abs, square); else float
    takes_bool = True  # False where torch has no bool kernel (abs, floor, relu ...)
    # False where f' needs only the output (exp, tanh, relu ...): the input is not kept alive
    # for backward, and writing to it in place afterwards is fine, as in torch
    saves_input = True

    @staticmethod
    def compute(x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def derivative(xp, x: Tensor, out: Tensor) -> Tensor:
        raise NotImplementedError

    @staticmethod
    def forward(ctx, x):
        op = ctx.fn
        data = x._data
        kind = data.dtype.kind
        if kind != "f":
            if kind == "b" and not op.takes_bool:
                name = op.__name__.lower()
                raise TypeError(
                    f"{name}: not implemented for dtype bool, as in torch; convert first"
                )
            if not op.keeps_int:
                data = data.astype(dtypes.get_default_dtype())
        out = op.compute(data)
        # save_for_backward, inlined: this runs for every one-input op
        ctx._saved = (x, out) if op.saves_input else (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        op = ctx.fn
        if op.saves_input:
            x, out = ctx.saved_tensors
        else:
            x, (out,) = None, ctx.saved_tensors
        return grad * op.derivative(ctx.xp, x, out)


# --- exponentials and logarithms ----------------------------------------------------------


class Exp(_Unary):
    saves_input = False
    compute = np.exp
    numerics_hint = {  # noqa: RUF012 - read-only table of NumericsWarning advice
        "Sum>Log": (
            "log(sum(exp(x))) overflows once x exceeds about 88 (float32) or 709 (float64); "
            "use logsumexp(x, dim), which subtracts the max first"
        ),
        "Sum>Div": (
            "exp(x) / sum(exp(x)) overflows once x exceeds about 88 (float32) or 709 "
            "(float64); use softmax(x, dim), or subtract x.amax(dim, keepdim=True) before exp"
        ),
    }
    numerics_stable_after = ("Sub",)  # exp(x - max) is the stable idiom

    @staticmethod
    def derivative(xp, x, out):
        return out  # d/dx e^x = e^x


@register(Exp, method=True)
def exp(input: Tensor) -> Tensor:
    """Return e to the power of each element. Same as ``torch.exp``."""
    return Exp.apply(input)


class Exp2(_Unary):
    saves_input = False
    compute = np.exp2

    @staticmethod
    def derivative(xp, x, out):
        return out * math.log(2.0)  # d/dx 2^x = 2^x ln 2


@register(Exp2, method=True)
def exp2(input: Tensor) -> Tensor:
    """Return 2 to the power of each element. Same as ``torch.exp2``."""
    return Exp2.apply(input)


class Expm1(_Unary):
    saves_input = False
    compute = np.expm1

    @staticmethod
    def derivative(xp, x, out):
        return out + 1  # d/dx (e^x - 1) = e^x


@register(Expm1, method=True)
def expm1(input: Tensor) -> Tensor:
    """Return ``exp(x) - 1``, accurate near 0. Same as ``torch.expm1``."""
    return Expm1.apply(input)


class Log(_Unary):
    compute = np.log
    numerics_check = 0  # log(sigmoid(x)), log(softmax(x)), log(sum(exp(x))) are fragile

    @staticmethod
    def derivative(xp, x, out):
        return 1 / x  # d/dx ln x = 1/x


@register(Log, method=True)
def log(input: Tensor) -> Tensor:
    """Return the natural logarithm of each element. Same as ``torch.log``."""
    return Log.apply(input)


class Log2(_Unary):
    compute = np.log2

    @staticmethod
    def derivative(xp, x, out):
        return 1 / (x * math.log(2.0))


@register(Log2, method=True)
def log2(input: Tensor) -> Tensor:
    """Return the base-2 logarithm of each element. Same as ``torch.log2``."""
    return Log2.apply(input)


class Log10(_Unary):
    compute = np.log10

    @staticmethod
    def derivative(xp, x, out):
        return 1 / (x * math.log(10.0))


@register(Log10, method=True)
def log10(input: Tensor) -> Tensor:
    """Return the base-10 logarithm of each element. Same as ``torch.log10``."""
    return Log10.apply(input)


class Log1p(_Unary):
    compute = np.log1p

    @staticmethod
    def derivative(xp, x, out):
        return 1 / (x + 1)


@register(Log1p, method=True)
def log1p(input: Tensor) -> Tensor:
    """Return ``log(1 + x)``, accurate near 0. Same as ``torch.log1p``."""
    return Log1p.apply(input)


# --- powers and roots -------------------------------------------------------------------


class Sqrt(_Unary):
    saves_input = False
    compute = np.sqrt

    @staticmethod
    def derivative(xp, x, out):
        return 0.5 / out  # d/dx sqrt(x) = 1 / (2 sqrt(x))


@register(Sqrt, method=True)
def sqrt(input: Tensor) -> Tensor:
    """Return the square root of each element. Same as ``torch.sqrt``."""
    return Sqrt.apply(input)


class Rsqrt(_Unary):
    saves_input = False

    @staticmethod
    def compute(x):
        return 1 / np.sqrt(x)

    @staticmethod
    def derivative(xp, x, out):
        # d/dx x^(-1/2) = -x^(-3/2) / 2 = -out^3 / 2; from out alone, so that at x = -0.0
        # (out = -inf) the sign is torch's: out / x would flip it
        return -0.5 * out * out * out


@register(Rsqrt, method=True)
def rsqrt(input: Tensor) -> Tensor:
    """Return ``1 / sqrt(x)`` for each element. Same as ``torch.rsqrt``."""
    return Rsqrt.apply(input)


class Reciprocal(_Unary):
    saves_input = False

    @staticmethod
    def compute(x):
        return 1 / x

    @staticmethod
    def derivative(xp, x, out):
        return -out * out  # d/dx 1/x = -1/x^2


@register(Reciprocal, method=True)
def reciprocal(input: Tensor) -> Tensor:
    """Return ``1 / x`` for each element. Same as ``torch.reciprocal``."""
    return Reciprocal.apply(input)


class Square(_Unary):
    keeps_int = True

    @staticmethod
    def compute(x):
        # torch squares bools as int64 (numpy would give int8)
        return np.square(x.astype(dtypes.int64) if x.dtype.kind == "b" else x)

    @staticmethod
    def derivative(xp, x, out):
        return 2 * x


@register(Square, method=True)
def square(input: Tensor) -> Tensor:
    """Return ``x * x`` for each element. Same as ``torch.square``."""
    return Square.apply(input)


# --- signs and rounding -----------------------------------------------------------------


class Abs(_Unary):
    keeps_int = True
    takes_bool = False
    compute = np.abs

    @staticmethod
    def derivative(xp, x, out):
        return xp.sign(x)  # the subgradient at 0 is 0, as torch


@register(Abs, method=True, dunders=("__abs__",))
def abs(input: Tensor) -> Tensor:
    """Return the absolute value of each element. Same as ``torch.abs``."""
    return Abs.apply(input)


class _Flat(_Unary):
    """Piecewise-constant functions: their derivative is zero wherever it exists."""

    keeps_int = True
    takes_bool = False

    @staticmethod
    def backward(ctx, grad):
        # zeros, not grad * 0: as torch, even at inf/NaN inputs and for a NaN grad
        return ctx.xp.zeros_like(grad)


class Sign(_Flat):
    takes_bool = True

    @staticmethod
    def compute(x):
        if x.dtype.kind == "b":
            return x.copy()  # torch keeps bools: sign(True) is True
        if x.dtype.kind == "f":  # torch's sign of NaN is 0 (numpy's is NaN)
            return np.sign(np.where(np.isnan(x), x.dtype.type(0), x))
        return np.sign(x)


@register(Sign, method=True)
def sign(input: Tensor) -> Tensor:
    """Return -1, 0 or 1 by the sign of each element. Same as ``torch.sign``."""
    return Sign.apply(input)


class Floor(_Flat):
    compute = np.floor


@register(Floor, method=True)
def floor(input: Tensor) -> Tensor:
    """Round each element down. Same as ``torch.floor``."""
    return Floor.apply(input)


class Ceil(_Flat):
    compute = np.ceil


@register(Ceil, method=True)
def ceil(input: Tensor) -> Tensor:
    """Round each element up. Same as ``torch.ceil``."""
    return Ceil.apply(input)


class Round(_Flat):
    compute = np.round  # halves to even, as torch


@register(Round, method=True)
def round(input: Tensor) -> Tensor:
    """Round each element to the nearest integer, halves to even. Same as ``torch.round``."""
    return Round.apply(input)


class Trunc(_Flat):
    compute = np.trunc


@register(Trunc, method=True)
def trunc(input: Tensor) -> Tensor:
    """Round each element toward zero. Same as ``torch.trunc``."""
    return Trunc.apply(input)


# --- trigonometric and hyperbolic -------------------------------------------------------


class Sin(_Unary):
    compute = np.sin

    @staticmethod
    def derivative(xp, x, out):
        return xp.cos(x)


@register(Sin, method=True)
def sin(input: Tensor) -> Tensor:
    """Return the sine of each element. Same as ``torch.sin``."""
    return Sin.apply(input)


class Cos(_Unary):
    compute = np.cos

    @staticmethod
    def derivative(xp, x, out):
        return -xp.sin(x)


@register(Cos, method=True)
def cos(input: Tensor) -> Tensor:
    """Return the cosine of each element. Same as ``torch.cos``."""
    return Cos.apply(input)


class Tan(_Unary):
    saves_input = False
    compute = np.tan

    @staticmethod
    def derivative(xp, x, out):
        return 1 + out * out  # d/dx tan x = 1 + tan^2 x


@register(Tan, method=True)
def tan(input: Tensor) -> Tensor:
    """Return the tangent of each element. Same as ``torch.tan``."""
    return Tan.apply(input)


class Asin(_Unary):
    compute = np.arcsin

    @staticmethod
    def derivative(xp, x, out):
        return xp.rsqrt(1 - x * x)


@register(Asin, method=True)
def asin(input: Tensor) -> Tensor:
    """Return the arcsine of each element. Same as ``torch.asin``."""
    return Asin.apply(input)


class Acos(_Unary):
    compute = np.arccos

    @staticmethod
    def derivative(xp, x, out):
        return -xp.rsqrt(1 - x * x)


@register(Acos, method=True)
def acos(input: Tensor) -> Tensor:
    """Return the arccosine of each element. Same as ``torch.acos``."""
    return Acos.apply(input)


class Atan(_Unary):
    compute = np.arctan

    @staticmethod
    def derivative(xp, x, out):
        return 1 / (1 + x * x)


@register(Atan, method=True)
def atan(input: Tensor) -> Tensor:
    """Return the arctangent of each element. Same as ``torch.atan``."""
    return Atan.apply(input)


class Sinh(_Unary):
    compute = np.sinh

    @staticmethod
    def derivative(xp, x, out):
        return xp.cosh(x)


@register(Sinh, method=True)
def sinh(input: Tensor) -> Tensor:
    """Return the hyperbolic sine of each element. Same as ``torch.sinh``."""
    return Sinh.apply(input)


class Cosh(_Unary):
    compute = np.cosh

    @staticmethod
    def derivative(xp, x, out):
        return xp.sinh(x)


@register(Cosh, method=True)
def cosh(input: Tensor) -> Tensor:
    """Return the hyperbolic cosine of each element. Same as ``torch.cosh``."""
    return Cosh.apply(input)


class Tanh(_Unary):
    saves_input = False
    compute = np.tanh

    @staticmethod
    def derivative(xp, x, out):
        return 1 - out * out  # d/dx tanh x = 1 - tanh^2 x


@register(Tanh, method=True)
def tanh(input: Tensor) -> Tensor:
    """Return the hyperbolic tangent of each element. Same as ``torch.tanh``."""
    return Tanh.apply(input)


# --- activations and special functions --------------------------------------------------


class Sigmoid(_Unary):
    saves_input = False
    numerics_hint = {  # noqa: RUF012 - read-only table of NumericsWarning advice
        "Log": (
            "log(sigmoid(x)) is -inf for x below about -104 (float32) or -745 (float64) and "
            "rounds to 0 for large x; use F.logsigmoid(x), which is -softplus(-x)"
        ),
    }

    @staticmethod
    def compute(x):
        # exp of -|x| only, so no element overflows: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))

    @staticmethod
    def derivative(xp, x, out):
        return out * (1 - out)


@register(Sigmoid, method=True)
def sigmoid(input: Tensor) -> Tensor:
    """Return ``1 / (1 + exp(-x))``, without overflow at any finite x. Same as torch."""
    return Sigmoid.apply(input)


class Relu(_Unary):
    saves_input = False
    keeps_int = True
    takes_bool = False

    @staticmethod
    def compute(x):
        # numpy 2's maximum runs ~2x faster against a row of zeros than against the scalar 0
        # on large inputs (a vectorized loop); on small ones making the row costs more
        zero = np.zeros(x.shape[-1:], x.dtype) if x.size >= 4096 else 0
        return np.maximum(x, zero).astype(x.dtype, copy=False)

    @staticmethod
    def derivative(xp, x, out):
        # the gradient at 0 is 0 and at NaN passes through, as torch's (out <= 0) mask: a
        # relu output is 0, positive or NaN, so out != 0 is that mask in one comparison
        return out != 0


@register(Relu, method=True)
def relu(input: Tensor) -> Tensor:
    """Return ``max(x, 0)`` for each element. Same as ``torch.relu``."""
    return Relu.apply(input)


_erf = np.frompyfunc(math.erf, 1, 1)


class Erf(_Unary):
    @staticmethod
    def compute(x):
        return np.asarray(_erf(x), dtype=x.dtype)

    @staticmethod
    def derivative(xp, x, out):
        return (2 / math.sqrt(math.pi)) * xp.exp(-x * x)


@register(Erf, method=True)
def erf(input: Tensor) -> Tensor:
    """Return the error function of each element. Same as ``torch.erf``."""
    return Erf.apply(input)


# --- clamp, maximum, minimum, where -----------------------------------------------------


class Clamp(Function):
    """min(max(x, lo), hi) with scalar bounds."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x._data, lo, hi).astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        inside = x == x  # all True, then narrowed by each bound; ties pass the gradient
        if ctx.lo is not None:
            inside = inside & (x >= ctx.lo)
        if ctx.hi is not None:
            inside = inside & (x <= ctx.hi)
        return grad * inside, None, None


@register(Clamp, method=True, aliases=("clip",))
def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limit each element to ``[min, max]`` (either may be a tensor). Same as ``torch.clamp``."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input if min is None else where(input < min, min, input)
        return out if max is None else where(out > max, max, out)
    x = input
    bounds = [b for b in (min, max) if b is not None]
    if any(isinstance(b, float) for b in bounds):
        if x._data.dtype.kind != "f":
            x = x.to(dtypes.get_default_dtype())  # either float bound makes the result float
    elif x._data.dtype.kind == "b":
        if all(isinstance(b, bool) for b in bounds):
            raise TypeError("clamp: not implemented for dtype bool with bool bounds, as in torch")
        x = x.to(dtypes.int64)  # an int bound lifts a bool tensor to int64, as in torch
    return Clamp.apply(x, min, max)


def _extreme_grads(grad, x, y, x_loses, y_loses) -> tuple:
    """torch's maximum/minimum rule: half each at a tie, none to the loser, so at a NaN
    (neither wins nor ties) the whole gradient goes to both sides."""
    grad = where(x == y, grad * 0.5, grad)
    return where(x_loses, 0.0, grad), where(y_loses, 0.0, grad)


class Maximum(Function):
    """max(x, y) elementwise; a tie sends half the gradient to each side, as torch."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.maximum(arr(x), arr(y))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return _extreme_grads(grad, x, y, x < y, x > y)


@register(Maximum, method=True)
def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Return the larger of two tensors elementwise. Same as ``torch.maximum``."""
    return call_binary(Maximum, input, other, "maximum")


class Minimum(Function):
    """min(x, y) elementwise; a tie sends half the gradient to each side, as torch."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return np.minimum(arr(x), arr(y))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return _extreme_grads(grad, x, y, x > y, x < y)


@register(Minimum, method=True)
def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Return the smaller of two tensors elementwise. Same as ``torch.minimum``."""
    return call_binary(Minimum, input, other, "minimum")


class Where(Function):
    """x where cond, else y."""

    raw_backward = True

    @staticmethod
    def forward(ctx, cond, x, y):
        ctx.save_for_backward(cond)
        return np.where(cond._data, arr(x), arr(y))

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        grad_x = ctx.xp.where(cond, grad, 0.0) if ctx.needs_input_grad[1] else None
        grad_y = ctx.xp.where(cond, 0.0, grad) if ctx.needs_input_grad[2] else None
        return None, grad_x, grad_y


@register(Where, method=False)
def where(condition: Tensor, input, other) -> Tensor:
    """Pick ``input`` where ``condition`` is True, else ``other``, broadcasting all three.

    Same as ``torch.where`` (the three-argument form).
    """
    condition = as_tensor(condition)
    if condition._data.dtype != dtypes.bool:
        raise TypeError(
            f"where: expected condition to be a bool tensor, got dtype {condition._data.dtype}"
        )
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = as_tensor(input)
    x, y = operands(input, other, "where")
    try:
        return Where.apply(condition, x, y)
    except ValueError:
        raise ValueError(
            f"where: shapes {tuple(condition.shape)}, {np.shape(arr(x))} and {np.shape(arr(y))} "
            "cannot be broadcast together"
        ) from None
