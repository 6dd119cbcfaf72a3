"""Rules for the plain ops without a gradient: comparisons, logic, tests, floor division.

These run no Function; the registry reports them to the export tracer, and their
arguments are the ones the user passed (a Python number stays a number).
"""

from __future__ import annotations

import numpy as np

from tapegrad.onnx.ops.registry import arguments, rule
from tapegrad.ops._args import operands
from tapegrad.tensor import Tensor, _make

_COMPARE = {
    "eq": "Equal",
    "lt": "Less",
    "le": "LessOrEqual",
    "gt": "Greater",
    "ge": "GreaterOrEqual",
}
_BITWISE = {"bitwise_and": "And", "bitwise_or": "Or", "bitwise_xor": "Xor"}


def _stand_in(v):
    """A tensor of ``v``'s dtype and rank, for tapegrad's own promotion rules."""
    if isinstance(v, Tensor):
        return _make(np.zeros((1,) * v._data.ndim, v._data.dtype))
    return v


def promoted(g, call) -> tuple[str, str, np.dtype]:
    """Both operands of a binary plain op, cast to the dtype tapegrad computes in."""
    a = arguments(call)
    x, y = (a[k] for k in list(a)[:2])
    px, py = operands(_stand_in(x), _stand_in(y), call.fn)
    dtype = (px if isinstance(px, Tensor) else py)._data.dtype
    values = []
    for original in (x, y):
        if isinstance(original, Tensor):
            value = call.value(original)
            if original._data.dtype != dtype:
                value = g.cast(value, dtype)
        else:
            value = call.value(original, dtype)
        values.append(value)
    return values[0], values[1], dtype


@rule(*_COMPARE, "ne")
def _compare(g, call):
    x, y, _ = promoted(g, call)
    if call.fn == "ne":
        return g.op1("Not", [g.op1("Equal", [x, y])])
    return g.op1(_COMPARE[call.fn], [x, y])


@rule(*_BITWISE)
def _bitwise(g, call):
    x, y, dtype = promoted(g, call)
    if dtype == np.bool_:
        return g.op1(_BITWISE[call.fn], [x, y])
    _needs_opset_18(g, call)
    return g.op1("Bitwise" + _BITWISE[call.fn], [x, y])


@rule("bitwise_not")
def _bitwise_not(g, call):
    if call.dtype(0) == np.bool_:
        return g.op1("Not", [call.x(0)])
    _needs_opset_18(g, call)
    return g.op1("BitwiseNot", [call.x(0)])


def _needs_opset_18(g, call) -> None:
    if g.opset < 18:
        raise NotImplementedError(
            f"tg.onnx.export: {call.name} on integers needs opset_version 18 or later "
            f"({call.where()})"
        )


def _truth(g, call, v) -> str:
    """``v != 0`` as a bool value: the meaning of a number in logical_and/or/not."""
    if isinstance(v, Tensor) and v._data.dtype == np.bool_:
        return call.value(v)
    dtype = v._data.dtype if isinstance(v, Tensor) else np.asarray(v).dtype
    return g.op1("Not", [g.op1("Equal", [call.value(v, dtype), call.value(0, dtype)])])


@rule("logical_and", "logical_or")
def _logical(g, call):
    a = arguments(call)
    op = "And" if call.fn == "logical_and" else "Or"
    return g.op1(op, [_truth(g, call, a["input"]), _truth(g, call, a["other"])])


@rule("logical_not")
def _logical_not(g, call):
    return g.op1("Not", [_truth(g, call, call.args[0])])


@rule("isnan")
def _isnan(g, call):
    return g.op1("IsNaN", [call.x(0)])


@rule("isinf")
def _isinf(g, call):
    return g.op1("IsInf", [call.x(0)])


@rule("isfinite")
def _isfinite(g, call):
    x = call.x(0)
    return g.op1("Not", [g.op1("Or", [g.op1("IsNaN", [x]), g.op1("IsInf", [x])])])


@rule("isclose")
def _isclose(g, call):
    # |x - y| <= atol + rtol |y|, or equal (infinities), or both NaN with equal_nan
    a = arguments(call)
    x, y, dtype = promoted(g, call)
    gap = g.op1("Abs", [g.op1("Sub", [x, y])])
    scaled = g.op1("Mul", [g.op1("Abs", [y]), call.value(a["rtol"], dtype)])
    allowed = g.op1("Add", [scaled, call.value(a["atol"], dtype)])
    out = g.op1("Or", [g.op1("LessOrEqual", [gap, allowed]), g.op1("Equal", [x, y])])
    if a["equal_nan"]:
        both = g.op1("And", [g.op1("IsNaN", [x]), g.op1("IsNaN", [y])])
        out = g.op1("Or", [out, both])
    return out


@rule("floor_divide")
def _floor_divide(g, call):
    x, y, dtype = promoted(g, call)
    if dtype.kind == "f":
        return g.op1("Floor", [g.op1("Div", [x, y])])
    # integer Div truncates; taking away Python's remainder (Mod with fmod=0) makes it exact
    rest = g.op1("Mod", [x, y], fmod=0)
    return g.op1("Div", [g.op1("Sub", [x, rest]), y])
