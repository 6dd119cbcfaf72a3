"""F.* activations: pointwise nonlinearities, prelu, and softmax/log_softmax/softmin.

relu, tanh and sigmoid are core ops (tapegrad/ops/elementwise.py). Every other activation is
one Function, so one graph node named as torch names it (``GeluBackward0``), with its
vector-Jacobian product written in tapegrad ops so that double backward works.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from tapegrad.autograd.function import Function
from tapegrad.autograd.grad_mode import is_grad_enabled
from tapegrad.ops._args import dim_index
from tapegrad.ops.elementwise import Erf, Sigmoid, clamp, erf, exp, sigmoid, tanh, where
from tapegrad.ops.elementwise import relu as _relu
from tapegrad.ops.inplace import write_back
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor

__all__ = [
    "celu",
    "elu",
    "gelu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "leaky_relu",
    "log_softmax",
    "logsigmoid",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softmin",
    "softplus",
    "softsign",
    "tanh",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_COEF = 0.044715


def _check_float(input, op: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor, got dtype {input.dtype}")


def _maybe_inplace(input: Tensor, fn, inplace: bool, op: str) -> Tensor:
    """``fn(input)``, written back into ``input`` when ``inplace``.

    When recording, ``fn`` runs on a clone: its Function saves that clone for backward, which
    the write into ``input`` then cannot invalidate.
    """
    if not inplace:
        return fn(input)
    source = input.clone() if is_grad_enabled() and input.requires_grad else input
    return write_back(input, fn(source), op + "_")


class _Pointwise(Function):
    """out = f(x; options) elementwise; grad_x = vjp(grad, x, out; options)."""

    @staticmethod
    def compute(x: np.ndarray, **options) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def vjp(grad: Tensor, x: Tensor, out: Tensor, **options) -> Tensor:
        raise NotImplementedError

    @staticmethod
    def forward(ctx, x, **options):
        ctx.options = options
        out = ctx.fn.compute(x._data, **options)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        return ctx.fn.vjp(grad, x, out, **ctx.options)


# --- the relu family -------------------------------------------------------------------------


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """Return ``max(x, 0)``. Same as ``torch.nn.functional.relu``."""
    return _maybe_inplace(input, _relu, inplace, "relu")


class LeakyRelu(_Pointwise):
    @staticmethod
    def compute(x, negative_slope):
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def vjp(grad, x, out, negative_slope):
        return where(x > 0, grad, grad * negative_slope)  # slope below 0, 1 above


@register(LeakyRelu, export=False)
def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """Return x where x > 0, else ``negative_slope * x``. Same as ``F.leaky_relu``."""
    _check_float(input, "leaky_relu")
    return _maybe_inplace(
        input, lambda x: LeakyRelu.apply(x, negative_slope=negative_slope), inplace, "leaky_relu"
    )


class Hardtanh(_Pointwise):
    @staticmethod
    def compute(x, min_val, max_val):
        return np.clip(x, min_val, max_val).astype(x.dtype, copy=False)

    @staticmethod
    def vjp(grad, x, out, min_val, max_val):
        # zero at the bounds themselves, unlike clamp, and a NaN passes the gradient on:
        # torch's hardtanh_backward
        return where((x <= min_val) | (x >= max_val), 0.0, grad)


@register(Hardtanh, export=False)
def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """Clip to ``[min_val, max_val]``. Same as ``torch.nn.functional.hardtanh``."""
    _check_float(input, "hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(
        input, lambda x: Hardtanh.apply(x, min_val=min_val, max_val=max_val), inplace, "hardtanh"
    )


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """Return ``min(max(x, 0), 6)``. Same as ``torch.nn.functional.relu6``."""
    return hardtanh(input, 0.0, 6.0, inplace)


class Elu(_Pointwise):
    """scale * x above 0, scale * alpha * (exp(input_scale * x) - 1) below: elu, selu, celu."""

    @staticmethod
    def compute(x, alpha, scale, input_scale):
        # expm1 of min(x, 0) only: the branch not taken never overflows
        negative = (scale * alpha) * np.expm1(np.minimum(x, 0) * input_scale)
        return np.where(x > 0, x * scale, negative).astype(x.dtype, copy=False)

    @staticmethod
    def vjp(grad, x, out, alpha, scale, input_scale):
        slope = exp(clamp(x, max=0) * input_scale) * (scale * alpha * input_scale)
        # d/dx a(e^(sx) - 1) = a s e^(sx); a NaN takes the linear side's slope, as torch
        return where(x <= 0, grad * slope, grad * scale)


@register(Elu, export=False)
def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Return x above 0, ``alpha * (exp(x) - 1)`` below. Same as ``F.elu``."""
    _check_float(input, "elu")
    return _maybe_inplace(
        input, lambda x: Elu.apply(x, alpha=alpha, scale=1.0, input_scale=1.0), inplace, "elu"
    )


@register(Elu, export=True, name="selu")
def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Return ``scale * elu(x, alpha)`` with SELU's constants. Same as ``torch.selu``."""
    _check_float(input, "selu")

    def fn(x):
        return Elu.apply(x, alpha=_SELU_ALPHA, scale=_SELU_SCALE, input_scale=1.0)

    return _maybe_inplace(input, fn, inplace, "selu")


