"""Op table rows: losses (tapegrad/nn/functional/loss.py), with numpy references.

kl_div rows name their reduction: its default 'mean' warns, as torch's does. pos_weight needs
no grad here because torch refuses to differentiate it; tests/nn/test_loss.py gradchecks ours.
"""

import numpy as np

from tests.opdb.cases import A, I, OpCase, Sample, T

CLASS_WEIGHT = [0.5, 1.0, 2.0, 1.5, 0.25]
PROBS = (0.05, 0.95)


def _torch_f(name: str):
    """``torch.nn.functional.<name>``, looked up only when a torch comparison runs."""

    def call(*args, **kwargs):
        import torch

        return getattr(torch.nn.functional, name)(*args, **kwargs)

    return call


def _reduce(loss, reduction):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _nll_parts(x, t, weight, ignore_index):
    """Per-element losses and weights for (N, C, ...) or (C,) input."""
    if x.ndim == 1:
        x, t = x[None], np.reshape(t, (1,))
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    w = (np.ones(x.shape[1]) if weight is None else weight)[safe] * valid
    picked = np.take_along_axis(x, safe[:, None], axis=1)[:, 0]
    return -w * picked, w


def _nll(x, t, weight=None, ignore_index=-100, reduction="mean"):
    losses, w = _nll_parts(x, t, weight, ignore_index)
    if reduction == "mean":
        return losses.sum() / w.sum()
    return losses.reshape(np.shape(t)) if reduction == "none" else losses.sum()


def _cross_entropy(x, t, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    axis = 0 if x.ndim == 1 else 1
    logp = _log_softmax(x, axis)
    classes = x.shape[axis]
    w_c = np.ones(classes) if weight is None else weight
    w_c = w_c.reshape([-1 if d == axis else 1 for d in range(x.ndim)])
    if t.shape == x.shape:  # class probabilities
        t = t * (1 - label_smoothing) + label_smoothing / classes
        losses = -(logp * w_c * t).sum(axis)
        if reduction == "mean":
            return losses.sum() / (x.size / classes)
        return _reduce(losses, reduction)
    nll = _nll(logp, t, weight, ignore_index, reduction)
    smooth = np.where(t == ignore_index, 0.0, -(logp * w_c).sum(axis))
    if reduction == "mean":
        smooth = smooth.sum() / _nll_parts(logp, t, weight, ignore_index)[1].sum()
    else:
        smooth = _reduce(smooth, reduction)
    return (1 - label_smoothing) * nll + label_smoothing / classes * smooth


def _bce(x, y, weight=None, reduction="mean"):
    loss = -(y * np.log(x) + (1 - y) * np.log(1 - x))
    return _reduce(loss if weight is None else loss * weight, reduction)


def _bce_logits(
    x, y, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None
):
    s = 1 / (1 + np.exp(-x))
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * y * np.log(s) + (1 - y) * np.log(1 - s))
    return _reduce(loss if weight is None else loss * weight, reduction)


def _kl(x, t, reduction="mean", log_target=False):
    loss = np.exp(t) * (t - x) if log_target else t * (np.log(t) - x)
    return loss.sum() / x.shape[0] if reduction == "batchmean" else _reduce(loss, reduction)


def _pointwise(fn):
    def ref(x, y, reduction="mean", weight=None, **options):
        loss = fn(x - y, **options)
        if weight is None:
            return _reduce(loss, reduction)
        return (
            (loss * weight).sum() / weight.sum()
            if reduction == "mean"
            else _reduce(loss * weight, reduction)
        )

    return ref


def _smooth_l1(d, beta=1.0):
    return np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta)


def _huber(x, y, reduction="mean", delta=1.0, weight=None):
    d = np.abs(x - y)
    loss = np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return _reduce(loss if weight is None else loss * weight, reduction)


_TARGETS = I([1, 0, 4, 2])
_IGNORED = I([1, -100, 4, 2])
_WEIGHT = A(CLASS_WEIGHT, grad=False)

