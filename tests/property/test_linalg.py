"""Matrix products on random shapes: 1-D rules, broadcast batch dims, mismatched inner sizes,
empty dims, NaN/inf values, and every dtype pair.

Every call either matches torch or raises a clear tapegrad error naming both shapes; see
tests/property/harness.py. Mixed dtypes are tapegrad's documented extension (it promotes
them as elementwise ops do, where torch refuses); they are checked against numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tapegrad as tg
from tests.opdb import OPDB
from tests.property import strategies as S
from tests.property.harness import Call, check, torch

# torch refuses bool products only when a kernel runs, so empty ones pass; tapegrad refuses
# them whatever the shapes
EMPTY_BOOLS = "tapegrad refuses bool matrix products, also empty ones"

# op -> (min, max) number of dims of each operand
RANKS = {
    "matmul": ((1, 4), (1, 4)),
    "mm": ((1, 3), (1, 3)),
    "bmm": ((2, 4), (2, 4)),
    "mv": ((1, 3), (1, 2)),
    "dot": ((0, 2), (0, 2)),
    "outer": ((0, 2), (0, 2)),
}


@st.composite
def _operand_shapes(draw, name: str):
    """Two shapes that usually multiply (equal inner sizes, broadcastable batches)."""
    (low_a, high_a), (low_b, high_b) = RANKS[name]
    a = list(draw(S.shapes(min_dims=low_a, max_dims=high_a, max_side=3)))
    b = list(draw(S.shapes(min_dims=low_b, max_dims=high_b, max_side=3)))
    if a and b and draw(st.integers(0, 3)):  # make the contracted sizes agree
        b[-2 if len(b) > 1 else 0] = a[-1]
    if len(a) > 2 and len(b) > 2 and draw(st.booleans()):  # and the batch dims broadcast
        b[:-2] = a[-len(b) : -2] if len(b) <= len(a) else b[:-2]
    return tuple(a), tuple(b)


@pytest.mark.parametrize("name", sorted(RANKS))
@given(data=st.data())
def test_matrix_products_match_torch(name, data):
    shape_a, shape_b = data.draw(_operand_shapes(name), label="shapes")
    dtype = data.draw(S.dtypes(), label="dtype")
    mixed = data.draw(st.integers(0, 4), label="mixed") == 0
    a = data.draw(S.arrays(dtype, shape_a), label="a")
    b = data.draw(S.arrays(data.draw(S.dtypes()) if mixed else dtype, shape_b), label="b")
    call = Call(name, (a, b), tg_fn=getattr(tg, name), torch_fn=_torch(name, a, b))
    call.numpy_fn = OPDB[name].ref
    empty_bools = a.dtype == b.dtype == np.bool_ and (a.size == 0 or b.size == 0)
    check(call, restriction=EMPTY_BOOLS if empty_bools else None)


def _torch(name: str, a: np.ndarray, b: np.ndarray):
    """torch's product, but not for mixed dtypes: tapegrad promotes them (its documented
    extension) where torch refuses them, except for empty operands (no kernel runs), whose
    result dtype is then not the promoted one. numpy is the reference there."""
    if torch is None or a.dtype != b.dtype:
        return None
    return getattr(torch, name)


@given(data=st.data())
def test_matmul_operator_with_non_tensors(data):
    a = data.draw(S.array(floats_only=True), label="a")
    other = data.draw(st.one_of(S.python_scalars(), S.array(floats_only=True)), label="other")
    mixed = isinstance(other, np.ndarray) and other.dtype != a.dtype
    call = Call(
        "matmul",
        (a, other),
        tg_fn=_matmul,
        torch_fn=None if torch is None or mixed else _matmul,
        numpy_fn=np.matmul,
        form="operator",
    )
    check(call)


def _matmul(x, y):
    return x @ y


@given(data=st.data(), beta=st.sampled_from([1, 0.5, 0]), alpha=st.sampled_from([1, -2.0]))
def test_addmm_broadcasts_its_bias(data, beta, alpha):
    dtype = data.draw(st.sampled_from(S.FLOAT_DTYPES), label="dtype")
    n, k, m = (data.draw(st.integers(0, 3)) for _ in range(3))
    bias_shape = data.draw(st.sampled_from([(n, m), (m,), (1, m), (), (n, 1), (m + 1,)]))
    args = tuple(
        data.draw(S.arrays(dtype, shape), label=label)
        for label, shape in (("bias", bias_shape), ("mat1", (n, k)), ("mat2", (k, m)))
    )
    call = Call(
        "addmm",
        args,
        {"beta": beta, "alpha": alpha},
        tg_fn=tg.addmm,
        torch_fn=torch.addmm if torch is not None else None,
    )
    check(call)


GENERATED = [*RANKS, "addmm"]
