"""F.* losses: classification (nll, cross entropy, BCE, KL) and regression (MSE, L1, Huber).

Every loss is finite at any finite input: cross entropy goes through log_softmax, BCE clamps
its logs as torch does, and BCE with logits never exponentiates a positive number.
"""

from __future__ import annotations

import warnings

import numpy as np

from tapegrad.autograd.function import Function
from tapegrad.nn.functional.activation import (
    _softmax_input,
    log_softmax,
    log_softmax_array,
    logsigmoid,
)
from tapegrad.ops.elementwise import clamp, exp, log, log1p, sigmoid, where
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]

_REDUCTIONS = ("none", "mean", "sum")


# --- reductions, with torch's legacy size_average/reduce flags --------------------------------


def _legacy_reduction(size_average, reduce) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
        "instead.",
        stacklevel=3,
    )
    return reduction


def _reduction(size_average, reduce, reduction: str, extra: tuple = ()) -> str:
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    if reduction not in _REDUCTIONS + extra:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_tensors(op: str, **tensors) -> None:
    for name, value in tensors.items():
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(value).__name__}")


# --- negative log likelihood and cross entropy -----------------------------------------------


class NllLoss(Function):
    """-weight[t] * input[n, t, ...] per target element, ignored targets 0, then reduced."""

    # Its own Function: the mean divides by the summed weights of the targets that are not
    # ignored, and torch gives a NaN loss but a zero gradient when every target is ignored,
    # which a gather followed by sum / total cannot do (0 * inf = NaN in its backward).

    raw_backward = True

    @staticmethod
    def forward(ctx, input, *, target, weight, ignore_index, reduction):
        x = input._data
        out, coef, index = _nll_array(x, target, weight, ignore_index, reduction)
        ctx.save_for_backward(coef, index, np.zeros((), x.dtype))
        ctx.x_shape = x.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        coef, index, zero = ctx.saved_tensors
        xp = ctx.xp
        # d/dx[n, t_n] = coef_n, 0 elsewhere
        zeros = xp.expand(zero, *ctx.x_shape)
        return xp.scatter_add(zeros, 1, index, xp.unsqueeze(coef * grad, 1))


class CrossEntropy(Function):
    """nll_loss(log_softmax(x, 1), target) for class indices, one node with two outputs."""

    # Its own Function: composed, cross entropy records LogSoftmax and NllLoss and runs a
    # scatter, a sum and a product in backward; fused, the gradient is one product and one
    # scatter of N values, with torch's numbers. The second output, log_softmax(x), is never
    # returned: it is saved, so that under create_graph the softmax in the gradient has a
    # derivative.

    raw_backward = True
    graph_name = "NllLoss"  # grad_fn.name() is torch's: NllLossBackward0

    @staticmethod
    def forward(ctx, x, *, target, weight, ignore_index, reduction):
        log_probs = log_softmax_array(x._data, 1)
        out, coef, index = _nll_array(log_probs, target, weight, ignore_index, reduction)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(coef, index, log_probs)
        return out, log_probs

    @staticmethod
    def backward(ctx, grad, grad_log_probs):
        coef, index, log_probs = ctx.saved_tensors
        xp = ctx.xp
        probs = xp.exp(log_probs)
        grad_x = None
        if grad is not None:
            per_target = xp.unsqueeze(coef * grad, 1)
            # log_softmax's J^T g = g - softmax * sum(g), where nll's g is per_target at the
            # target and 0 elsewhere (so sums to per_target)
            grad_x = xp.scatter_add(probs * -per_target, 1, index, per_target)
        if grad_log_probs is not None:  # only under create_graph: a path through probs
            extra = grad_log_probs - probs * xp.sum(grad_log_probs, 1, keepdim=True)
            grad_x = extra if grad_x is None else grad_x + extra
        return grad_x


def _nll_array(x: np.ndarray, target: np.ndarray, weight, ignore_index: int, reduction: str):
    """NLL of (N, C, ...) log-probabilities: the loss, d loss/d picked entry, its index."""
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    w = valid.astype(x.dtype) if weight is None else weight[safe] * valid
    w = w.astype(x.dtype, copy=False)
    index = safe[:, np.newaxis]  # (N, 1, d1, ...)
    if x.ndim == 2:  # plain indexing picks x[n, t_n]: take_along_axis costs Python frames
        picked = x[np.arange(len(safe)), safe]
    else:
        picked = np.take_along_axis(x, index, axis=1)[:, 0]
    losses = -w * picked
    coef = -w
    if reduction == "none":
        out = losses
    elif reduction == "sum":
        out = losses.sum()
    else:
        total = w.sum()
        out = losses.sum() / total  # 0 / 0 = NaN when every target is ignored, as torch
        coef = coef / total if total else np.zeros_like(w)
    return np.asarray(out, dtype=x.dtype), coef, index


