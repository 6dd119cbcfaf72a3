"""Shape ops: reshape/view, expand, squeeze, transpose, permute, cat/stack/split and friends.

Ops that are views in torch return numpy views of the input's memory here too (reshape,
permute, narrow, split ...); flip, roll, repeat and cat copy. Gradients reshape, permute,
sum or cut the output gradient back, always with tapegrad ops so that they record.
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from tapegrad.autograd.function import Function
from tapegrad.ops._args import dim_index, dims_tuple, promote_tensors, shape_args
from tapegrad.ops._raw import apply
from tapegrad.ops.registry import register
from tapegrad.tensor import Tensor

# --- argument helpers ------------------------------------------------------------------------


def _sizes(args: tuple, keyword, name: str, op: str) -> tuple[int, ...]:
    """A size or dims argument given as ``f(2, 3)``, ``f((2, 3))`` or ``f(name=(2, 3))``."""
    # torch's binding takes the sequence by keyword too: x.view(size=...), torch.flip(x, dims=...)
    if keyword is not None:
        if args:
            raise TypeError(f"{op}() got multiple values for argument '{name}'")
        args = (keyword,)
    elif not args:
        raise TypeError(f"{op}() missing 1 required positional argument: '{name}'")
    return shape_args(args, op)


def _int_list(value, op: str) -> list[int]:
    """An int or a sequence of ints (``roll(shifts=...)``, ``movedim(source=...)``)."""
    if isinstance(value, numbers.Integral):
        return [int(value)]
    return list(shape_args((value,), op))


def _dim_of(dim, ndim: int, op: str) -> int:
    """A dim for ops that, unlike most, reject 0-d input (unbind, unflatten, roll)."""
    if ndim == 0:
        raise IndexError(f"{op}: Dimension specified as {dim} but tensor has no dimensions")
    return dim_index(dim, ndim, op)


def _infer_shape(shape: tuple, numel: int, op: str) -> tuple[int, ...] | None:
    """Fill in a -1 in ``shape`` for ``numel`` elements; None when the sizes cannot fit."""
    inferred = None
    known = 1
    for i, s in enumerate(shape):
        if s == -1:
            if inferred is not None:
                raise RuntimeError(f"{op}: only one dimension can be inferred, got {list(shape)}")
            inferred = i
        elif s < 0:
            raise RuntimeError(f"{op}: invalid shape dimension {s} at index {i} of {list(shape)}")
        else:
            known *= s
    if inferred is None:
        return shape if known == numel else None
    if known == 0:
        if numel == 0:  # any size times 0 is 0, so -1 could be anything
            raise RuntimeError(
                f"{op}: cannot reshape tensor of 0 elements into shape {list(shape)} because "
                "the unspecified dimension size -1 can be any value and is ambiguous"
            )
        return None
    if numel % known:
        return None
    return shape[:inferred] + (numel // known,) + shape[inferred + 1 :]


def _tensor_list(tensors, op: str) -> list[Tensor]:
    """The ``tensors`` argument of cat/stack: a non-Tensor sequence of Tensors."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): argument 'tensors' must be a sequence of Tensors, not Tensor")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{op}(): expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
    return tensors


# --- same elements, new shape ----------------------------------------------------------------


class Reshape(Function):
    """x with a new shape of the same number of elements (a view when strides allow)."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.x_shape = x._data.shape
        return x._data.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.x_shape), None


def _reshaped(input: Tensor, shape: tuple, op: str) -> Tensor:
    """Reshape ``input`` to ``shape`` (one -1 allowed), with torch's errors."""
    numel = input._data.size
    new_shape = _infer_shape(shape, numel, op)
    if new_shape is None:
        raise RuntimeError(
            f"{op}: shape '{list(shape)}' is invalid for input of size {numel} "
            f"(input shape {tuple(input._data.shape)})"
        )
    return Reshape.apply(input, new_shape)


@register(Reshape, method=True)
def reshape(input: Tensor, *args, shape=None) -> Tensor:
    """Return the same elements in a new shape; one dim may be -1. Same as ``torch.reshape``."""
    return _reshaped(input, _sizes(args, shape, "shape", "reshape"), "reshape")


@register(method=True, export=False)
def view(input: Tensor, *args, size=None) -> Tensor:
    """Reshape; numpy decides view or copy, so it never fails. Same as ``torch.Tensor.view``."""
    return _reshaped(input, _sizes(args, size, "size", "view"), "view")


