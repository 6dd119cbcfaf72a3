"""Reductions over ``dim`` (int, tuple or None) with ``keepdim``, and the running sum cumsum.

Non-differentiable argmax/argmin/all/any live here too. The ops shadow Python's ``sum``,
``max``, ``min``, ``all`` and ``any``; the builtins are reached as ``builtins.<name>``.
"""

from __future__ import annotations

import builtins
import math
import numbers
import warnings
from collections import namedtuple

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function
from tapegrad.ops._args import dim_index, dims_tuple
from tapegrad.ops.comparison import isnan
from tapegrad.ops.elementwise import maximum, minimum, where
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor, _make

# torch.max/min along a dim return torch.return_types.max/min: named (values, indices) pairs
_MaxResult = namedtuple("max", ["values", "indices"])
_MinResult = namedtuple("min", ["values", "indices"])


def _keep(t: Tensor, dims, keepdim: bool, shape: tuple) -> Tensor:
    """``t``, reduced over ``dims`` of ``shape``, with those dims back as size 1."""
    return t if keepdim else t.reshape(_kept_shape(shape, dims))


def _expand_back(xp, grad: Tensor, dims, keepdim: bool, shape: tuple) -> Tensor:
    """Put back the reduced dims of ``grad`` (as size 1) and broadcast it to ``shape``."""
    kept = _keep(grad, dims, keepdim, shape)
    return xp.expand(kept, *shape) if shape else kept


def _kept_shape(shape: tuple, dims) -> tuple:
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _count(shape: tuple, dims) -> int:
    """How many elements each reduced slice holds."""
    return math.prod(shape if dims is None else (shape[d] for d in dims))


def _reduce_dims(dim, ndim: int, op: str):
    """Like ``dims_tuple``, but an empty tuple means every dim (torch's amax/var/norm default)."""
    dims = dims_tuple(dim, ndim, op)
    return dims or None


def _has_empty_slice(shape: tuple, dims) -> bool:
    return _count(shape, dims) == 0


def _accumulating(input: Tensor, dtype) -> Tensor:
    """``input`` in the dtype a sum or product runs in: ``dtype``, or int64 for ints and bools."""
    dtype = dtypes.as_dtype(dtype)
    if dtype is None and input._data.dtype.kind in "bui":
        dtype = dtypes.int64
    return input if dtype is None else input.to(dtype)


def _remember(ctx, x: Tensor, dims, keepdim: bool) -> None:
    ctx.dims, ctx.keepdim, ctx.shape = dims, keepdim, x._data.shape


# --- sums and products ---------------------------------------------------------------------


class Sum(Function):
    """sum of x over dims."""

    raw_backward = True
    plain_forward = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        _remember(ctx, x, dims, keepdim)
        # the ufunc's reduce, as np.sum calls it, without np.sum's Python frames
        return np.add.reduce(x._data, axis=dims, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(ctx.xp, grad, ctx.dims, ctx.keepdim, ctx.shape), None, None, None


@register(Sum, method=True)
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (all dims by default, or for an empty tuple). Same as ``torch.sum``."""
    dims = _reduce_dims(dim, input._data.ndim, "sum")
    dtype = dtypes.as_dtype(dtype)
    if dtype is None and input._data.dtype.kind in "bui":
        dtype = dtypes.int64  # torch sums bools and integers as int64
    return Sum.apply(input, dims, keepdim, dtype)


class Mean(Function):
    """mean of x over dims."""

    raw_backward = True
    plain_forward = True

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        _remember(ctx, x, dims, keepdim)
        data = x._data
        count = _count(data.shape, dims)
        if count == 0:  # the mean of nothing is NaN, as torch (numpy would warn)
            return np.full(np.sum(data, axis=dims, keepdims=keepdim).shape, np.nan, x.dtype)
        if data.dtype.itemsize < 4:  # np.mean sums float16 in float32
            return np.mean(data, axis=dims, keepdims=keepdim)
        # np.mean's own steps (a sum, then a division in the input's dtype), without its frames
        return np.true_divide(np.add.reduce(data, axis=dims, keepdims=keepdim), count)

    @staticmethod
    def backward(ctx, grad):
        count = _count(ctx.shape, ctx.dims)
        grad = grad / count if count else grad  # d mean/dx_i = 1/count
        return _expand_back(ctx.xp, grad, ctx.dims, ctx.keepdim, ctx.shape), None, None


@register(Mean, method=True)
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Average over ``dim`` (all dims by default, or for an empty tuple). As ``torch.mean``."""
    dtype = dtypes.as_dtype(dtype)
    if dtype is None and input._data.dtype.kind != "f":
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be floating point, got "
            f"{input._data.dtype}; pass dtype= or convert with .float()"
        )
    if dtype is not None:
        if dtype.kind != "f":
            raise RuntimeError(f"mean(): dtype must be a floating point dtype, got {dtype}")
        input = input.to(dtype)
    return Mean.apply(input, _reduce_dims(dim, input._data.ndim, "mean"), keepdim)


