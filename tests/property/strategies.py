"""hypothesis strategies: shapes (empty, 0-d, size-1 dims), dtypes, values with NaN/inf, scalars."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
DTYPES = (*FLOAT_DTYPES, np.dtype(np.int64), np.dtype(np.bool_))

SPECIAL_FLOATS = (0.0, -0.0, 1.0, -1.0, 0.5, np.nan, np.inf, -np.inf)


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 0, max_side: int = 4):
    """Shapes up to 3-d, sides 0..4: empty tensors, 0-d tensors and size-1 dims all occur."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def dtypes(floats_only: bool = False):
    return st.sampled_from(FLOAT_DTYPES if floats_only else DTYPES)


def elements(dtype: np.dtype, finite: bool = False):
    """Values for one array: small numbers, exact zeros and ones, and (unless finite) NaN/inf."""
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        return st.integers(-5, 5)
    width = 32 if dtype == np.float32 else 64
    specials = [v for v in SPECIAL_FLOATS if not finite or np.isfinite(v)]
    # no subnormals: squares of them underflow, and torch's norms special-case that
    # (a scaled 2-norm) where tapegrad's do not; that gap is documented, not generated
    numbers = st.floats(-10, 10, allow_nan=False, allow_subnormal=False, width=width)
    return st.one_of(st.sampled_from(specials), numbers)


def arrays(dtype, shape, finite: bool = False):
    dtype = np.dtype(dtype)
    return hnp.arrays(dtype, shape, elements=elements(dtype, finite))


@st.composite
def array(draw, shape=None, dtype=None, finite: bool = False, floats_only: bool = False):
    """One array: a drawn shape and dtype unless given."""
    dtype = draw(dtypes(floats_only)) if dtype is None else np.dtype(dtype)
    shape = draw(shapes()) if shape is None else shape
    return draw(arrays(dtype, shape, finite))


@st.composite
def shape_pairs(draw, max_dims: int = 3):
    """Two shapes: usually broadcastable (in either direction), sometimes not at all."""
    if draw(st.integers(0, 3)) == 0:
        return draw(shapes(max_dims=max_dims)), draw(shapes(max_dims=max_dims))
    result = draw(
        hnp.mutually_broadcastable_shapes(
            num_shapes=2, min_dims=0, max_dims=max_dims, min_side=0, max_side=3
        )
    )
    return result.input_shapes


@st.composite
def unbroadcastable_shape_pairs(draw, max_dims: int = 3):
    """Two shapes that never broadcast: at one aligned dim, two different sizes, neither 1
    (0 against 2 included), the other dims drawn freely."""
    first = list(draw(shapes(min_dims=1, max_dims=max_dims)))
    second = list(draw(shapes(min_dims=1, max_dims=max_dims)))
    clash = draw(st.integers(1, min(len(first), len(second))))  # counted from the last dim
    sizes = st.lists(st.sampled_from([0, 2, 3, 4]), min_size=2, max_size=2, unique=True)
    first[-clash], second[-clash] = draw(sizes)
    return tuple(first), tuple(second)


def python_scalars():
    """Python numbers as torch sees them: bool, int, float (NaN and inf included)."""
    return st.one_of(
        st.booleans(),
        st.integers(-3, 3),
        st.sampled_from([0.5, -1.5, 2.0, 0.0, np.nan, np.inf, -np.inf]),
    )


def dims_for(ndim: int):
    """A valid dim for an ``ndim``-d tensor (0-d tensors take -1 and 0), negative included."""
    span = max(ndim, 1)
    return st.integers(-span, span - 1)


def dim_tuples(ndim: int):
    """A tuple of distinct valid dims (possibly empty) in any order, negatives included."""
    if ndim == 0:
        return st.sampled_from([(), (0,), (-1,)])
    return st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).flatmap(
        lambda dims: st.tuples(*(st.sampled_from([d, d - ndim]) for d in dims))
    )