@register(Elu, export=True, name="celu")
def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Return x above 0, ``alpha * (exp(x / alpha) - 1)`` below. Same as ``torch.celu``."""
    _check_float(input, "celu")
    if alpha == 0:
        raise ZeroDivisionError("alpha cannot be 0 for CELU")

    def fn(x):
        return Elu.apply(x, alpha=alpha, scale=1.0, input_scale=1.0 / alpha)

    return _maybe_inplace(input, fn, inplace, "celu")


@register(method=True)
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Leaky relu with a learned slope per channel (dim 1). Same as ``torch.prelu``."""
    _check_float(input, "prelu")
    channels = input.shape[1] if input.dim() >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(
            "prelu: Mismatch of parameter numbers and input channel size. Found parameter "
            f"numbers = {weight.numel()} and channel size = {channels}."
        )
    if weight.numel() != 1:
        weight = weight.reshape((channels,) + (1,) * (input.dim() - 2))
    elif weight.dim() > input.dim():
        weight = weight.reshape(())
    # weight times the input's non-positive part: weight's gradient is then 0, not inf * 0 =
    # NaN, where the input is +inf (torch's fused prelu sums grad * x over x <= 0 only)
    return where(input > 0, input, weight * input.clamp(max=0))


# --- smooth activations ------------------------------------------------------------------------


class Gelu(_Pointwise):
    @staticmethod
    def compute(x, approximate):
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + _GELU_TANH_COEF * x**3)
            return 0.5 * x * (1 + np.tanh(inner))
        return 0.5 * x * (1 + Erf.compute(x * (1 / math.sqrt(2.0))))

    @staticmethod
    def vjp(grad, x, out, approximate):
        if approximate == "tanh":
            t = tanh(_SQRT_2_OVER_PI * (x + _GELU_TANH_COEF * x**3))
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * _GELU_TANH_COEF * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)
        cdf = 0.5 * (1 + erf(x * (1 / math.sqrt(2.0))))
        pdf = exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return grad * (cdf + x * pdf)  # d/dx x Phi(x) = Phi(x) + x phi(x)


@register(Gelu, export=False)
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Return ``x * Phi(x)`` (or its tanh approximation). Same as ``F.gelu``."""
    _check_float(input, "gelu")
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return Gelu.apply(input, approximate=approximate)


class Silu(_Pointwise):
    @staticmethod
    def compute(x):
        return x * Sigmoid.compute(x)

    @staticmethod
    def vjp(grad, x, out):
        s = sigmoid(x)
        return grad * (s * (1 + x * (1 - s)))  # d/dx x s(x) = s + x s (1 - s)


@register(Silu, export=False)
def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """Return ``x * sigmoid(x)``. Same as ``torch.nn.functional.silu``."""
    _check_float(input, "silu")
    return _maybe_inplace(input, Silu.apply, inplace, "silu")


class Mish(_Pointwise):
    @staticmethod
    def compute(x):
        return x * np.tanh(np.logaddexp(0, x))

    @staticmethod
    def vjp(grad, x, out):
        t = tanh(softplus(x))
        return grad * (t + x * sigmoid(x) * (1 - t * t))  # softplus' = sigmoid


@register(Mish, export=False)
def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Return ``x * tanh(softplus(x))``. Same as ``torch.nn.functional.mish``."""
    _check_float(input, "mish")
    return _maybe_inplace(input, Mish.apply, inplace, "mish")


class Softplus(_Pointwise):
    @staticmethod
    def compute(x, beta, threshold):
        z = x * beta
        # logaddexp(0, z) = log(1 + e^z) without overflow; above threshold torch returns x
        return np.where(z > threshold, x, np.logaddexp(0, z) / beta).astype(x.dtype, copy=False)

    @staticmethod
    def vjp(grad, x, out, beta, threshold):
        z = x * beta
        return where(z > threshold, grad, grad * sigmoid(z))


