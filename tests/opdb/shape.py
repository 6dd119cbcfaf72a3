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
CASES += [
    OpCase(
        "permute",
        [Sample((T((2, 3, 4)), 2, 0, 1)), Sample((T((2, 3)), (-1, 0))), Sample((T(()),), id="0-d")],
        ref=lambda x, *d: np.transpose(x, d[0] if len(d) == 1 else (d or None)),
    ),
    OpCase(
        "transpose",
        [Sample((T((2, 3, 4)), 0, 2)), Sample((T((2, 3)), -1, -2)), Sample((T((3,)), 0, -1))],
        ref=lambda x, a, b: np.swapaxes(x, a, b),
    ),
    OpCase(
        "unsqueeze",
        [Sample((T((2, 3)), 0)), Sample((T((2, 3)), -1)), Sample((T(()), 0))],
        ref=lambda x, d: np.expand_dims(x, d),
    ),
    OpCase(
        "squeeze",
        [
            Sample((T((2, 1, 3, 1)),)),
            Sample((T((2, 1, 3)), 1)),
            Sample((T((2, 1, 1)), (-1, 1))),
            Sample((T((2, 3)), 0), id="non-1 dim kept"),
            Sample((T(()),)),
        ],
        ref=lambda x, d=None: (
            np.squeeze(
                x,
                tuple(
                    i for i in np.atleast_1d(range(x.ndim) if d is None else d) if x.shape[i] == 1
                ),
            )
            if x.ndim
            else x
        ),
    ),
]
