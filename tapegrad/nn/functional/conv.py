"""F.conv1d/conv2d and their transposes, on numpy strided views and matrix products.

A convolution's gradient is a transposed convolution and a weight gradient: registered ops
whose own gradients are convolutions again, so double backward is exact. The 1-D forms run on
a height-1 plane. Pooling and pad live in pooling.py (re-exported here for ``F``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tapegrad.autograd.function import Function
from tapegrad.nn.functional._window import (
    Geometry,
    col2im,
    geometry_2d,
    ints,
    needs,
    out_hw,
    padded,
    positive,
    shape_of,
    windows,
)
from tapegrad.nn.functional.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    pad,
)
from tapegrad.ops._raw import apply
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
    "pad",
]


# --- kernels on arrays ------------------------------------------------------------------------


def _columns(x: np.ndarray, geom: Geometry, hw_out) -> np.ndarray:
    """im2col: (N, groups, C/groups * kh * kw, Ho * Wo), one matrix per sample and group.

    Batched per sample, the product lands in (N, O, Ho * Wo) order with no transpose, which
    measured faster than one large matrix product followed by a transposing copy.
    """
    view = windows(padded(x, geom.pads), geom, hw_out)  # (N, C, kh, kw, Ho, Wo), no copy yet
    rows = x.shape[1] // geom.groups * geom.kernel[0] * geom.kernel[1]
    return view.reshape(x.shape[0], geom.groups, rows, hw_out[0] * hw_out[1])


def conv_arrays(x, w, bias, geom: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Conv2d of arrays: the (N, O, Ho, Wo) output and the columns it multiplied."""
    out_channels, groups = w.shape[0], geom.groups
    hw_out = out_hw(x.shape[-2:], geom)
    cols = _columns(x, geom, hw_out)
    out = np.matmul(w.reshape(groups, out_channels // groups, cols.shape[2]), cols)
    if bias is not None:
        out += bias.reshape(groups, -1, 1)
    return out.reshape(x.shape[0], out_channels, *hw_out), cols


def weight_grad_arrays(x, g, cols, geom: Geometry) -> np.ndarray:
    """Conv2d's weight gradient: (N, O, Ho, Wo) ``g`` against the windows of ``x``."""
    n, out_channels, ho, wo = g.shape
    groups = geom.groups
    cols = _columns(x, geom, (ho, wo)) if cols is None else cols
    g_mat = g.reshape(n, groups, out_channels // groups, ho * wo)
    per_sample = np.matmul(g_mat, cols.transpose(0, 1, 3, 2))  # (N, groups, O/groups, K)
    return per_sample.sum(0).reshape(out_channels, x.shape[1] // groups, *geom.kernel)


def conv_transpose_arrays(g, w, geom: Geometry, hw) -> np.ndarray:
    """Adjoint of conv2d in its input, for an (H, W) = ``hw`` input plane."""
    if geom.stride == (1, 1):
        return _adjoint_correlation(g, w, geom, hw)
    n, out_channels, ho, wo = g.shape
    groups = geom.groups
    w_t = w.reshape(groups, out_channels // groups, w.shape[1] * math.prod(geom.kernel))
    w_t = w_t.transpose(0, 2, 1)
    cols = np.matmul(w_t, g.reshape(n, groups, out_channels // groups, ho * wo))
    return col2im(cols.reshape(n, groups * w.shape[1], *geom.kernel, ho, wo), geom, hw)


# With stride 1 the adjoint is itself a correlation: of the gradient, padded by the kernel's
# reach minus the conv's pads, with the kernels flipped and in and out channels swapped. That
# gathers (im2col) where col2im scatters nine read-modify-write passes. It runs on flat
# planes: each padded plane is one row of Hp * Wp values and an output row is computed Wp
# wide, its last Wp - W values reading past the window row (garbage, dropped after the
# product); each kernel tap is then one contiguous run of H * Wp values per plane, and the copy
# runs over long rows instead of W-long ones. (32, 16, 14, 14) -> 8 channels, 3x3: 1.33 ms
# with col2im, 0.70 ms so.


def _adjoint_correlation(g, w, geom: Geometry, hw) -> np.ndarray:
    (kh, kw), (dh, dw), groups = geom.kernel, geom.dilation, geom.groups
    top, _, left, _ = geom.pads
    n, out_channels, ho, wo = g.shape
    in_channels = groups * w.shape[1]
    pads = (dh * (kh - 1) - top, hw[0] - ho + top, dw * (kw - 1) - left, hw[1] - wo + left)
    per_group = out_channels // groups * kh * kw
    kernels = _flipped(w, groups).reshape(groups, in_channels // groups, per_group)
    out = np.empty((n, in_channels, *hw), g.dtype)
    width = wo + pads[2] + pads[3]  # of the padded gradient planes
    # a few samples at a time: the columns are kh * kw times the gradient, and a smaller
    # peak means fewer fresh pages to fault in (same speed at 1 MB of columns per chunk)
    per_sample = g.itemsize * out_channels * kh * kw * hw[0] * width
    chunk = max(1, _CHUNK_BYTES // max(per_sample, 1))
    for start in range(0, n, chunk):
        flat = _flat_planes(g[start : start + chunk], pads, (kw - 1) * dw)
        step = flat.strides[-1]
        shape = (len(flat), out_channels, kh, kw, hw[0] * width)
        taps = as_strided(flat, shape, (*flat.strides[:2], dh * width * step, dw * step, step))
        cols = taps.reshape(len(flat), groups, kernels.shape[2], hw[0] * width)
        rows = np.matmul(kernels, cols).reshape(len(flat), in_channels, hw[0], width)
        out[start : start + chunk] = rows[..., : hw[1]]
    return out


_CHUNK_BYTES = 1 << 20


def _flat_planes(x: np.ndarray, pads: tuple, slack: int) -> np.ndarray:
    """(N, C, Hp * Wp + slack): each plane zero-padded (a negative pad crops) and flattened."""
    n, c, height, width = x.shape
    top, bottom, left, right = pads
    rows, cols = height + top + bottom, width + left + right
    flat = np.zeros((n, c, rows * cols + slack), x.dtype)
    plane = flat[:, :, : rows * cols].reshape(n, c, rows, cols)
    plane[:, :, max(top, 0) : rows - max(bottom, 0), max(left, 0) : cols - max(right, 0)] = x[
        :, :, max(-top, 0) : height - max(-bottom, 0), max(-left, 0) : width - max(-right, 0)
    ]
    return flat


def _flipped(w: np.ndarray, groups: int) -> np.ndarray:
    """(O, C/g, kh, kw) kernels as the (C, O/g, kh, kw) kernels of the adjoint correlation."""
    out_channels, per_group, kh, kw = w.shape
    w = w.reshape(groups, out_channels // groups, per_group, kh, kw).transpose(0, 2, 1, 3, 4)
    return w[..., ::-1, ::-1].reshape(groups * per_group, out_channels // groups, kh, kw)


# --- the Functions ------------------------------------------------------------------------------


class Conv2d(Function):
    """Cross-correlation of (N, C, H, W) with (O, C/groups, kh, kw) kernels, plus bias."""

    raw_backward = True

    @staticmethod
    def compute(x, weight, bias, geom):
        return conv_arrays(x, weight, bias, geom)[0]

    @staticmethod
    def forward(ctx, x, weight, bias, geom):
        b = None if bias is None else bias._data
        out, cols = conv_arrays(x._data, weight._data, b, geom)
        ctx.geom = geom
        # im2col is the costly part of the weight gradient too: keep it (freed after backward)
        ctx.save_for_backward(x, weight, cols if needs(ctx, 1) else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight, cols = ctx.saved_tensors
        geom = ctx.geom
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:  # d/dx: the transposed convolution of grad
            grad_x = apply(ConvTranspose2d, grad, weight, geom, tuple(x.shape[-2:]))
        if ctx.needs_input_grad[1]:  # d/dw: grad correlated with the input windows
            grad_weight = apply(Conv2dWeightGrad, x, grad, cols, geom)
        if ctx.needs_input_grad[2]:  # d/db: grad summed over batch and positions
            grad_bias = ctx.xp.sum(grad, (0, 2, 3))
        return grad_x, grad_weight, grad_bias, None


class ConvTranspose2d(Function):
    """Adjoint of Conv2d in its input: every position's kernel-weighted values added back."""

    raw_backward = True
    compute = staticmethod(conv_transpose_arrays)

    @staticmethod
    def forward(ctx, y, weight, geom, hw):
        ctx.geom = geom
        ctx.save_for_backward(y, weight)
        return conv_transpose_arrays(y._data, weight._data, geom, hw)

    @staticmethod
    def backward(ctx, grad):
        y, weight = ctx.saved_tensors
        grad_y = grad_weight = None
        if ctx.needs_input_grad[0]:  # the adjoint of the adjoint: a convolution
            grad_y = _conv_to(grad, weight, ctx.geom, tuple(y.shape[-2:]))
        if ctx.needs_input_grad[1]:  # <G, convT(y, w)> = <conv(G, w), y>
            grad_weight = apply(Conv2dWeightGrad, grad, y, None, ctx.geom)
        return grad_y, grad_weight, None, None


class Conv2dWeightGrad(Function):
    """Weight gradient of Conv2d: output grad (N, O, Ho, Wo) against the input windows."""

    raw_backward = True
    compute = staticmethod(weight_grad_arrays)

    @staticmethod
    def forward(ctx, x, grad, cols, geom):
        ctx.geom = geom
        ctx.save_for_backward(x, grad)
        return weight_grad_arrays(x._data, grad._data, None if cols is None else cols._data, geom)

    @staticmethod
    def backward(ctx, grad_weight):
        x, grad = ctx.saved_tensors
        grad_x = grad_grad = None
        if ctx.needs_input_grad[0]:  # <Gw, wgrad(x, g)> = <x, convT(g, Gw)>
            grad_x = apply(ConvTranspose2d, grad, grad_weight, ctx.geom, tuple(x.shape[-2:]))
        if ctx.needs_input_grad[1]:  # <Gw, wgrad(x, g)> = <conv(x, Gw), g>
            grad_grad = _conv_to(x, grad_weight, ctx.geom, tuple(grad.shape[-2:]))
        return grad_x, grad_grad, None, None


def _conv_to(x, weight, geom: Geometry, hw: tuple):
    """Conv2d cut to ``hw``: a transposed conv's output_padding can add rows no window uses."""
    out = apply(Conv2d, x, weight, None, geom)
    if tuple(out.shape[-2:]) != hw:
        out = out[:, :, : hw[0], : hw[1]]
    return out


# --- argument checks ---------------------------------------------------------------------------


def _check_operands(op: str, nd: int, input, weight, bias, groups) -> int:
    """Tensors of one floating dtype, input and weight of the right rank; returns groups."""
    present = [t for t in (input, weight, bias) if t is not None]
    if not all(isinstance(t, Tensor) for t in present):
        names = ", ".join(type(t).__name__ for t in present)
        raise TypeError(f"{op}: expected Tensor operands, got {names}")
    dtypes = [t._data.dtype for t in present]
    if len(set(dtypes)) > 1 or dtypes[0].kind != "f":
        names = ", ".join(str(d) for d in dtypes)
        raise TypeError(f"{op}: expected floating-point operands of one dtype, got {names}")
    if input._data.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"{op}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got input of "
            f"shape {shape_of(input)}"
        )
    if weight._data.ndim != nd + 2:
        raise ValueError(
            f"{op}: expected a {nd + 2}-D weight, got weight of shape {shape_of(weight)}"
        )
    if not isinstance(groups, numbers.Integral) or groups <= 0:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if weight._data.shape[0] % groups:
        raise ValueError(
            f"{op}: weight of shape {shape_of(weight)} has {weight._data.shape[0]} kernels, not "
            f"divisible by groups={groups}"
        )
    return int(groups)


def _check_bias(op: str, bias: Tensor | None, channels: int) -> None:
    if bias is not None and shape_of(bias) != (channels,):
        raise ValueError(f"{op}: expected bias of shape ({channels},), got {shape_of(bias)}")


def _conv_pads(op: str, padding, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """Per-axis (before, after) pads for an int, a tuple, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * len(kernel)
        if padding != "same":
            raise ValueError(
                f"{op}: invalid padding string {padding!r}, should be one of ('valid', 'same')"
            )
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
        # an odd total puts the extra row after, as torch does
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    pads = ints(padding, len(kernel), "padding", op)
    if any(p < 0 for p in pads):
        raise ValueError(f"{op}: padding must be non-negative, got {pads}")
    return tuple((p, p) for p in pads)


def _lifted(nd: int, batched: bool, *tensors: Tensor) -> list[Tensor]:
    """Add the batch dim to the input (first) if missing, and a height-1 axis in 1-D."""
    first, *rest = tensors
    out = [first if batched else first.unsqueeze(0), *rest]
    return [t.unsqueeze(2) for t in out] if nd == 1 else out


def _lowered(out: Tensor, nd: int, batched: bool) -> Tensor:
    if nd == 1:
        out = out.squeeze(2)
    return out if batched else out.squeeze(0)


# --- convolution ---------------------------------------------------------------------------------


def _conv(op, nd, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    """conv1d/conv2d: check, lift 1-D to a height-1 plane, run Conv2d."""
    groups = _check_operands(op, nd, input, weight, bias, groups)
    batched = input._data.ndim == nd + 2
    channels = input._data.shape[1 if batched else 0]
    if channels != weight._data.shape[1] * groups:
        raise ValueError(
            f"{op}: expected input with {weight._data.shape[1] * groups} channels (weight "
            f"{shape_of(weight)}, groups={groups}), got input of shape {shape_of(input)}"
        )
    _check_bias(op, bias, weight._data.shape[0])
    kernel = tuple(weight._data.shape[2:])
    stride = ints(stride, nd, "stride", op)
    dilation = ints(dilation, nd, "dilation", op)
    positive(stride, "stride", op)
    positive(dilation, "dilation", op)
    pairs = _conv_pads(op, padding, kernel, stride, dilation)
    spatial = tuple(n + lo + hi for n, (lo, hi) in zip(input._data.shape[-nd:], pairs))
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(r > n for r, n in zip(reach, spatial)):
        raise ValueError(
            f"{op}: kernel size {reach} (after dilation) is larger than the padded input "
            f"{spatial} of input of shape {shape_of(input)}"
        )
    geom = geometry_2d(kernel, stride, pairs, dilation, groups)
    x, w = _lifted(nd, batched, input, weight)
    return _lowered(Conv2d.apply(x, w, bias, geom), nd, batched)


@register(Conv2d)
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D cross-correlation over (N, C, H, W) or (C, H, W). Same as ``torch.conv2d``."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


@register()
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D cross-correlation over (N, C, L) or (C, L). Same as ``torch.conv1d``."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    """conv_transpose1d/2d: check, size the output, run ConvTranspose2d, add the bias."""
    groups = _check_operands(op, nd, input, weight, bias, groups)
    batched = input._data.ndim == nd + 2
    if input._data.shape[1 if batched else 0] != weight._data.shape[0]:
        raise ValueError(
            f"{op}: expected input with {weight._data.shape[0]} channels (weight "
            f"{shape_of(weight)}), got input of shape {shape_of(input)}"
        )
    _check_bias(op, bias, weight._data.shape[1] * groups)
    kernel = tuple(weight._data.shape[2:])
    stride = ints(stride, nd, "stride", op)
    dilation = ints(dilation, nd, "dilation", op)
    pads = ints(padding, nd, "padding", op)
    extra = ints(output_padding, nd, "output_padding", op)
    positive(stride, "stride", op)
    positive(dilation, "dilation", op)
    if any(p < 0 for p in pads + extra):
        raise ValueError(f"{op}: padding {pads} and output_padding {extra} must be non-negative")
    if any(e >= s and e >= d for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(
            f"{op}: output_padding {extra} must be smaller than either stride {stride} or "
            f"dilation {dilation}"
        )
    size = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + e + 1
        for n, s, p, d, k, e in zip(input._data.shape[-nd:], stride, pads, dilation, kernel, extra)
    )
    if any(n <= 0 for n in size):
        raise ValueError(f"{op}: output size {size} is too small, for input {shape_of(input)}")
    geom = geometry_2d(kernel, stride, tuple((p, p) for p in pads), dilation, groups)
    x, w = _lifted(nd, batched, input, weight)
    out = ConvTranspose2d.apply(x, w, geom, (1, *size) if nd == 1 else size)
    if bias is not None:
        out = out + bias.reshape(-1, 1, 1)
    return _lowered(out, nd, batched)


@register(ConvTranspose2d)
def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """2-D transposed convolution: conv2d's input gradient. Same as ``torch.conv_transpose2d``."""
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


@register()
def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """1-D transposed convolution. Same as ``torch.conv_transpose1d``."""
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


@register(Conv2dWeightGrad, export=False)
def _conv2d_weight_grad(
    input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1
) -> Tensor:
    """Gradient of conv2d w.r.t. its weight. Same as ``torch.nn.grad.conv2d_weight``."""
    op = "conv2d_weight"
    kernel = ints(tuple(weight_size)[2:], 2, "kernel size", op)
    stride = ints(stride, 2, "stride", op)
    dilation = ints(dilation, 2, "dilation", op)
    pairs = _conv_pads(op, padding, kernel, stride, dilation)
    geom = geometry_2d(kernel, stride, pairs, dilation, int(groups))
    positions = out_hw(input._data.shape[-2:], geom)
    if positions != tuple(grad_output._data.shape[-2:]):
        raise ValueError(
            f"{op}: grad_output of shape {shape_of(grad_output)} does not match the {positions} "
            f"positions of input of shape {shape_of(input)}"
        )
    return Conv2dWeightGrad.apply(input, grad_output, None, geom)
