"""Op table rows: nn activations, softmax/log_softmax and linear (tapegrad/nn/functional).

Random draws land away from the kinks (0, +-1, +-3) by far more than gradcheck's eps; the
hard* rows span every piece. Torch comparisons: tests/nn/test_activation.py, test_linear.py.
"""

import math

import numpy as np

from tests.opdb.cases import OpCase, Sample, T, unary_samples

_erf = np.vectorize(math.erf)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _torch_f(name: str):
    """``torch.nn.functional.<name>``, looked up only when a torch comparison runs."""

    def call(*args, **kwargs):
        import torch

        return getattr(torch.nn.functional, name)(*args, **kwargs)

    return call


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta)


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(x) - 1))


def _gelu(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _prelu(x, weight):
    if weight.size > 1:
        weight = weight.reshape((-1,) + (1,) * (x.ndim - 2))
    return np.where(x > 0, x, weight.reshape(weight.shape if x.ndim else ()) * x)


def _softmax(x, dim, dtype=None):
    e = np.exp(x - x.max(axis=dim if x.ndim else None, keepdims=True))
    return e / e.sum(axis=dim if x.ndim else None, keepdims=True)


def _linear(x, weight, bias=None):
    out = x @ weight.T
    return out if bias is None else out + bias


def _act(name, ref, extra=(), domain=(-2.0, 2.0), **kw):
    """A row for a one-input activation: the unary shapes plus samples with options."""
    samples = unary_samples() + [Sample((T((3, 4)),), options) for options in extra]
    return OpCase(name, samples, ref=ref, domain=domain, torch=_torch_f(name), **kw)


_SOFTMAX_SAMPLES = [
    Sample((T((3, 4)), 1)),
    Sample((T((3, 4)), -1)),
    Sample((T((2, 3, 4)), 0)),
    Sample((T((2, 3, 4)), -2)),
    Sample((T((5,)), 0)),
    Sample((T(()), 0)),
]

CASES = [
    _act(
        "leaky_relu",
        lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x),
        extra=[{"negative_slope": 0.2}],
    ),
    _act(
        "hardtanh",
        lambda x, min_val=-1.0, max_val=1.0: np.clip(x, min_val, max_val),
        extra=[{"min_val": -0.5, "max_val": 1.5}],
    ),
    _act("elu", _elu, extra=[{"alpha": 0.5}]),
    OpCase(
        "selu",
        unary_samples(),
        ref=lambda x: _SELU_SCALE * _elu(x, _SELU_ALPHA),
    ),
    OpCase(
        "celu",
        [*unary_samples(), Sample((T((3, 4)),), {"alpha": 2.0})],
        ref=lambda x, alpha=1.0: np.where(x > 0, x, alpha * (np.exp(x / alpha) - 1)),
    ),
    _act("gelu", _gelu, extra=[{"approximate": "tanh"}]),
    _act("silu", lambda x: x * _sigmoid(x)),
    _act("mish", lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    _act(
        "softplus",
        _softplus,
        extra=[{"beta": 2.0}, {"beta": 3.0, "threshold": 1.5}],
        domain=(-3.0, 3.0),
    ),
    _act("softsign", lambda x: x / (1 + np.abs(x))),
    _act("logsigmoid", lambda x: np.log(_sigmoid(x)), domain=(-6.0, 6.0)),
    _act("hardsigmoid", lambda x: np.clip(x + 3, 0, 6) / 6, domain=(-4.0, 4.0)),
    _act("hardswish", lambda x: x * np.clip(x + 3, 0, 6) / 6, domain=(-4.0, 4.0)),
    OpCase(
        "prelu",
        [
            Sample((T((2, 3, 4)), T((3,), domain=(0.1, 0.5)))),
            Sample((T((2, 3)), T((1,), domain=(0.1, 0.5)))),
            Sample((T((4,)), T((1,), domain=(0.1, 0.5)))),
            Sample((T(()), T((1,), domain=(0.1, 0.5)))),
        ],
        ref=_prelu,
    ),
    OpCase("softmax", _SOFTMAX_SAMPLES, ref=_softmax),
    OpCase(
        "log_softmax",
        _SOFTMAX_SAMPLES,
        ref=lambda x, dim, dtype=None: np.log(_softmax(x, dim)),
    ),
    OpCase(
        "linear",
        [
            Sample((T((4, 3)), T((5, 3)), T((5,)))),
            Sample((T((2, 4, 3)), T((5, 3)))),
            Sample((T((3,)), T((5, 3)), T((5,)))),
            Sample((T((4, 3)), T((5, 3)), T(())), id="bias broadcast"),
        ],
        ref=_linear,
        torch=_torch_f("linear"),
    ),
]
