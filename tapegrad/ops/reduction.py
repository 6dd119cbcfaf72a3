"""Reductions over ``dim`` (int, tuple or None) with ``keepdim``.

Non-differentiable argmax/argmin/all/any live here too.
"""

from __future__ import annotations

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function
from tapegrad.ops._args import dims_tuple
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor


def _expand_back(grad: Tensor, dims, keepdim: bool, shape: tuple) -> Tensor:
    """Put back the reduced dims of ``grad`` (as size 1) and broadcast it to ``shape``."""
    if not keepdim and dims is not None:
        grad = grad.reshape(_kept_shape(shape, dims))
    return grad.expand(shape)


def _kept_shape(shape: tuple, dims) -> tuple:
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


class Sum(Function):
    """sum of x over dims."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.dims, ctx.keepdim, ctx.shape = dims, keepdim, x._data.shape
        return np.sum(x._data, axis=dims, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad, ctx.dims, ctx.keepdim, ctx.shape), None, None, None


@register(Sum, method=True)
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (all dims by default). Same as ``torch.sum``."""
    dims = dims_tuple(dim, input._data.ndim, "sum")
    dtype = dtypes.as_dtype(dtype)
    if dtype is None and input._data.dtype.kind in "bui":
        dtype = dtypes.int64  # torch sums bools and integers as int64
    return Sum.apply(input, dims, keepdim, dtype)


@register(method=True)
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Average over ``dim`` (all dims by default). Same as ``torch.mean``."""
    dtype = dtypes.as_dtype(dtype)
    if dtype is None and input._data.dtype.kind != "f":
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be floating point, got "
            f"{input._data.dtype}; pass dtype= or convert with .float()"
        )
    if dtype is not None:
        input = input.to(dtype)
    dims = dims_tuple(dim, input._data.ndim, "mean")
    count = input._data.size if dims is None else _count(input._data.shape, dims)
    total = sum(input, dims, keepdim)
    return total / count if count else total * np.nan  # the mean of nothing is NaN, as torch


def _count(shape: tuple, dims: tuple) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n
