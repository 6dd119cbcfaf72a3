"""dtypes as numpy dtype objects, the default float dtype, and torch's promotion rules.

tapegrad's dtypes *are* numpy dtypes, so ``t.dtype == tg.float32`` and
``np.zeros(3, dtype=tg.float32)`` both work.
"""

from __future__ import annotations

import builtins

import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)

_default_float = float32


def get_default_dtype() -> np.dtype:
    """Return the dtype of Python floats and float creation functions. Same as torch."""
    return _default_float


def set_default_dtype(d) -> None:
    """Set the default floating point dtype (float32 or float64). Same as torch."""
    global _default_float
    d = np.dtype(d)
    if d.kind != "f":
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def as_dtype(d) -> np.dtype | None:
    """Turn a dtype argument (tg.float32, np.float64, 'float32', float) into a numpy dtype."""
    if d is None:
        return None
    if d is _py_float:
        return _default_float
    if d is _py_int:
        return int64
    try:
        return np.dtype(d)
    except TypeError:
        raise TypeError(f"unknown dtype {d!r}") from None


_py_float = builtins.float
_py_int = builtins.int


def is_floating(d: np.dtype) -> bool:
    """True for floating point dtypes, the only ones that can require grad."""
    return d.kind == "f"


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def category(d: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floats: torch promotes across categories only upward."""
    try:
        return _CATEGORY[d.kind]
    except KeyError:
        raise TypeError(f"tapegrad does not support dtype {d}") from None


def result_type(a_dtype: np.dtype, a_ndim, b_dtype: np.dtype, b_ndim) -> np.dtype:
    """Result dtype of a binary op between two tensors, as torch computes it.

    Within one category a tensor with dimensions beats a 0-d one (float32 matrix * float64
    0-d tensor is float32); across categories the higher category wins.
    """
    if a_dtype == b_dtype:
        return a_dtype
    ca, cb = category(a_dtype), category(b_dtype)
    if ca != cb:
        return a_dtype if ca > cb else b_dtype
    a_dims, b_dims = a_ndim > 0, b_ndim > 0
    if a_dims != b_dims:
        return a_dtype if a_dims else b_dtype
    return np.promote_types(a_dtype, b_dtype)


def scalar_result_type(t_dtype: np.dtype, scalar) -> np.dtype:
    """Result dtype of a tensor op with a Python scalar: the scalar only lifts the category."""
    if isinstance(scalar, _py_bool_types):
        return t_dtype
    if isinstance(scalar, _py_int_types):
        return t_dtype if category(t_dtype) >= 1 else int64
    return t_dtype if category(t_dtype) == 2 else _default_float


_py_bool_types = (builtins.bool, np.bool_)
_py_int_types = (builtins.int, np.integer)
