"""Shape ops on random shapes (empty, 0-d, size-1 dims) with valid and invalid arguments.

Sizes and dims are drawn around the valid range, so many calls must fail: those failures
must be tapegrad's own clear errors, and every call torch accepts must give torch's result
and gradient (see tests/property/harness.py).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tapegrad as tg
from tests.opdb import OPDB
from tests.property import strategies as S
from tests.property.harness import Call, check, torch


def _any_dim(ndim: int):
    """A dim, valid most of the time: one in range, or one just outside it."""
    return st.one_of(S.dims_for(ndim), S.dims_for(ndim), st.integers(-ndim - 2, ndim + 1))


@st.composite
def _sizes_for(draw, shape: tuple):
    """A target shape for reshape/view: the same element count (with a -1 now and then)
    or a random shape that usually does not fit."""
    if draw(st.integers(0, 3)) == 0:
        return draw(S.shapes())
    count = math.prod(shape)
    sizes = []
    remaining = count
    for _ in range(draw(st.integers(0, 3))):
        factors = [f for f in range(1, 5) if remaining % f == 0] if remaining else [0, 1, 2]
        size = draw(st.sampled_from(factors))
        sizes.append(size)
        remaining = remaining // size if size else 0
    sizes.append(remaining)
    if draw(st.booleans()):
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    return tuple(draw(st.permutations(sizes)))


@st.composite
def _expand_sizes(draw, shape: tuple):
    """Sizes for expand/broadcast_to: from broadcast-compatible shapes, or arbitrary."""
    if draw(st.integers(0, 3)) == 0:
        return draw(S.shapes())
    lead = draw(st.lists(st.integers(0, 3), max_size=2))
    tail = [draw(st.sampled_from([s, -1] if s != 1 else [1, 2, 3, -1])) for s in shape]
    return (*lead, *tail)


def _args(shape: tuple, name: str):
    """Strategy of the positional arguments of method ``name`` of a tensor of ``shape``."""
    ndim = len(shape)
    dim = _any_dim(ndim)
    small = st.integers(-2, 4)
    table = {
        "reshape": st.tuples(_sizes_for(shape)),
        "view": st.tuples(_sizes_for(shape)),
        "flatten": st.tuples(dim, dim),
        "unflatten": st.tuples(dim, st.sampled_from([(1, -1), (-1, 1), (2, -1), (1, 2), (0, -1)])),
        "squeeze": st.one_of(st.just(()), st.tuples(dim), st.tuples(st.lists(dim, max_size=2))),
        "unsqueeze": st.tuples(st.integers(-ndim - 2, ndim + 1)),
        "transpose": st.tuples(dim, dim),
        "swapaxes": st.tuples(dim, dim),
        "permute": st.tuples(st.one_of(st.permutations(range(ndim)), st.lists(dim, max_size=4))),
        "movedim": st.tuples(dim, dim),
        "t": st.just(()),
        "expand": st.tuples(_expand_sizes(shape)),
        "broadcast_to": st.tuples(_expand_sizes(shape)),
        "repeat": st.tuples(st.lists(st.integers(0, 3), min_size=max(ndim - 1, 0), max_size=4)),
        "tile": st.tuples(st.lists(st.integers(0, 3), max_size=4)),
        "flip": st.tuples(st.lists(dim, max_size=3)),
        "roll": st.tuples(small, st.one_of(st.none(), dim)),
        "narrow": st.tuples(dim, small, st.integers(0, 4)),
        "select": st.tuples(dim, small),
        "split": st.tuples(
            st.one_of(st.integers(0, 4), st.lists(st.integers(0, 3), max_size=3)), dim
        ),
        "chunk": st.tuples(st.integers(0, 4), dim),
        "unbind": st.tuples(dim),
        "contiguous": st.just(()),
    }
    return table[name]


def _method(name: str):
    def call(t, *args, **kwargs):
        return getattr(t, name)(*args, **kwargs)

    return call


METHODS = sorted(
    [
        "reshape",
        "view",
        "flatten",
        "unflatten",
        "squeeze",
        "unsqueeze",
        "transpose",
        "swapaxes",
        "permute",
        "movedim",
        "t",
        "expand",
        "broadcast_to",
        "repeat",
        "tile",
        "flip",
        "roll",
        "narrow",
        "select",
        "split",
        "chunk",
        "unbind",
        "contiguous",
    ]
)


def _numpy_ref(name: str):
    ref = OPDB[name].ref
    if ref is None:
        return None

    def call(a, *args, **kwargs):
        return ref(a, *args, **kwargs)

    return call


@pytest.mark.parametrize("name", METHODS)
@given(data=st.data())
def test_shape_ops_match_torch(name, data):
    x = data.draw(S.array(), label="x")
    args = data.draw(_args(x.shape, name), label="args")
    call = Call(
        name,
        (x, *args),
        tg_fn=_method(name),
        torch_fn=_method(name) if torch is not None else None,
        numpy_fn=_numpy_ref(name),
        form="method",
    )
    check(call, restriction=EMPTY_DIMS if x.size == 0 and name in ("roll", "cat") else None)


# torch skips the dim check of roll on an empty tensor and of cat on a legacy 1-d empty one
EMPTY_DIMS = "tapegrad checks dims of empty tensors too"


@st.composite
def _tensor_lists(draw):
    """2-3 arrays for cat/stack: often one shape (and dtype), sometimes mismatched."""
    shape = draw(S.shapes(max_dims=3))
    dtype = draw(S.dtypes())
    arrays = []
    for _ in range(draw(st.integers(1, 3))):
        mismatch = draw(st.integers(0, 4))
        item_shape = draw(S.shapes(max_dims=3)) if mismatch == 0 else shape
        if mismatch == 1 and item_shape:  # change one size: cat may still accept it
            i = draw(st.integers(0, len(item_shape) - 1))
            item_shape = (*item_shape[:i], draw(st.integers(0, 3)), *item_shape[i + 1 :])
        item_dtype = draw(S.dtypes()) if mismatch == 2 else dtype
        arrays.append(draw(S.arrays(item_dtype, item_shape)))
    return arrays


@pytest.mark.parametrize("name", ["cat", "stack", "concatenate"])
@given(arrays=_tensor_lists(), dim=st.integers(-4, 3))
def test_cat_and_stack_match_torch(name, arrays, dim):
    key = "axis" if name == "concatenate" else "dim"
    call = Call(
        name,
        (arrays,),
        {key: dim},
        tg_fn=getattr(tg, name),
        torch_fn=getattr(torch, name) if torch is not None else None,
        numpy_fn=None,
    )
    legacy_empty = any(a.shape == (0,) for a in arrays)
    check(call, restriction=EMPTY_DIMS if legacy_empty else None)


@pytest.mark.parametrize("name", ["expand_as", "view_as"])
@given(shapes=S.shape_pairs(), data=st.data())
def test_expand_as_and_view_as_match_torch(name, shapes, data):
    x = data.draw(S.array(shape=shapes[0]), label="x")
    other = data.draw(S.array(shape=shapes[1]), label="other")
    method = _method(name)
    check(Call(name, (x, other), tg_fn=method, torch_fn=method if torch is not None else None))


GENERATED = [*METHODS, "cat", "stack", "concatenate", "expand_as", "view_as"]
