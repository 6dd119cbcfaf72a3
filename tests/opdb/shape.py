"""Op table rows: shape ops (tapegrad/ops/shape.py).

The numpy references below spell out torch's rules (-1 sizes, leading dims, legacy empty
tensors in cat) independently of the implementation, so a row checks the rule, not the code.
"""

import importlib

import numpy as np

import tapegrad as tg
from tests.opdb.cases import A, I, OpCase, Sample, T


def _size(args: tuple, keyword=None) -> tuple:
    """A torch size argument (``2, 3`` or ``(2, 3)`` or a keyword) as a tuple."""
    if keyword is not None:
        return tuple(keyword)
    if len(args) == 1 and not isinstance(args[0], int):
        return tuple(args[0])
    return tuple(args)


def _method(name: str):
    """The torch method ``name``: torch's function forms lack the varargs spelling."""

    def call(x, *args, **kwargs):
        return getattr(x, name)(*args, **kwargs)

    return call


def _torch_of_list(name: str):
    """torch.<name> for ops that take a list of tensors, imported only when called."""

    def call(*tensors, **kwargs):
        return getattr(importlib.import_module("torch"), name)(tensors, **kwargs)

    return call


def _tg_of_list(name: str):
    """tg.<name> taking the tensors as separate arguments, as the table passes them."""

    def call(*tensors, **kwargs):
        return getattr(tg, name)(tensors, **kwargs)

    return call


def _axis(d: int, ndim: int) -> int:
    return d % max(ndim, 1)


# --- numpy references ------------------------------------------------------------------------


def np_reshape(x, *args, shape=None, size=None):
    return np.reshape(x, _size(args, shape if size is None else size))


def np_expand(x, *args, size=None):
    sizes = _size(args, size)
    lead = len(sizes) - x.ndim
    shape = [x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes)]
    return np.broadcast_to(x, shape)


def np_squeeze(x, dim=None):
    axes = range(x.ndim) if dim is None else [_axis(d, x.ndim) for d in np.atleast_1d(dim)]
    return x.reshape([s for i, s in enumerate(x.shape) if not (i in axes and s == 1)])


def np_flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return x.reshape(1)
    start, end = _axis(start_dim, x.ndim), _axis(end_dim, x.ndim)
    return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1 :])


def np_unflatten(x, dim, sizes):
    d = _axis(dim, x.ndim)
    return x.reshape(x.shape[:d] + tuple(sizes) + x.shape[d + 1 :])


def np_permute(x, *args, dims=None):
    return np.transpose(x, _size(args, dims))


def np_flip(x, *args, dims=None):
    axes = tuple(_axis(d, x.ndim) for d in _size(args, dims))
    return np.flip(x, axes) if x.ndim else x


def np_roll(x, shifts, dims=None):
    return np.roll(x, shifts, dims)


def np_repeat(x, *args, repeats=None):
    return np.tile(x, _size(args, repeats))


def np_tile(x, *args, dims=None):
    return np.tile(x, _size(args, dims))


def np_movedim(x, source, destination):
    return np.moveaxis(x, source, destination) if x.ndim else x


def np_cat(*xs, dim=0, axis=None):
    # torch skips 1-D empty tensors, a leftover of its legacy `torch.tensor([])` start
    kept = [x for x in xs if x.shape != (0,)] or xs[:1]
    return np.concatenate(kept, axis=dim if axis is None else axis)


def np_split(x, split_size_or_sections, dim=0):
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        sizes = [min(size, n - start) for start in range(0, n, size)] or [0]  # one empty piece
    else:
        sizes = list(split_size_or_sections)
    if not sizes:  # split(x, []) of an empty dim: no pieces, where np.split would give one
        return []
    return np.split(x, np.cumsum(sizes)[:-1], axis=dim)


