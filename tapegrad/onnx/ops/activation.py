"""Rules for the nn activations and softmax: ONNX's own op where its formula is torch's."""

from __future__ import annotations

import math

from tapegrad.nn.functional import activation as act
from tapegrad.onnx.ops.registry import rule


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
    x = call.x(0)
    if g.opset < 14:  # HardSwish arrived in opset 14: x * hardsigmoid(x)
        return g.op1("Mul", [x, g.op1("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)])
    return g.op1("HardSwish", [x])


@rule(act.Softmax, act.LogSoftmax)
def _softmax(g, call):
    op = "Softmax" if call.fn is act.Softmax else "LogSoftmax"
    if not call.shape(0):  # a 0-d softmax is 1 (log: 0), but ONNX needs an axis
        x = g.op1("Unsqueeze", [call.x(0), g.ints([0])])
        return g.op1("Squeeze", [g.op1(op, [x], axis=0), g.ints([0])])
    return g.op1(op, [call.x(0)], axis=int(call.args[1]))
