"""Op table rows: shape ops (tapegrad/ops/shape.py)."""

import numpy as np

from tests.opdb.cases import OpCase, Sample, T

CASES = [
    OpCase(
        "reshape",
        [
            Sample((T((2, 3)), (3, 2))),
            Sample((T((2, 3, 4)), (-1, 4))),
            Sample((T(()), (1, 1))),
            Sample((T((6,)), 2, 3), id="(6,)->2,3 varargs"),
        ],
        ref=lambda x, *shape: np.reshape(x, shape[0] if len(shape) == 1 else shape),
    ),
    OpCase(
        "expand",
        [
            Sample((T((3, 1)), (3, 4))),
            Sample((T((4,)), (2, 3, 4))),
            Sample((T(()), (2, 2))),
            Sample((T((1, 3)), -1, 3), id="(1,3)->-1,3"),
        ],
        ref=lambda x, *s: np.broadcast_to(
            x,
            s[0]
            if len(s) == 1
            else tuple(x.shape[i - (len(s) - x.ndim)] if v == -1 else v for i, v in enumerate(s)),
        ),
        torch=lambda x, *s: x.expand(*s),
    ),
]