def np_chunk(x, chunks, dim=0):
    n = x.shape[dim]
    return np_split(x, -(-n // chunks), dim)


def np_unbind(x, dim=0):
    return tuple(np.moveaxis(x, dim, 0))


def np_narrow(x, dim, start, length):
    d = _axis(dim, x.ndim)
    start %= x.shape[d]
    return np.take(x, range(start, start + length), axis=d)


# --- rows ------------------------------------------------------------------------------------

CASES = [
    OpCase(
        "reshape",
        [
            Sample((T((2, 3)), (3, 2))),
            Sample((T((2, 3, 4)), (-1, 4))),
            Sample((T(()), (1, 1))),
            Sample((T((6,)), 2, 3), id="(6,)->2,3 varargs"),
            Sample((T((1, 1)), ()), id="(1,1)->0-d"),
            Sample((T((2, 3)),), {"shape": [-1]}, id="shape=[-1]"),
        ],
        ref=np_reshape,
        torch=_method("reshape"),
    ),
    OpCase(
        "view",
        [
            Sample((T((2, 3)), 3, -1)),
            Sample((T((4,)), (2, 2))),
            Sample((T(()), ())),
            Sample((T((2, 3)),), {"size": (6,)}, id="size=(6,)"),
        ],
        ref=np_reshape,
        torch=_method("view"),
    ),
    OpCase(
        "view_as",
        [
            Sample((T((2, 3)), T((3, 2), grad=False))),
            Sample((T((1, 1)), T((), grad=False))),
        ],
        ref=lambda x, other: x.reshape(other.shape),
        torch=_method("view_as"),
    ),
    OpCase(
        "flatten",
        [
            Sample((T((2, 3, 4)),)),
            Sample((T((2, 3, 4)), 1)),
            Sample((T((2, 3, 4)), 0, -2)),
            Sample((T((2, 3, 4)), -1, -1), id="-1..-1"),
            Sample((T(()),)),
        ],
        ref=np_flatten,
    ),
    OpCase(
        "unflatten",
        [
            Sample((T((2, 6)), 1, (2, 3))),
            Sample((T((2, 6)), -1, (3, -1)), id="(2,6),-1,(3,-1)"),
            Sample((T((4,)), 0, [2, 1, 2])),
        ],
        ref=np_unflatten,
    ),
    OpCase(
        "unsqueeze",
        [Sample((T((2, 3)), 0)), Sample((T((2, 3)), -1)), Sample((T(()), 0))],
        ref=lambda x, d: np.expand_dims(x, d),
    ),
    OpCase(
        "squeeze",
        [
            Sample((T((2, 1, 3, 1)),)),
            Sample((T((2, 1, 3)), 1)),
            Sample((T((2, 1, 1)), (-1, 1))),
            Sample((T((2, 3)), 0), id="non-1 dim kept"),
            Sample((T(()),)),
            Sample((T(()), 0), id="0-d,dim=0"),
        ],
        ref=np_squeeze,
    ),
    OpCase(
        "contiguous",
        [Sample((T((2, 3)),)), Sample((T(()),))],
        ref=lambda x: x,
        torch=_method("contiguous"),
    ),
]

CASES += [
    OpCase(
        "expand",
        [
            Sample((T((3, 1)), (3, 4))),
            Sample((T((4,)), (2, 3, 4))),
            Sample((T(()), (2, 2))),
            Sample((T((1, 3)), -1, 3), id="(1,3)->-1,3"),
            Sample((T((2, 1)), 1, 2, -1), id="(2,1)->1,2,-1 no copy"),
            Sample((T((3, 1)),), {"size": (2, 3, 2)}, id="size=(2,3,2)"),
        ],
        ref=np_expand,
        torch=_method("expand"),
    ),
    OpCase(
        "expand_as",
        [
            Sample((T((3, 1)), T((2, 3, 4), grad=False))),
            Sample((T(()), T((2, 2), grad=False))),
        ],
        ref=lambda x, other: np.broadcast_to(x, other.shape),
        torch=_method("expand_as"),
    ),
    OpCase(
        "broadcast_to",
        [
            Sample((T((3, 1)), (2, 3, 4))),
            Sample((T(()), (3,))),
            Sample((T((1, 3)), (-1, 3)), id="(1,3)->(-1,3)"),
        ],
        ref=lambda x, size: np_expand(x, size),
    ),
    OpCase(
        "repeat",
        [
            Sample((T((2, 3)), 2, 1)),
            Sample((T((2, 3)), (1, 2, 2))),
            Sample((T((3,)), 2, 0), id="(3,)x2,0 empty"),
            Sample((T(()), 3)),
            Sample((T(()), ()), id="0-d,()"),
            Sample((T((2, 1)),), {"repeats": (2, 3)}, id="repeats=(2,3)"),
        ],
        ref=np_repeat,
        torch=_method("repeat"),
    ),
    OpCase(
        "tile",
        [
            Sample((T((2, 3)), (2,)), id="(2,3),(2,) pads"),
            Sample((T((2, 3)), 2, 1, 2)),
            Sample((T(()), (2,))),
            Sample((T((2, 3)),), {"dims": (2, 2)}, id="dims=(2,2)"),
        ],
        ref=np_tile,
        torch=_method("tile"),
    ),
]

CASES += [
    OpCase(
        "permute",
        [
            Sample((T((2, 3, 4)), 2, 0, 1)),
            Sample((T((2, 3)), (-1, 0))),
            Sample((T(()), ()), id="0-d"),
            Sample((T((2, 3, 4)),), {"dims": (1, -1, 0)}, id="dims=(1,-1,0)"),
        ],
        ref=np_permute,
        torch=_method("permute"),
    ),
    OpCase(
        "transpose",
        [
            Sample((T((2, 3, 4)), 0, 2)),
            Sample((T((2, 3)), -1, -2)),
            Sample((T((3,)), 0, -1)),
            Sample((T(()), 0, -1)),
        ],
        ref=lambda x, a, b: np.swapaxes(x, a, b) if x.ndim else x,
    ),
    OpCase(
        "swapaxes",
        [Sample((T((2, 3, 4)), 0, -1)), Sample((T((2, 3)), 1, 1))],
        ref=np.swapaxes,
    ),
    OpCase(
        "t",
        [Sample((T((2, 3)),)), Sample((T((3,)),)), Sample((T(()),))],
        ref=np.transpose,
    ),
    OpCase(
        "movedim",
        [
            Sample((T((2, 3, 4)), 0, -1)),
            Sample((T((2, 3, 4)), (0, 1), (2, 0))),
            Sample((T((2, 3, 4)), [-1], [0])),
            Sample((T(()), 0, 0)),
        ],
        ref=np_movedim,
    ),
    OpCase(
        "flip",
        [
            Sample((T((2, 3, 4)), (0, 2))),
            Sample((T((2, 3)), -1), id="(2,3),-1"),
            Sample((T((2, 3)), 0, 1), id="(2,3),0,1 varargs"),
            Sample((T((2, 3)), ()), id="(2,3),() copy"),
            Sample((T(()), [0])),
            Sample((T((2, 3)),), {"dims": [1]}, id="dims=[1]"),
        ],
        ref=np_flip,
        torch=_method("flip"),
    ),
    OpCase(
        "roll",
        [
            Sample((T((2, 3)), 1), id="flat"),
            Sample((T((2, 3)), -1, 1)),
            Sample((T((2, 3, 4)), (1, -2), (0, 2))),
            Sample((T((2, 3)), (1, 1), (1, 1)), id="same dim twice"),
            Sample((T((2, 3)), 7, -1), id="shift > size"),
            Sample((T(()), 1)),
            Sample((T((4,)),), {"shifts": 2, "dims": 0}, id="shifts=2,dims=0"),
        ],
        ref=np_roll,
    ),
]

CASES += [
    OpCase(
        "cat",
        [
            Sample((T((2, 3)), T((4, 3)))),
            Sample((T((2, 3)), T((2, 1)), T((2, 2))), {"dim": 1}),
            Sample((T((2, 3)), T((2, 2))), {"dim": -1}),
            Sample((T((3,)), T((2,)))),
            Sample((T((2, 3)),), id="one tensor"),
            Sample((A([]), T((2, 3))), {"dim": 1}, id="legacy (0,) skipped"),
            Sample((T((2,)), I([1, 2])), id="float64+int64"),
        ],
        ref=np_cat,
        op=_tg_of_list("cat"),
        torch=_torch_of_list("cat"),
    ),
    OpCase(
        "concatenate",
        [Sample((T((2, 3)), T((2, 1))), {"axis": 1}), Sample((T((2,)), T((3,))))],
        ref=np_cat,
        op=_tg_of_list("concatenate"),
        torch=_torch_of_list("concatenate"),
    ),
    OpCase(
        "stack",
        [
            Sample((T((2, 3)), T((2, 3)))),
            Sample((T((2, 3)), T((2, 3)), T((2, 3))), {"dim": -1}),
            Sample((T((2, 3)), T((2, 3))), {"dim": 1}),
            Sample((T(()), T(()), T(())), id="0-d"),
            Sample((T((2,)), I([1, 2])), id="float64+int64"),
        ],
        ref=lambda *xs, dim=0: np.stack(xs, axis=dim),
        op=_tg_of_list("stack"),
        torch=_torch_of_list("stack"),
    ),
    OpCase(
        "split",
        [
            Sample((T((5, 3)), 2)),
            Sample((T((5, 3)), (1, 4))),
            Sample((T((2, 6)), [1, 2, 3]), {"dim": -1}),
            Sample((T((2, 6)), [0, 6], 1), id="empty piece"),
            Sample((T((4,)), 4), id="one piece"),
        ],
        ref=np_split,
    ),
    OpCase(
        "chunk",
        [
            Sample((T((5, 3)), 2)),
            Sample((T((5, 3)), 3, 1)),
            Sample((T((6, 2)), 4), id="(6,2),4 gives 3"),
            Sample((T((2, 5)), 2), {"dim": -1}),
        ],
        ref=np_chunk,
    ),
    OpCase(
        "unbind",
        [Sample((T((3, 2)),)), Sample((T((3, 2)), -1)), Sample((T((2, 1, 3)), 1))],
        ref=np_unbind,
    ),
    OpCase(
        "narrow",
        [
            Sample((T((4, 3)), 0, 1, 2)),
            Sample((T((4, 3)), -1, -2, 2)),
            Sample((T((4, 3)), 1, 0, 3), id="whole dim"),
            Sample((T((4, 3)), 0, 3, 0), id="empty"),
        ],
        ref=np_narrow,
    ),
]
