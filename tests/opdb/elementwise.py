"""Op table rows: elementwise math (tapegrad/ops/elementwise.py)."""

import math

import numpy as np

from tests.opdb.cases import (
    B,
    OpCase,
    Sample,
    T,
    binary_broadcast_samples,
    positive,
    unary_samples,
)

_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _unary(name, ref, domain=(-2.0, 2.0), **kw):
    return OpCase(name, unary_samples(), ref=ref, domain=domain, **kw)


CASES = [
    _unary("exp", np.exp),
    _unary("exp2", np.exp2),
    _unary("expm1", np.expm1),
    _unary("log", np.log, positive()),
    _unary("log2", np.log2, positive()),
    _unary("log10", np.log10, positive()),
    _unary("log1p", np.log1p, (-0.5, 2.0)),
    _unary("sqrt", np.sqrt, positive()),
    _unary("rsqrt", lambda x: 1 / np.sqrt(x), positive()),
    _unary("reciprocal", np.reciprocal, positive()),
    _unary("square", np.square),
    _unary("abs", np.abs, (0.1, 2.0)),
    _unary("sign", np.sign, (0.1, 2.0)),
    _unary("floor", np.floor, (0.1, 0.9)),
    _unary("ceil", np.ceil, (0.1, 0.9)),
    _unary("round", np.round, (0.1, 0.4)),
    _unary("trunc", np.trunc, (0.1, 0.9)),
    _unary("sin", np.sin),
    _unary("cos", np.cos),
    _unary("tan", np.tan, (-1.2, 1.2)),
    _unary("asin", np.arcsin, (-0.9, 0.9)),
    _unary("acos", np.arccos, (-0.9, 0.9)),
    _unary("atan", np.arctan),
    _unary("sinh", np.sinh),
    _unary("cosh", np.cosh),
    _unary("tanh", np.tanh),
    _unary("sigmoid", _sigmoid),
    _unary("relu", lambda x: np.maximum(x, 0), (0.1, 2.0)),
    _unary("erf", _erf),
    OpCase(
        "clamp",
        [
            Sample((T((3, 4)),), {"min": -0.5, "max": 0.5}),
            Sample((T((5,)),), {"min": 0.25}),
            Sample((T(()),), {"max": 0.1}),
            Sample((T((3, 4)), T((4,), domain=(-3.0, -2.5)), T((3, 1), domain=(2.5, 3.0)))),
        ],
        ref=lambda x, min=None, max=None: np.clip(x, min, max),
    ),
    OpCase("maximum", binary_broadcast_samples(), ref=np.maximum),
    OpCase("minimum", binary_broadcast_samples(), ref=np.minimum),
    OpCase(
        "where",
        [
            Sample((B([[True, False, True], [False, True, True]]), T((2, 3)), T((2, 3)))),
            Sample((B([True, False, True]), T((2, 3)), T((1,)))),
            Sample((B([[True], [False]]), T((3,)), 0.5)),
            Sample((B(True), T(()), T((2,)))),
        ],
        ref=np.where,
    ),
]