CASES = [
    OpCase(
        "nll_loss",
        [
            Sample((T((4, 5)), _TARGETS)),
            Sample((T((4, 5)), _IGNORED, _WEIGHT), {"reduction": "sum"}),
            Sample((T((4, 5)), _IGNORED), {"reduction": "none", "ignore_index": -100}),
            Sample((T((4, 5)), _TARGETS, _WEIGHT), {"ignore_index": 4}),
            Sample((T((2, 5, 3)), I([[0, 4, 1], [2, 2, 3]])), {"reduction": "none"}),
            Sample((T((5,)), I(3))),
        ],
        ref=_nll,
        torch=_torch_f("nll_loss"),
    ),
    OpCase(
        "cross_entropy",
        [
            Sample((T((4, 5)), _TARGETS)),
            Sample((T((4, 5)), _IGNORED, _WEIGHT)),
            Sample((T((4, 5)), _IGNORED, _WEIGHT), {"label_smoothing": 0.2}),
            Sample((T((4, 5)), _IGNORED), {"reduction": "none", "label_smoothing": 0.1}),
            Sample((T((2, 5, 3)), I([[0, -100, 1], [2, 2, 3]]), _WEIGHT), {"reduction": "sum"}),
            Sample((T((4, 5)), T((4, 5), domain=(0.1, 1.0))), {"label_smoothing": 0.1}),
            Sample((T((4, 5)), T((4, 5), domain=(0.1, 1.0)), _WEIGHT), {"reduction": "none"}),
            Sample((T((5,)), I(2)), {"label_smoothing": 0.3}),
        ],
        ref=_cross_entropy,
        torch=_torch_f("cross_entropy"),
    ),
    OpCase(
        "binary_cross_entropy",
        [
            Sample((T((3, 4), domain=PROBS), T((3, 4), domain=(0.0, 1.0)))),
            Sample(
                (T((3, 4), domain=PROBS), T((3, 4), grad=False), T((4,), grad=False)),
                {"reduction": "sum"},
            ),
            Sample((T((5,), domain=PROBS), T((5,), domain=(0.0, 1.0))), {"reduction": "none"}),
            Sample((T((), domain=PROBS), T((), domain=(0.0, 1.0)))),
        ],
        ref=_bce,
        torch=_torch_f("binary_cross_entropy"),
        domain=(0.0, 1.0),
    ),
    OpCase(
        "binary_cross_entropy_with_logits",
        [
            Sample((T((3, 4)), T((3, 4), domain=(0.0, 1.0)))),
            Sample(
                (T((3, 4)), T((3, 4), domain=(0.0, 1.0)), T((4,), grad=False)), {"reduction": "sum"}
            ),
            Sample(
                (
                    T((3, 4)),
                    T((3, 4), domain=(0.0, 1.0)),
                    None,
                    None,
                    None,
                    "mean",
                    T((4,), grad=False),
                ),
                id="pos_weight",
            ),
            Sample((T((5,)), T((5,), domain=(0.0, 1.0))), {"reduction": "none"}),
            Sample((T(()), T((), domain=(0.0, 1.0)))),
        ],
        ref=_bce_logits,
        torch=_torch_f("binary_cross_entropy_with_logits"),
    ),
    OpCase(
        "kl_div",
        [
            Sample((T((3, 4), domain=(-3.0, -0.1)), T((3, 4), domain=PROBS)), {"reduction": "sum"}),
            Sample(
                (T((3, 4), domain=(-3.0, -0.1)), T((3, 4), domain=PROBS)),
                {"reduction": "batchmean"},
            ),
            Sample((T((3, 4)), T((3, 4))), {"reduction": "none", "log_target": True}),
            Sample((T((), domain=(-3.0, -0.1)), T((), domain=PROBS)), {"reduction": "sum"}),
        ],
        ref=_kl,
        torch=_torch_f("kl_div"),
    ),
    OpCase(
        "mse_loss",
        [
            Sample((T((3, 4)), T((3, 4)))),
            Sample((T((3, 4)), T((3, 4))), {"reduction": "none"}),
            Sample((T((3, 4)), T((3, 4)), None, None, "mean", T((3, 4), grad=False, domain=PROBS))),
            Sample((T(()), T(())), {"reduction": "sum"}),
        ],
        ref=lambda x, y, size_average=None, reduce=None, reduction="mean", weight=None: _pointwise(
            np.square
        )(x, y, reduction, weight),
        torch=_torch_f("mse_loss"),
    ),
    OpCase(
        "l1_loss",
        [
            Sample((T((3, 4)), T((3, 4)))),
            Sample((T((3, 4)), T((3, 4))), {"reduction": "sum"}),
            Sample((T((3, 4)), T((3, 4)), None, None, "mean", T((3, 4), grad=False, domain=PROBS))),
            Sample((T(()), T(())), {"reduction": "none"}),
        ],
        ref=lambda x, y, size_average=None, reduce=None, reduction="mean", weight=None: _pointwise(
            np.abs
        )(x, y, reduction, weight),
        torch=_torch_f("l1_loss"),
    ),
    OpCase(
        "smooth_l1_loss",
        [
            Sample((T((3, 4)), T((3, 4)))),
            Sample((T((3, 4)), T((3, 4))), {"reduction": "none", "beta": 0.5}),
            Sample((T((3, 4)), T((3, 4))), {"reduction": "sum", "beta": 0.0}),
            Sample((T(()), T(())), {"beta": 2.0}),
        ],
        ref=lambda x, y, reduction="mean", beta=1.0: _reduce(
            np.abs(x - y) if beta == 0 else _smooth_l1(x - y, beta), reduction
        ),
        torch=_torch_f("smooth_l1_loss"),
    ),
    OpCase(
        "huber_loss",
        [
            Sample((T((3, 4)), T((3, 4)))),
            Sample((T((3, 4)), T((3, 4))), {"reduction": "none", "delta": 0.5}),
            Sample((T((3, 4)), T((3, 4)), "mean", 1.5, T((3, 4), grad=False, domain=PROBS))),
            Sample((T(()), T(())), {"reduction": "sum"}),
        ],
        ref=_huber,
        torch=_torch_f("huber_loss"),
    ),
]
