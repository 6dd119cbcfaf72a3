"""Rules for indexing: ``x[key]``, gather/scatter along a dim, index_put, nonzero, one_hot."""

from __future__ import annotations

import numpy as np

from tapegrad.onnx.dynamic import Dim, Unfitted
from tapegrad.onnx.graph import INT64_MAX
from tapegrad.onnx.ops.registry import arguments, rule
from tapegrad.onnx.ops.shape import cannot_compute
from tapegrad.ops import indexing as ix


def _bound(call, value) -> str:
    """A slice bound as a 1-D int64 value: fixed, or following a dynamic axis."""
    if isinstance(value, Unfitted):
        raise cannot_compute(call, "a slice bound")
    return call.dims([value])


def _basic_index(g, call, x: str, entries, ndim: int) -> str:
    """x[entries] for ints, slices, None and Ellipsis: Slice, Gather of a scalar, Unsqueeze."""
    used = sum(1 for e in entries if isinstance(e, (int, slice, Dim, Unfitted)))
    axis = 0
    for e in entries:
        if e is Ellipsis:
            axis += ndim - used
        elif e is None:
            x = g.op1("Unsqueeze", [x, g.ints([axis])])
            axis += 1
        elif isinstance(e, int):
            x = g.op1("Gather", [x, g.const(np.int64(e))], axis=axis)  # drops the axis
        elif isinstance(e, (Dim, Unfitted)):
            position = g.op1("Squeeze", [_bound(call, e), g.ints([0])])
            x = g.op1("Gather", [x, position], axis=axis)
        else:
            step = 1 if e.step is None else e.step
            if (e.start, e.stop, step) != (None, None, 1):
                start = _bound(call, 0 if e.start is None else e.start)
                stop = _bound(call, INT64_MAX if e.stop is None else e.stop)
                x = g.op1("Slice", [x, start, stop, g.ints([axis]), g.ints([step])])
            axis += 1
    return x


def _is_full(e) -> bool:
    return e is Ellipsis or (isinstance(e, slice) and e == slice(None))


@rule(ix.GetItem, ix.IndexSelect, ix.Select, sized=(1,))
def _getitem(g, call):
    return _indexed(g, call, call.x(0), call.sym(1), len(call.shape(0)))


def _indexed(g, call, x: str, index, ndim: int) -> str:
    """``x[index]`` for an Index over ``x``'s first ``ndim`` dims (more may follow)."""
    if index.pre is not None:
        x = _basic_index(g, call, x, index.pre, ndim)
        ndim -= sum(1 for e in index.pre if not isinstance(e, slice) and e is not Ellipsis)
    if index.basic:
        return _basic_index(g, call, x, index.post, ndim)
    post = index.post
    arrays = [i for i, e in enumerate(post) if isinstance(e, np.ndarray)]
    if len(arrays) == 1 and all(_is_full(e) for i, e in enumerate(post) if i != arrays[0]):
        # one integer tensor among full slices (x[:, idx], x[..., idx]): Gather on its axis
        used = sum(1 for e in post if e is not Ellipsis)
        before = post[: arrays[0]]
        axis = sum(ndim - used if e is Ellipsis else 1 for e in before)
        return g.op1("Gather", [x, call.array(post[arrays[0]])], axis=axis)
    if arrays != list(range(len(arrays))):
        raise _unsupported(call, post)
    # integer arrays in the leading dims: Gather (one) or GatherND (their stacked positions)
    # puts the broadcast index dims in front; the basic entries after them then apply
    values = [call.array(post[i]) for i in arrays]
    if len(values) == 1:
        x = g.op1("Gather", [x, values[0]], axis=0)
    else:
        if len({post[i].shape for i in arrays}) > 1:  # broadcast them to one shape first
            total = values[0]
            for v in values[1:]:
                total = g.op1("Add", [total, v])
            shape = g.op1("Shape", [total])
            values = [g.op1("Expand", [v, shape]) for v in values]
        stacked = [g.op1("Unsqueeze", [v, g.ints([-1])]) for v in values]
        x = g.op1("GatherND", [x, g.op1("Concat", stacked, axis=-1)])
    lead = np.broadcast_shapes(*(post[i].shape for i in arrays))
    rest = post[len(arrays) :]
    return _basic_index(
        g, call, x, (slice(None),) * len(lead) + rest, ndim - len(arrays) + len(lead)
    )


