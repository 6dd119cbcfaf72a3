"""F.max_pool/avg_pool/adaptive_avg_pool (1-D and 2-D) and F.pad.

Pools run on the last two dims through strided views, looping over the kernel's taps only;
each has a registered adjoint so double backward works. The 1-D forms use a height-1 plane.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from tapegrad.autograd.function import Function
from tapegrad.autograd.grad_mode import is_grad_enabled
from tapegrad.nn.functional._window import (
    Geometry,
    check_input,
    col2im,
    geometry_2d,
    ints,
    out_hw,
    padded,
    positive,
    shape_of,
    taps,
)
from tapegrad.ops._raw import apply
from tapegrad.ops.indexing import index_select
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor, _make

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "max_pool1d",
    "max_pool2d",
    "pad",
]


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1  # torch: the last window must start inside the input or its left padding
    return out


def _pool_geometry(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode) -> Geometry:
    """Check pooling arguments; ceil mode's extra windows widen the after-pads."""
    check_input(op, nd, input, integers=op.startswith("max"))
    kernel = ints(kernel_size, nd, "kernel_size", op)
    stride = kernel if stride is None or stride in ((), []) else ints(stride, nd, "stride", op)
    pads = ints(padding, nd, "padding", op)
    dilation = ints(dilation, nd, "dilation", op)
    for values, name in ((kernel, "kernel_size"), (stride, "stride"), (dilation, "dilation")):
        positive(values, name, op)
    if any(p < 0 or p > (d * (k - 1) + 1) // 2 for p, k, d in zip(pads, kernel, dilation)):
        raise ValueError(
            f"{op}: padding should be non-negative and at most half of the (dilated) kernel, "
            f"got padding={pads}, kernel_size={kernel} and dilation={dilation}"
        )
    spatial = input._data.shape[-nd:]
    sizes = tuple(map(_pool_out, spatial, kernel, stride, pads, dilation, (ceil_mode,) * nd))
    if any(o < 1 for o in sizes):
        raise ValueError(
            f"{op}: input of shape {shape_of(input)} is too small for kernel_size={kernel}, "
            f"padding={pads}, dilation={dilation} (output size {sizes})"
        )
    pairs = tuple(
        (p, p + max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p)))
        for n, k, s, p, d, o in zip(spatial, kernel, stride, pads, dilation, sizes)
    )
    return geometry_2d(kernel, stride, pairs, dilation)


# --- max pooling ---------------------------------------------------------------------------------


