"""Translation rules: one per Function class, each writing ONNX nodes for one recorded op.

A rule gets the GraphBuilder and the recorded Call and returns the value names of the op's
outputs (None for an output ONNX has no counterpart for). Shapes are written so that the axes
``dynamic_axes`` frees keep working: reshape targets copy leading dims with 0, slices run to
the end with INT64_MAX, and expand uses 1 where a dim is kept.
"""

from __future__ import annotations

import math

import numpy as np

from tapegrad.nn.functional import activation as act
from tapegrad.nn.functional.conv import Conv2d
from tapegrad.nn.functional.linear import Linear
from tapegrad.nn.functional.pooling import AvgPool2d, MaxPool2d
from tapegrad.onnx.graph import INT64_MAX, GraphBuilder
from tapegrad.ops import arithmetic as ar
from tapegrad.ops import conversion as cv
from tapegrad.ops import elementwise as el
from tapegrad.ops import indexing as ix
from tapegrad.ops import linalg as la
from tapegrad.ops import reduction as rd
from tapegrad.ops import shape as sh

RULES: dict = {}


def rule(*classes):
    """Register the decorated function as the rule for each Function class."""

    def decorate(fn):
        for cls in classes:
            RULES[cls] = fn
        return fn

    return decorate


def translate(g: GraphBuilder, names, call) -> None:
    """Write ``call``'s nodes and bind its outputs' value names."""
    fn = RULES.get(call.fn)
    if fn is None:
        name = getattr(call.fn, "graph_name", call.fn.__name__)
        raise NotImplementedError(f"tg.onnx.export: no ONNX mapping for op {name} ({call.where()})")
    call.names = names
    result = fn(g, call)
    values = [result] if isinstance(result, str) else list(result)
    for out, value in zip(call.outputs, values):
        names.bind(out, value)


# --- elementwise ---------------------------------------------------------------------------

_UNARY = {
    el.Exp: "Exp",
    el.Log: "Log",
    el.Sqrt: "Sqrt",
    el.Abs: "Abs",
    el.Tanh: "Tanh",
    el.Sigmoid: "Sigmoid",
    el.Relu: "Relu",
    el.Sin: "Sin",
    el.Cos: "Cos",
    el.Tan: "Tan",
    el.Asin: "Asin",
    el.Acos: "Acos",
    el.Atan: "Atan",
    el.Sinh: "Sinh",
    el.Cosh: "Cosh",
    el.Erf: "Erf",
    el.Sign: "Sign",
    el.Floor: "Floor",
    el.Ceil: "Ceil",
    el.Round: "Round",
    el.Reciprocal: "Reciprocal",
    ar.Neg: "Neg",
    cv.Clone: "Identity",
}
_BINARY = {
    ar.Add: "Add",
    ar.Sub: "Sub",
    ar.Mul: "Mul",
    ar.Div: "Div",
    ar.Pow: "Pow",
    el.Maximum: "Max",
    el.Minimum: "Min",
    la.MatMul: "MatMul",
}


def _input_as_float(g: GraphBuilder, call) -> str:
    """Argument 0, cast to the output dtype when an int tensor goes into a float op."""
    x = call.x(0)
    if call.args[0]._data.dtype != call.out_dtype:
        return g.op1("Cast", [x], to=_onnx_dtype(g, call.out_dtype))
    return x


def _onnx_dtype(g: GraphBuilder, dtype) -> int:
    return g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


@rule(*_UNARY)
def _unary(g, call):
    return g.op1(_UNARY[call.fn], [_input_as_float(g, call)])


@rule(*_BINARY)
def _binary(g, call):
    return g.op1(_BINARY[call.fn], [call.x(0), call.x(1)])


@rule(el.Rsqrt)
def _rsqrt(g, call):
    return g.op1("Reciprocal", [g.op1("Sqrt", [_input_as_float(g, call)])])


@rule(el.Square)
def _square(g, call):
    x = call.x(0)
    return g.op1("Mul", [x, x])


