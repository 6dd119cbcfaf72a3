"""Indexing: ``t[key]``, ``t[key] = v``, gather/scatter along a dim, masks and nonzero.

Every op here rests on three Functions over a checked key: ``GetItem`` reads, its gradient
``IndexAddZeros`` adds into zeros (so repeated indices accumulate) and ``IndexPut`` writes.
"""

from __future__ import annotations

import operator

import numpy as np

from tapegrad.autograd.function import Function
from tapegrad.autograd.grad_mode import current
from tapegrad.ops._args import as_tensor, dim_index
from tapegrad.ops._index import Index, add_at, along, index_key, indexed_shape, read_at, write_at
from tapegrad.ops._raw import apply
from tapegrad.ops.elementwise import where
from tapegrad.ops.inplace import write_back
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor, _make, _VersionCounter

# --- reading: __getitem__ and its gradient -----------------------------------------------------


class GetItem(Function):
    """x[key]."""

    raw_backward = True
    compute = staticmethod(read_at)

    @staticmethod
    def forward(ctx, x, index):
        ctx.index, ctx.shape = index, x._data.shape
        return read_at(x._data, index)

    @staticmethod
    def backward(ctx, grad):
        return apply(IndexAddZeros, grad, ctx.index, ctx.shape), None  # grad lands where x was


class IndexAddZeros(Function):
    """zeros(shape) with g added at key: the gradient of x[key]."""

    raw_backward = True

    @staticmethod
    def compute(g, index, shape):
        out = np.zeros(shape, g.dtype)
        add_at(out, index, g)
        return out

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = index
        return IndexAddZeros.compute(g._data, index, shape)

    @staticmethod
    def backward(ctx, grad):
        return apply(GetItem, grad, ctx.index), None, None  # linear in g: read the same places


def _read(cls, input: Tensor, index: Index) -> Tensor:
    out = cls.apply(input, index)
    if index.basic and np.may_share_memory(out._data, input._data):
        # a view, as in torch: a write through either one is a write to both
        if input._vc is None:
            input._vc = _VersionCounter()
        out._vc = input._vc
    return out


@register(GetItem, method=True, export=False, name="__getitem__")
def getitem(input: Tensor, key) -> Tensor:
    """Read ``input[key]`` (ints, slices, None, ``...``, masks, integer arrays).

    Same as ``torch.Tensor.__getitem__``.
    """
    return _read(GetItem, input, index_key(key, input._data.shape))


# --- writing: index_put and __setitem__ ---------------------------------------------------------


class IndexPut(Function):
    """x with v written at key (or added there, when accumulate)."""

    raw_backward = True

    @staticmethod
    def compute(x, v, index, accumulate):
        out = x.copy()
        if accumulate:
            add_at(out, index, v)
        else:
            write_at(out, index, v)
        return out

    @staticmethod
    def forward(ctx, x, v, index, accumulate):
        ctx.index, ctx.accumulate = index, accumulate
        # v is a Tensor, or 0.0 from backward, where overwritten positions get no gradient
        value = v._data if isinstance(v, Tensor) else v
        return IndexPut.compute(x._data, value, index, accumulate)

    @staticmethod
    def backward(ctx, grad):
        grad_x = grad_v = None
        if ctx.needs_input_grad[0]:
            # overwritten positions no longer depend on x
            grad_x = grad if ctx.accumulate else apply(IndexPut, grad, 0.0, ctx.index, False)
        if ctx.needs_input_grad[1]:
            grad_v = apply(GetItem, grad, ctx.index)  # the engine sums it to v's shape
        return grad_x, grad_v, None, None


def _value_tensor(value, dtype: np.dtype) -> Tensor:
    """A written value (tensor, array or number) as a tensor of the destination's dtype."""
    if isinstance(value, Tensor):
        return value if value._data.dtype == dtype else value.to(dtype)
    array = np.array(value)
    if dtype.kind in "iu" and array.dtype.kind == "f" and not np.isfinite(array).all():
        raise RuntimeError(
            f"value {value!r} cannot be converted to type {dtype} without overflow, as in torch"
        )
    return _make(array.astype(dtype))


