"""F.linear: ``x @ weight.T + bias`` over the last dim, one graph node."""

from __future__ import annotations

import math

import numpy as np

from tapegrad.autograd.function import Function
from tapegrad.ops._args import promote_tensors
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor

__all__ = ["linear"]


class Linear(Function):
    """x @ weight^T + bias, for x of shape (*, in_features)."""

    # Its own Function rather than matmul + add: matmul's backward for a (N, L, in) input
    # builds an (N, in, out) weight gradient and sums it; flattening the leading dims makes it
    # one (out, N*L) @ (N*L, in) product: a (32, 50, 784) -> 512 step runs 1.2-1.5x faster
    # (CPU time); for a 2-D (128, 784) input the two are equal within noise.

    raw_backward = True
    plain_forward = True

    @staticmethod
    def forward(ctx, x, weight, bias):
        out = np.matmul(x._data, weight._data.T)
        if bias is not None:
            np.add(out, bias._data, out=out)  # out is fresh; the wrapper checked the shapes
        ctx.save_for_backward(x, weight)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        out_features, in_features = weight.shape
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = grad @ weight  # d(x W^T)/dx = grad W
        if ctx.needs_input_grad[1]:
            rows = math.prod(x.shape[:-1])  # not -1: ambiguous when a dim is 0
            grad_rows = grad.reshape(rows, out_features)
            grad_weight = grad_rows.T @ x.reshape(rows, in_features)  # d/dW = grad^T x
        if ctx.needs_input_grad[2]:
            grad_bias = grad  # the engine sums it down to the bias's shape
        return grad_x, grad_weight, grad_bias


@register(Linear, export=False)
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Return ``input @ weight.T + bias``. Same as ``torch.nn.functional.linear``."""
    for name, value in (("input", input), ("weight", weight), ("bias", bias)):
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(
                f"linear(): argument '{name}' must be Tensor, not {type(value).__name__}"
            )
    if weight.dim() != 2:
        raise ValueError(
            f"linear: weight must be 2-D (out_features, in_features), got shape "
            f"{tuple(weight.shape)}"
        )
    if input.dim() == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {tuple(input.shape)} and weight of shape "
            f"{tuple(weight.shape)} cannot be multiplied (the input's last dim must be "
            f"in_features={weight.shape[1]})"
        )
    if bias is None:
        input, weight = promote_tensors([input, weight], "linear")
        return Linear.apply(input, weight, None)
    out_shape = (*input.shape[:-1], weight.shape[0])
    if _broadcast_shape(tuple(bias.shape), out_shape) != out_shape:
        raise ValueError(
            f"linear: bias of shape {tuple(bias.shape)} does not broadcast to the output shape "
            f"{out_shape}"
        )
    input, weight, bias = promote_tensors([input, weight, bias], "linear")
    return Linear.apply(input, weight, bias)


def _broadcast_shape(a: tuple, b: tuple) -> tuple | None:
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None