@register(method=True, export=False)
def view_as(input: Tensor, other: Tensor) -> Tensor:
    """Reshape to ``other``'s shape. Same as ``torch.Tensor.view_as``."""
    return _reshaped(input, tuple(other._data.shape), "view_as")


@register(method=True)
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one (0-d gives (1,)). Same as ``torch.flatten``."""
    shape = input._data.shape
    start = dim_index(start_dim, len(shape), "flatten")
    end = dim_index(end_dim, len(shape), "flatten")
    if start > end:
        raise RuntimeError(
            f"flatten() has invalid args: start_dim cannot come after end_dim "
            f"(got start_dim={start_dim}, end_dim={end_dim} for shape {tuple(shape)})"
        )
    merged = int(np.prod(shape[start : end + 1], dtype=np.int64))
    return Reshape.apply(input, (*shape[:start], merged, *shape[end + 1 :]))


@register(method=True)
def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one may be -1). Same as ``torch.unflatten``."""
    shape = input._data.shape
    if not shape:  # torch wraps this one IndexError in a RuntimeError
        raise RuntimeError(f"unflatten: Dimension specified as {dim} but tensor has no dimensions")
    d = dim_index(dim, len(shape), "unflatten")
    sizes = tuple(_int_list(sizes, "unflatten"))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    new_sizes = _infer_shape(sizes, shape[d], "unflatten")
    if new_sizes is None:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
            f"{dim} ({shape[d]}) in the input tensor"
        )
    return Reshape.apply(input, (*shape[:d], *new_sizes, *shape[d + 1 :]))


@register(method=True)
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at ``dim`` (negative from the end). Same as ``torch.unsqueeze``."""
    shape = list(input._data.shape)
    shape.insert(dim_index(dim, len(shape) + 1, "unsqueeze"), 1)
    return Reshape.apply(input, tuple(shape))


@register(method=True)
def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove dims of size 1 (all, or those in ``dim`` that are 1). Same as ``torch.squeeze``."""
    shape = input._data.shape
    dims = dims_tuple(dim, len(shape), "squeeze")
    if dims is None:
        dims = tuple(range(len(shape)))
    kept = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return Reshape.apply(input, kept)


@register(method=True, export=False)
def contiguous(input: Tensor, memory_format=None) -> Tensor:
    """Return ``input`` itself: it needs no re-layout. Same as ``torch.Tensor.contiguous``."""
    return input


# --- broadcasting and tiling -----------------------------------------------------------------


class Expand(Function):
    """x broadcast to a larger shape (a read-only view when elements repeat)."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, shape):
        if math.prod(shape) == x._data.size:
            return x._data.reshape(shape)  # nothing repeats: a writable view, as in torch
        return np.broadcast_to(x._data, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums the broadcast dims back


def _expanded_shape(x_shape: tuple, sizes: tuple) -> tuple[int, ...]:
    """Target shape of ``expand(*sizes)``: -1 keeps a dim, new dims go in front."""
    lead = len(sizes) - len(x_shape)
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({len(x_shape)})"
        )
    shape = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(
                    f"expand: the expanded size of the tensor ({s}) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
        elif s == -1:
            s = x_shape[i - lead]
        elif s != x_shape[i - lead] and (x_shape[i - lead] != 1 or s < 0):
            raise RuntimeError(
                f"expand: the expanded size of the tensor ({s}) must match the existing size "
                f"({x_shape[i - lead]}) at non-singleton dimension {i}.  Target sizes: "
                f"{list(sizes)}.  Tensor sizes: {list(x_shape)}"
            )
        shape.append(s)
    return tuple(shape)


@register(Expand, method=True)
def expand(input: Tensor, *args, size=None) -> Tensor:
    """Broadcast to ``sizes`` without copying; -1 keeps a dim. Same as ``torch.Tensor.expand``."""
    sizes = _sizes(args, size, "size", "expand")
    return Expand.apply(input, _expanded_shape(input._data.shape, sizes))


@register(method=True, export=False)
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """Broadcast to ``other``'s shape. Same as ``torch.Tensor.expand_as``."""
    return expand(input, other._data.shape)


@register(method=True)
def broadcast_to(input: Tensor, size) -> Tensor:
    """Broadcast to ``size`` without copying. Same as ``torch.broadcast_to``."""
    return expand(input, size)