@register(NllLoss, export=False)
def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log likelihood of class indices. Same as ``torch.nn.functional.nll_loss``."""
    _check_tensors("nll_loss", input=input, target=target, weight=weight)
    reduction = _reduction(size_average, reduce, reduction)
    return _nll(input, target, weight, ignore_index, reduction, "nll_loss")


def _nll(input, target, weight, ignore_index: int, reduction: str, op: str, fn=NllLoss):
    """``fn`` (NllLoss, or CrossEntropy on logits) of (N, C, ...) or (C,) input."""
    unbatched = input.dim() == 1
    if unbatched:  # (C,) with a 0-d target: a batch of one
        input, target = input.unsqueeze(0), target.reshape(1)
    targets = _class_targets(input, target, weight, ignore_index, op)
    weights = None if weight is None else weight.detach().numpy().astype(input.dtype, copy=False)
    out = fn.apply(
        input, target=targets, weight=weights, ignore_index=ignore_index, reduction=reduction
    )
    if fn is CrossEntropy:
        out = out[0]
    return out.reshape(()) if unbatched and reduction == "none" else out


def _shapes(x_shape: tuple, t_shape: tuple) -> str:
    return f"input shape {x_shape}, target shape {t_shape}"


def _class_targets(input: Tensor, target: Tensor, weight, ignore_index: int, op: str):
    """Check class-index targets against (N, C, d1, ...) input; return them as an array."""
    if input.dim() < 1:
        raise ValueError(f"{op}: input must have a class dim, got shape {tuple(input.shape)}")
    if input._data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point input, got dtype {input.dtype}")
    if target._data.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: expected class indices of an integer dtype as target, got dtype "
            f"{target.dtype} (shape {tuple(target.shape)} for input {tuple(input.shape)})"
        )
    x_shape, t_shape = input._data.shape, target._data.shape
    if not t_shape or x_shape[0] != t_shape[0]:
        batch = t_shape[0] if t_shape else "none"
        raise ValueError(
            f"Expected input batch_size ({x_shape[0]}) to match target batch_size "
            f"({batch}): {_shapes(x_shape, t_shape)}"
        )
    expected = (x_shape[0], *x_shape[2:])
    if t_shape != expected:
        raise RuntimeError(
            f"Expected target size {list(expected)}, got {list(t_shape)}: "
            f"{_shapes(x_shape, t_shape)}"
        )
    classes = x_shape[1]
    if weight is not None and tuple(weight.shape) != (classes,):
        raise RuntimeError(
            f"weight tensor should be defined either for all {classes} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)}"
        )
    values = target._data
    if (
        values.size
        and np.minimum.reduce(values, axis=None) >= 0
        and (np.maximum.reduce(values, axis=None) < classes)
    ):
        return values  # all in range, whatever ignore_index is: the common case, two reductions
    bad = (values != ignore_index) & ((values < 0) | (values >= classes))
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise IndexError(
            f"Target {values[position]} is out of bounds: {op} got "
            f"{_shapes(x_shape, t_shape)} ({classes} classes), bad target at index {position}"
        )
    return values


@register(export=False)
def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross entropy of logits against class indices or class probabilities, via log_softmax.

    Same as ``torch.nn.functional.cross_entropy``: finite at any finite logits.
    """
    _check_tensors("cross_entropy", input=input, target=target, weight=weight)
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.dim() == 1 else 1
    probabilities = input.dim() > 0 and tuple(target.shape) == tuple(input.shape)
    if label_smoothing == 0.0 and not probabilities and input.dim() > 0:
        _softmax_input(input, None, "log_softmax")  # its errors first, as the composite's
        return _nll(input, target, weight, ignore_index, reduction, "cross_entropy", CrossEntropy)
    log_probs = log_softmax(input, class_dim)
    if probabilities:
        return _cross_entropy_probs(
            log_probs, target, weight, ignore_index, reduction, label_smoothing, class_dim
        )
    nll = _nll(log_probs, target, weight, ignore_index, reduction, "cross_entropy")
    # torch: (1 - eps) * nll + eps / C * (-sum_c w_c log p_c), the second term masked and
    # averaged exactly as nll (divided by the summed weights of the targets not ignored)
    classes = input.shape[class_dim]
    smooth = -_class_weighted(log_probs, weight, class_dim).sum(class_dim)
    ignored = target == ignore_index
    smooth = smooth.masked_fill(ignored, 0.0)
    if reduction == "mean":
        valid = ~ignored._data
        if weight is None:
            total = valid.sum()
        else:
            total = (weight.detach().numpy()[np.where(valid, target._data, 0)] * valid).sum()
        smooth = smooth.sum() / float(total)
    else:
        smooth = _reduce(smooth, reduction)
    return (1 - label_smoothing) * nll + (label_smoothing / classes) * smooth