def _fit_value(value: Tensor, target: tuple, op: str) -> Tensor:
    """``value`` shaped to broadcast to ``target``: extra leading 1s go, as torch allows."""
    shape = value._data.shape
    while len(shape) > len(target) and shape[0] == 1:
        shape = shape[1:]
    if len(shape) > len(target) or any(
        s not in (1, t) for s, t in zip(reversed(shape), reversed(target))
    ):
        raise RuntimeError(
            f"{op}: shape mismatch: value tensor of shape {list(value.shape)} cannot be "
            f"broadcast to indexing result of shape {list(target)}"
        )
    return value if shape == value._data.shape else value.reshape(shape)


def _put_value(cls, input: Tensor, index: Index, value: Tensor, accumulate: bool, op: str):
    value = _fit_value(value, indexed_shape(input._data.shape, index), op)
    return cls.apply(input, value, index, accumulate)


@register(IndexPut, method=True)
def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` with ``values`` put (or added) at ``indices``. Same as ``torch.index_put``."""
    if not isinstance(indices, (tuple, list)) or not all(isinstance(i, Tensor) for i in indices):
        kinds = (
            [type(i).__name__ for i in indices]
            if isinstance(indices, (tuple, list))
            else type(indices).__name__
        )
        raise TypeError(f"index_put: indices must be a tuple of Tensors, got {kinds}")
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put: values must be a Tensor, got {type(values).__name__}")
    if values._data.dtype != input._data.dtype:
        raise RuntimeError(
            "index_put: Index put requires the source and destination dtypes match, got "
            f"{input._data.dtype} for the destination and {values._data.dtype} for the source"
        )
    index = index_key(tuple(indices), input._data.shape)
    return _put_value(IndexPut, input, index, values, accumulate, "index_put")


def index_put_(self: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """In-place ``index_put``. Same as ``torch.Tensor.index_put_``."""
    return write_back(self, index_put(self, indices, values, accumulate), "index_put_")


def setitem(self: Tensor, key, value) -> None:
    """Write ``value`` (number, array or tensor, broadcast) at ``self[key]``.

    Same as ``torch.Tensor.__setitem__``.
    """
    index = index_key(key, self._data.shape)
    value = _value_tensor(value, self._data.dtype)
    if current().enabled and (self._rg or value._rg):
        result = _put_value(IndexPut, self, index, value, False, "__setitem__")
        write_back(self, result, "__setitem__")
        return
    value = _fit_value(value, indexed_shape(self._data.shape, index), "__setitem__")
    if not self._data.flags.writeable:
        raise RuntimeError(
            "__setitem__: this tensor is a read-only view (made by expand or broadcast_to); "
            "clone() it before writing to it"
        )
    write_at(self._data, index, value._data)  # nothing records: write in place, as torch
    self._bump_version()


# --- along a dim: gather, scatter, index_select, take_along_dim, select ------------------------


class Gather(GetItem):
    """x at index along dim: x[index[i, j], j] for dim 0."""


class ScatterAdd(IndexPut):
    """x with src added at index along dim."""


class Scatter(IndexPut):
    """x with src written at index along dim."""


class IndexSelect(GetItem):
    """x at a 1-D index along dim."""


class Select(GetItem):
    """x at one position of dim, which is removed."""


def _index_array(index, op: str) -> np.ndarray:
    """The integer array behind an index tensor, with torch's dtype check."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): index must be a Tensor, got {type(index).__name__}")
    if index._data.dtype.kind not in "iu":
        raise RuntimeError(
            f"{op}(): expected an int64 or int32 index tensor, got dtype {index._data.dtype}"
        )
    return index._data


def _check_range(values: np.ndarray, size: int, dim: int, op: str) -> None:
    """Indices along a dim must lie in [0, size): torch wraps no negatives here."""
    bad = (values < 0) | (values >= size)
    if bad.any():
        raise RuntimeError(
            f"{op}(): index {values[bad].flat[0]} is out of bounds for dimension {dim} "
            f"with size {size}"
        )


def _check_along(op: str, dim: int, x_shape: tuple, i_shape: tuple, src_shape=None) -> None:
    """torch's rule: index fits inside input except along ``dim``, and inside src everywhere."""
    if len(i_shape) != len(x_shape):
        raise RuntimeError(f"{op}: index has {len(i_shape)} dims but input has {len(x_shape)}")
    if src_shape is not None and len(src_shape) != len(i_shape):
        raise RuntimeError(f"{op}: index has {len(i_shape)} dims but src has {len(src_shape)}")
    for d, n in enumerate(i_shape):
        if d != dim and n > x_shape[d]:
            raise RuntimeError(
                f"{op}: index of shape {tuple(i_shape)} is larger than input of shape "
                f"{tuple(x_shape)} at dimension {d} (only dimension {dim} may be larger)"
            )
        if src_shape is not None and n > src_shape[d]:
            raise RuntimeError(
                f"{op}: index of shape {tuple(i_shape)} is larger than src of shape "
                f"{tuple(src_shape)} at dimension {d}"
            )


def _at_least_1d(t: Tensor) -> Tensor:
    return t if t._data.ndim else t.reshape(1)  # torch treats 0-d as 1-d along a dim


@register(Gather, method=True)
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """The values at ``index`` along ``dim``, shaped like index. Same as ``torch.gather``."""
    idx = _index_array(index, "gather")
    x = _at_least_1d(input)
    i = idx.reshape(idx.shape or (1,))
    d = dim_index(dim, x._data.ndim, "gather")
    _check_along("gather", d, x._data.shape, i.shape)
    _check_range(i, x._data.shape[d], d, "gather")
    out = Gather.apply(x, along(i, d))
    return out if idx.ndim else out.reshape(())


def _scatter(cls, op: str, input: Tensor, dim: int, index: Tensor, src, accumulate: bool):
    idx = _index_array(index, op)
    x = _at_least_1d(input)
    i = idx.reshape(idx.shape or (1,))
    d = dim_index(dim, x._data.ndim, op)
    if isinstance(src, Tensor):
        if src._data.dtype != input._data.dtype:
            raise RuntimeError(
                f"{op}(): expected self.dtype to be equal to src.dtype, got {input._data.dtype} "
                f"and {src._data.dtype}"
            )
        src = _at_least_1d(src)
        _check_along(op, d, x._data.shape, i.shape, src._data.shape)
        if src._data.shape != i.shape:
            src = src[tuple(slice(0, n) for n in i.shape)]  # torch reads only src's leading block
    else:
        _check_along(op, d, x._data.shape, i.shape)
        src = _value_tensor(src, input._data.dtype)
    _check_range(i, x._data.shape[d], d, op)
    out = cls.apply(x, src, along(i, d), accumulate)
    return out if input._data.ndim else out.reshape(())


@register(ScatterAdd, method=True)
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``input`` with ``src`` added at ``index`` along ``dim``. Same as ``torch.scatter_add``."""
    return _scatter(ScatterAdd, "scatter_add", input, dim, index, src, accumulate=True)


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place ``scatter_add``. Same as ``torch.Tensor.scatter_add_``."""
    return write_back(self, scatter_add(self, dim, index, src), "scatter_add_")


@register(Scatter, method=True)
def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None):
    """Copy of ``input`` with ``src`` (or the number ``value``) written at ``index`` along ``dim``.

    Same as ``torch.scatter``; ``reduce="add"`` adds instead, ``"multiply"`` is not supported.
    """
    if (src is None) == (value is None):
        raise TypeError("scatter() takes exactly one of src (a Tensor) and value (a number)")
    if reduce not in (None, "add"):
        raise NotImplementedError(f"scatter: reduce={reduce!r} is not supported (None or 'add')")
    source = src if src is not None else value
    return _scatter(Scatter, "scatter", input, dim, index, source, accumulate=reduce == "add")


def scatter_(self: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None):
    """In-place ``scatter``. Same as ``torch.Tensor.scatter_``."""
    result = scatter(self, dim, index, src, value=value, reduce=reduce)
    return write_back(self, result, "scatter_")


@register(IndexSelect, method=True)
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` at a 1-D ``index`` along ``dim``. Same as ``torch.index_select``."""
    idx = _index_array(index, "index_select")
    if idx.ndim > 1:
        raise IndexError(
            f"index_select(): Index is supposed to be a vector, got shape {tuple(idx.shape)}"
        )
    idx = idx.reshape(-1)
    ndim = input._data.ndim
    d = dim_index(dim, ndim, "index_select")
    size = input._data.shape[d] if ndim else 1
    _check_range(idx, size, d, "index_select")
    if not ndim:
        if idx.size != 1:
            raise RuntimeError(
                f"index_select(): index into a 0-d tensor can have only 1 value, got {idx.size}"
            )
        return IndexSelect.apply(input, Index(None, (), True))
    return IndexSelect.apply(input, Index(None, (slice(None),) * d + (idx,), False))


@register(method=True)
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` with input and indices broadcast outside ``dim`` (flattened when dim is None).

    Same as ``torch.take_along_dim``.
    """
    idx = _index_array(indices, "take_along_dim")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if idx.ndim != input._data.ndim:
        raise RuntimeError(
            f"take_along_dim(): input and indices should have the same number of dimensions, "
            f"but got {input._data.ndim} dimensions for input, and {idx.ndim} for indices"
        )
    if not idx.ndim:
        raise IndexError(f"take_along_dim(): dim {dim} given but the tensors have no dimensions")
    d = dim_index(dim, idx.ndim, "take_along_dim")
    try:
        shape = np.broadcast_shapes(_with(input.shape, d, 1), _with(idx.shape, d, 1))
    except ValueError:
        raise RuntimeError(
            f"take_along_dim(): input of shape {tuple(input.shape)} and indices of shape "
            f"{tuple(idx.shape)} cannot be broadcast outside dimension {d}"
        ) from None
    x = input.expand(_with(shape, d, input.shape[d]))
    return gather(x, d, indices.expand(_with(shape, d, idx.shape[d])))


