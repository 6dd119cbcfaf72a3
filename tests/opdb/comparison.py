"""Op table rows: comparisons and logical ops (tapegrad/ops/comparison.py)."""

import numpy as np

from tests.opdb.cases import B, I, OpCase, Sample, T, binary_broadcast_samples

_PAIRS = binary_broadcast_samples() + [Sample((T((3,)), 0.5), id="tensor,scalar")]
_BOOLS = [
    Sample((B([True, False, True]), B([True, True, False]))),
    Sample((B([[True], [False]]), B([True, False]))),
    Sample((I([1, 6, 3]), I([3, 5, 1])), id="int"),
]
_SPECIAL = [Sample((T((3, 4)),)), Sample((T(()),))]


def _compare(name, ref):
    return OpCase(name, _PAIRS, ref=ref)


CASES = [
    _compare("eq", np.equal),
    _compare("ne", np.not_equal),
    _compare("lt", np.less),
    _compare("le", np.less_equal),
    _compare("gt", np.greater),
    _compare("ge", np.greater_equal),
    OpCase("isnan", _SPECIAL, ref=np.isnan),
    OpCase("isinf", _SPECIAL, ref=np.isinf),
    OpCase("isfinite", _SPECIAL, ref=np.isfinite),
    OpCase("allclose", [Sample((T((3,)), T((3,))))], ref=np.allclose, torch=None),
    OpCase("isclose", [Sample((T((3,)), T((3,))))], ref=np.isclose),
    OpCase("equal", [Sample((T((3,)), T((3,))))], ref=np.array_equal, torch=None),
    OpCase("bitwise_and", _BOOLS, ref=np.bitwise_and),
    OpCase("bitwise_or", _BOOLS, ref=np.bitwise_or),
    OpCase("bitwise_xor", _BOOLS, ref=np.bitwise_xor),
    OpCase("bitwise_not", [Sample((B([True, False]),)), Sample((I([1, -2]),))], ref=np.invert),
    OpCase("logical_and", _BOOLS, ref=np.logical_and),
    OpCase("logical_or", _BOOLS, ref=np.logical_or),
    OpCase("logical_not", [Sample((B([True, False]),)), Sample((T((3,)),))], ref=np.logical_not),
]