class Prod(Function):
    """product of x over dims."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        _remember(ctx, x, dims, keepdim)
        ctx.save_for_backward(x)
        return np.prod(x._data, axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        grad = _keep(grad, ctx.dims, ctx.keepdim, ctx.shape)
        return grad * _product_of_others(x, ctx.dims), None, None  # d/dx_i prod = prod_{j!=i}


def _product_of_others(x: Tensor, dims) -> Tensor:
    """For each element, the product of the other elements of its slice: prod's gradient.

    ``out / x`` fails at zeros, so the zeros are set apart. ``p / nonzero`` is the product of
    the other non-zeros; the last factor is the product of the other zeros: 1 with no zeros
    or at a lone zero, that zero's value elsewhere, and at each of two zeros the other one.
    Writing it with the zeros' values (0, but differentiable) instead of constants keeps its
    derivative, prod's Hessian, exact. Products of two or more zeros are dropped (they vanish
    to second order), so third and higher derivatives at several zeros are not exact.
    """
    is_zero = x == 0
    nonzero = where(is_zero, 1.0, x)
    p = Prod.apply(nonzero, dims, True)
    count = sum(is_zero, dims, keepdim=True)
    zeros = where(is_zero, x, 0.0)  # 0 in value, but carries the zeros' derivatives
    zero_sum = sum(zeros, dims, keepdim=True)
    at_zero = (count == 1) + (count == 2) * (zero_sum - zeros)
    elsewhere = (count == 0) + (count == 1) * zero_sum
    return p / nonzero * where(is_zero, at_zero, elsewhere)


@register(Prod, method=True)
def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product over one ``dim`` (all dims by default). Same as ``torch.prod``."""
    if dim is not None and not isinstance(dim, numbers.Integral):
        raise TypeError(f"prod: dim must be a single int, got {dim!r} (torch.prod takes one dim)")
    input = _accumulating(input, dtype)
    return Prod.apply(input, dims_tuple(dim, input._data.ndim, "prod"), keepdim)


class Cumsum(Function):
    """Running sum of x along dim."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return np.cumsum(np.atleast_1d(x._data), axis=dim).reshape(x._data.shape)

    @staticmethod
    def backward(ctx, grad):
        # x_i feeds outputs i..n-1, so its gradient is grad summed from i to the end:
        # the total minus the running sum before i.
        dim = ctx.dim
        return sum(grad, dim, keepdim=True) - cumsum(grad, dim) + grad, None


@register(Cumsum, method=True)
def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim``. Same as ``torch.cumsum``."""
    dim = dim_index(dim, input._data.ndim, "cumsum")
    return Cumsum.apply(_accumulating(input, dtype), dim)


# --- extrema ---------------------------------------------------------------------------------


