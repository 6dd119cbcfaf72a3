"""Legacy constructors still common in tutorials: ``tg.FloatTensor(data)`` and friends."""

from __future__ import annotations

import numbers

import numpy as np

from tapegrad import dtypes
from tapegrad.tensor import Tensor, _make, device


def _legacy(dtype: np.dtype):
    def construct(*args) -> Tensor:
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            data = args[0]._data if isinstance(args[0], Tensor) else args[0]
            return _make(np.array(data, dtype=dtype))
        return _make(np.zeros(args, dtype=dtype))

    construct.__doc__ = f"Make a {dtype} tensor from data or sizes, as torch's legacy type."
    return construct


FloatTensor = _legacy(dtypes.float32)
DoubleTensor = _legacy(dtypes.float64)
HalfTensor = _legacy(dtypes.float16)
LongTensor = _legacy(dtypes.int64)
IntTensor = _legacy(dtypes.int32)
BoolTensor = _legacy(dtypes.bool)
ByteTensor = _legacy(dtypes.uint8)

_default_device = device("cpu")


def set_default_device(dev) -> None:
    """Set where creation functions put tensors; only "cpu" exists. Same as torch."""
    global _default_device
    _default_device = device(dev)


def get_default_device() -> device:
    return _default_device