@rule(el.Log1p)
def _log1p(g, call):
    return g.op1("Log", [g.op1("Add", [_input_as_float(g, call), call.value(1.0)])])


@rule(el.Expm1)
def _expm1(g, call):
    return g.op1("Sub", [g.op1("Exp", [_input_as_float(g, call)]), call.value(1.0)])


@rule(el.Clamp)
def _clamp(g, call):
    _, lo, hi = call.args
    bounds = ["" if b is None else call.value(b) for b in (lo, hi)]
    return g.op1("Clip", [call.x(0), *bounds])


@rule(el.Where)
def _where(g, call):
    return g.op1("Where", [call.x(0), call.x(1), call.x(2)])


@rule(cv.Cast)
def _cast(g, call):
    return g.op1("Cast", [call.x(0)], to=_onnx_dtype(g, call.out_dtype))


# --- nn activations ------------------------------------------------------------------------


@rule(act.LeakyRelu)
def _leaky_relu(g, call):
    return g.op1("LeakyRelu", [call.x(0)], alpha=float(call.kwargs["negative_slope"]))


@rule(act.Hardtanh)
def _hardtanh(g, call):
    o = call.kwargs
    return g.op1("Clip", [call.x(0), call.value(o["min_val"]), call.value(o["max_val"])])


@rule(act.Elu)
def _elu(g, call):
    # elu, selu and celu share one Function: scale * x above 0, scale * alpha *
    # (exp(input_scale * x) - 1) below; celu is the case alpha * input_scale = 1
    o = call.kwargs
    alpha, scale, input_scale = float(o["alpha"]), float(o["scale"]), float(o["input_scale"])
    if input_scale == 1.0:
        out = g.op1("Elu", [call.x(0)], alpha=alpha)
    elif math.isclose(alpha * input_scale, 1.0, rel_tol=1e-12):
        out = g.op1("Celu", [call.x(0)], alpha=alpha)
    else:
        raise NotImplementedError(
            f"tg.onnx.export: no ONNX mapping for Elu with alpha={alpha} and "
            f"input_scale={input_scale} ({call.where()})"
        )
    return out if scale == 1.0 else g.op1("Mul", [out, call.value(scale)])


@rule(act.Gelu)
def _gelu(g, call):
    x = call.x(0)
    if call.kwargs["approximate"] == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.op1("Mul", [g.op1("Mul", [x, x]), x])
        inner = g.op1("Add", [x, g.op1("Mul", [cube, call.value(0.044715)])])
        scaled = g.op1("Mul", [inner, call.value(math.sqrt(2.0 / math.pi))])
        gate = g.op1("Tanh", [scaled])
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        gate = g.op1("Erf", [g.op1("Mul", [x, call.value(1.0 / math.sqrt(2.0))])])
    half = g.op1("Mul", [x, call.value(0.5)])
    return g.op1("Mul", [half, g.op1("Add", [gate, call.value(1.0)])])


@rule(act.Silu)
def _silu(g, call):
    x = call.x(0)
    return g.op1("Mul", [x, g.op1("Sigmoid", [x])])


@rule(act.Mish)
def _mish(g, call):
    x = call.x(0)
    return g.op1("Mul", [x, g.op1("Tanh", [g.op1("Softplus", [x])])])


@rule(act.Softplus)
def _softplus(g, call):
    # torch: log(1 + exp(beta x)) / beta, and x itself where beta x > threshold
    beta, threshold = call.kwargs["beta"], call.kwargs["threshold"]
    x = call.x(0)
    bx = g.op1("Mul", [x, call.value(beta)])
    soft = g.op1("Div", [g.op1("Softplus", [bx]), call.value(beta)])
    linear = g.op1("Greater", [bx, call.value(threshold)])
    return g.op1("Where", [linear, x, soft])


@rule(act.LogSigmoid)
def _log_sigmoid(g, call):
    return g.op1("Neg", [g.op1("Softplus", [g.op1("Neg", [call.x(0)])])])


