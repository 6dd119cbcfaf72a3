"""Indexing on random shapes: basic keys (ints, slices, None, Ellipsis), boolean masks and
integer arrays, in and out of range; index_select, gather, take_along_dim and the masked ops.

Every call either matches torch (values, dtypes, gradients, repeated indices accumulating)
or raises a clear tapegrad error; see tests/property/harness.py.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapegrad as tg
from tests.property import strategies as S
from tests.property.harness import Call, check, torch


@st.composite
def _basic_item(draw, size: int):
    """One entry of a key for a dim of ``size``: an int (maybe out of range) or a slice."""
    if draw(st.booleans()):
        return draw(st.integers(-size - 1, size))
    start = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
    stop = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
    step = draw(st.one_of(st.none(), st.integers(1, 3)))  # torch has no negative steps
    return slice(start, stop, step)


@st.composite
def basic_keys(draw, shape: tuple):
    """A key of ints, slices, None and at most one Ellipsis; sometimes too many entries."""
    items = [draw(_basic_item(s)) for s in shape[: draw(st.integers(0, len(shape) + 1))]]
    if len(items) > len(shape) or draw(st.integers(0, 5)) == 0:
        items.append(draw(st.integers(0, 2)))  # one index too many: an error
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), Ellipsis)
    return tuple(items)


@st.composite
def advanced_keys(draw, shape: tuple):
    """A boolean mask (of a leading part of the shape, or of a wrong shape) or an integer
    array for the first dim (repeats and out-of-range values included)."""
    if draw(st.booleans()):
        lead = shape[: draw(st.integers(0, len(shape)))]
        mask_shape = lead if draw(st.integers(0, 4)) else draw(S.shapes(max_dims=2))
        return draw(S.arrays(np.bool_, mask_shape))
    size = shape[0] if shape else 0
    index_shape = draw(S.shapes(max_dims=2, max_side=3))
    in_range = st.integers(-size, max(size - 1, -size))
    values = st.integers(-size - 1, size) if draw(st.integers(0, 4)) == 0 else in_range
    return draw(hnp_arrays(np.int64, index_shape, values))


def hnp_arrays(dtype, shape, elements):
    return hnp.arrays(np.dtype(dtype), shape, elements=elements)


# torch reads out of bounds here (or skips the check when the result is empty); tapegrad
# always checks an index against the size of its dim
BOUNDS = "tapegrad checks every index against its dim, also where torch does not"


def _out_of_bounds(index: np.ndarray, size: int) -> bool:
    return bool(np.any((index >= size) | (index < -size)))


def _getitem(t, key):
    return t[key]


def _check_key(x: np.ndarray, key) -> None:
    call = Call(
        "__getitem__",
        (x, key),
        tg_fn=_getitem,
        torch_fn=_getitem if torch is not None else None,
        numpy_fn=operator.getitem,
        form="t[key]",
    )
    integers = isinstance(key, np.ndarray) and key.dtype.kind == "i"
    lenient = integers and x.size == 0 and _out_of_bounds(key, x.shape[0])
    check(call, restriction=BOUNDS if lenient else None)


@given(data=st.data())
def test_basic_indexing_matches_torch(data):
    x = data.draw(S.array(), label="x")
    _check_key(x, data.draw(basic_keys(x.shape), label="key"))


@given(data=st.data())
def test_mask_and_integer_array_indexing_matches_torch(data):
    x = data.draw(S.array(shape=data.draw(S.shapes(min_dims=1))), label="x")
    _check_key(x, data.draw(advanced_keys(x.shape), label="key"))


@st.composite
def _index_for(draw, shape: tuple, dim: int, same_rank: bool):
    """An int64 index along ``dim``: in range mostly, out of range now and then."""
    ndim = len(shape)
    size = shape[dim % ndim] if ndim else 1
    high = size - 1 if draw(st.integers(0, 5)) else size + 1
    values = st.integers(-1 if high > size else 0, max(high, 0))
    if same_rank:
        index_shape = tuple(draw(st.integers(0, s + 1)) for s in shape)
    else:
        index_shape = draw(S.shapes(max_dims=1, max_side=4))
    return draw(hnp_arrays(np.int64, index_shape, values))


def _method(name: str):
    def call(t, *args, **kwargs):
        return getattr(t, name)(*args, **kwargs)

    return call


@pytest.mark.parametrize("name", ["index_select", "gather", "take_along_dim"])
@given(data=st.data())
def test_index_ops_match_torch(name, data):
    x = data.draw(S.array(), label="x")
    dim = data.draw(st.integers(-x.ndim - 1, max(x.ndim, 1)), label="dim")
    index = data.draw(_index_for(x.shape, dim, same_rank=name != "index_select"), label="index")
    args = (x, index, dim) if name == "take_along_dim" else (x, dim, index)
    method = _method(name)
    call = Call(name, args, tg_fn=method, torch_fn=method if torch is not None else None)
    size = x.shape[dim % x.ndim] if x.ndim > 0 and -x.ndim <= dim < x.ndim else 1
    lenient = _out_of_bounds(index, size) or x.size == 0 or index.size == 0
    check(call, restriction=BOUNDS if lenient else None)


@pytest.mark.parametrize("name", ["scatter_add", "scatter"])
@given(data=st.data())
def test_scatter_ops_match_torch(name, data):
    x = data.draw(S.array(shape=data.draw(S.shapes(min_dims=1))), label="x")
    dim = data.draw(st.integers(-x.ndim - 1, x.ndim), label="dim")
    index = data.draw(_index_for(x.shape, dim, same_rank=True), label="index")
    src_shape = tuple(s + data.draw(st.integers(0, 1)) for s in index.shape)
    src = data.draw(S.arrays(data.draw(st.sampled_from([x.dtype, *S.DTYPES])), src_shape))
    method = _method(name)
    call = Call(
        name, (x, dim, index, src), tg_fn=method, torch_fn=method if torch is not None else None
    )
    size = x.shape[dim % x.ndim] if -x.ndim <= dim < x.ndim else 1
    lenient = _out_of_bounds(index, size) or index.size == 0
    check(call, restriction=BOUNDS if lenient else None)


@given(data=st.data(), value=S.python_scalars())
def test_masked_fill_and_masked_select_broadcast_the_mask(data, value):
    first, second = data.draw(S.shape_pairs(), label="shapes")
    x = data.draw(S.array(shape=first), label="x")
    mask = data.draw(S.arrays(np.bool_, second), label="mask")
    fill = _method("masked_fill")
    select = _method("masked_select")
    torch_ready = torch is not None
    check(Call("masked_fill", (x, mask, value), tg_fn=fill, torch_fn=fill if torch_ready else None))
    check(Call("masked_select", (x, mask), tg_fn=select, torch_fn=select if torch_ready else None))


@given(x=S.array())
def test_nonzero_matches_torch(x):
    check(Call("nonzero", (x,), tg_fn=tg.nonzero, torch_fn=getattr(torch, "nonzero", None)))


GENERATED = [
    "__getitem__",
    "index_select",
    "gather",
    "take_along_dim",
    "scatter_add",
    "scatter",
    "masked_fill",
    "masked_select",
    "nonzero",
]
