"""Op table rows: indexing (tapegrad/ops/indexing.py).

Keys are plain tuples; I()/B() specs inside them become index tensors. Index samples repeat
positions, so the gradient checks see repeated indices accumulate. The numpy references
loop over positions, independent of the implementation's keys.
"""

import numpy as np

from tests.opdb.cases import A, B, I, OpCase, Sample, T


def _np_gather(x, dim, index):
    x1, idx = np.atleast_1d(x), np.atleast_1d(index)
    dim %= x1.ndim
    out = np.empty(idx.shape, x1.dtype)
    for pos in np.ndindex(idx.shape):
        source = list(pos)
        source[dim] = idx[pos]
        out[pos] = x1[tuple(source)]
    return out.reshape(np.shape(index))


def _np_scatter(accumulate):
    def ref(x, dim, index, src=None, value=None):
        out, idx = np.atleast_1d(x).copy(), np.atleast_1d(index)
        src = value if src is None else src
        src = np.atleast_1d(src) if np.ndim(src) else src
        dim %= out.ndim
        for pos in np.ndindex(idx.shape):
            target = list(pos)
            target[dim] = idx[pos]
            v = src[pos] if np.ndim(src) else src
            if accumulate:
                out[tuple(target)] += v
            else:
                out[tuple(target)] = v
        return out.reshape(np.shape(x))

    return ref


def _torch_scatter(name):
    """torch's src gradient fails unless src has index's shape; torch reads only that corner
    of src, so slicing it first keeps every value and gives torch's gradient for the rest: 0."""

    def call(x, dim, index, src=None, **kwargs):
        if getattr(src, "shape", index.shape) != index.shape:
            src = src[tuple(slice(0, n) for n in index.shape)]
        return getattr(x, name)(dim, index, *(() if src is None else (src,)), **kwargs)

    return call


def _np_index_put(x, indices, values, accumulate=False):
    out = x.copy()
    if accumulate:
        np.add.at(out, tuple(indices), values)
    else:
        out[tuple(indices)] = values
    return out


def _np_take_along_dim(x, indices, dim=None):
    if dim is None:
        return np.take_along_axis(x.reshape(-1), indices.reshape(-1), 0)
    return np.take_along_axis(x, indices, dim)  # numpy broadcasts outside dim, as torch


def _np_masked_select(x, mask):
    shape = np.broadcast_shapes(x.shape, mask.shape) or (1,)
    return np.broadcast_to(x, shape)[np.broadcast_to(mask, shape)]


def _np_nonzero(x, as_tuple=False):
    return tuple(np.nonzero(np.atleast_1d(x))) if as_tuple else np.argwhere(x)


