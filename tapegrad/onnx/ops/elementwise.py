"""Rules for arithmetic and elementwise math: one ONNX op each, or a short composition."""

from __future__ import annotations

import math

from tapegrad.onnx.ops.registry import rule
from tapegrad.ops import arithmetic as ar
from tapegrad.ops import conversion as cv
from tapegrad.ops import elementwise as el
from tapegrad.tensor import Tensor

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
}


def as_out_dtype(g, call, i: int) -> str:
    """Argument ``i`` in the output dtype: an int tensor going into a float op is cast."""
    x = call.x(i)
    arg = call.args[i]
    if isinstance(arg, Tensor) and arg._data.dtype != call.out_dtype:
        return g.cast(x, call.out_dtype)
    return x


@rule(*_UNARY)
def _unary(g, call):
    return g.op1(_UNARY[call.fn], [as_out_dtype(g, call, 0)])


@rule(*_BINARY)
def _binary(g, call):
    return g.op1(_BINARY[call.fn], [as_out_dtype(g, call, 0), as_out_dtype(g, call, 1)])


@rule(el.Rsqrt)
def _rsqrt(g, call):
    return g.op1("Reciprocal", [g.op1("Sqrt", [as_out_dtype(g, call, 0)])])


@rule(el.Square)
def _square(g, call):
    x = as_out_dtype(g, call, 0)
    return g.op1("Mul", [x, x])


@rule(el.Log1p)
def _log1p(g, call):
    return g.op1("Log", [g.op1("Add", [as_out_dtype(g, call, 0), call.value(1.0)])])


@rule(el.Expm1)
def _expm1(g, call):
    return g.op1("Sub", [g.op1("Exp", [as_out_dtype(g, call, 0)]), call.value(1.0)])


@rule(el.Exp2)
def _exp2(g, call):
    return g.op1("Pow", [call.value(2.0), as_out_dtype(g, call, 0)])


@rule(el.Log2, el.Log10)
def _log_base(g, call):
    base = 2.0 if call.fn is el.Log2 else 10.0
    log = g.op1("Log", [as_out_dtype(g, call, 0)])
    return g.op1("Mul", [log, call.value(1.0 / math.log(base))])


@rule(el.Trunc)
def _trunc(g, call):
    # ONNX has no Trunc: floor of |x|, with x's sign back
    x = as_out_dtype(g, call, 0)
    return g.op1("Mul", [g.op1("Sign", [x]), g.op1("Floor", [g.op1("Abs", [x])])])


@rule(ar.Remainder)
def _remainder(g, call):
    x, y = as_out_dtype(g, call, 0), as_out_dtype(g, call, 1)
    if call.out_dtype.kind != "f":
        return g.op1("Mod", [x, y], fmod=0)  # integer Mod takes the divisor's sign, as %
    # float Mod must be C's fmod in ONNX; Python's % is x - floor(x / y) * y
    floor = g.op1("Floor", [g.op1("Div", [x, y])])
    return g.op1("Sub", [x, g.op1("Mul", [floor, y])])


@rule(el.Clamp)
def _clamp(g, call):
    bounds = ["" if call.args[i] is None else call.x(i) for i in (1, 2)]
    return g.op1("Clip", [call.x(0), *bounds])


@rule(el.Where)
def _where(g, call):
    x, y = as_out_dtype(g, call, 1), as_out_dtype(g, call, 2)
    if x == y:  # where(mask, out.detach(), out), as embedding's padding_idx: just the value
        return g.identity(x)
    return g.op1("Where", [call.x(0), x, y])


@rule(cv.Cast)
def _cast(g, call):
    return g.cast(call.x(0), call.out_dtype)