class Amax(Function):
    """max of x over dims; tied maxima share the gradient evenly, as torch."""

    raw_backward = True

    reduce = staticmethod(np.max)
    nan_hits = False  # torch's amax gives a NaN maximum no gradient (0 / 0 hits)

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        _remember(ctx, x, dims, keepdim)
        out = ctx.fn.reduce(x._data, axis=dims, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dims, keepdim, shape = ctx.dims, ctx.keepdim, ctx.shape
        hit = x == _keep(out, dims, keepdim, shape)
        if ctx.fn.nan_hits:
            hit = hit | ctx.xp.isnan(x)  # a NaN result is the NaNs' (x == NaN is never true)
        # the grad is masked, then divided by the hit count: hit / count would be a float32
        # quotient (bool / int64) even for float64 inputs
        kept = _keep(grad, dims, keepdim, shape)
        return ctx.xp.where(hit, kept, 0) / ctx.xp.sum(hit, dims, keepdim=True), None, None


class Amin(Amax):
    """min of x over dims; tied minima share the gradient evenly, as torch."""

    reduce = staticmethod(np.min)


class MaxAll(Amax):
    """torch.max(x) of every element: as amax, but a NaN result's gradient goes (evenly) to
    the NaNs, as in torch."""

    graph_name = "Max"
    nan_hits = True


class MinAll(Amin):
    """torch.min(x) of every element: as amin, with NaNs taking a NaN result's gradient."""

    graph_name = "Min"
    nan_hits = True


@register(Amax, method=True)
def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Largest element over ``dim`` (all dims by default). Same as ``torch.amax``."""
    return _extreme_over(Amax, input, dim, keepdim, "amax")


@register(Amin, method=True)
def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Smallest element over ``dim`` (all dims by default). Same as ``torch.amin``."""
    return _extreme_over(Amin, input, dim, keepdim, "amin")


def _extreme_over(cls, input: Tensor, dim, keepdim: bool, op: str) -> Tensor:
    dims = _reduce_dims(dim, input._data.ndim, op)
    _check_not_empty(input, dims, op)
    return cls.apply(input, dims, keepdim)


def _check_not_empty(input: Tensor, dims, op: str, error: type = RuntimeError) -> None:
    """max/min/argmax have no identity, so an empty slice is an error (of torch's type)."""
    shape = input._data.shape
    if not _has_empty_slice(shape, dims):
        return
    if dims is None:
        raise error(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0 "
            f"(input shape {tuple(shape)}). Specify the reduction dim with the 'dim' argument."
        )
    empty = next(d for d in dims if shape[d] == 0)
    raise IndexError(
        f"{op}(): Expected reduction dim {empty} to have non-zero size (input shape "
        f"{tuple(shape)})."
    )


class MaxDim(Function):
    """(values, indices) of the max along one dim; the gradient goes to the returned index."""

    raw_backward = True

    graph_name = "Max"  # torch names the node MaxBackward0
    pick = staticmethod(np.argmax)

    @staticmethod
    def forward(ctx, x, dim, keepdim):
        data = np.atleast_1d(x._data)  # a 0-d input reduces over its one element
        index = ctx.fn.pick(data, axis=dim, keepdims=True)
        values = np.take_along_axis(data, index, axis=dim)
        chosen = np.zeros(data.shape, dtype=bool)
        np.put_along_axis(chosen, index, True, axis=dim)
        ctx.save_for_backward(chosen.reshape(x._data.shape))
        ctx.dim, ctx.keepdim, ctx.shape = dim, keepdim, x._data.shape
        out_shape = _dim_out_shape(x._data.shape, dim, keepdim)
        return values.reshape(out_shape), index.astype(np.int64).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad, grad_indices):
        (chosen,) = ctx.saved_tensors
        grad = _keep(grad, (ctx.dim,), ctx.keepdim, ctx.shape)
        return ctx.xp.where(chosen, grad, 0.0), None, None


class MinDim(MaxDim):
    """(values, indices) of the min along one dim; the gradient goes to the returned index."""

    graph_name = "Min"
    pick = staticmethod(np.argmin)


def _dim_out_shape(shape: tuple, dim: int, keepdim: bool) -> tuple:
    if keepdim:
        return _kept_shape(shape, (dim,))
    return tuple(s for i, s in enumerate(shape) if i != dim)