class MaxPool2d(Function):
    """Max over each window of the last two dims, with torch's flat argmax indices."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, geom, with_indices):
        data = x._data
        hw = data.shape[-2:]
        hw_out = out_hw(hw, geom)
        lowest = -np.inf if data.dtype.kind == "f" else np.iinfo(data.dtype).min
        views = taps(padded(data, geom.pads, lowest), geom, hw_out)
        out = views[0].copy()
        for view in views[1:]:
            np.maximum(out, view, out=out)  # NaN propagates, as in torch
        if not with_indices:
            return out
        indices = _argmax_indices(views, out, geom, hw, hw_out)
        ctx.hw, ctx.geom = hw, geom
        ctx.save_for_backward(indices)
        return out, indices

    @staticmethod
    def backward(ctx, grad, grad_indices):
        (indices,) = ctx.saved_tensors
        geom = ctx.geom
        # windows that cannot share an element send each gradient to a distinct place
        disjoint = all(
            s >= d * (k - 1) + 1 for k, s, d in zip(geom.kernel, geom.stride, geom.dilation)
        )
        # d max/dx: 1 at the (first) argmax of each window
        return apply(MaxPool2dGrad, grad, indices, ctx.hw, disjoint), None, None


def _argmax_indices(views: list, out: np.ndarray, geom: Geometry, hw, hw_out) -> np.ndarray:
    """Flat index into the unpadded plane of each window's first maximum (torch's tie rule).

    One pass per tap marks where the maximum is first found (``hit > found``), so ties go to
    the earliest tap; a small offset table turns the tap number into the flat index.
    """
    (sh, sw), (dh, dw), kw = geom.stride, geom.dilation, geom.kernel[1]
    top, _, left, _ = geom.pads
    rows = np.arange(hw_out[0])[:, None] * sh - top
    cols = np.arange(hw_out[1]) * sw - left
    has_pads = any(geom.pads)
    nan = out.dtype.kind == "f" and bool(np.isnan(out).any())
    tap = np.zeros(out.shape, np.int8 if len(views) < 128 else np.int32)
    found = None
    for k, view in enumerate(views):
        hit = view == out
        if nan:
            hit |= np.isnan(view)
        if has_pads:  # a -inf pad ties an all -inf window, but must never be chosen
            r, c = rows + (k // kw) * dh, cols + (k % kw) * dw
            hit &= (r >= 0) & (r < hw[0]) & (c >= 0) & (c < hw[1])
        if found is None:
            found = hit
            continue
        first = np.greater(hit, found)  # hit here and not at an earlier tap
        found |= first
        tap += first * tap.dtype.type(k)
    offsets = np.array([(k // kw) * dh * hw[1] + (k % kw) * dw for k in range(len(views))])
    indices = np.take(offsets, tap)  # take: twice as fast as offsets[tap]
    indices += rows * hw[1] + cols
    return indices


class MaxPool2dGrad(Function):
    """Max pooling's input gradient: each grad added at its flat index (overlaps sum)."""

    raw_backward = True

    @staticmethod
    def compute(g, indices, hw, disjoint):
        planes, size = math.prod(g.shape[:-2]), hw[0] * hw[1]
        flat = indices.reshape(planes, -1) + (np.arange(planes) * size)[:, None]
        if disjoint:  # every index once per plane: a plain scatter
            out = np.zeros(planes * size, g.dtype)
            out[flat.ravel()] = g.ravel()  # 1.8x faster than put_along_axis on the planes
        else:  # bincount sums repeated indices far faster than np.add.at
            out = np.bincount(flat.ravel(), weights=g.ravel(), minlength=planes * size)
        return out.astype(g.dtype, copy=False).reshape(*g.shape[:-2], *hw)

    @staticmethod
    def forward(ctx, grad, indices, hw, disjoint):
        ctx.grad_shape = grad._data.shape
        ctx.save_for_backward(indices)
        return MaxPool2dGrad.compute(grad._data, indices._data, hw, disjoint)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        planes = math.prod(ctx.grad_shape[:-2])
        # the adjoint of a scatter-add is a gather
        picked = ctx.xp.gather(grad.reshape(planes, -1), 1, indices.reshape(planes, -1))
        return picked.reshape(ctx.grad_shape), None, None, None


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    geom = _pool_geometry(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode)
    x = input.unsqueeze(-2) if nd == 1 else input
    with_indices = return_indices or (input.requires_grad and is_grad_enabled())
    result = MaxPool2d.apply(x, geom, with_indices)
    out, indices = result if with_indices else (result, None)
    if nd == 1:
        out = out.squeeze(-2)
        indices = None if indices is None else indices.squeeze(-2)
    return (out, indices) if return_indices else out


@register(MaxPool2d)
def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """2-D max pooling; a tie's gradient goes to its first element. Same as torch's."""
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


@register()
def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """1-D max pooling over (N, C, L) or (C, L). Same as ``torch.max_pool1d``."""
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


@register(MaxPool2dGrad, export=False)
def _max_pool2d_grad(grad_output, indices, input_size) -> Tensor:
    """Scatter-add ``grad_output`` at flat ``indices`` of (H, W) planes: max_pool's gradient."""
    if shape_of(indices) != shape_of(grad_output) or indices._data.dtype.kind not in "iu":
        raise ValueError(
            f"max_pool2d_grad: expected integer indices of shape {shape_of(grad_output)}, got "
            f"{indices._data.dtype} indices of shape {shape_of(indices)}"
        )
    return MaxPool2dGrad.apply(grad_output, indices, tuple(input_size)[-2:], False)


# --- average pooling ----------------------------------------------------------------------------