def _class_weighted(log_probs: Tensor, weight: Tensor | None, class_dim: int) -> Tensor:
    if weight is None:
        return log_probs
    shape = [1] * log_probs.dim()
    shape[class_dim] = weight.shape[0]
    return log_probs * weight.reshape(shape)


def _cross_entropy_probs(log_probs, target, weight, ignore_index, reduction, smoothing, dim):
    if target._data.dtype.kind != "f":
        raise RuntimeError(
            f"Expected floating point type for target with class probabilities, got {target.dtype}"
        )
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    classes = log_probs.shape[dim]
    if weight is not None and tuple(weight.shape) != (classes,):
        raise RuntimeError(
            f"weight tensor should be defined either for all {classes} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)}"
        )
    if smoothing > 0.0:
        target = target * (1 - smoothing) + smoothing / classes
    losses = -(_class_weighted(log_probs, weight, dim) * target).sum(dim)
    if reduction == "mean":  # over the batch elements, not the weights
        return losses.sum() / (log_probs.numel() / classes if log_probs.numel() else float("nan"))
    return _reduce(losses, reduction)


# --- binary cross entropy ----------------------------------------------------------------------


class BinaryCrossEntropy(Function):
    """-(y log x + (1 - y) log(1 - x)) elementwise, each log clamped to >= -100 as torch."""

    # Its own Function: built from log and clamp, an input of exactly 0 or 1 gets a NaN
    # gradient (clamp passes 0, log's derivative is inf), while torch's gradient
    # (x - y) / max(x (1 - x), 1e-12) stays finite.

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        x, y = x._data, y._data
        return (y - 1) * np.maximum(np.log1p(-x), -100) - y * np.maximum(np.log(x), -100)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_x = grad * (x - y) / clamp(x * (1 - x), min=1e-12)
        if ctx.needs_input_grad[1]:  # d/dy = log(1 - x) - log(x)
            grad_y = grad * (clamp(log1p(-x), min=-100) - clamp(log(x), min=-100))
        return grad_x, grad_y


@register(BinaryCrossEntropy, export=False)
def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross entropy of probabilities. Same as ``F.binary_cross_entropy``."""
    _check_tensors("binary_cross_entropy", input=input, target=target, weight=weight)
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    if input._data.dtype.kind != "f" or target._data.dtype.kind != "f":
        raise TypeError(
            f"binary_cross_entropy: expected floating point input and target, got dtypes "
            f"{input.dtype} and {target.dtype}"
        )
    for name, value in (("input", input), ("target", target)):
        data = value._data
        if not np.all((data >= 0) & (data <= 1)):
            raise RuntimeError(
                f"binary_cross_entropy: all elements of {name} should be between 0 and 1"
            )
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


class BinaryCrossEntropyWithLogits(Function):
    """(1 - y) x + lw softplus(-x) with lw = 1 + (pos_weight - 1) y: BCE of sigmoid(x)."""

    # Its own Function: as max(x, 0) - x y + log1p(exp(-|x|)), the kinks of max and |x| at
    # x = 0 cancel in value but not in the subgradients autograd adds (1 - y, not 1/2 - y).

    @staticmethod
    def forward(ctx, x, y, pos_weight):
        ctx.save_for_backward(x, y, pos_weight)
        x, y = x._data, y._data
        softplus_neg = np.logaddexp(0, -x)  # log(1 + e^-x), never exponentiates a positive
        log_weight = 1 if pos_weight is None else 1 + (pos_weight._data - 1) * y
        return (1 - y) * x + log_weight * softplus_neg

    @staticmethod
    def backward(ctx, grad):
        x, y, pos_weight = ctx.saved_tensors
        softplus_neg = -logsigmoid(x)
        grad_x = grad_y = grad_pos = None
        if ctx.needs_input_grad[0]:
            if pos_weight is None:
                grad_x = grad * (sigmoid(x) - y)
            else:
                log_weight = 1 + (pos_weight - 1) * y
                grad_x = grad * ((1 - y) - log_weight * sigmoid(-x))
        if ctx.needs_input_grad[1]:
            slope = -x if pos_weight is None else (pos_weight - 1) * softplus_neg - x
            grad_y = grad * slope
        if ctx.needs_input_grad[2]:
            grad_pos = grad * y * softplus_neg
        return grad_x, grad_y, grad_pos


@register(BinaryCrossEntropyWithLogits, export=False)
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE of ``sigmoid(input)``, finite at any logits.

    Same as ``torch.nn.functional.binary_cross_entropy_with_logits``.
    """
    _check_tensors(
        "binary_cross_entropy_with_logits",
        input=input,
        target=target,
        weight=weight,
        pos_weight=pos_weight,
    )
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    loss = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# --- KL divergence -----------------------------------------------------------------------------


