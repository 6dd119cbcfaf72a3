"""F.layer_norm, batch_norm, group_norm and normalize.

layer_norm and training-mode batch_norm are one Function each (Standardize); eval-mode
batch_norm, group_norm and normalize are composites of registered ops (mean, two-pass var,
rsqrt). The dropout and embedding families live beside this file.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from tapegrad.autograd.function import Function
from tapegrad.autograd.grad_mode import no_grad
from tapegrad.ops.elementwise import rsqrt
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor

__all__ = ["batch_norm", "group_norm", "layer_norm", "normalize"]


class Standardize(Function):
    """(x - mean) / sqrt(var + eps) * weight + bias, mean and biased var over dims."""

    # Its own Function: composed, layer_norm records 8 nodes (mean, var, sub, add, rsqrt, mul,
    # mul, add); fused, backward is the closed form rstd (g - mean(g) - xhat mean(g xhat))
    # in one node. The forward runs the composite's numpy operations in its order, so the
    # values are the same. mean and var are extra outputs that backward reads: under
    # create_graph the gradient's dependence on x through them is then differentiated.

    raw_backward = True

    @staticmethod
    def forward(ctx, x, weight, bias, dims, eps):
        data = x._data
        count = math.prod(data.shape[d] for d in dims)
        mean = np.sum(data, axis=dims, keepdims=True) / count
        out = data - mean
        var = np.sum(out * out, axis=dims, keepdims=True) / count
        out *= 1 / np.sqrt(var + eps)  # in place: the composite's roundings, fewer copies
        if weight is not None:
            out = _in_place(np.multiply, out, weight._data)
        if bias is not None:
            out = _in_place(np.add, out, bias._data)
        ctx.dims, ctx.count, ctx.eps = dims, count, eps
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, weight, mean, var)
        return out, mean, var

    @staticmethod
    def backward(ctx, grad, grad_mean, grad_var):
        x, weight, mean, var = ctx.saved_tensors
        xp, dims, count = ctx.xp, ctx.dims, ctx.count
        rstd = xp.rsqrt(var + ctx.eps)
        xhat = (x - mean) * rstd
        grad_x = grad_weight = grad_bias = None
        if grad is not None:
            g = grad if weight is None else grad * weight
            centred = g - xp.mean(g, dims, keepdim=True)
            # d xhat/dx: rstd (I - 1/n - xhat xhat^T / n) per normalized slice
            grad_x = rstd * (centred - xhat * xp.mean(g * xhat, dims, keepdim=True))
            grad_weight = grad * xhat if ctx.needs_input_grad[1] else None  # engine sums
            grad_bias = grad if ctx.needs_input_grad[2] else None
        if grad_mean is not None:  # only when a double backward reaches mean: d mean/dx = 1/n
            extra = xp.expand(grad_mean / count, *x.shape)
            grad_x = extra if grad_x is None else grad_x + extra
        if grad_var is not None:  # d var/dx = 2 (x - mean) / n
            extra = grad_var * (x - mean) * (2 / count)
            grad_x = extra if grad_x is None else grad_x + extra
        return grad_x, grad_weight, grad_bias, None, None


def _in_place(ufunc, out: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``ufunc(out, other)``, written into ``out`` unless dtypes promote (float32 x, f64 w)."""
    same = np.result_type(out, other) == out.dtype
    return ufunc(out, other, out=out) if same else ufunc(out, other)


class NativeLayerNorm(Standardize):
    """layer_norm's node, named as torch's (NativeLayerNormBackward0)."""


class NativeBatchNorm(Standardize):
    """training-mode batch_norm's node, named as torch's (NativeBatchNormBackward0)."""


def _standardize(input: Tensor, dims: tuple, eps: float) -> Tensor:
    """(x - mean) / sqrt(var + eps) over ``dims``, with the biased variance, as torch."""
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, correction=0, keepdim=True)
    return (input - mean) * rsqrt(var + eps)


def _per_channel(t: Tensor, ndim: int) -> Tensor:
    """A (C,) tensor shaped (1, C, 1, ...) to broadcast over an (N, C, *) input."""
    return t.reshape((1, -1) + (1,) * (ndim - 2))


