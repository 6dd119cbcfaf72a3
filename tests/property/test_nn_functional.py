"""nn.functional ops on random shapes, dtypes and values: activations, softmax, linear, losses.

Every call either matches torch.nn.functional (values, dtype, gradients) or raises a clear
tapegrad error; see tests/property/harness.py for the contract.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad.nn.functional as F
from tests.opdb import OPDB
from tests.property import strategies as S
from tests.property.harness import Call, check, torch

TF = torch.nn.functional if torch is not None else None

# each activation with its defaults and with one other setting of its options
ACTIVATIONS = {
    "celu": [{}, {"alpha": 2.0}],
    "elu": [{}, {"alpha": 0.5}],
    "gelu": [{}, {"approximate": "tanh"}],
    "hardsigmoid": [{}],
    "hardswish": [{}],
    "hardtanh": [{}, {"min_val": -0.5, "max_val": 2.0}],
    "leaky_relu": [{}, {"negative_slope": 0.2}],
    "logsigmoid": [{}],
    "mish": [{}],
    "selu": [{}],
    "silu": [{}],
    "softplus": [{}, {"beta": 2.0, "threshold": 5.0}],
    "softsign": [{}],
}

# losses whose input and target are any two tensors of one shape
POINTWISE_LOSSES = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]
# torch's integer kernels for these are partial: some raise, some compute in int64, some
# promote to float; tapegrad takes floating tensors and names the dtype otherwise
FLOATS = "activations and softmax take floating point tensors only"
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


def _pair(name: str):
    """tapegrad's and torch's function of one name."""
    return getattr(F, name), getattr(TF, name) if TF is not None else None


def _call(name: str, args: tuple, kwargs: dict | None = None) -> Call:
    ours, theirs = _pair(name)
    return Call(name, args, kwargs or {}, tg_fn=ours, torch_fn=theirs, numpy_fn=OPDB[name].ref)


def _kinks(name: str, kwargs: dict):
    """Where torch's gradient picks a one-sided derivative at a kink that tapegrad may not."""
    if name == "hardtanh":
        return (kwargs.get("min_val", -1.0), kwargs.get("max_val", 1.0))
    return {"hardsigmoid": (-3.0, 3.0), "hardswish": (-3.0, 3.0)}.get(name, ())


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@given(x=S.array(), data=st.data())
def test_activations_match_torch(name, x, data):
    kwargs = data.draw(st.sampled_from(ACTIVATIONS[name]), label="kwargs")
    kinks = _kinks(name, kwargs)

    def comparable(a, **_):
        # torch's float64 hardsigmoid kernel multiplies by the float32 constant 1.0f / 6.0f,
        # so its gradient is off by 3e-8 relative; tapegrad's is exact
        if name == "hardsigmoid" and a.dtype == np.float64:
            return False
        return not np.isin(a, kinks).any()

    check(_call(name, (x,), kwargs), grad_where=comparable, restriction=FLOATS)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(x=S.array(), data=st.data())
def test_softmax_over_any_dim(name, x, data):
    dim = data.draw(S.dims_for(x.ndim), label="dim")
    check(_call(name, (x,), {"dim": dim}), restriction=FLOATS)


@given(
    batch=S.shapes(max_dims=2),
    sizes=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
    bias=st.booleans(),
    dtype=S.dtypes(floats_only=True),
    data=st.data(),
)
def test_linear_shapes_match_or_raise(batch, sizes, bias, dtype, data):
    """``weight``'s in-features usually match the input's last dim; sometimes they do not."""
    in_features, out_features, weight_in = sizes
    weight_in = data.draw(st.sampled_from([in_features, in_features, weight_in]), label="w_in")
    x = data.draw(S.arrays(dtype, (*batch, in_features), finite=True), label="x")
    w = data.draw(S.arrays(dtype, (out_features, weight_in), finite=True), label="weight")
    b = data.draw(S.arrays(dtype, (out_features,), finite=True), label="bias") if bias else None
    check(_call("linear", (x, w, b)))


LOSS_SHAPES = st.one_of(
    S.shapes().map(lambda shape: (shape, shape)),
    S.shape_pairs(),
    S.unbroadcastable_shape_pairs(),
)


@pytest.mark.parametrize("name", POINTWISE_LOSSES)
@given(shapes=LOSS_SHAPES, dtype=S.dtypes(floats_only=True), data=st.data())
def test_pointwise_losses(name, shapes, dtype, data):
    """Input and target of the same shape, or of shapes that broadcast (torch warns that the
    result is likely wrong, and so does tapegrad) or do not (an error)."""
    x = data.draw(S.arrays(dtype, shapes[0]), label="input")
    y = data.draw(S.arrays(dtype, shapes[1]), label="target")
    reduction = data.draw(REDUCTIONS, label="reduction")
    check(_call(name, (x, y), {"reduction": reduction}), grad_where=_no_ties)


