"""Differentiable copies: dtype casts (behind ``Tensor.to``/``.float()``/...) and ``clone``."""

from __future__ import annotations

import numpy as np

from tapegrad.autograd.function import Function
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor


class Cast(Function):
    """x converted to another dtype."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, dtype):
        return x._data.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine casts the gradient back to the input's dtype


@register(Cast, export=False, name="to")
def cast(input: Tensor, dtype: np.dtype) -> Tensor:
    """Return ``input`` converted to ``dtype``; the engine of ``Tensor.to`` and ``.float()``."""
    return Cast.apply(input, dtype)


class Clone(Function):
    """A copy of x with its own memory."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x):
        return x._data.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


@register(Clone, method=True)
def clone(input: Tensor) -> Tensor:
    """Return a copy that owns its memory and stays in the graph. Same as ``torch.clone``."""
    return Clone.apply(input)