class AvgPool2d(Function):
    """Window sums over the last two dims, times 1/divisor (an array or a number)."""

    raw_backward = True

    @staticmethod
    def compute(data, geom, scale):
        views = taps(padded(data, geom.pads), geom, out_hw(data.shape[-2:], geom))
        out = views[0].copy()
        for view in views[1:]:
            out += view
        out *= scale
        return out

    @staticmethod
    def forward(ctx, x, geom, scale):
        ctx.geom, ctx.scale, ctx.hw = geom, scale, x._data.shape[-2:]
        return AvgPool2d.compute(x._data, geom, scale)

    @staticmethod
    def backward(ctx, grad):
        # d/dx: grad / divisor spread over each window
        return apply(AvgPool2dGrad, grad, ctx.geom, ctx.scale, ctx.hw), None, None


class AvgPool2dGrad(Function):
    """Adjoint of AvgPool2d: each output's grad/divisor added over its window."""

    raw_backward = True

    @staticmethod
    def compute(grad, geom, scale, hw):
        g = grad * scale
        spread = np.broadcast_to(
            g[..., None, None, :, :], (*g.shape[:-2], *geom.kernel, *g.shape[-2:])
        )
        return col2im(spread, geom, hw)

    @staticmethod
    def forward(ctx, grad, geom, scale, hw):
        ctx.geom, ctx.scale = geom, scale
        return AvgPool2dGrad.compute(grad._data, geom, scale, hw)

    @staticmethod
    def backward(ctx, grad):
        # the adjoint's adjoint: average pooling again
        return apply(AvgPool2d, grad, ctx.geom, ctx.scale), None, None, None


def _divisors(size: int, k: int, s: int, p: int, n_out: int, count_include_pad: bool):
    """Per-axis window sizes torch divides by: padding counts, ceil mode's overhang does not."""
    start = np.arange(n_out) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def _avg_pool(op, nd, input, kernel_size, stride, padding, ceil_mode, include_pad, divisor):
    geom = _pool_geometry(op, nd, input, kernel_size, stride, padding, 1, ceil_mode)
    x = input.unsqueeze(-2) if nd == 1 else input
    if divisor is not None:
        if divisor == 0:
            raise ValueError(f"{op}: divisor_override must not be zero")
        scale = 1.0 / divisor
    else:
        hw = x._data.shape[-2:]
        top, _, left, _ = geom.pads
        per_axis = [
            _divisors(n, k, s, p, o, include_pad)
            for n, k, s, p, o in zip(hw, geom.kernel, geom.stride, (top, left), out_hw(hw, geom))
        ]
        scale = (1.0 / (per_axis[0][:, None] * per_axis[1])).astype(x._data.dtype)
    out = AvgPool2d.apply(x, geom, scale)
    return out.squeeze(-2) if nd == 1 else out


@register(AvgPool2d, export=False)
def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """2-D average pooling. Same as ``torch.nn.functional.avg_pool2d``."""
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


@register()
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling over (N, C, L) or (C, L). Same as ``torch.avg_pool1d``."""
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


# --- adaptive average pooling -------------------------------------------------------------------


def _adaptive_matrix(size: int, out: int, dtype) -> np.ndarray:
    """(out, size) rows averaging torch's windows [floor(i*size/out), ceil((i+1)*size/out))."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_avg_pool(op: str, nd: int, input, output_size) -> Tensor:
    """The windows are separable, so the pool is a matrix product on each side of the planes."""
    check_input(op, nd, input)
    spatial = input._data.shape[-nd:]
    given = (output_size,) * nd if not isinstance(output_size, (tuple, list)) else output_size
    sizes = tuple(n if o is None else o for n, o in zip(spatial, given))
    if len(given) != nd or not all(isinstance(o, numbers.Integral) and o >= 0 for o in sizes):
        raise ValueError(
            f"{op}: expected output_size of {nd} non-negative ints, got {output_size!r}"
        )
    if 0 in spatial:
        raise ValueError(f"{op}: input of shape {shape_of(input)} has an empty spatial dim")
    dtype = input._data.dtype
    out = input @ _make(_adaptive_matrix(spatial[-1], sizes[-1], dtype).T)
    if nd == 2:
        out = _make(_adaptive_matrix(spatial[0], sizes[0], dtype)) @ out
    return out