def _no_ties(x, y, **_):
    """|x - y| and its relatives have a kink at x == y (and at the delta of the smooth ones),
    where torch and tapegrad may pick different subgradients; inf - inf is NaN in both."""
    with np.errstate(invalid="ignore"):
        diff = np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))
    return np.all(np.isfinite(diff)) and not np.isin(diff, (0.0, 1.0)).any()


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
@given(shape=S.shapes(), dtype=S.dtypes(floats_only=True), data=st.data())
def test_binary_cross_entropy(name, shape, dtype, data):
    """Targets are probabilities; bce's input too, but for an out-of-range value that must
    raise; the logits of the _with_logits form are any float, NaN and inf included."""
    probability = st.floats(0, 1, width=32 if dtype == np.float32 else 64)
    y = data.draw(hnp.arrays(dtype, shape, elements=probability), label="target")
    if name == "binary_cross_entropy":
        outside = st.sampled_from([-0.5, 1.5, np.nan])
        element = data.draw(st.sampled_from([probability, st.one_of(probability, outside)]))
        x = data.draw(hnp.arrays(dtype, shape, elements=element), label="input")
    else:
        x = data.draw(S.arrays(dtype, shape), label="input")
    reduction = data.draw(REDUCTIONS, label="reduction")
    check(_call(name, (x, y), {"reduction": reduction}), grad_where=_inside_or_logits(name))


def _inside_or_logits(name: str):
    """bce where a log is clamped (a probability of at most e^-100, or of exactly 1): torch's
    target gradient takes the unclamped logs (up to inf); tapegrad differentiates the loss it
    computes, whose logs are clamped at -100 (as torch's forward)."""

    def comparable(x, y, **_):
        clamped = (x <= math.exp(-100)) | (x >= 1.0)
        return name != "binary_cross_entropy" or not clamped.any()

    return comparable


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@given(
    batch=st.sampled_from([(), (0,), (1,), (3,)]),
    classes=st.integers(1, 4),
    dtype=S.dtypes(floats_only=True),
    data=st.data(),
)
def test_class_losses(name, batch, classes, dtype, data):
    """Class-index targets for (C,) and (N, C) inputs; a target out of range must raise."""
    x = data.draw(S.arrays(dtype, (*batch, classes)), label="input")
    top = data.draw(st.sampled_from([classes, classes, classes + 1]), label="top")
    target = np.asarray(data.draw(S.arrays(np.int64, batch).map(lambda a: a % top)))
    kwargs = {"reduction": data.draw(REDUCTIONS, label="reduction")}
    if name == "cross_entropy":
        kwargs["label_smoothing"] = data.draw(st.sampled_from([0.0, 0.1]), label="smoothing")
    check(_call(name, (x, target), kwargs))


@given(shape=S.shapes(min_dims=1), dtype=S.dtypes(floats_only=True), data=st.data())
def test_kl_div(shape, dtype, data):
    x = data.draw(S.arrays(dtype, shape), label="input")
    y = data.draw(S.arrays(dtype, shape), label="target")
    kwargs = {
        "reduction": data.draw(st.sampled_from(["mean", "sum", "none", "batchmean"])),
        "log_target": data.draw(st.booleans(), label="log_target"),
    }
    check(_call("kl_div", (x, y), kwargs), grad_where=_target_not_zero)


def _target_not_zero(x, y, log_target, **_):
    """At a zero target torch's xlogy backward computes 0 / 0 for the target's gradient (NaN);
    tapegrad differentiates its 0 log 0 = 0 convention, which is finite there."""
    return log_target or not np.any(np.asarray(y) == 0)


@given(shape=S.shapes(min_dims=2), dtype=S.dtypes(floats_only=True), data=st.data())
def test_prelu_weight_per_channel_or_shared(shape, dtype, data):
    x = data.draw(S.arrays(dtype, shape), label="input")
    channels = data.draw(st.sampled_from([1, shape[1], shape[1] + 1]), label="channels")
    w = data.draw(S.arrays(dtype, (channels,), finite=True), label="weight")
    check(_call("prelu", (x, w)), grad_where=lambda a, *_: not np.isin(a, (0.0,)).any())


GENERATED = [
    *ACTIVATIONS,
    "softmax",
    "log_softmax",
    "linear",
    *POINTWISE_LOSSES,
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "kl_div",
    "prelu",
]
