"""Op table rows: reductions (tapegrad/ops/reduction.py).

Random inputs have no ties, so max/amax gradients are well defined here; tie-splitting is
checked against torch in tests/ops/test_reduction.py.
"""

import math

import numpy as np

from tests.opdb.cases import A, B, OpCase, Sample, T, np_dims, positive, reduction_samples

INF = math.inf


def _np_reduce(fn):
    def ref(x, dim=None, keepdim=False):
        return fn(x, axis=np_dims(dim), keepdims=keepdim)

    return ref


def _all_dims(dim):
    """torch's amax/var/norm/logsumexp read an empty dim tuple as every dim."""
    axis = np_dims(dim)
    return None if axis == () else axis


def _np_amax(fn):
    def ref(x, dim=(), keepdim=False):
        return fn(x, axis=_all_dims(dim), keepdims=keepdim)

    return ref


def _np_extreme(reduce, pick, binary):
    def ref(x, dim=None, keepdim=False):
        if isinstance(dim, np.ndarray):
            return binary(x, dim)
        if dim is None:
            return reduce(x)
        flat = np.atleast_1d(x)
        values = reduce(flat, axis=dim, keepdims=keepdim)
        indices = pick(flat, axis=dim, keepdims=keepdim)
        if x.ndim == 0:
            return values.reshape(()), indices.reshape(())
        return values, indices

    return ref


def _np_arg(pick):
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            return pick(x, keepdims=keepdim) if x.ndim else np.int64(0)
        return pick(np.atleast_1d(x), axis=dim, keepdims=keepdim).reshape(
            np.sum(x, axis=dim if x.ndim else None, keepdims=keepdim).shape
        )

    return ref


def _np_prod(x, dim=None, keepdim=False):
    return np.prod(x, axis=dim if x.ndim else None, keepdims=keepdim)


def _np_cumsum(x, dim):
    return np.cumsum(np.atleast_1d(x), axis=dim).reshape(x.shape)


def _np_moment(root):
    def ref(x, dim=None, unbiased=None, keepdim=False, correction=None):
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        if correction is None:
            correction = 0 if unbiased is False else 1
        v = np.var(x, axis=_all_dims(dim), ddof=correction, keepdims=keepdim)
        return np.sqrt(v) if root else v

    return ref


def _np_logsumexp(x, dim, keepdim=False):
    return np.log(np.sum(np.exp(x), axis=_all_dims(dim), keepdims=keepdim))


def _np_norm(x, p="fro", dim=None, keepdim=False):
    axis = _all_dims(dim)
    p = 2 if p == "fro" else p
    size = np.abs(x)
    if p == 0:
        return np.sum(size != 0, axis=axis, keepdims=keepdim).astype(x.dtype)
    if p == INF:
        return np.max(size, axis=axis, keepdims=keepdim)
    if p == -INF:
        return np.min(size, axis=axis, keepdims=keepdim)
    return np.sum(size**p, axis=axis, keepdims=keepdim) ** (1 / p)


_ZEROS = [
    Sample((A([2.0, 0.0, 3.0, -1.5]),), id="one zero"),
    Sample((A([[0.5, 0.0, 2.0], [0.0, 1.5, 0.0]]),), id="three zeros,all dims"),
    Sample((A([[0.5, 0.0, 2.0, 0.0], [1.5, 0.0, -2.0, 1.2]]), 1), id="two zeros in a row,dim=1"),
    Sample((A([[0.0, 0.0, 0.0], [0.0, 1.5, 0.7]]), -1), id="three and one zeros,dim=-1"),
]

_PROD = [
    Sample((T((3, 4)),)),
    Sample((T((3, 4)), 1)),
    Sample((T((3, 4)), -1), {"keepdim": True}),
    Sample((T((2, 3, 4)), 0)),
    Sample((T(()),)),
    Sample((T(()), 0), {"keepdim": True}),
    *_ZEROS,
]

_EXTREME = [
    Sample((T((3, 4)),)),
    Sample((T((3, 4)), 1)),
    Sample((T((3, 4)), -1, True), id="(3, 4)x-1,keepdim"),
    Sample((T((2, 3, 4)), 0), {"keepdim": True}),
    Sample((T((5,)), 0)),
    Sample((T(()),)),
    Sample((T(()), 0)),
    Sample((T((3, 4)), T((4,))), id="other (3, 4)x(4,)"),
]

_AMAX = [*reduction_samples(), Sample((T((3, 4)), ())), Sample((T(()), 0), {"keepdim": True})]