CASES = [
    OpCase(
        "__getitem__",
        [
            Sample((T((4, 3)), 1), id="int"),
            Sample((T((4, 3)), -1), id="negative int"),
            Sample((T((4, 3)), (1, 2)), id="0-d result"),
            Sample((T((4, 3)), (slice(1, None), slice(None, None, 2))), id="slices"),
            Sample((T((2, 3, 4)), (None, Ellipsis, 1)), id="None,Ellipsis,int"),
            Sample((T((4, 3)), [0, 2, 0, 0]), id="repeated list"),
            Sample((T((4, 3)), I([0, 2, 0, 0])), id="repeated tensor"),
            Sample((T((4, 3)), (slice(1, None), I([0, 0, 2]))), id="slice,repeated tensor"),
            Sample((T((3, 4)), (I([[0, 2], [2, 2]]), I([[1], [1]]))), id="broadcast arrays"),
            Sample((T((4, 3)), B([True, False, True, True])), id="bool mask"),
            Sample((T((2, 4, 3)), (Ellipsis, B([True, False, True]))), id="Ellipsis,mask"),
            Sample((T((4, 3)), (np.array([[True, False, True]] * 4),)), id="2-d mask"),
            Sample((T(()), None), id="0-d,None"),
            Sample((T(()), Ellipsis), id="0-d,Ellipsis"),
        ],
        ref=lambda x, key: x[key],
        torch=lambda x, key: x[key],
    ),
    OpCase(
        "index_put",
        [
            Sample((T((3, 4)), (I([2, 0]),), T((4,))), id="broadcast values"),
            Sample(
                (T((3, 4)), (I([2, 0, 2]),), T((3, 1))),
                {"accumulate": True},
                id="repeated,accumulate",
            ),
            Sample((T((3, 4)), (I([0, 2]), I([1, 3])), T(())), id="two arrays,0-d value"),
            Sample((T((3, 4)), (B([True, False, True]),), T((2, 4))), id="mask"),
        ],
        ref=_np_index_put,
    ),
    OpCase(
        "gather",
        [
            Sample((T((3, 4)), 1, I([[0, 0, 3], [2, 2, 2]])), id="repeated"),
            Sample((T((3, 4)), 0, I([[0], [2], [0], [0]])), id="longer along dim"),
            Sample((T((2, 3, 4)), -1, I([[[0, 3], [1, 1]], [[2, 0], [3, 3]]])), id="dim -1"),
            Sample((T(()), 0, I(0)), id="0-d"),
        ],
        ref=_np_gather,
    ),
    OpCase(
        "scatter_add",
        [
            Sample((T((3, 4)), 0, I([[0, 1, 0], [0, 2, 2]]), T((2, 3))), id="repeated"),
            Sample((T((3, 4)), -1, I([[0, 0], [3, 3]]), T((2, 5))), id="larger src,dim -1"),
            Sample((T(()), 0, I(0), T(())), id="0-d"),
        ],
        ref=_np_scatter(accumulate=True),
        torch=_torch_scatter("scatter_add"),
    ),
    OpCase(
        "scatter",
        [
            Sample((T((3, 4)), 0, I([[0, 1, 2], [1, 2, 0]]), T((2, 3))), id="src"),
            Sample((T((3, 4)), 1, I([[3], [0]]), 2.5), id="value"),
            Sample((T((3, 4)), 1, I([[1]])), {"value": -1.0}, id="value kw"),
            Sample((T((3, 4)), -1, I([[0, 1]]), T((2, 3))), id="larger src,dim -1"),
            Sample((T(()), 0, I(0), T(())), id="0-d"),
        ],
        ref=_np_scatter(accumulate=False),
        torch=_torch_scatter("scatter"),
    ),
    OpCase(
        "index_select",
        [
            Sample((T((3, 4)), 1, I([0, 2, 0, 0])), id="repeated"),
            Sample((T((3, 4)), -2, I([2, 2])), id="dim -2"),
            Sample((T((3, 4)), 0, I(1)), id="0-d index"),
            Sample((T(()), 0, I([0])), id="0-d input"),
        ],
        ref=lambda x, dim, index: np.take(x, np.atleast_1d(index), axis=dim) if x.ndim else x,
    ),
    OpCase(
        "take_along_dim",
        [
            Sample((T((3, 4)), I([[0, 0, 3]]), 1), id="indices broadcast"),
            Sample((T((3, 1)), I([[0, 1, 2, 2]]), 0), id="input broadcast"),
            Sample((T((2, 3)), I([[0], [2]]), -1), id="dim -1"),
            Sample((T((3, 4)), I([11, 0, 0])), id="flattened"),
            Sample((T(()), I(0)), id="0-d"),
        ],
        ref=_np_take_along_dim,
    ),
    OpCase(
        "select",
        [
            Sample((T((3, 4)), 1, -1), id="negative index"),
            Sample((T((2, 3, 4)), -3, 1), id="negative dim"),
            Sample((T((3,)), 0, 2), id="0-d result"),
        ],
        ref=lambda x, dim, index: np.take(x, index, axis=dim),
    ),
    OpCase(
        "masked_fill",
        [
            Sample((T((3, 4)), B([True, False, False, True]), 1.5), id="mask broadcast"),
            Sample((T((4,)), B([[True, False, False, True], [False] * 4]), -2.0), id="input bc"),
            Sample((T((3, 4)), B([[True], [False], [True]]), T(())), id="0-d tensor value"),
            Sample((T(()), B(True), 0.0), id="0-d"),
        ],
        ref=lambda x, mask, value: np.where(mask, value, x),
    ),
    OpCase(
        "masked_select",
        [
            Sample((T((3, 4)), B([[True], [False], [True]])), id="mask broadcast"),
            Sample((T((4,)), B([[True, False, True, True], [False, True, False, False]])), id="bc"),
            Sample((T(()), B(True)), id="0-d"),
        ],
        ref=_np_masked_select,
    ),
    OpCase(
        "nonzero",
        [
            Sample((I([[0, 1], [2, 0]]),), id="int"),
            Sample((A([0.0, 1.5, 0.0, -2.0], grad=False),), id="float"),
            Sample((I([[0, 3], [4, 0]]),), {"as_tuple": True}, id="as_tuple"),
            Sample((I(5),), id="0-d"),
        ],
        ref=_np_nonzero,
    ),
]
