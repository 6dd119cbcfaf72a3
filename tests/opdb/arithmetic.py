"""Op table rows: arithmetic (tapegrad/ops/arithmetic.py)."""

import numpy as np

from tests.opdb.cases import (
    OpCase,
    Sample,
    T,
    binary_broadcast_samples,
    positive,
    scalar_samples,
    unary_samples,
)

CASES = [
    OpCase("add", binary_broadcast_samples() + scalar_samples(), ref=np.add),
    OpCase("sub", binary_broadcast_samples() + scalar_samples(), ref=np.subtract),
    OpCase("mul", binary_broadcast_samples() + scalar_samples(), ref=np.multiply),
    OpCase(
        "div",
        [
            Sample((T(a), T(b, domain=positive())))
            for a, b in [((3, 4), (4,)), ((2, 1), (3,)), ((), (2,))]
        ]
        + [Sample((T((3,)), 2.5)), Sample((1.5, T((3,), domain=positive())))],
        ref=np.true_divide,
    ),
    OpCase(
        "pow",
        [
            Sample((T((3, 4), domain=positive()), T((4,)))),
            Sample((T((2, 1), domain=positive()), T((3,)))),
            Sample((T((3,)), 2), id="tensor**2"),
            Sample((T((3,), domain=positive()), -1.5), id="tensor**-1.5"),
            Sample((2.0, T((3,))), id="2**tensor"),
        ],
        ref=np.power,
    ),
    OpCase("neg", unary_samples(), ref=np.negative),
    OpCase(
        "remainder",
        [
            Sample((T((3, 4), domain=(0.1, 0.9)), T((4,), domain=(1.1, 2.0)))),
            Sample((T((3,), domain=(0.2, 0.8)), 1.5)),
        ],
        ref=np.mod,
    ),
    OpCase(
        "floor_divide",
        [Sample((T((3, 4)), T((4,), domain=positive()))), Sample((T((3,)), 0.7))],
        ref=np.floor_divide,
    ),
]