class Repeat(Function):
    """x tiled ``repeats[i]`` times along dim i, after padding x's shape with leading 1s."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, repeats):
        ctx.x_shape, ctx.repeats = x._data.shape, repeats
        return np.tile(x._data, repeats)  # a copy, even when every repeat is 1

    @staticmethod
    def backward(ctx, grad):
        # view the output as (r0, s0, r1, s1, ...) and sum over the copies r0, r1, ...
        repeats, x_shape = ctx.repeats, ctx.x_shape
        padded = (1,) * (len(repeats) - len(x_shape)) + x_shape
        interleaved = tuple(n for pair in zip(repeats, padded) for n in pair)
        copies = tuple(range(0, len(interleaved), 2))
        return ctx.xp.sum(grad.reshape(interleaved), copies).reshape(x_shape), None


@register(Repeat, method=True, export=False)
def repeat(input: Tensor, *args, repeats=None) -> Tensor:
    """Tile the whole tensor per dim (not numpy's repeat). Same as ``torch.Tensor.repeat``."""
    repeats = _sizes(args, repeats, "repeats", "repeat")
    if len(repeats) < input._data.ndim:
        raise RuntimeError(
            "repeat: Number of dimensions of repeat dims can not be smaller than number of "
            f"dimensions of tensor (repeats {list(repeats)} for shape {tuple(input.shape)})"
        )
    if any(r < 0 for r in repeats):
        padded = (1,) * (len(repeats) - input._data.ndim) + input._data.shape
        out_shape = [r * s for r, s in zip(repeats, padded)]
        raise RuntimeError(
            f"repeat: Trying to create tensor with negative dimension {min(out_shape)}: {out_shape}"
        )
    return Repeat.apply(input, repeats)


@register(method=True)
def tile(input: Tensor, *args, dims=None) -> Tensor:
    """Repeat, padding ``dims`` with leading 1s when it is shorter. Same as ``torch.tile``."""
    dims = _sizes(args, dims, "dims", "tile")
    return repeat(input, (1,) * (input._data.ndim - len(dims)) + dims)


# --- reordering dims and elements ------------------------------------------------------------


class Permute(Function):
    """x with its dims reordered (a view)."""

    raw_backward = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.transpose(x._data, dims)

    @staticmethod
    def backward(ctx, grad):
        inverse = np.argsort(ctx.dims).tolist()
        return (ctx.xp.permute(grad, *inverse) if inverse else grad), None


@register(Permute, method=True)
def permute(input: Tensor, *args, dims=None) -> Tensor:
    """Reorder the dims: output dim i is input dim ``dims[i]``. Same as ``torch.permute``."""
    dims = _sizes(args, dims, "dims", "permute")
    ndim = input._data.ndim
    if len(dims) != ndim:
        raise RuntimeError(
            f"permute: number of dims don't match: input has {ndim} dims, got dims {list(dims)}"
        )
    axes = tuple(dim_index(d, ndim, "permute") for d in dims)
    if len(set(axes)) != ndim:
        raise RuntimeError(f"permute: repeated dim in {list(dims)}")
    return Permute.apply(input, axes)


@register(method=True, aliases=("swapdims",))
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (a view). Same as ``torch.transpose`` (and ``torch.swapdims``)."""
    ndim = input._data.ndim
    d0, d1 = dim_index(dim0, ndim, "transpose"), dim_index(dim1, ndim, "transpose")
    axes = list(range(ndim))
    if ndim:  # a 0-d tensor accepts dims 0 and -1 and has nothing to swap
        axes[d0], axes[d1] = axes[d1], axes[d0]
    return Permute.apply(input, tuple(axes))


@register(method=True)
def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """Swap two dims (a view). Same as ``torch.swapaxes``."""
    return transpose(input, axis0, axis1)


@register(method=True)
def t(input: Tensor) -> Tensor:
    """Transpose a matrix; 0-d and 1-D tensors come back unchanged. Same as ``torch.t``."""
    ndim = input._data.ndim
    if ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D "
            f"(shape {tuple(input._data.shape)}); use transpose(dim0, dim1) or .mT"
        )
    return Permute.apply(input, tuple(range(ndim - 1, -1, -1)))


@register(method=True, aliases=("moveaxis",))
def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` to ``destination``, others keep order. Same as ``torch.movedim``."""
    ndim = input._data.ndim
    src, dst = _int_list(source, "movedim"), _int_list(destination, "movedim")
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({src} dims) should contain "
            f"the same number of dims as destination ({dst} dims)"
        )
    src = [dim_index(d, ndim, "movedim") for d in src]
    dst = [dim_index(d, ndim, "movedim") for d in dst]
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({dims})")
    order = [d for d in range(ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return Permute.apply(input, tuple(order) if ndim else ())


class Flip(Function):
    """x with the order of elements reversed along dims (a copy, as torch)."""

    raw_backward = True

    @staticmethod
    def compute(x, dims):
        return np.flip(x, dims).copy()

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return Flip.compute(x._data, dims)

    @staticmethod
    def backward(ctx, grad):
        return apply(Flip, grad, ctx.dims), None  # flipping is its own inverse


@register(Flip, method=True)
def flip(input: Tensor, *args, dims=None) -> Tensor:
    """Reverse the order of elements along ``dims``. Same as ``torch.flip``."""
    dims = _sizes(args, dims, "dims", "flip")
    return Flip.apply(input, dims_tuple(dims, input._data.ndim, "flip"))


class Roll(Function):
    """x shifted cyclically by ``shifts[i]`` along ``dims[i]`` (over the flat x if no dims)."""

    raw_backward = True
    compute = staticmethod(np.roll)

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(x._data, shifts, dims)

    @staticmethod
    def backward(ctx, grad):
        back = tuple(-s for s in ctx.shifts)
        return apply(Roll, grad, back, ctx.dims), None, None  # roll back by the same amounts


@register(Roll, method=True)
def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically along ``dims`` (flattened if None). Same as ``torch.roll``."""
    shifts = tuple(_int_list(shifts, "roll"))
    if not shifts:
        raise RuntimeError("roll: `shifts` required")
    ndim = input._data.ndim
    axes = None
    if dims is not None:
        axes = tuple(_dim_of(d, ndim, "roll") for d in _int_list(dims, "roll"))
    if len(shifts) != (1 if axes is None else len(axes)):
        raise RuntimeError(
            f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
            f"dims:{0 if axes is None else len(axes)}"
        )
    return Roll.apply(input, shifts, axes)


# --- joining and cutting ---------------------------------------------------------------------


class Cat(Function):
    """The inputs joined along ``dim`` (a copy); each input is its own edge.

    Inputs marked in ``skip`` (torch's legacy 1-D empty tensors) are left out of the join
    but stay inputs, as in torch: the result requires grad if they do, and their gradient
    is empty.
    """

    raw_backward = True

    @staticmethod
    def compute(*arrays, dim):
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def forward(ctx, *tensors, dim, skip=None):
        skip = skip or (False,) * len(tensors)
        joined = [t for t, skipped in zip(tensors, skip) if not skipped]
        ctx.dim, ctx.skip = dim, skip
        ctx.sizes = tuple(t._data.shape[dim] for t in joined)
        return np.concatenate([t._data for t in joined], axis=dim)

    @staticmethod
    def backward(ctx, grad):
        pieces = iter(apply(Split, grad, ctx.sizes, ctx.dim))  # each input gets its slice
        # a skipped legacy (0,) input gets an empty gradient
        return tuple(grad.reshape(-1)[:0] if s else next(pieces) for s in ctx.skip)


def _check_cat(tensors: list[Tensor], dim: int) -> None:
    """Equal ndim and equal sizes off ``dim``; errors name the shapes that disagree."""
    first = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], start=1):
        shape = t._data.shape
        if len(shape) != len(first):
            raise RuntimeError(
                f"cat: Tensors must have same number of dimensions: got {len(first)} and "
                f"{len(shape)} (shapes {tuple(first)} and {tuple(shape)})"
            )
        for d, (a, b) in enumerate(zip(first, shape)):
            if d != dim and a != b:
                raise RuntimeError(
                    f"cat: Sizes of tensors must match except in dimension {dim}. Expected "
                    f"size {a} but got size {b} for tensor number {i} in the list "
                    f"(shapes {tuple(first)} and {tuple(shape)})"
                )


@register(Cat, aliases=("concat",))
def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim ``dim``. Same as ``torch.cat`` (``torch.concat``)."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(
                f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated"
            )
    tensors = promote_tensors(tensors, "cat")
    # torch skips 1-D empty tensors (the legacy `torch.tensor([])` start of a running cat),
    # unless all are
    skip = tuple(t._data.shape == (0,) for t in tensors)
    if all(skip):
        skip = (False,) * len(tensors)
    joined = [t for t, skipped in zip(tensors, skip) if not skipped]
    d = dim_index(dim, joined[0]._data.ndim, "cat")
    _check_cat(joined, d)
    return Cat.apply(*tensors, dim=d, skip=skip if any(skip) else None)


@register()
def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join tensors along ``axis``. Same as ``torch.concatenate``."""
    return cat(tensors, axis)


@register()
def stack(tensors, dim: int = 0) -> Tensor:
    """Join equal-shape tensors along a new dim ``dim``. Same as ``torch.stack``."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    first = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], start=1):
        if t._data.shape != first:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 "
                f"and {list(t._data.shape)} at entry {i}"
            )
    d = dim_index(dim, len(first) + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


class Split(Function):
    """x cut along ``dim`` into consecutive pieces of ``sizes`` (views)."""

    raw_backward = True

    @staticmethod
    def compute(x, sizes, dim):
        return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=dim))

    @staticmethod
    def forward(ctx, x, sizes, dim):
        ctx.dim = dim
        return Split.compute(x._data, sizes, dim)

    @staticmethod
    def backward(ctx, *grads):
        # unused pieces arrive as zeros (materialize_grads), so this also pads narrow's grad
        return apply(Cat, *grads, dim=ctx.dim), None, None


def _split_dim(input: Tensor, dim: int, op: str) -> int:
    if input._data.ndim == 0:
        raise RuntimeError(f"{op} expects at least a 1-dimensional tensor")
    return dim_index(dim, input._data.ndim, op)


def _split_sizes(input: Tensor, sizes: tuple, dim: int) -> tuple[Tensor, ...]:
    return Split.apply(input, sizes, dim) if sizes else ()


@register(method=True)
def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Cut into equal pieces (the last may be shorter) or given sizes. Same as ``torch.split``."""
    d = _split_dim(tensor, dim, "split")
    n = tensor._data.shape[d]
    if not isinstance(split_size_or_sections, numbers.Integral):
        sizes = tuple(_int_list(split_size_or_sections, "split"))
        if any(s < 0 for s in sizes):
            raise RuntimeError(
                "split_with_sizes expects split_sizes have only non-negative entries, but got "
                f"split_sizes={list(sizes)}"
            )
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                f"size at dimension {dim}), but got split_sizes={list(sizes)}"
            )
        return _split_sizes(tensor, sizes, d)
    size = int(split_size_or_sections)
    if size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
    if size == 0 and n != 0:
        raise RuntimeError(
            f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
        )
    pieces = max(-(-n // size), 1) if size else 1  # an empty dim still gives one piece
    sizes = tuple(min(size, n - i * size) for i in range(pieces))
    return _split_sizes(tensor, sizes, d)


@register(method=True)
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Cut into ``chunks`` pieces of ceil(n / chunks), so maybe fewer. Same as ``torch.chunk``."""
    if not isinstance(chunks, numbers.Integral):
        raise TypeError(f"chunk(): argument 'chunks' must be int, not {type(chunks).__name__}")
    d = _split_dim(input, dim, "chunk")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = input._data.shape[d]
    if n == 0:  # torch keeps the number of chunks when they are all empty
        return _split_sizes(input, (0,) * chunks, d)
    return split(input, -(-n // chunks), d)


@register(method=True)
def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``, with that dim removed. Same as ``torch.unbind``."""
    shape = input._data.shape
    d = _dim_of(dim, len(shape), "unbind")
    # one Split node for all slices: backward is a single cat, not n zero-padded copies
    pieces = _split_sizes(input, (1,) * shape[d], d)
    rest = shape[:d] + shape[d + 1 :]
    return tuple(Reshape.apply(p, rest) for p in pieces)


@register(method=True)
def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """The ``length`` elements from ``start`` along ``dim`` (a view). Same as ``torch.narrow``."""
    if input._data.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = dim_index(dim, input._data.ndim, "narrow")
    n = input._data.shape[d]
    start, length = operator.index(start), operator.index(length)
    if not -n <= start <= n:
        raise IndexError(
            f"narrow: start out of range (expected to be in range of [{-n}, {n}], but got {start})"
        )
    if start < 0:
        start += n
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > n:
        raise RuntimeError(
            f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n})."
        )
    # the middle piece of a three-way split: backward pads grad with the zeros that the
    # engine gives the unused pieces, so narrow needs no Function of its own
    return Split.apply(input, (start, length, n - start - length), d)[1]