@register(export=False)
def kl_div(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target || exp(input)) pointwise, input as log-probabilities. Same as ``F.kl_div``.

    ``reduction='batchmean'`` divides the sum by the batch size, the KL divergence's meaning.
    """
    _check_tensors("kl_div", input=input, target=target)
    reduction = _reduction(size_average, reduce, reduction, extra=("batchmean",))
    if reduction == "mean" and size_average is None and reduce is None:
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            stacklevel=2,
        )
    if log_target:
        loss = exp(target) * (target - input)
    else:
        # target * log(target), with 0 log 0 = 0; log(1) at 0 keeps the gradient free of NaN
        loss = target * log(where(target == 0, 1.0, target)) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() else loss.sum()
    return _reduce(loss, reduction)


# --- regression --------------------------------------------------------------------------------


def _pointwise_inputs(op: str, input, target, weight=None) -> None:
    _check_tensors(op, input=input, target=target, weight=weight)
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )
        try:
            np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
        except ValueError:
            raise ValueError(
                f"{op}: the size of input {tuple(input.shape)} must match the size of target "
                f"{tuple(target.shape)} (or broadcast with it)"
            ) from None
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")


def _weighted_mean_by_weight(loss: Tensor, weight: Tensor | None, reduction: str) -> Tensor:
    """torch's weighted mse/l1: the weighted sum divided by the sum of the weights."""
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    return loss.sum() / weight.sum() if reduction == "mean" else _reduce(loss, reduction)


class MseLoss(Function):
    """diff * diff for diff = input - target, then the reduction (mean, sum or none)."""

    # Its own Function: composed, the square and the mean record two nodes whose backwards
    # make three passes (diff * g twice, then their sum); fused, one product 2 g / n * diff,
    # bit for bit the same gradient (doubling is exact).

    raw_backward = True

    @staticmethod
    def forward(ctx, diff, reduction):
        d = diff._data
        ctx.reduction, ctx.count = reduction, d.size
        ctx.save_for_backward(diff)
        if reduction == "none":
            return d * d
        if reduction == "sum":
            return np.sum(d * d)
        if d.size == 0:  # the mean of nothing is NaN, as torch (numpy would warn)
            return np.full((), np.nan, d.dtype)
        return np.mean(d * d)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        if ctx.reduction == "mean" and ctx.count:
            grad = grad / ctx.count
        return diff * (grad * 2), None  # d/d diff of diff^2 = 2 diff


@register(MseLoss, export=False)
def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error. Same as ``torch.nn.functional.mse_loss``."""
    _pointwise_inputs("mse_loss", input, target, weight)
    reduction = _reduction(size_average, reduce, reduction)
    diff = input - target
    if weight is None:
        return MseLoss.apply(diff, reduction)
    return _weighted_mean_by_weight(diff * diff, weight, reduction)


@register(export=False)
def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error. Same as ``torch.nn.functional.l1_loss``."""
    _pointwise_inputs("l1_loss", input, target, weight)
    reduction = _reduction(size_average, reduce, reduction)
    return _weighted_mean_by_weight((input - target).abs(), weight, reduction)


@register(export=False)
def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """Quadratic below ``beta``, L1 above. Same as ``F.smooth_l1_loss``."""
    _pointwise_inputs("smooth_l1_loss", input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    distance = (input - target).abs()
    if beta == 0.0:  # torch's definition: plain L1
        return _reduce(distance, reduction)
    loss = where(distance < beta, 0.5 * distance * distance / beta, distance - 0.5 * beta)
    return _reduce(loss, reduction)


@register(export=False)
def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """Quadratic below ``delta``, linear (slope delta) above. Same as ``F.huber_loss``."""
    _pointwise_inputs("huber_loss", input, target, weight)
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    distance = (input - target).abs()
    loss = where(distance < delta, 0.5 * distance * distance, delta * (distance - 0.5 * delta))
    if weight is not None:
        loss = loss * weight  # torch: then a plain mean, not divided by the weights
    return _reduce(loss, reduction)
