"""Creation functions: tensor, zeros/ones/empty/full (and _like), arange, linspace, eye, random.

dtype rules follow torch: Python floats and float creation use the default dtype, Python ints
give int64, bools give bool, and a numpy array keeps its dtype.
"""

from __future__ import annotations

import numbers

import numpy as np

from tapegrad import dtypes
from tapegrad.ops._args import as_tensor as _as_operand
from tapegrad.ops._args import inferred_dtype, shape_args
from tapegrad.random import rng
from tapegrad.tensor import Tensor, _make, device


def _finish(data: np.ndarray, requires_grad: bool, dev) -> Tensor:
    if dev is not None:
        device(dev)
    t = _make(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype) -> np.dtype:
    return dtypes.as_dtype(dtype) or dtypes.get_default_dtype()


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Copy ``data`` (nested lists, numbers, arrays, tensors) into a new tensor. As torch."""
    if isinstance(data, Tensor):
        array = data._data.copy()
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data)  # a numpy array or scalar keeps its dtype, as in torch
    else:
        array = np.array(_unwrap(data))
        if array.dtype == object:
            raise TypeError(f"tensor(): could not infer a numeric dtype from {type(data).__name__}")
        if dtype is None:
            array = array.astype(inferred_dtype(array), copy=False)  # Python floats -> float32
    dtype = dtypes.as_dtype(dtype)
    if dtype is not None:
        array = array.astype(dtype, copy=False)  # straight from the Python values: no rounding
    dtypes.category(array.dtype)
    return _finish(array, requires_grad, device)


def _unwrap(data):
    """Lists of 0-d tensors become lists of numbers."""
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap(d) for d in data]
    return data


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Return ``data`` as a tensor, sharing memory with an array when possible. As torch."""
    if isinstance(data, Tensor):
        dtype = dtypes.as_dtype(dtype)
        return data if dtype is None or dtype == data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray):
        return from_numpy(data if dtype is None else data.astype(dtype, copy=False))
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """Wrap a numpy array without copying; the tensor keeps its dtype. Same as torch."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy expects an np.ndarray, got {type(ndarray).__name__}")
    dtypes.category(ndarray.dtype)
    return _make(ndarray)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Return a tensor of zeros. Same as ``torch.zeros``."""
    return _finish(np.zeros(shape_args(size, "zeros"), _float_dtype(dtype)), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Return a tensor of ones. Same as ``torch.ones``."""
    return _finish(np.ones(shape_args(size, "ones"), _float_dtype(dtype)), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Return a tensor whose values are not set (zeros here). Same as ``torch.empty``."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Return a tensor filled with ``fill_value``; dtype follows it as in torch."""
    if dtype is None:
        dtype = _as_operand(fill_value).dtype
    data = np.full(shape_args((size,), "full"), fill_value, dtype=dtypes.as_dtype(dtype))
    return _finish(data, requires_grad, device)


def _like(input: Tensor, dtype):
    return input._data.shape, dtypes.as_dtype(dtype) or input._data.dtype


def zeros_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Return zeros with the shape (and dtype) of ``input``. Same as ``torch.zeros_like``."""
    shape, dtype = _like(input, dtype)
    return _finish(np.zeros(shape, dtype), requires_grad, device)


def ones_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Return ones with the shape (and dtype) of ``input``. Same as ``torch.ones_like``."""
    shape, dtype = _like(input, dtype)
    return _finish(np.ones(shape, dtype), requires_grad, device)


def empty_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Return an unset tensor (zeros here) shaped like ``input``. Same as torch."""
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(
    input: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """Return ``fill_value`` everywhere, shaped like ``input``. Same as ``torch.full_like``."""
    shape, dtype = _like(input, dtype)
    return _finish(np.full(shape, fill_value, dtype), requires_grad, device)


def rand_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) numbers shaped like ``input``. Same as ``torch.rand_like``."""
    shape, dtype = _like(input, dtype)
    return rand(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal numbers shaped like ``input``. Same as ``torch.randn_like``."""
    shape, dtype = _like(input, dtype)
    return randn(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Return ``[start, end)`` in steps; int64 for ints, else the default float. As torch."""
    if end is None:
        start, end = 0, start
    values = [_number(v) for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in values)
        dtype = dtypes.int64 if ints else dtypes.get_default_dtype()
    data = np.arange(*values, dtype=np.float64 if dtypes.as_dtype(dtype).kind == "f" else None)
    return _finish(data.astype(dtypes.as_dtype(dtype)), requires_grad, device)


def _number(value):
    return value.item() if isinstance(value, Tensor) else value


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Return ``steps`` evenly spaced values from ``start`` to ``end``. Same as torch."""
    data = np.linspace(_number(start), _number(end), int(steps)).astype(_float_dtype(dtype))
    return _finish(data, requires_grad, device)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Return an ``n x m`` identity matrix. Same as ``torch.eye``."""
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad, device)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform numbers in [0, 1), from the seeded generator. Same as ``torch.rand``."""
    dtype = _float_dtype(dtype)
    data = rng(generator).random(shape_args(size, "rand"), dtype=_draw_dtype(dtype))
    return _finish(data.astype(dtype, copy=False), requires_grad, device)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal numbers, from the seeded generator. Same as ``torch.randn``."""
    dtype = _float_dtype(dtype)
    data = rng(generator).standard_normal(shape_args(size, "randn"), dtype=_draw_dtype(dtype))
    return _finish(data.astype(dtype, copy=False), requires_grad, device)


def _draw_dtype(dtype: np.dtype) -> np.dtype:
    return dtype if dtype in (dtypes.float32, dtypes.float64) else dtypes.float64


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None) -> Tensor:
    """Integers in ``[low, high)`` (``randint(high, size)`` too). Same as ``torch.randint``."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    data = rng(generator).integers(low, high, size=tuple(size))
    return _finish(data.astype(dtypes.as_dtype(dtype) or dtypes.int64), False, device)


def randperm(n: int, *, generator=None, dtype=None, device=None) -> Tensor:
    """A random permutation of ``0..n-1``. Same as ``torch.randperm``."""
    data = rng(generator).permutation(n)
    return _finish(data.astype(dtypes.as_dtype(dtype) or dtypes.int64), False, device)
