"""Rules for reductions: Reduce*, variance, norms, max/min along a dim, argmax, cumsum."""

from __future__ import annotations

import math

from tapegrad.onnx.ops.registry import arguments, rule
from tapegrad.ops import linalg as la
from tapegrad.ops import reduction as rd
from tapegrad.ops._args import dim_index, dims_tuple

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
    if call.dtype(0) != call.out_dtype:
        x = g.cast(x, call.out_dtype)
    return g.reduce(_REDUCE[call.fn], x, call.args[1], call.args[2])


@rule(rd.Var, rd.Std)
def _variance(g, call):
    # sum((x - mean)^2) / divisor: the two-pass formula tapegrad itself uses
    _, dims, keepdim, _ = call.args
    x = call.x(0)
    mean = g.reduce("ReduceMean", x, dims, True)
    diff = g.op1("Sub", [x, mean])
    total = g.reduce("ReduceSum", g.op1("Mul", [diff, diff]), dims, keepdim)
    out = g.op1("Div", [total, call.x(3)])  # the divisor may follow a dynamic axis
    return g.op1("Sqrt", [out]) if call.fn is rd.Std else out


@rule(rd.Norm, la.VectorNorm)
def _norm(g, call):
    _, p, dims, keepdim = call.args
    x = call.x(0)
    if p == 2:
        return g.reduce("ReduceL2", x, dims, keepdim)
    if p == 1:
        return g.reduce("ReduceL1", x, dims, keepdim)
    if math.isinf(p):
        return g.reduce("ReduceMax" if p > 0 else "ReduceMin", g.op1("Abs", [x]), dims, keepdim)
    if p == 0:  # the number of non-zeros
        nonzero = g.op1("Not", [g.op1("Equal", [x, call.value(0.0)])])
        return g.reduce("ReduceSum", g.cast(nonzero, call.out_dtype), dims, keepdim)
    powered = g.op1("Pow", [g.op1("Abs", [x]), call.value(p)])
    total = g.reduce("ReduceSum", powered, dims, keepdim)
    return g.op1("Pow", [total, call.value(1.0 / p)])


def _at_least_1d(g, call, x: str) -> str:
    """A 0-d input as shape (1,): numpy reduces a 0-d array over its one element."""
    return g.op1("Reshape", [x, g.ints([1])]) if not call.shape(0) else x


@rule(rd.MaxDim, rd.MinDim)
def _extreme_along(g, call):
    _, dim, keepdim = call.args
    x = _at_least_1d(g, call, call.x(0))
    keep = int(bool(keepdim)) if call.shape(0) else 0
    values = g.reduce("ReduceMax" if call.fn is rd.MaxDim else "ReduceMin", x, [dim], keep)
    pick = "ArgMax" if call.fn is rd.MaxDim else "ArgMin"
    return [values, g.op1(pick, [x], axis=int(dim), keepdims=keep)]  # the first extreme, as numpy


@rule("argmax", "argmin")
def _arg_extreme(g, call):
    a = arguments(call)
    x = call.value(a["input"])
    ndim = len(call.shape(0))
    pick = "ArgMax" if call.fn == "argmax" else "ArgMin"
    if a["dim"] is None:  # over the flattened input
        flat = g.op1(pick, [g.op1("Reshape", [x, g.ints([-1])])], axis=0, keepdims=0)
        shape = [1] * ndim if a["keepdim"] else []
        return g.op1("Reshape", [flat, g.ints(shape)])
    dim = dim_index(a["dim"], ndim, call.fn)
    return g.op1(pick, [_at_least_1d(g, call, x)], axis=dim, keepdims=int(bool(a["keepdim"])))


@rule("all", "any")
def _all_any(g, call):
    # a min (all) or max (any) of "x != 0" as int32: Reduce* takes no bools
    a = arguments(call)
    x = call.value(a["input"])
    nonzero = g.op1("Not", [g.op1("Equal", [x, call.value(0, call.dtype(0))])])
    dims = dims_tuple(a["dim"], len(call.shape(0)), call.fn)
    op = "ReduceMin" if call.fn == "all" else "ReduceMax"
    reduced = g.reduce(op, g.cast(nonzero, "int32"), dims, a["keepdim"])
    return g.cast(reduced, call.out_dtype)


@rule(rd.Cumsum)
def _cumsum(g, call):
    x = _at_least_1d(g, call, call.x(0))
    out = g.op1("CumSum", [x, g.const(call.args[1], "int64")])
    return g.op1("Reshape", [out, g.ints([])]) if not call.shape(0) else out
