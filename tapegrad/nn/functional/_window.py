"""Sliding windows over the last two dims, shared by convolution (conv.py) and pooling.

A window geometry, the strided view of every window (no copy), its adjoint (col2im, a loop
over the kernel's taps only) and the argument checks whose messages both families share.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tapegrad.tensor import Tensor


@dataclass(frozen=True)
class Geometry:
    """How a kernel slides over a plane: (height, width) pairs, pads (top, bottom, left, right)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]
    dilation: tuple[int, int]
    groups: int = 1


def out_hw(hw, geom: Geometry) -> tuple[int, int]:
    """Window positions along each axis of the padded plane."""
    top, bottom, left, right = geom.pads
    padded = (hw[0] + top + bottom, hw[1] + left + right)
    return tuple(
        (size - d * (k - 1) - 1) // s + 1
        for size, k, s, d in zip(padded, geom.kernel, geom.stride, geom.dilation)
    )


def padded(x: np.ndarray, pads: tuple, value: float = 0.0) -> np.ndarray:
    """``x`` with its last two axes padded by ``value`` (``x`` itself when pads are zero)."""
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    height, width = x.shape[-2:]
    out = np.full((*x.shape[:-2], height + top + bottom, width + left + right), value, x.dtype)
    out[..., top : top + height, left : left + width] = x
    return out


def windows(xp: np.ndarray, geom: Geometry, hw_out) -> np.ndarray:
    """A read-only view (..., kh, kw, Ho, Wo) of every window of the padded plane: no copy."""
    *lead, step_h, step_w = xp.strides
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel, geom.stride, geom.dilation
    shape = (*xp.shape[:-2], kh, kw, *hw_out)
    strides = (*lead, step_h * dh, step_w * dw, step_h * sh, step_w * sw)
    return as_strided(xp, shape, strides, writeable=False)


def taps(xp: np.ndarray, geom: Geometry, hw_out) -> list[np.ndarray]:
    """The (..., Ho, Wo) view of each kernel offset, in row-major kernel order."""
    view = windows(xp, geom, hw_out)
    kh, kw = geom.kernel
    return [view[..., i, j, :, :] for i in range(kh) for j in range(kw)]


def col2im(cols: np.ndarray, geom: Geometry, hw: tuple) -> np.ndarray:
    """Adjoint of ``windows``: sum (..., kh, kw, Ho, Wo) values into an (..., H, W) plane.

    Loops over the kernel's taps only; each tap adds one strided slice, and the padding is
    cut off at the end.
    """
    *lead, kh, kw, ho, wo = cols.shape
    top, bottom, left, right = geom.pads
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    height, width = hw
    out = np.zeros((*lead, height + top + bottom, width + left + right), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            columns = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            out[..., rows, columns] += cols[..., i, j, :, :]
    if top or bottom or left or right:
        out = np.ascontiguousarray(out[..., top : top + height, left : left + width])
    return out


def needs(ctx, index: int) -> bool:
    """``needs_input_grad[index]``; False when nothing is recorded (the tuple is empty)."""
    return ctx.needs_input_grad[index : index + 1] == (True,)


# --- argument checks -----------------------------------------------------------------------------


def ints(value, n: int, name: str, op: str) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints (or of one), as a tuple of ``n`` ints."""
    if isinstance(value, numbers.Integral):
        return (int(value),) * n
    values = tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(values) == 1:
        values *= n
    if len(values) != n or not all(isinstance(v, numbers.Integral) for v in values):
        raise TypeError(f"{op}: expected {name} to be an int or a tuple of {n} ints, got {value!r}")
    return tuple(int(v) for v in values)


def positive(values: tuple, name: str, op: str) -> None:
    if any(v <= 0 for v in values):
        raise ValueError(f"{op}: {name} must be positive, got {values}")


def shape_of(t: Tensor) -> tuple:
    return tuple(t._data.shape)


def check_input(op: str, nd: int, input, integers: bool = False) -> None:
    """A float (or, if allowed, integer) tensor with ``nd`` spatial dims, batched or not."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    if input._data.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"{op}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got input of "
            f"shape {shape_of(input)}"
        )
    if input._data.dtype.kind not in ("fiu" if integers else "f"):
        raise TypeError(f"{op}: expected a floating-point input, got {input._data.dtype}")


def geometry_2d(kernel, stride, pairs, dilation, groups: int = 1) -> Geometry:
    """A 1-D op's per-axis values become the width of a height-1 plane."""
    if len(kernel) == 1:
        kernel, stride, pairs, dilation = (
            (1, *kernel),
            (1, *stride),
            ((0, 0), *pairs),
            (1, *dilation),
        )
    return Geometry(tuple(kernel), tuple(stride), (*pairs[0], *pairs[1]), tuple(dilation), groups)
