"""Whole-module rules: a LayerNorm or an eval-mode BatchNorm call becomes one ONNX node.

Their forwards are composites (mean, var, rsqrt, ...), which the op rules export exactly; a
fused node is smaller and is what ONNX runtimes optimise. The ops of one module call share
one scope object (``node.modules``), which is how a call's ops are found.
"""

from __future__ import annotations

import numpy as np

from tapegrad.nn.modules.normalization import LayerNorm, _BatchNorm


def fusable(module) -> bool:
    """Whether a call of ``module`` exports as one node."""
    if isinstance(module, LayerNorm):
        return True
    if isinstance(module, _BatchNorm):
        return not module.training and module.running_mean is not None
    return False


def _input(names, calls) -> object:
    """The call's input: the first tensor argument made outside the module call."""
    for call in calls:
        for arg in call.args:
            if names.has(arg):
                return arg
    raise NotImplementedError(
        f"tg.onnx.export: cannot find the input of {type(calls[0].scope[-1]).__name__} "
        f"({calls[0].where()})"
    )


def translate_module(ctx, module, calls) -> None:
    """Write one node for the module call made of ``calls``; bind its output."""
    for call in calls:
        ctx.prepare(call)
    g, names = ctx.graph, ctx.names
    x = _input(names, calls)
    dtype = x._data.dtype
    out_tensor = calls[-1].outputs[0]
    if isinstance(module, LayerNorm):
        shape = module.normalized_shape
        scale = (
            names.of(module.weight) if module.weight is not None else g.const(np.ones(shape, dtype))
        )
        inputs = [names.of(x), scale]
        if module.bias is not None:
            inputs.append(names.of(module.bias))
        out = g.op1("LayerNormalization", inputs, axis=-len(shape), epsilon=float(module.eps))
    else:
        channels = module.num_features
        scale = (
            names.of(module.weight)
            if module.weight is not None
            else g.const(np.ones(channels, dtype))
        )
        bias = (
            names.of(module.bias) if module.bias is not None else g.const(np.zeros(channels, dtype))
        )
        mean = names.of(module.running_mean)
        var = names.of(module.running_var)
        inputs = [names.of(x), scale, bias, mean, var]
        out = g.op1("BatchNormalization", inputs, epsilon=float(module.eps))
    for call in calls:
        for t in call.outputs:
            names.missing(t, f"a value inside a fused {type(module).__name__} call")
    names.bind(out_tensor, out)