def _unsupported(call, post) -> NotImplementedError:
    parts = [f"array{tuple(e.shape)}" if isinstance(e, np.ndarray) else repr(e) for e in post]
    return NotImplementedError(
        "tg.onnx.export: only basic indexing (ints, slices, None, ...), one integer tensor "
        "among full slices, or integer tensors in the leading dims export, got an index "
        f"[{', '.join(parts)}] ({call.where()})"
    )


def _along_dim(call, post) -> int:
    """The dim of gather/scatter's ``along`` key: the entry that is not an arange grid."""
    for d, e in enumerate(post):
        if call.ctx.names.array(e) is not None:
            return d
    for d, e in enumerate(post):
        n = e.shape[d] if e.ndim > d else 1
        grid_shape = tuple(n if k == d else 1 for k in range(e.ndim))
        if e.shape != grid_shape or not np.array_equal(e.reshape(-1), np.arange(n)):
            return d
    return 0  # every entry reads its own position: any dim gives the same values


@rule(ix.Gather)
def _gather(g, call):
    post = call.args[1].post
    d = _along_dim(call, post)
    return g.op1("GatherElements", [call.x(0), call.array(post[d])], axis=d)


@rule(ix.Scatter, ix.ScatterAdd)
def _scatter(g, call):
    post, accumulate = call.args[2].post, call.args[3]
    d = _along_dim(call, post)
    index = call.array(post[d])
    updates = call.x(1)
    if call.shape(1) != post[d].shape:  # a number: one value at every index
        updates = g.op1("Expand", [updates, g.op1("Shape", [index])])
    if accumulate and g.opset < 16:
        raise NotImplementedError(
            f"tg.onnx.export: scatter_add needs opset_version 16 or later ({call.where()})"
        )
    reduction = "add" if accumulate else None
    return g.op1("ScatterElements", [call.x(0), index, updates], axis=d, reduction=reduction)


@rule(ix.IndexPut, sized=(2,))
def _index_put(g, call):
    # x[key] = v (or +=): index a tensor of every position of x the same way, and ScatterND
    # v there, so the written positions follow x's (dynamic) shape and computed indices
    accumulate = call.args[3]
    ndim = len(call.shape(0))
    positions = _indexed(g, call, _positions(g, call.x(0), ndim), call.sym(2), ndim)
    picked = g.op1("Slice", [g.op1("Shape", [positions]), g.ints([0]), g.ints([-1])])
    updates = g.op1("Expand", [call.x(1), picked])
    if accumulate and g.opset < 16:
        raise NotImplementedError(
            f"tg.onnx.export: index_put with accumulate needs opset_version 16 or later "
            f"({call.where()})"
        )
    reduction = "add" if accumulate else None
    return g.op1("ScatterND", [call.x(0), positions, updates], reduction=reduction)


def _positions(g, x: str, ndim: int) -> str:
    """Every position of ``x``, as an int64 tensor of shape (*x.shape, ndim)."""
    shape = g.op1("Shape", [x])
    axes = []
    for axis in range(ndim):
        size = g.op1("Squeeze", [g.op1("Gather", [shape, g.ints([axis])], axis=0), g.ints([0])])
        steps = g.op1("Range", [g.const(np.int64(0)), size, g.const(np.int64(1))])
        along = [1] * axis + [-1] + [1] * (ndim - axis - 1)
        grid = g.op1("Expand", [g.op1("Reshape", [steps, g.ints(along)]), shape])
        axes.append(g.op1("Unsqueeze", [grid, g.ints([-1])]))
    return g.op1("Concat", axes, axis=-1)


@rule("nonzero")
def _nonzero(g, call):
    a = arguments(call)
    x = call.value(a["input"])
    if not call.shape(0):
        x = g.op1("Reshape", [x, g.ints([1])])
    positions = g.op1("NonZero", [x])  # (ndim, count); torch's rows are (count, ndim)
    if not a["as_tuple"]:
        return g.op1("Transpose", [positions], perm=[1, 0])
    rows = g.op("Split", [positions, g.ints([1] * len(call.outputs))], len(call.outputs), axis=0)
    return [g.op1("Squeeze", [row, g.ints([0])]) for row in rows]


@rule("one_hot")
def _one_hot(g, call):
    a = arguments(call)
    depth = g.ints([call.out_shape[-1]])  # num_classes=-1 was read off the example's values
    values = g.const(np.array([0, 1], np.int64))
    return g.op1("OneHot", [call.value(a["tensor"]), depth, values], axis=-1)