def _affine(out: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _check_float(input: Tensor, op: str) -> None:
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point input, got {input._data.dtype}")


# --- layer norm ----------------------------------------------------------------------------


@register(export=False)
def layer_norm(
    input: Tensor,
    normalized_shape,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims. Same as ``F.layer_norm``."""
    _check_float(input, "layer_norm")
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    shape = tuple(int(s) for s in normalized_shape)
    n = len(shape)
    if n == 0 or input._data.ndim < n or input._data.shape[input._data.ndim - n :] != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size{list(input.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(t.shape)} and normalized_shape = {list(shape)}"
            )
    dims = tuple(range(input._data.ndim - n, input._data.ndim))
    return NativeLayerNorm.apply(input, weight, bias, dims, eps)[0]


# --- batch norm ----------------------------------------------------------------------------


def _verify_batch_size(shape: tuple, op: str = "batch_norm") -> None:
    """Training statistics need two or more values per channel, as torch insists."""
    if shape[0] * math.prod(shape[2:]) == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {list(shape)}"
        )


def _check_channels(input: Tensor, tensors: dict) -> None:
    channels = input._data.shape[1]
    for name, t in tensors.items():
        if t is not None and t._data.size != channels:
            raise RuntimeError(
                f"{name} should contain {channels} elements not {t._data.size} "
                f"(input shape {list(input.shape)})"
            )


def _update_running(running: Tensor, batch: Tensor, momentum: float, scale: float = 1.0) -> None:
    """running <- (1 - momentum) * running + momentum * scale * batch, in place, no graph."""
    with no_grad():
        batch = batch.reshape(running.shape) * (momentum * scale)
        running.copy_(batch + running * (1 - momentum))


@register(export=False)
def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of an (N, C, *) input. Same as ``F.batch_norm``.

    In training the batch statistics normalise (biased variance) and, when given, the running
    buffers are updated in place with the unbiased variance, exactly as torch does.
    """
    _check_float(input, "batch_norm")
    ndim = input._data.ndim
    if ndim < 2:
        raise ValueError(
            f"batch_norm: expected an input of shape (N, C, *), got shape {tuple(input.shape)}"
        )
    _check_channels(
        input,
        {"running_mean": running_mean, "running_var": running_var, "weight": weight, "bias": bias},
    )
    if training:
        _verify_batch_size(input._data.shape)
        if eps <= 0.0:
            raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    dims = (0, *range(2, ndim))
    weight = None if weight is None else _per_channel(weight, ndim)
    bias = None if bias is None else _per_channel(bias, ndim)
    if training:
        out, mean, var = NativeBatchNorm.apply(input, weight, bias, dims, eps)
        count = input._data.size // input._data.shape[1]
        if running_mean is not None:
            _update_running(running_mean, mean, momentum)
        if running_var is not None:
            _update_running(running_var, var, momentum, count / (count - 1))  # unbiased
        return out
    if running_mean is None or running_var is None:
        missing = "running_mean" if running_mean is None else "running_var"
        raise RuntimeError(f"{missing} must be defined in evaluation mode")
    mean, var = _per_channel(running_mean, ndim), _per_channel(running_var, ndim)
    return _affine((input - mean) * rsqrt(var + eps), weight, bias)


# --- group norm ----------------------------------------------------------------------------


@register(export=False)
def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise groups of channels of an (N, C, *) input. Same as ``F.group_norm``."""
    _check_float(input, "group_norm")
    shape = input._data.shape
    if len(shape) < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {len(shape)}"
        )
    n, channels = shape[0], shape[1]
    if channels % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(shape)} and num_groups={num_groups}"
        )
    _verify_batch_size((n * channels // num_groups, num_groups, *shape[2:]))
    _check_channels(input, {"weight": weight, "bias": bias})
    grouped = input.reshape(n, num_groups, -1)
    out = _standardize(grouped, (2,), eps).reshape(shape)
    weight = None if weight is None else _per_channel(weight, len(shape))
    bias = None if bias is None else _per_channel(bias, len(shape))
    return _affine(out, weight, bias)


# --- normalize -----------------------------------------------------------------------------


@register(export=False)
def normalize(input: Tensor, p: float = 2.0, dim=1, eps: float = 1e-12) -> Tensor:
    """Divide by the ``p``-norm over ``dim``, at least ``eps``. Same as ``F.normalize``."""
    denom = input.norm(p, dim, keepdim=True).clamp(min=eps)
    return input / denom