@rule(act.Hardsigmoid)
def _hardsigmoid(g, call):
    return g.op1("HardSigmoid", [call.x(0)], alpha=1.0 / 6.0, beta=0.5)


@rule(act.Hardswish)
def _hardswish(g, call):
    return g.op1("HardSwish", [call.x(0)])


@rule(act.Softmax, act.LogSoftmax)
def _softmax(g, call):
    op = "Softmax" if call.fn is act.Softmax else "LogSoftmax"
    if not call.shape(0):  # a 0-d softmax is 1 (log: 0), but ONNX needs an axis
        x = g.op1("Unsqueeze", [call.x(0), g.ints([0])])
        return g.op1("Squeeze", [g.op1(op, [x], axis=0), g.ints([0])])
    return g.op1(op, [call.x(0)], axis=int(call.args[1]))


# --- linear layers, convolution and pooling ------------------------------------------------


@rule(Linear)
def _linear(g, call):
    x, w = call.x(0), call.x(1)
    bias = call.args[2]
    if len(call.shape(0)) == 2:
        inputs = [x, w] if bias is None else [x, w, call.x(2)]
        return g.op1("Gemm", inputs, transB=1)
    out = g.op1("MatMul", [x, g.op1("Transpose", [w], perm=[1, 0])])
    return out if bias is None else g.op1("Add", [out, call.x(2)])


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
    return g.op1("Mul", [out, g.const(factor, call.out_dtype)])


# --- reductions ----------------------------------------------------------------------------

_REDUCE = {
    rd.Sum: "ReduceSum",
    rd.Mean: "ReduceMean",
    rd.Amax: "ReduceMax",
    rd.Amin: "ReduceMin",
    rd.Prod: "ReduceProd",
    rd.Logsumexp: "ReduceLogSumExp",
}


@rule(*_REDUCE)
def _reduce(g, call):
    x = call.x(0)
    if call.fn is rd.Sum and call.args[0]._data.dtype != call.out_dtype:
        x = g.op1("Cast", [x], to=_onnx_dtype(g, call.out_dtype))
    return g.reduce(_REDUCE[call.fn], x, call.args[1], call.args[2])


@rule(rd.Var, rd.Std)
def _variance(g, call):
    # sum((x - mean)^2) / divisor: the two-pass formula tapegrad itself uses
    _, dims, keepdim, divisor = call.args
    x = call.x(0)
    mean = g.reduce("ReduceMean", x, dims, True)
    diff = g.op1("Sub", [x, mean])
    total = g.reduce("ReduceSum", g.op1("Mul", [diff, diff]), dims, keepdim)
    out = g.op1("Div", [total, call.value(divisor)])
    return g.op1("Sqrt", [out]) if call.fn is rd.Std else out


# --- shapes --------------------------------------------------------------------------------


def _without_ones(shape) -> list:
    return [n for n in shape if n != 1]


@rule(sh.Reshape)
def _reshape(g, call):
    x = call.x(0)
    old, new = call.shape(0), call.out_shape
    if old == new:
        return g.identity(x)
    if _without_ones(old) == _without_ones(new):
        # squeeze/unsqueeze: axes only, so every other dim (a dynamic batch too) carries over
        ones = [i for i, n in enumerate(old) if n == 1]
        if ones:
            x = g.op1("Squeeze", [x, g.ints(ones)])
        added = [i for i, n in enumerate(new) if n == 1]
        return g.op1("Unsqueeze", [x, g.ints(added)]) if added else g.identity(x)
    # copy the leading dims that stay (0 in ONNX) and let the first changed dim be -1, so a
    # dynamic batch in front, or folded into the first changed dim, still fits
    target = []
    for i, n in enumerate(new):
        if len(target) == i and i < len(old) and old[i] == n and -1 not in target:
            target.append(0)
        elif -1 not in target:
            target.append(-1)
        else:
            target.append(n)
    return g.op1("Reshape", [x, g.ints(target)])


@rule(sh.Permute)
def _permute(g, call):
    return g.op1("Transpose", [call.x(0)], perm=[int(a) for a in call.args[1]])


