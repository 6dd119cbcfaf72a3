"""Op table rows: reductions (tapegrad/ops/reduction.py)."""

import numpy as np

from tests.opdb.cases import OpCase, np_dims, reduction_samples


def _np_reduce(fn):
    def ref(x, dim=None, keepdim=False):
        return fn(x, axis=np_dims(dim), keepdims=keepdim)

    return ref


CASES = [
    OpCase("sum", reduction_samples(), ref=_np_reduce(np.sum)),
    OpCase("mean", reduction_samples(), ref=_np_reduce(np.mean)),
]
