"""Argument normalisation at the API boundary: dims, scalars, operands and dtype promotion.

Every family calls these so that errors read the same everywhere and name what was passed.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.errstate import restore, silence
from tapegrad.tensor import Tensor, _make


def dim_index(dim, ndim: int, op: str = "") -> int:
    """Check one dimension against ``ndim`` and make it non-negative (0-d counts as 1-d)."""
    if type(dim) is int and -ndim <= dim < ndim:  # the common case, without the ABC check
        return dim % ndim
    if not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    span = max(ndim, 1)
    if not -span <= dim < span:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{-span}, {span - 1}], "
            f"but got {dim})"
        )
    return int(dim) % span


def dims_tuple(dim, ndim: int, op: str = "") -> tuple[int, ...] | None:
    """Normalise ``dim`` (None, int, or a sequence of ints) to sorted non-negative axes."""
    if dim is None:
        return None
    if isinstance(dim, numbers.Integral):
        axis = dim_index(dim, ndim, op)  # checked on a 0-d tensor too: only -1 and 0 exist
        return (axis,) if ndim else ()
    axes = tuple(dim_index(d, ndim, op) for d in dim)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
    return tuple(sorted(axes)) if ndim else ()


def shape_args(size: tuple, op: str = "") -> tuple[int, ...]:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` for a shape, as torch does."""
    try:
        if len(size) == 1 and not isinstance(size[0], (numbers.Integral, Tensor)):
            size = tuple(size[0])
        # operator.index, not int(): a float such as 2.5 is an error, not a size of 2
        return tuple(operator.index(s) for s in size)
    except TypeError:
        raise TypeError(f"{op}: size must be ints, got {size!r}") from None


def as_tensor(value, dtype=None) -> Tensor:
    """Wrap an operand that is not a Tensor (scalar, list, array) in one that needs no grad."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return _make(value if dtype is None else value.astype(dtype, copy=False))
    data = np.asarray(value)
    if dtype is None:
        dtype = inferred_dtype(data)
    return _make(data.astype(dtype, copy=False))


def inferred_dtype(data: np.ndarray) -> np.dtype:
    """torch's dtype for data given as Python values: floats -> default, ints -> int64."""
    kind = data.dtype.kind
    if kind == "f":
        return dtypes.get_default_dtype()
    if kind in "iu":
        return dtypes.int64
    if kind == "b":
        return dtypes.bool
    raise TypeError(f"tapegrad cannot make a tensor from data of dtype {data.dtype}")


_SCALARS = (numbers.Number, np.generic)


_PLAIN_NUMBERS = (float, int)  # exact types: bool is excluded on purpose


def operands(x, y, op: str):
    """Return ``x, y`` ready for a binary numpy call that yields torch's result dtype.

    Python scalars stay scalars (numpy then keeps the tensor's dtype); a tensor is cast
    only when the other side lifts its category (int tensor * 0.5 is float32, as torch).
    """
    # fast paths, the common cases of every training step: nothing to convert
    if isinstance(x, Tensor):
        if isinstance(y, Tensor):
            if x._data.dtype == y._data.dtype:
                return x, y
        elif type(y) in _PLAIN_NUMBERS and x._data.dtype.kind == "f":
            return x, y
    elif type(x) in _PLAIN_NUMBERS and isinstance(y, Tensor) and y._data.dtype.kind == "f":
        return x, y
    x_tensor, y_tensor = isinstance(x, Tensor), isinstance(y, Tensor)
    if x_tensor and y_tensor:
        dx, dy = x._data.dtype, y._data.dtype
        if dx == dy:
            return x, y
        out = dtypes.result_type(dx, x._data.ndim, dy, y._data.ndim)
        return (x if dx == out else x.to(out)), (y if dy == out else y.to(out))
    if x_tensor:
        y = _other(y, op)
        return operands(x, y, op) if isinstance(y, Tensor) else (cast_for_scalar(x, y), y)
    if y_tensor:
        x = _other(x, op)
        return operands(x, y, op) if isinstance(x, Tensor) else (x, cast_for_scalar(y, x))
    raise TypeError(
        f"{op}: expected a Tensor operand, got {type(x).__name__} and {type(y).__name__}"
    )


def _other(value, op: str):
    """A non-Tensor operand: a Python scalar stays one, an array or list becomes a Tensor."""
    if isinstance(value, _SCALARS):
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, complex):
            raise TypeError(f"{op}: complex numbers are not supported")
        return value
    if isinstance(value, (np.ndarray, list, tuple)):
        return as_tensor(value)
    raise TypeError(f"{op}: unsupported operand type {type(value).__name__}")


def cast_for_scalar(t: Tensor, scalar) -> Tensor:
    """Cast ``t`` when a Python scalar lifts its dtype category (int tensor + 0.5 -> float)."""
    out = dtypes.scalar_result_type(t._data.dtype, scalar)
    return t if out == t._data.dtype else t.to(out)


def arr(value):
    """The array behind a Tensor operand, or the Python scalar itself."""
    return value._data if isinstance(value, Tensor) else value


def broadcast_error(op: str, *operands) -> ValueError:
    """The error for operands whose shapes cannot broadcast, naming all of them."""
    shapes = " and ".join(str(tuple(np.shape(arr(t)))) for t in operands)
    return ValueError(f"{op}: shapes {shapes} cannot be broadcast together")


def _check_broadcast(op: str, *operands) -> None:
    try:
        np.broadcast_shapes(*(np.shape(arr(t)) for t in operands))
    except ValueError:
        raise broadcast_error(op, *operands) from None


def call_binary(function_cls, x, y, op: str) -> Tensor:
    """Apply a binary Function to ``operands(x, y)``; a shape mismatch names both shapes."""
    # operands() returns two plain tensors of one dtype as they are: skip its call then (numpy
    # has one object per built-in dtype, so `is` decides the common case)
    if type(x) is not Tensor or type(y) is not Tensor or x._data.dtype is not y._data.dtype:
        x, y = operands(x, y, op)
    try:
        return function_cls.apply(x, y)
    except ValueError:
        _check_broadcast(op, x, y)
        raise


def plain_binary(fn, x, y, op: str) -> Tensor:
    """A binary op with no gradient (comparisons, floor division) on prepared operands.

    Silent about inf and NaN (1.0 // 0.0 is inf), as ops run through Function are.
    """
    token = silence()
    try:
        return _make(np.asarray(fn(arr(x), arr(y))))
    except ValueError:
        _check_broadcast(op, x, y)
        raise
    finally:
        restore(token)


def promote_tensors(tensors, op: str) -> list:
    """Cast a list of tensors (cat, stack, where) to one dtype, as torch promotes them."""
    out = tensors[0]._data.dtype
    for t in tensors[1:]:
        out = dtypes.result_type(out, 1, t._data.dtype, 1)
    return [t if t._data.dtype == out else t.to(out) for t in tensors]