@register(method=True)
def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None):
    """The largest element; ``(values, indices)`` along ``dim``; or ``maximum(input, other)``.

    Same as ``torch.max``.
    """
    return _extreme(input, dim, keepdim, other, "max")


@register(method=True)
def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None):
    """The smallest element; ``(values, indices)`` along ``dim``; or ``minimum(input, other)``.

    Same as ``torch.min``.
    """
    return _extreme(input, dim, keepdim, other, "min")


_EXTREME = {  # op -> (all dims, one dim, elementwise with a tensor, result type)
    "max": (MaxAll, MaxDim, maximum, _MaxResult),
    "min": (MinAll, MinDim, minimum, _MinResult),
}


def _extreme(input: Tensor, dim, keepdim: bool, other, op: str):
    """The three forms of torch.max/min, told apart by the second argument."""
    full_cls, dim_cls, binary, result = _EXTREME[op]
    if isinstance(dim, Tensor):
        dim, other = None, dim
    if other is not None:
        if dim is not None or keepdim:
            raise TypeError(f"{op}(): pass either dim (with keepdim) or other, not both")
        return binary(input, other)
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}(): keepdim=True needs a dim")
        _check_not_empty(input, None, op)
        return full_cls.apply(input, None, False)
    if not isinstance(dim, numbers.Integral):
        raise TypeError(
            f"{op}(): the second argument must be an int dim or a Tensor, got {type(dim).__name__}"
        )
    dims = (dim_index(dim, input._data.ndim, op),)
    _check_not_empty(input, dims if input._data.ndim else None, op)
    return result(*dim_cls.apply(input, dims[0], keepdim))


# --- statistics ------------------------------------------------------------------------------


def _variance(data: np.ndarray, dims, keepdim: bool, divisor) -> np.ndarray:
    # two passes (mean, then squared deviations) so a large common offset does not cancel;
    # a divisor of 0 (or an empty slice) gives inf or NaN, as in torch
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.sum(data, axis=dims, keepdims=True) / _count(data.shape, dims)
        dev = data - mean
        return np.sum(dev * dev, axis=dims, keepdims=keepdim) / divisor


def _variance_grad(grad: Tensor, x: Tensor, dims, divisor) -> Tensor:
    # d var/dx = 2 (x - mean) / divisor; the mean's own dependence on x sums to zero
    scale = 2.0 / divisor if divisor > 0 else math.inf
    return grad * (x - mean(x, dims, keepdim=True)) * scale


class Var(Function):
    """sum((x - mean)^2) / max(0, N - correction) over dims."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, divisor):
        _remember(ctx, x, dims, keepdim)
        ctx.divisor = divisor
        ctx.save_for_backward(x)
        return _variance(x._data, dims, keepdim, divisor)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        grad = _keep(grad, ctx.dims, ctx.keepdim, ctx.shape)
        return _variance_grad(grad, x, ctx.dims, ctx.divisor), None, None, None


class Std(Function):
    """sqrt(var(x)); the gradient where std is 0 is 0 rather than NaN, as torch."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, divisor):
        _remember(ctx, x, dims, keepdim)
        ctx.divisor = divisor
        out = np.sqrt(_variance(x._data, dims, keepdim, divisor))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        grad = _keep(grad, ctx.dims, ctx.keepdim, ctx.shape)
        out = _keep(out, ctx.dims, ctx.keepdim, ctx.shape)
        flat = out == 0  # a constant slice: torch takes the gradient as 0 there
        grad_var = where(
            flat, 0.0, grad / (2 * where(flat, 1.0, out))
        )  # d sqrt(v) = dv / 2 sqrt(v)
        return _variance_grad(grad_var, x, ctx.dims, ctx.divisor), None, None, None


@register(Var, method=True)
def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Variance over ``dim``, dividing by ``N - correction`` (default 1). Same as ``torch.var``."""
    return _moment(Var, input, dim, unbiased, keepdim, correction, "var")


@register(Std, method=True)
def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Standard deviation over ``dim`` (``N - correction`` divisor). Same as ``torch.std``."""
    return _moment(Std, input, dim, unbiased, keepdim, correction, "std")