@register(export=False)
def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """2-D adaptive average pooling. Same as ``torch.nn.functional.adaptive_avg_pool2d``."""
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


@register()
def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """1-D adaptive average pooling. Same as ``torch.adaptive_avg_pool1d``."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


# --- padding -------------------------------------------------------------------------------------


class Pad(Function):
    """Constant padding; negative amounts crop, so the gradient is the opposite pad."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, pairs, value):
        ctx.pairs = pairs
        return Pad.compute(x._data, pairs, value)

    @staticmethod
    def compute(data, pairs, value):
        size = tuple(n + lo + hi for n, (lo, hi) in zip(data.shape, pairs))
        out = np.full(size, value, data.dtype)
        src, dst = [], []
        for n, m, (lo, _) in zip(data.shape, size, pairs):
            start = max(0, -lo)
            stop = max(start, min(n, m - lo))
            src.append(slice(start, stop))
            dst.append(slice(start + lo, stop + lo))
        out[tuple(dst)] = data[tuple(src)]
        return out

    @staticmethod
    def backward(ctx, grad):
        # d pad(x)/dx: the pad is constant; the rest moves back by the opposite pad
        return apply(Pad, grad, tuple((-lo, -hi) for lo, hi in ctx.pairs), 0), None, None


_INDEX_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@register(Pad, export=False)
def pad(input, pad, mode="constant", value=None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims, last dim first. Same as ``torch.nn.functional.pad``.

    Negative amounts crop (constant mode). 'reflect', 'replicate' and 'circular' gather with
    index_select, so their gradients add the copies back.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: expected a Tensor input, got {type(input).__name__}")
    amounts = tuple(pad)
    ndim = input._data.ndim
    if len(amounts) % 2 or not all(isinstance(a, numbers.Integral) for a in amounts):
        raise ValueError(f"pad: expected an even number of ints, got {pad!r}")
    if len(amounts) // 2 > ndim:
        raise ValueError(f"pad: {len(amounts)} pad values are too many for input {shape_of(input)}")
    pairs = [(0, 0)] * ndim
    for i in range(len(amounts) // 2):
        pairs[ndim - 1 - i] = (int(amounts[2 * i]), int(amounts[2 * i + 1]))
    size = tuple(n + lo + hi for n, (lo, hi) in zip(input._data.shape, pairs))
    if any(n < 0 for n in size):
        raise ValueError(f"pad: padding {amounts} of input {shape_of(input)} gives size {size}")
    if mode == "constant":
        return Pad.apply(input, tuple(pairs), 0 if value is None else value)
    if mode not in _INDEX_MODES:
        raise ValueError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    if value is not None and value != 0:
        raise ValueError(f"pad: mode {mode!r} doesn't take a value argument")
    return _index_pad(input, pairs, mode, len(amounts) // 2)


def _index_pad(input: Tensor, pairs: list, mode: str, padded_dims: int) -> Tensor:
    """reflect/replicate/circular: one index_select per padded dim, as torch limits them."""
    ndim = input._data.ndim
    if padded_dims > 3 or ndim not in (padded_dims + 1, padded_dims + 2):
        raise ValueError(
            f"pad: mode {mode!r} pads the last 1-3 dims of a batched or unbatched input; "
            f"{padded_dims} padded dims do not fit input of shape {shape_of(input)}"
        )
    out = input
    for dim in range(ndim - padded_dims, ndim):
        lo, hi = pairs[dim]
        n = input._data.shape[dim]
        # reflect cannot repeat the edge and circular can wrap once; replicate has no limit
        limit = {"reflect": n - 1, "circular": n}.get(mode, max(lo, hi) if n else -1)
        if min(lo, hi) < 0 or max(lo, hi) > limit:
            raise ValueError(
                f"pad: mode {mode!r} needs padding between 0 and {limit} for dim {dim} of input "
                f"{shape_of(input)}, got ({lo}, {hi})"
            )
        if lo or hi:
            index = np.pad(np.arange(n), (lo, hi), mode=_INDEX_MODES[mode])
            out = index_select(out, dim, _make(index))
    return out