_MOMENTS = [
    *reduction_samples(full=False),
    Sample((T((3, 4)),)),
    Sample((T((3, 4)), None), {"correction": 0}),
    Sample((T((3, 4)), 1), {"correction": 2, "keepdim": True}),
    Sample((T((2, 3, 4)), (0, 2)), {"correction": 0.5}),
    Sample((T((3, 4)), 0, False, True), id="(3, 4),dim=0,unbiased=False,keepdim"),
    Sample((T((3, 4)), False), id="(3, 4),unbiased=False"),
    Sample((T(()),), {"correction": 0}),
]

_LOGSUMEXP = [
    Sample((T((3, 4)), 1)),
    Sample((T((3, 4)), -1), {"keepdim": True}),
    Sample((T((2, 3, 4)), (0, 2))),
    Sample((T((2, 3, 4)), (-1, 0)), {"keepdim": True}),
    Sample((T((5,)), 0)),
    Sample((T(()), 0)),
]

_SIGNS = [[1.5, -0.3, 0.7, -0.9], [-2.0, 0.4, 1.1, -0.6]]

_NORM = [
    Sample((T((3, 4)),)),
    Sample((T((3, 4)), "fro", 1)),
    Sample((T((3, 4)), 2, -1, True), id="(3, 4),p=2,dim=-1,keepdim"),
    Sample((T((2, 3, 4)),), {"p": 1, "dim": (0, 2)}),
    Sample((T((3, 4)),), {"p": INF, "dim": 0}),
    Sample((A(_SIGNS),), {"p": INF, "dim": 1}, id="mixed signs,p=inf,dim=1"),
    Sample((A(_SIGNS),), {"p": 1}, id="mixed signs,p=1"),
    Sample((A(_SIGNS), 3, 0), id="mixed signs,p=3,dim=0"),
    Sample((A(_SIGNS), 1.5, 0), id="mixed signs,p=1.5,dim=0"),
    Sample((T((3, 4)),), {"p": -INF}),
    Sample((T((3, 4)),), {"p": 0, "dim": 1}),
    Sample((T((2, 3, 4)),), {"p": 3, "dim": (-1, 0), "keepdim": True}),
    Sample((T((3, 4)),), {"p": 1.5, "dim": 1}),
    Sample((T((3, 4), domain=(0.5, 2.0)),), {"p": 0.5, "dim": 1}),
    Sample((T((3, 4), domain=(-2.0, -0.5)),), {"p": -1.5}),
    Sample((T(()),)),
]

_CUMSUM = [
    Sample((T((3, 4)), 1)),
    Sample((T((3, 4)), -1)),
    Sample((T((2, 3, 4)), 0)),
    Sample((T((5,)), 0)),
    Sample((T(()), 0)),
]

_ARG = [
    Sample((T((3, 4)),)),
    Sample((T((3, 4)),), {"keepdim": True}),
    Sample((T((3, 4)), 1)),
    Sample((T((2, 3, 4)), -1), {"keepdim": True}),
    Sample((A([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]), 1), id="ties pick the first"),
    Sample((T(()),)),
    Sample((T(()), 0)),
]

_LOGICAL = [
    Sample((B([[True, False, True], [True, True, True]]),)),
    Sample((B([[True, False, True], [True, True, True]]), 1)),
    Sample((B([[True, False, True], [False, False, False]]), -2), {"keepdim": True}),
    Sample((A([[1.0, 0.0], [2.0, -1.0]], grad=False), (0, 1))),
    Sample((B(True),)),
]

CASES = [
    OpCase("sum", reduction_samples(), ref=_np_reduce(np.sum)),
    OpCase("mean", reduction_samples(), ref=_np_reduce(np.mean)),
    OpCase("prod", _PROD, ref=_np_prod),
    OpCase("max", _EXTREME, ref=_np_extreme(np.max, np.argmax, np.maximum)),
    OpCase("min", _EXTREME, ref=_np_extreme(np.min, np.argmin, np.minimum)),
    OpCase("amax", _AMAX, ref=_np_amax(np.max)),
    OpCase("amin", _AMAX, ref=_np_amax(np.min)),
    OpCase("var", _MOMENTS, ref=_np_moment(root=False)),
    OpCase("std", _MOMENTS, ref=_np_moment(root=True)),
    OpCase("logsumexp", _LOGSUMEXP, ref=_np_logsumexp),
    OpCase("norm", _NORM, ref=_np_norm, domain=positive(0.2, 2.0)),
    OpCase("cumsum", _CUMSUM, ref=_np_cumsum),
    OpCase("argmax", _ARG, ref=_np_arg(np.argmax)),
    OpCase("argmin", _ARG, ref=_np_arg(np.argmin)),
    OpCase("all", _LOGICAL, ref=_np_reduce(np.all)),
    OpCase("any", _LOGICAL, ref=_np_reduce(np.any)),
]