@register(Softplus, export=False)
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Return ``log(1 + exp(beta * x)) / beta``, stably. Same as ``F.softplus``."""
    _check_float(input, "softplus")
    return Softplus.apply(input, beta=beta, threshold=threshold)


class LogSigmoid(_Pointwise):
    @staticmethod
    def compute(x):
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))  # exp of -|x| never overflows

    @staticmethod
    def vjp(grad, x, out):
        return grad * sigmoid(-x)  # d/dx log s(x) = 1 - s(x) = s(-x)


@register(LogSigmoid, export=False)
def logsigmoid(input: Tensor) -> Tensor:
    """Return ``log(sigmoid(x))``, finite at any finite x. Same as ``F.logsigmoid``."""
    _check_float(input, "logsigmoid")
    return LogSigmoid.apply(input)


@register(export=False)
def softsign(input: Tensor) -> Tensor:
    """Return ``x / (1 + |x|)``. Same as ``torch.nn.functional.softsign``."""
    _check_float(input, "softsign")
    return input / (1 + input.abs())


class Hardsigmoid(_Pointwise):
    @staticmethod
    def compute(x):
        return np.clip(x + 3, 0, 6).astype(x.dtype, copy=False) / 6

    @staticmethod
    def vjp(grad, x, out):
        return grad * ((x > -3) & (x < 3)) / 6


@register(Hardsigmoid, export=False)
def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """Return ``relu6(x + 3) / 6``. Same as ``torch.nn.functional.hardsigmoid``."""
    _check_float(input, "hardsigmoid")
    return _maybe_inplace(input, Hardsigmoid.apply, inplace, "hardsigmoid")


class Hardswish(_Pointwise):
    @staticmethod
    def compute(x):
        return x * np.clip(x + 3, 0, 6).astype(x.dtype, copy=False) / 6

    @staticmethod
    def vjp(grad, x, out):
        # torch's hardswish_backward: 0 below -3, x/3 + 1/2 up to 3 (inclusive), 1 above
        middle = where(x <= 3, grad * (x / 3 + 0.5), grad)
        return where(x < -3, grad * 0, middle)


@register(Hardswish, export=False)
def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """Return ``x * relu6(x + 3) / 6``. Same as ``torch.nn.functional.hardswish``."""
    _check_float(input, "hardswish")
    return _maybe_inplace(input, Hardswish.apply, inplace, "hardswish")


# --- softmax and log_softmax -----------------------------------------------------------------


class Softmax(Function):
    """exp(x) / sum(exp(x)) over dim, computed from x - max(x)."""

    # Its own Function, not exp/sum/div: composing would record 5 nodes and back-propagate
    # through each, while the fused Jacobian-vector product is out * (grad - sum(grad * out)).
    # Subtracting the max before exp keeps float32 logits of 1e4 finite.

    raw_backward = True
    numerics_hint = {  # noqa: RUF012 - read-only table of NumericsWarning advice
        "Log": (
            "log(softmax(x)) is -inf where a probability underflows (logits far below the "
            "largest); use F.log_softmax(x, dim), which computes x - logsumexp(x) directly"
        )
    }

    @staticmethod
    def forward(ctx, x, dim):
        ctx.axis = dim if x._data.ndim else None
        out = np.exp(x._data - np.max(x._data, axis=ctx.axis, keepdims=True, initial=-np.inf))
        out /= np.sum(out, axis=ctx.axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        # J^T grad with J = diag(out) - out out^T
        return out * (grad - ctx.xp.sum(grad * out, ctx.axis, keepdim=True)), None


@register(Softmax, method=True, name="softmax")
def _softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """Return ``exp(x) / sum(exp(x))`` over ``dim``, stably. Same as ``torch.softmax``."""
    input = _softmax_input(input, dtype, "softmax")
    return Softmax.apply(input, dim_index(dim, input.dim(), "softmax"))


class LogSoftmax(Function):
    """x - logsumexp(x) over dim, computed from x - max(x)."""

    # Its own Function, not log(softmax(x)): that underflows to log(0) = -inf for logits far
    # below the max, while x - max - log(sum(exp(x - max))) stays finite. The fused product
    # grad - exp(out) * sum(grad) back-propagates in one node.

    raw_backward = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.axis = dim if x._data.ndim else None
        out = log_softmax_array(x._data, ctx.axis)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        xp = ctx.xp
        # J = I - softmax 1^T, so J^T grad = grad - softmax * sum(grad)
        return grad - xp.exp(out) * xp.sum(grad, ctx.axis, keepdim=True), None


def log_softmax_array(x: np.ndarray, axis: int | None) -> np.ndarray:
    """``x - logsumexp(x)`` over ``axis`` of an array: LogSoftmax's and CrossEntropy's forward."""
    # the ufuncs' own reduce: np.max and np.sum add Python frames per call
    out = x - np.maximum.reduce(x, axis=axis, keepdims=True, initial=-np.inf)
    out -= np.log(np.add.reduce(np.exp(out), axis=axis, keepdims=True))  # in place: a copy fewer
    return out


@register(LogSoftmax, method=True, name="log_softmax")
def _log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """Return ``x - logsumexp(x)`` over ``dim``, stably. Same as ``torch.log_softmax``."""
    input = _softmax_input(input, dtype, "log_softmax")
    return LogSoftmax.apply(input, dim_index(dim, input.dim(), "log_softmax"))


def _softmax_input(input: Tensor, dtype, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if dtype is not None:
        input = input.to(dtype)
    _check_float(input, op)
    return input


def _get_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Return the softmax over ``dim``. Same as ``torch.nn.functional.softmax``."""
    if dim is None:
        dim = _get_softmax_dim("softmax", input.dim(), _stacklevel)
    return _softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Return the log of the softmax over ``dim``. Same as ``F.log_softmax``."""
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.dim(), _stacklevel)
    return _log_softmax(input, dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Return ``softmax(-x)`` over ``dim``. Same as ``torch.nn.functional.softmin``."""
    if dim is None:
        dim = _get_softmax_dim("softmin", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _softmax(-input, dim)
