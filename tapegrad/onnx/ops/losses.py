"""Rules for the losses with a Function of their own: NLL, cross entropy with class
indices, mean squared error without weights, and binary cross entropy.

The other losses (weighted mse, l1, smooth_l1, huber, kl_div, cross entropy with
probabilities or label smoothing) are composites: they export as the ops they record.
"""

from __future__ import annotations

from tapegrad.nn.functional import loss
from tapegrad.onnx.ops.registry import rule


@rule(loss.MseLoss)
def _mse_loss(g, call):
    # the fused square and reduction; the subtraction before it is a node of its own
    x = call.x(0)
    squared = g.op1("Mul", [x, x])
    reduction = call.args[1]
    if reduction == "none":
        return squared
    return g.reduce("ReduceMean" if reduction == "mean" else "ReduceSum", squared, None, False)


@rule(loss.NllLoss)
def _nll_loss(g, call):
    return _negative_log_likelihood(g, call, call.x(0))


@rule(loss.CrossEntropy)
def _cross_entropy(g, call):
    # the fused Function's outputs: the loss, and the log-softmax it saves for backward
    log_probs = g.op1("LogSoftmax", [call.x(0)], axis=1)
    return [_negative_log_likelihood(g, call, log_probs), log_probs]


def _negative_log_likelihood(g, call, log_probs: str) -> str:
    # ONNX's NegativeLogLikelihoodLoss is torch's: the mean divides by the summed weights
    # of the targets that are not ignored
    o = call.kwargs
    inputs = [log_probs, call.array(o["target"])]
    if o["weight"] is not None:
        inputs.append(call.fixed(o["weight"], call.out_dtype))
    return g.op1(
        "NegativeLogLikelihoodLoss",
        inputs,
        reduction=o["reduction"],
        ignore_index=int(o["ignore_index"]),
    )


@rule(loss.BinaryCrossEntropy)
def _binary_cross_entropy(g, call):
    # (y - 1) max(log(1 - x), -100) - y max(log(x), -100): torch clamps each log at -100
    x, y = call.x(0), call.x(1)
    one, floor = call.value(1.0), call.value(-100.0)
    log_x = g.op1("Max", [g.op1("Log", [x]), floor])
    log_rest = g.op1("Max", [g.op1("Log", [g.op1("Sub", [one, x])]), floor])
    negative = g.op1("Mul", [g.op1("Sub", [y, one]), log_rest])
    return g.op1("Sub", [negative, g.op1("Mul", [y, log_x])])


@rule(loss.BinaryCrossEntropyWithLogits)
def _binary_cross_entropy_with_logits(g, call):
    # (1 - y) x + lw softplus(-x), lw = 1 + (pos_weight - 1) y
    x, y = call.x(0), call.x(1)
    one = call.value(1.0)
    linear = g.op1("Mul", [g.op1("Sub", [one, y]), x])
    soft = g.op1("Softplus", [g.op1("Neg", [x])])
    if call.args[2] is not None:
        weight = g.op1("Sub", [call.x(2), one])
        soft = g.op1("Mul", [g.op1("Add", [one, g.op1("Mul", [weight, y])]), soft])
    return g.op1("Add", [linear, soft])
