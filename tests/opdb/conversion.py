"""Op table rows: dtype casts and clone (tapegrad/ops/conversion.py)."""

import numpy as np

import tapegrad as tg
from tests.opdb.cases import OpCase, unary_samples


def _round_trip(x):
    """float64 -> float64 through the cast op, so gradcheck stays in float64."""
    return tg.ops.conversion.cast(x, tg.float64)


CASES = [
    OpCase("to", unary_samples(), ref=lambda x: x, op=_round_trip, torch=lambda x: x.double()),
    OpCase("clone", unary_samples(), ref=np.copy),
]