@rule(sh.Expand)
def _expand(g, call):
    old, new = call.shape(0), call.out_shape
    # a kept dim is written as 1 (Expand broadcasts both ways), so it may be dynamic
    aligned = (None,) * (len(new) - len(old)) + tuple(old)
    target = [1 if a == n else n for a, n in zip(aligned, new)]
    return g.op1("Expand", [call.x(0), g.ints(target)])


@rule(sh.Cat)
def _cat(g, call):
    inputs = [call.x(i) for i in range(len(call.args))]
    return g.op1("Concat", inputs, axis=int(call.kwargs["dim"]))


@rule(sh.Split)
def _split(g, call):
    sizes, dim = call.args[1], call.args[2]
    return g.op("Split", [call.x(0), g.ints(sizes)], len(sizes), axis=int(dim))


@rule(sh.Repeat)
def _repeat(g, call):
    repeats = [int(r) for r in call.args[1]]
    x = call.x(0)
    extra = len(repeats) - len(call.shape(0))
    if extra:
        x = g.op1("Unsqueeze", [x, g.ints(range(extra))])
    return g.op1("Tile", [x, g.ints(repeats)])


@rule(sh.Flip)
def _flip(g, call):
    x = call.x(0)
    dims = list(call.args[1])
    n = len(dims)
    starts, ends, steps = g.ints([-1] * n), g.ints([-INT64_MAX] * n), g.ints([-1] * n)
    return g.op1("Slice", [x, starts, ends, g.ints(dims), steps])


# --- indexing ------------------------------------------------------------------------------


def _basic_index(g, x: str, entries, ndim: int) -> str:
    """x[entries] for ints, slices, None and Ellipsis: Slice, Gather of a scalar, Unsqueeze."""
    used = sum(1 for e in entries if isinstance(e, (int, slice)))
    axis = 0
    for e in entries:
        if e is Ellipsis:
            axis += ndim - used
        elif e is None:
            x = g.op1("Unsqueeze", [x, g.ints([axis])])
            axis += 1
        elif isinstance(e, int):
            x = g.op1("Gather", [x, g.const(np.int64(e))], axis=axis)  # drops the axis
        else:
            step = 1 if e.step is None else e.step
            if (e.start, e.stop, step) != (None, None, 1):
                start = 0 if e.start is None else e.start
                stop = INT64_MAX if e.stop is None else e.stop
                inputs = [x, g.ints([start]), g.ints([stop]), g.ints([axis]), g.ints([step])]
                x = g.op1("Slice", inputs)
            axis += 1
    return x


def _is_full(e) -> bool:
    return e is Ellipsis or (isinstance(e, slice) and e == slice(None))


@rule(ix.GetItem, ix.IndexSelect, ix.Select)
def _getitem(g, call):
    x = call.x(0)
    index = call.args[1]
    ndim = len(call.shape(0))
    if index.pre is not None:
        ndim -= sum(1 for e in index.pre if isinstance(e, int))
        x = _basic_index(g, x, index.pre, len(call.shape(0)))
    if index.basic:
        return _basic_index(g, x, index.post, ndim)
    arrays = [i for i, e in enumerate(index.post) if isinstance(e, np.ndarray)]
    rest_full = all(_is_full(e) for i, e in enumerate(index.post) if i not in arrays)
    if len(arrays) != 1 or any(e is Ellipsis for e in index.post) or not rest_full:
        raise NotImplementedError(
            "tg.onnx.export: only basic indexing (ints, slices, None, ...) and one integer "
            f"tensor among full slices export, got an index {_describe(index.post)} "
            f"({call.where()})"
        )
    axis = arrays[0]
    return g.op1("Gather", [x, call.names.array(index.post[axis])], axis=axis)


def _describe(post) -> str:
    parts = []
    for e in post:
        parts.append(f"array{tuple(e.shape)}" if isinstance(e, np.ndarray) else repr(e))
    return "[" + ", ".join(parts) + "]"
