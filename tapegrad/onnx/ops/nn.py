"""Rules for layers: linear and einsum, convolution (plain and transposed), pooling, pad,
and the fused normalization (layer norm, training-mode batch norm)."""

from __future__ import annotations

import math

import numpy as np

from tapegrad.nn.functional.conv import Conv2d, ConvTranspose2d
from tapegrad.nn.functional.linear import Linear
from tapegrad.nn.functional.normalization import NativeBatchNorm, NativeLayerNorm
from tapegrad.nn.functional.pooling import AvgPool2d, MaxPool2d, Pad
from tapegrad.onnx.graph import INT64_MAX
from tapegrad.onnx.ops.registry import rule
from tapegrad.onnx.ops.shape import cannot_compute
from tapegrad.ops import linalg as la


@rule(NativeLayerNorm, NativeBatchNorm)
def _standardize(g, call):
    # the Function's own numpy steps, in its order: mean, centred, biased var, scale, affine;
    # its outputs are the result, the mean and the var
    _, weight, bias, dims, eps = call.args
    x = call.x(0)
    mean = g.reduce("ReduceMean", x, dims, True)
    centred = g.op1("Sub", [x, mean])
    var = g.reduce("ReduceMean", g.op1("Mul", [centred, centred]), dims, True)
    scale = g.op1("Reciprocal", [g.op1("Sqrt", [g.op1("Add", [var, call.value(eps)])])])
    out = g.op1("Mul", [centred, scale])
    if weight is not None:
        out = g.op1("Mul", [out, call.x(1)])
    if bias is not None:
        out = g.op1("Add", [out, call.x(2)])
    return [out, mean, var]


@rule(la.MatMul)
def _matmul(g, call):
    return g.op1("MatMul", [call.x(0), call.x(1)])


@rule(Linear)
def _linear(g, call):
    x, w = call.x(0), call.x(1)
    bias = call.args[2]
    if len(call.shape(0)) == 2:
        inputs = [x, w] if bias is None else [x, w, call.x(2)]
        return g.op1("Gemm", inputs, transB=1)
    out = g.op1("MatMul", [x, g.op1("Transpose", [w], perm=[1, 0])])
    return out if bias is None else g.op1("Add", [out, call.x(2)])


@rule(la.Einsum)
def _einsum(g, call):
    operands = [call.x(i) for i in range(1, len(call.args))]
    return g.op1("Einsum", operands, equation=call.args[0])


def _window_attrs(geom) -> dict:
    top, bottom, left, right = geom.pads
    return {
        "kernel_shape": list(geom.kernel),
        "strides": list(geom.stride),
        "pads": [top, left, bottom, right],  # ONNX: all begins, then all ends
        "dilations": list(geom.dilation),
    }


@rule(Conv2d)
def _conv2d(g, call):
    bias, geom = call.args[2], call.args[3]
    inputs = [call.x(0), call.x(1)] + ([] if bias is None else [call.x(2)])
    return g.op1("Conv", inputs, group=int(geom.groups), **_window_attrs(geom))


@rule(ConvTranspose2d, sized=(3,))
def _conv_transpose2d(g, call):
    geom, hw = call.args[2], call.args[3]
    attrs = _window_attrs(geom)
    top, bottom, left, right = geom.pads
    # ONNX's size is stride (n - 1) + reach - pads + output_padding; torch's request (hw)
    # fixes output_padding, which stays the same whatever the input size
    extra = [
        size - (s * (n - 1) + d * (k - 1) + 1 - pads)
        for size, n, s, d, k, pads in zip(
            hw,
            call.shape(0)[-2:],
            geom.stride,
            geom.dilation,
            geom.kernel,
            (top + bottom, left + right),
        )
    ]
    inputs = [call.x(0), call.x(1)]
    return g.op1("ConvTranspose", inputs, group=int(geom.groups), output_padding=extra, **attrs)


@rule(MaxPool2d)
def _max_pool2d(g, call):
    # ceil_mode's overhang is already in geom.pads; ONNX pads a max pool with -inf too.
    # torch's indices (for backward) are per plane, ONNX's are not: they are not exported.
    out = g.op1("MaxPool", [call.x(0)], **_window_attrs(call.args[1]))
    return [out, None]


@rule(AvgPool2d)
def _avg_pool2d(g, call):
    geom, scale = call.args[1], call.args[2]
    attrs = _window_attrs(geom)
    del attrs["dilations"]  # AveragePool has them only from opset 19; avg_pool2d has none
    out = g.op1("AveragePool", [call.x(0)], count_include_pad=1, **attrs)
    # AveragePool divides by the kernel area; torch's divisor may differ per position
    # (count_include_pad=False, ceil_mode, divisor_override), so rescale by area * scale
    factor = np.asarray(scale, dtype=call.out_dtype) * math.prod(geom.kernel)
    if np.allclose(factor, 1.0, rtol=1e-6, atol=0.0):
        return out
    if isinstance(scale, np.ndarray) and call.ctx.varies(scale):  # per position: by the size
        raise cannot_compute(call, "divisors per position")
    return g.op1("Mul", [out, g.const(factor)])


@rule(Pad)
def _pad(g, call):
    pairs = call.args[1]
    begins, ends = [lo for lo, _ in pairs], [hi for _, hi in pairs]
    x = call.x(0)
    if min(begins + ends) < 0:  # negative amounts crop: a Slice, then the non-negative pad
        starts = [max(0, -lo) for lo in begins]
        stops = [hi if hi < 0 else INT64_MAX for hi in ends]
        axes = list(range(len(pairs)))
        x = g.op1("Slice", [x, g.ints(starts), g.ints(stops), g.ints(axes)])
        begins, ends = [max(0, p) for p in begins], [max(0, p) for p in ends]
    if not any(begins + ends):
        return g.identity(x)
    value = call.x(2, dtype=call.out_dtype)
    return g.op1("Pad", [x, g.ints(begins + ends), value], mode="constant")