def _with(shape: tuple, dim: int, size: int) -> tuple:
    return (*shape[:dim], size, *shape[dim + 1 :])


@register(Select, method=True)
def select(input: Tensor, dim: int, index: int) -> Tensor:
    """``input`` at ``index`` of ``dim``, that dim removed (a view). Same as ``torch.select``."""
    shape = input._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = dim_index(dim, len(shape), "select")
    i = operator.index(index)
    if not -shape[d] <= i < shape[d]:
        raise IndexError(
            f"select(): index {i} out of range for tensor of size {list(shape)} at dimension {d}"
        )
    return _read(Select, input, Index(None, (slice(None),) * d + (i,), True))


# --- masks: masked_fill, masked_select, nonzero ------------------------------------------------


class MaskedSelect(GetItem):
    """The elements of x where mask is True, as a 1-D tensor."""


def _bool_mask(mask, input: Tensor, op: str) -> tuple:
    """The mask as a bool tensor, and the shape it and ``input`` broadcast to."""
    mask = as_tensor(mask)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"{op}: expected a bool mask, got dtype {mask._data.dtype}")
    try:
        shape = np.broadcast_shapes(mask._data.shape, input._data.shape)
    except ValueError:
        raise RuntimeError(
            f"{op}: mask of shape {tuple(mask.shape)} and input of shape {tuple(input.shape)} "
            "cannot be broadcast together"
        ) from None
    return mask, shape


