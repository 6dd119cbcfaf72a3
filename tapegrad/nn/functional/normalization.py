"""F.layer_norm, batch_norm, group_norm and normalize.

All four are composites of registered ops (mean, two-pass var, rsqrt), which are exact and
stable, so their gradients need no hand-written formula. The dropout and embedding families
live beside this file.
"""

from __future__ import annotations

import math
import numbers

from tapegrad.autograd.grad_mode import no_grad
from tapegrad.ops.elementwise import rsqrt
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor

__all__ = ["batch_norm", "group_norm", "layer_norm", "normalize"]


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
    return _affine(_standardize(input, dims, eps), weight, bias)


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
    if training:
        mean = input.mean(dims, keepdim=True)
        var = input.var(dims, correction=0, keepdim=True)
        count = input._data.size // input._data.shape[1]
        if running_mean is not None:
            _update_running(running_mean, mean, momentum)
        if running_var is not None:
            _update_running(running_var, var, momentum, count / (count - 1))  # unbiased
    else:
        if running_mean is None or running_var is None:
            missing = "running_mean" if running_mean is None else "running_var"
            raise RuntimeError(f"{missing} must be defined in evaluation mode")
        mean, var = _per_channel(running_mean, ndim), _per_channel(running_var, ndim)
    out = (input - mean) * rsqrt(var + eps)
    weight = None if weight is None else _per_channel(weight, ndim)
    bias = None if bias is None else _per_channel(bias, ndim)
    return _affine(out, weight, bias)


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