def _moment(cls, input: Tensor, dim, unbiased, keepdim: bool, correction, op: str) -> Tensor:
    """Normalise torch's var/std signatures: (dim, correction=), legacy (dim, unbiased)."""
    if isinstance(dim, bool):  # torch.var(x, False): the legacy (input, unbiased) form
        if unbiased is not None:
            raise TypeError(f"{op}(): got unbiased twice: as the second argument and as unbiased")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}(): pass either unbiased or correction, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            f"{op}(): std and var only support floating point dtypes, got {input._data.dtype}"
        )
    dims = _reduce_dims(dim, input._data.ndim, op)
    divisor = builtins.max(0, _count(input._data.shape, dims) - correction)
    if divisor == 0:
        warnings.warn(
            f"{op}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).",
            UserWarning,
            stacklevel=3,
        )
    return cls.apply(input, dims, keepdim, divisor)


class Logsumexp(Function):
    """log(sum(exp(x))) over dims, stably."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        _remember(ctx, x, dims, keepdim)
        data = x._data
        # subtract the max before exp so 1e4 inputs stay finite; an infinite max is replaced
        # by 0 so that rows of -inf give -inf (not NaN) and rows with +inf give +inf, as torch
        top = np.max(data, axis=dims, keepdims=True, initial=-np.inf)
        top = np.where(np.isinf(top), 0, top)
        with np.errstate(divide="ignore"):  # log(0) = -inf for a row of -inf
            out = np.log(np.sum(np.exp(data - top), axis=dims, keepdims=True)) + top
        out = out if keepdim else out.reshape(np.sum(data, axis=dims).shape)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dims, keepdim, shape = ctx.dims, ctx.keepdim, ctx.shape
        softmax = ctx.xp.exp(x - _keep(out, dims, keepdim, shape))
        return _keep(grad, dims, keepdim, shape) * softmax, None, None  # d lse/dx = softmax(x)


@register(Logsumexp, method=True)
def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim``, without overflow. Same as ``torch.logsumexp``."""
    if input._data.dtype.kind != "f":
        input = input.to(dtypes.get_default_dtype())
    return Logsumexp.apply(input, _reduce_dims(dim, input._data.ndim, "logsumexp"), keepdim)


