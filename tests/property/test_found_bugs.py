"""Every bug the property tests found, pinned as the exact call that showed it.

Hypothesis draws a fixed sample in CI; these calls stay checked whatever it draws. Each row
goes through the same contract (tests/property/harness.py): torch's values, dtypes and
gradients, or a clear tapegrad error where torch raises too.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tests.property.harness import Call, check, torch

F32, F64, I64, BOOL = np.float32, np.float64, np.int64, np.bool_
NAN, INF = np.nan, np.inf


def a(values, dtype=F32) -> np.ndarray:
    return np.array(values, dtype=dtype)


# (what was wrong, op name, positional args, keyword args)
FOUND = [
    ("sign of a bool tensor crashed in numpy", "sign", (a([True, False], BOOL),), {}),
    ("sign of NaN was NaN (torch: 0)", "sign", (a([NAN, -1.0, 0.0]),), {}),
    ("square of bools gave int8 (torch: int64)", "square", (a([True, False], BOOL),), {}),
    ("abs of bools was accepted (torch: no kernel)", "abs", (a([True], BOOL),), {}),
    ("floor's gradient at inf/NaN was NaN (torch: 0)", "floor", (a([INF, NAN, 1.5]),), {}),
    ("relu's gradient at NaN was 0 (torch: passes)", "relu", (a([NAN, -1.0, 2.0]),), {}),
    ("rsqrt's gradient at -0.0 had the wrong sign", "rsqrt", (a([-0.0, 4.0]),), {}),
    ("abs's gradient at NaN was NaN (torch: 0)", "abs", (a([NAN, -2.0]),), {}),
    ("maximum's gradient at NaN went to one side", "maximum", (a([NAN, 1.0]), a([0.0, 1.0])), {}),
    ("minimum's gradient at NaN went to one side", "minimum", (a([1.0, NAN]), a([1.0, 0.0])), {}),
    ("clamp of ints ignored a float max", "clamp", (a([0, 3], I64),), {"min": False, "max": 0.5}),
    ("clamp of bools with an int bound", "clamp", (a([False, True], BOOL),), {"max": 0}),
    ("clamp of bools with bool bounds", "clamp", (a([False], BOOL),), {"max": False}),
    ("bool subtraction was accepted", "sub", (a([True], BOOL), a([1.0])), {}),
    (
        "int ** negative int tensor crashed",
        "pow",
        (a([2, -1, 1, 0], I64), a([-1, -3, -2, -1], I64)),
        {},
    ),
    ("int ** negative int raised numpy's error", "pow", (a([2], I64), -1), {}),
    ("bool ** True gave int8 (torch: bool)", "pow", (a([True, False], BOOL), True), {}),
    ("float // 0.0 leaked numpy warnings", "floor_divide", (a([1.0, -1.0, 0.0]), 0.0), {}),
    ("int // 0 returned 0 with a warning", "floor_divide", (a([1, 2], I64), 0), {}),
    ("int % 0 returned 0 with a warning", "remainder", (a([1], I64), a([0], I64)), {}),
    ("empty int // 0 must not raise", "floor_divide", (a([], I64), 0), {}),
    ("div's gradient underflowed y*y to 0 (NaN)", "div", (a(0.0), a(1.1e-308, F64)), {}),
    ("0 ** y gradient ignored y < 0", "pow", (0, a([-1.0, 2.0])), {}),
    ("remainder's gradient used floor(x / y)", "remainder", (a(1.0), a(0.1)), {}),
    ("isnan of a 0-d int held a numpy scalar", "isnan", (a(0, I64),), {}),
    ("bitwise_and of floats raised numpy's error", "bitwise_and", (a(0.0), a(0.0)), {}),
    ("isclose of two dtypes was accepted", "isclose", (a([1.0]), a([1.0], F64)), {}),
    ("isclose raised numpy's broadcast error", "isclose", (a([1.0, 2.0]), a([1.0, 2.0, 3.0])), {}),
    (
        "logical_and raised numpy's broadcast error",
        "logical_and",
        (a([1.0, 2.0]), a([1.0] * 3)),
        {},
    ),
    ("equal with a number raised AttributeError", "equal", (a(0, I64), False), {}),
    ("sum over dim=() reduced nothing", "sum", (a([[1.0, 2.0]]),), {"dim": ()}),
    ("mean over dim=() reduced nothing", "mean", (a([[1.0, 2.0]]),), {"dim": ()}),
    ("a 0-d tensor took any dim", "sum", (a(1.0),), {"dim": 1}),
    ("squeeze of a 0-d tensor took any dim", "squeeze", (a(1.0), 2), {}),
    ("max()'s gradient at NaN was NaN everywhere", "max", (a([1.0, NAN, 2.0]),), {}),
    ("min()'s gradient at NaN was NaN everywhere", "min", (a([NAN, NAN, 2.0]),), {}),
    ("tied maxima shared float32 weights in float64", "max", (a([[1, 1], [1, 0]], F64),), {}),
    ("mean with an integer dtype= was accepted", "mean", (a([1.0]),), {"dtype": tg.int64}),
    ("cat dropped a legacy empty that requires grad", "cat", ([a([], I64), a([])],), {}),
    ("cat dropped a skipped empty from the graph", "cat", ([a(np.zeros((0, 0)), I64), a([])],), {}),
    (
        "masked_fill of NaN into ints warned",
        "masked_fill",
        (a([0, 1], I64), a([False, True], BOOL), NAN),
        {},
    ),
    (
        "bool matmul was accepted (torch: no kernel)",
        "matmul",
        (a([[True]], BOOL), a([[True]], BOOL)),
        {},
    ),
    (
        "bool outer product must stay allowed",
        "outer",
        (a([True, False], BOOL), a([True], BOOL)),
        {},
    ),
]


def _torch_kwargs(kwargs: dict) -> dict:
    return {k: getattr(torch, str(v)) if isinstance(v, np.dtype) else v for k, v in kwargs.items()}


@pytest.mark.parametrize(
    ("name", "args", "kwargs"), [f[1:] for f in FOUND], ids=[f[0] for f in FOUND]
)
def test_found_bug_stays_fixed(name, args, kwargs):
    method = name in ("squeeze", "masked_fill")
    tg_fn = _method(name) if method else getattr(tg, name)
    torch_fn = None
    if torch is not None:
        base = _method(name) if method else getattr(torch, name)

        def torch_fn(*targs, **tkw):
            return base(*targs, **_torch_kwargs(tkw))

    check(Call(name, args, dict(kwargs), tg_fn=tg_fn, torch_fn=torch_fn))


def _method(name: str):
    def call(t, *args, **kwargs):
        return getattr(t, name)(*args, **kwargs)

    return call