@register(method=True)
def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` (number or 0-d tensor) at mask. Same as ``torch.masked_fill``."""
    mask, _ = _bool_mask(mask, input, "masked_fill")
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError(
            "masked_fill: only a 0-dimensional value tensor is supported, but got a tensor of "
            f"shape {tuple(value.shape)}"
        )
    return where(mask, _value_tensor(value, input._data.dtype), input)


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """In-place ``masked_fill``. Same as ``torch.Tensor.masked_fill_``."""
    return write_back(self, masked_fill(self, mask, value), "masked_fill_")


@register(MaskedSelect, method=True)
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` is True, as 1-D. Same as ``torch.masked_select``."""
    mask, shape = _bool_mask(mask, input, "masked_select")
    shape = shape or (1,)  # a 0-d pair still gives a 1-D result
    x = input.expand(shape)
    positions = np.broadcast_to(mask._data, shape).nonzero()
    return MaskedSelect.apply(x, Index(None, positions, False))


@register(method=True, differentiable=False)
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the nonzero elements, one row each (or per dim). Same as ``torch.nonzero``."""
    data = input._data
    if as_tuple:
        return tuple(_make(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(data)))
    return _make(np.argwhere(data).astype(np.int64))


Tensor.__setitem__ = setitem
Tensor.index_put_ = index_put_
Tensor.scatter_add_ = scatter_add_
Tensor.scatter_ = scatter_
Tensor.masked_fill_ = masked_fill_