class Norm(Function):
    """(sum |x|^p)^(1/p) over dims; p = 0 counts non-zeros, p = ±inf is max/min |x|."""

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        _remember(ctx, x, dims, keepdim)
        ctx.p = p
        out = _vector_norm(x._data, p, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dims, keepdim, shape = ctx.dims, ctx.keepdim, ctx.shape
        grad, out = _keep(grad, dims, keepdim, shape), _keep(out, dims, keepdim, shape)
        return _norm_grad(x, grad, out, ctx.p, dims), None, None, None


def _vector_norm(data: np.ndarray, p: float, dims, keepdim: bool) -> np.ndarray:
    size = np.abs(data)
    if p == 0:
        return np.sum(size != 0, axis=dims, keepdims=keepdim).astype(data.dtype)
    if p == math.inf:
        return np.max(size, axis=dims, keepdims=keepdim)
    if p == -math.inf:
        return np.min(size, axis=dims, keepdims=keepdim)
    if p == 1:
        return np.sum(size, axis=dims, keepdims=keepdim)
    if p == 2:
        return np.sqrt(np.sum(size * size, axis=dims, keepdims=keepdim))
    with np.errstate(divide="ignore"):  # 0 ** (p < 0) is inf, and the norm then 0, as torch
        return np.sum(size**p, axis=dims, keepdims=keepdim) ** (1 / p)


def _norm_grad(x: Tensor, grad: Tensor, out: Tensor, p: float, dims) -> Tensor:
    """torch's norm_backward, case by case; ``grad`` and ``out`` have the reduced dims kept."""
    if p == 0:
        return (grad * 0.0).expand(x.shape)  # counting non-zeros is flat
    if p == 1:
        return grad * x.sign()  # the subgradient 0 at 0, as torch
    if math.isinf(p):  # as amax/amin: the extremes share the gradient evenly; a NaN counts
        hit = (x.abs() == out) | isnan(x)
        return x.sign() * grad * hit / sum(hit, dims, keepdim=True)
    # masks with a safe divisor in the masked-out places, so no 0/0 is ever computed: the
    # all-zero vector gets gradient 0, as torch, not NaN
    zero_norm = out == 0
    scaled = where(zero_norm, 0.0, grad / where(zero_norm, 1.0, out) ** (p - 1))
    if p == 2:
        return x * scaled  # d |x|_2 / dx = x / |x|_2
    if p < 1:  # |x|^(p-1) is infinite at 0; torch takes the gradient there as 0
        zero = x == 0
        size = where(zero, 1.0, x.abs()) ** (p - 1)
        return x.sign() * where(zero, 0.0, size) * grad * out ** (1 - p)
    if p < 2:
        return x.sign() * x.abs() ** (p - 1) * scaled  # d |x|_p / dx = sgn x |x|^(p-1) / n^(p-1)
    return x * x.abs() ** (p - 2) * scaled


@register(Norm, method=True)
def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (all dims by default); 'fro' is the 2-norm. As ``torch.norm``."""
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            f"norm(): expected a floating point tensor as input, got {input._data.dtype}"
        )
    input = input.to(dtypes.as_dtype(dtype)) if dtype is not None else input
    ndim = input._data.ndim
    dims = _reduce_dims(dim, ndim, "norm")
    if isinstance(p, str):
        if p != "fro":
            raise ValueError(f"norm(): p={p!r} is not supported (use 'fro' or a number)")
        if dims is not None and len(dims) > 2:
            raise RuntimeError(f"norm(): p='fro' needs at most 2 dims, got dim={dim!r}")
        p = 2
    p = 2.0 if p is None else float(p)
    if math.isinf(p) and _has_empty_slice(input._data.shape, dims):
        raise RuntimeError(
            f"norm(): cannot compute the {p} norm on an empty slice (input shape "
            f"{tuple(input.shape)}) because the operation does not have an identity"
        )
    return Norm.apply(input, p, dims, keepdim)


# --- no gradient: argmax, argmin, all, any -----------------------------------------------------


@register(method=True, differentiable=False)
def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (of the flattened input without ``dim``). As torch."""
    return _arg_extreme(np.argmax, input, dim, keepdim, "argmax")


@register(method=True, differentiable=False)
def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (of the flattened input without ``dim``). As torch."""
    return _arg_extreme(np.argmin, input, dim, keepdim, "argmin")


def _arg_extreme(pick, input: Tensor, dim, keepdim: bool, op: str) -> Tensor:
    data = input._data
    if data.dtype == dtypes.bool:
        raise RuntimeError(f"{op}(): does not support bool input")
    if dim is None:
        _check_not_empty(input, None, op, IndexError)
        index = np.asarray(pick(data))  # numpy flattens, as torch does without dim
        return _make(
            index.astype(np.int64).reshape(_kept_shape(data.shape, None) if keepdim else ())
        )
    d = dim_index(dim, data.ndim, op)
    _check_not_empty(input, (d,) if data.ndim else None, op)
    index = pick(np.atleast_1d(data), axis=d, keepdims=True)
    return _make(index.astype(np.int64).reshape(_dim_out_shape(data.shape, d, keepdim)))


@register(method=True, differentiable=False)
def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether every element over ``dim`` is non-zero (all dims by default). As ``torch.all``."""
    return _logical(np.all, input, dim, keepdim, "all")


@register(method=True, differentiable=False)
def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether any element over ``dim`` is non-zero (all dims by default). As ``torch.any``."""
    return _logical(np.any, input, dim, keepdim, "any")


def _logical(fn, input: Tensor, dim, keepdim: bool, op: str) -> Tensor:
    data = input._data
    out = np.asarray(fn(data, axis=dims_tuple(dim, data.ndim, op), keepdims=keepdim))
    # torch keeps uint8 for uint8 input (masks stored as bytes); every other dtype gives bool
    return _make(out.astype(np.uint8) if data.dtype == np.uint8 else out)
