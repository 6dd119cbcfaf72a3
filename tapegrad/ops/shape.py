"""Shape ops: reshape/view, expand, squeeze, transpose, permute, cat/stack/split and friends.

Most are views of the input's memory, as in torch; their gradients reshape or sum back.
"""

from __future__ import annotations

import numpy as np

from tapegrad.autograd.function import Function
from tapegrad.ops._args import dim_index, dims_tuple, shape_args
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor


class Reshape(Function):
    """x with a new shape of the same number of elements."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.x_shape = x._data.shape
        return x._data.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.x_shape), None


@register(Reshape, method=True)
def reshape(input: Tensor, *shape) -> Tensor:
    """Return the same elements in a new shape; one dim may be -1. Same as ``torch.reshape``."""
    shape = shape_args(shape, "reshape")
    try:
        return Reshape.apply(input, shape)
    except ValueError:
        raise RuntimeError(
            f"reshape: shape {list(shape)} is invalid for input of size {input._data.size} "
            f"(shape {tuple(input._data.shape)})"
        ) from None


class Expand(Function):
    """x broadcast to a larger shape (a read-only view)."""

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x._data, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums the broadcast dims back


@register(Expand, method=True)
def expand(input: Tensor, *sizes) -> Tensor:
    """Broadcast to ``sizes`` without copying; -1 keeps a dim. Same as ``torch.Tensor.expand``."""
    sizes = shape_args(sizes, "expand")
    x_shape = input._data.shape
    lead = len(sizes) - len(x_shape)
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({len(x_shape)})"
        )
    shape = tuple(x_shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    if shape == x_shape:
        return input
    try:
        return Expand.apply(input, shape)
    except ValueError:
        raise RuntimeError(
            f"expand: the expanded size {list(sizes)} must match the existing size "
            f"{tuple(x_shape)} at each non-singleton dimension"
        ) from None


class Permute(Function):
    """x with its dims reordered (a view)."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.transpose(x._data, dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.permute(*np.argsort(ctx.dims).tolist()), None


@register(Permute, method=True)
def permute(input: Tensor, *dims) -> Tensor:
    """Reorder the dims: output dim i is input dim ``dims[i]``. Same as ``torch.permute``."""
    dims = shape_args(dims, "permute")
    ndim = input._data.ndim
    if len(dims) != ndim:
        raise RuntimeError(
            f"permute: number of dims don't match: input has {ndim} dims, got dims {list(dims)}"
        )
    axes = tuple(dim_index(d, ndim, "permute") for d in dims)
    if len(set(axes)) != ndim:
        raise RuntimeError(f"permute: repeated dim in {list(dims)}")
    return Permute.apply(input, axes)


@register(method=True)
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (a view). Same as ``torch.transpose``."""
    ndim = input._data.ndim
    axes = list(range(ndim))
    d0, d1 = dim_index(dim0, ndim, "transpose"), dim_index(dim1, ndim, "transpose")
    if ndim < 2:
        return input
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return permute(input, axes)


@register(method=True)
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at ``dim`` (negative counts from the end). As torch."""
    shape = list(input._data.shape)
    shape.insert(dim_index(dim, len(shape) + 1, "unsqueeze"), 1)
    return reshape(input, shape)


@register(method=True)
def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove dims of size 1 (all, or those in ``dim`` that are 1). Same as ``torch.squeeze``."""
    shape = input._data.shape
    dims = dims_tuple(dim, len(shape), "squeeze")
    if dims is None:
        dims = tuple(range(len(shape)))
    kept = [s for i, s in enumerate(shape) if not (i in dims and s == 1)]
    return input if len(kept) == len(shape) else reshape(input, kept)
