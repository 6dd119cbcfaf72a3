"""Reductions over random shapes (empty slices included), dtypes, dims, keepdim and values.

Every call either matches torch (values, dtypes, requires_grad, gradients) or raises a clear
tapegrad error; see tests/property/harness.py. Dims are sometimes out of range on purpose.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tapegrad as tg
from tests.opdb import OPDB
from tests.property import strategies as S
from tests.property.harness import Call, check, torch


@st.composite
def dims(draw, ndim: int, tuples: bool = True, empty: bool = True, none: bool = True):
    """A dim argument: None, one dim (now and then out of range) or a tuple of dims."""
    options = [S.dims_for(ndim), st.integers(-ndim - 2, ndim + 1)]
    if none:
        options.append(st.none())
    if tuples:
        options.append(S.dim_tuples(ndim).filter(lambda d: empty or d != ()))
    return draw(st.one_of(*options))


def _keepdim(draw, kwargs: dict) -> dict:
    """Add keepdim=True now and then; drop dim=None (torch's max/min/prod refuse it)."""
    if kwargs["dim"] is None:
        del kwargs["dim"]
    elif draw(st.booleans()):
        kwargs["keepdim"] = True
    return kwargs


@st.composite
def sum_kwargs(draw, ndim: int):
    kwargs = {"dim": draw(dims(ndim))}
    if draw(st.integers(0, 4)) == 0:
        kwargs["dtype"] = draw(st.sampled_from(["float64", "float32", "int64"]))
    return _keepdim(draw, kwargs)


@st.composite
def one_dim_kwargs(draw, ndim: int, none: bool = True):
    return _keepdim(draw, {"dim": draw(dims(ndim, tuples=False, none=none))})


@st.composite
def amax_kwargs(draw, ndim: int):
    return _keepdim(draw, {"dim": draw(dims(ndim, none=False))})


@st.composite
def moment_kwargs(draw, ndim: int):
    # an empty dim tuple is left out: torch's var(dim=()) has a broken gradient (-inf)
    kwargs = {"dim": draw(dims(ndim, empty=False))}
    correction = draw(st.sampled_from([None, 0, 1, 2]))
    if correction is not None:
        kwargs["correction"] = correction
    return _keepdim(draw, kwargs)


@st.composite
def logsumexp_kwargs(draw, ndim: int):
    return _keepdim(draw, {"dim": draw(dims(ndim, none=False, empty=False))})


@st.composite
def norm_kwargs(draw, ndim: int):
    kwargs = {"p": draw(st.sampled_from(["fro", 1, 2, 3, 0.5, math.inf, -math.inf, 0]))}
    kwargs["dim"] = draw(dims(ndim, empty=False))
    return _keepdim(draw, kwargs)


def _dtype_kw(kwargs: dict, to) -> dict:
    if "dtype" in kwargs:
        return {**kwargs, "dtype": to(kwargs["dtype"])}
    return kwargs


def _tg_dtype(name: str):
    return getattr(tg, name)


def _torch_dtype(name: str):
    return getattr(torch, name)


# op -> strategy of its keyword arguments for an ndim-d input
KWARGS = {
    "sum": sum_kwargs,
    "mean": sum_kwargs,
    "prod": lambda ndim: sum_kwargs(ndim).filter(lambda k: not isinstance(k.get("dim"), tuple)),
    "amax": amax_kwargs,
    "amin": amax_kwargs,
    "max": one_dim_kwargs,
    "min": one_dim_kwargs,
    "var": moment_kwargs,
    "std": moment_kwargs,
    "logsumexp": logsumexp_kwargs,
    "norm": norm_kwargs,
    "argmax": one_dim_kwargs,
    "argmin": one_dim_kwargs,
    "all": lambda ndim: one_dim_kwargs(ndim),
    "any": lambda ndim: one_dim_kwargs(ndim),
    "cumsum": lambda ndim: one_dim_kwargs(ndim, none=False).filter(lambda k: "keepdim" not in k),
}


def _finite(x, **kwargs) -> bool:
    """prod: torch's gradient at inf/NaN inputs divides out only the zeros it finds;
    tapegrad's divides the product by each element, so at an infinite element they differ."""
    return x.dtype.kind != "f" or bool(np.isfinite(x).all())


def _degrees_of_freedom_left(x, dim=None, correction=None, **kwargs) -> bool:
    """var, std: with N <= correction the value is inf or NaN (as torch) and torch's gradient
    depends on its code path (var(x) and var(x, dim=0) of one element differ)."""
    axes = range(x.ndim) if dim is None else np.atleast_1d(dim) % max(x.ndim, 1)
    count = math.prod(x.shape[a] for a in set(axes)) if x.ndim else 1
    return _finite(x) and count > (1 if correction is None else correction)


def _std_grad_comparable(x, dim=None, correction=None, **kwargs) -> bool:
    """std: as var, and no constant slice: there the gradient is 0 by convention, but torch's
    one-pass rounding leaves a tiny nonzero std with a gradient of order one."""
    if not _degrees_of_freedom_left(x, dim, correction):
        return False
    axes = None if dim is None or x.ndim == 0 else tuple(np.atleast_1d(dim) % x.ndim)
    return bool(np.all(np.ptp(x.astype(np.float64), axis=axes) > 0))


# Gradients are compared where these hold; values are compared everywhere.
GRAD_WHERE = {"prod": _finite, "var": _degrees_of_freedom_left, "std": _std_grad_comparable}


def _call(name: str, x: np.ndarray, kwargs: dict) -> Call:
    def tg_fn(t, **kw):
        return getattr(tg, name)(t, **_dtype_kw(kw, _tg_dtype))

    def torch_fn(t, **kw):
        return getattr(torch, name)(t, **_dtype_kw(kw, _torch_dtype))

    def numpy_fn(a, **kw):
        if "dtype" in kw:
            a = a.astype(kw.pop("dtype"))
        if name in ("sum", "mean") and kw.get("dim") == ():
            kw["dim"] = None  # torch's sum and mean read an empty dim tuple as every dim
        return OPDB[name].ref(a, **kw)

    return Call(
        name,
        (x,),
        kwargs,
        tg_fn=tg_fn,
        torch_fn=torch_fn if torch is not None else None,
        numpy_fn=numpy_fn,
    )


def _extension(x: np.ndarray, kwargs: dict) -> str | None:
    if x.dtype.kind == "f" and kwargs.get("dtype") == "int64":
        # torch refuses ("Autograd not support dtype: Long") only because x requires grad
        return "an integer dtype= on a float tensor that requires grad gives an untracked result"
    return None


@pytest.mark.parametrize("name", sorted(KWARGS))
@given(data=st.data())
def test_reductions_match_torch(name, data):
    x = data.draw(S.array(), label="x")
    kwargs = data.draw(KWARGS[name](x.ndim), label="kwargs")
    check(_call(name, x, kwargs), extension=_extension(x, kwargs), grad_where=GRAD_WHERE.get(name))


@given(data=st.data())
def test_linalg_vector_norm_matches_torch(data):
    x = data.draw(S.array(), label="x")
    kwargs = data.draw(norm_kwargs(x.ndim), label="kwargs")
    kwargs["ord"] = 2 if kwargs.pop("p") == "fro" else kwargs.pop("p", 2)
    call = Call(
        "linalg_vector_norm",
        (x,),
        kwargs,
        tg_fn=tg.linalg.vector_norm,
        torch_fn=torch.linalg.vector_norm if torch is not None else None,
    )
    check(call)


GENERATED = [*KWARGS, "linalg_vector_norm"]
