"""Torch-named functions on numpy arrays: the ``ctx.xp`` that backward formulas call.

A Function with ``raw_backward = True`` writes its backward with operators and ``ctx.xp``
only. When nothing records (``create_graph=False``, every training step) the engine hands it
numpy arrays and this namespace, so the formula runs at numpy speed; under ``create_graph``
it gets Tensors and ``xp`` is ``tapegrad`` itself, so the same formula is recorded. Every
name here matches the tapegrad function of the same name, argument for argument.
"""

from __future__ import annotations

import numpy as np

from tapegrad.ops._index import add_at, along

exp = np.exp
log = np.log
sqrt = np.sqrt
sin = np.sin
cos = np.cos
sinh = np.sinh
cosh = np.cosh
where = np.where
maximum = np.maximum
minimum = np.minimum
matmul = np.matmul
zeros_like = np.zeros_like
floor = np.floor
floor_divide = np.floor_divide
isnan = np.isnan
logical_not = np.logical_not


def sign(input):
    out = np.sign(input)
    return np.where(np.isnan(out), out.dtype.type(0), out)  # torch's sign of NaN is 0


def rsqrt(x):
    return 1 / np.sqrt(x)


def sum(input, dim=None, keepdim: bool = False):
    return np.sum(input, axis=dim, keepdims=keepdim)


def mean(input, dim=None, keepdim: bool = False):
    if input.size == 0:  # the mean of nothing is NaN, without numpy's warning
        return np.full(np.sum(input, axis=dim, keepdims=keepdim).shape, np.nan, input.dtype)
    return np.mean(input, axis=dim, keepdims=keepdim)


def expand(input, *sizes):
    if input.size == 1:  # one value (a full sum's or mean's gradient): np.broadcast_to's view,
        view = np.ndarray(sizes, input.dtype, input, 0, (0,) * len(sizes))  # without its frames
        view.flags.writeable = False
        return view
    return np.broadcast_to(input, sizes)


def permute(input, *dims):
    return np.transpose(input, dims)


def transpose(input, dim0: int, dim1: int):
    return np.swapaxes(input, dim0, dim1)


def unsqueeze(input, dim: int):
    shape = input.shape  # a reshape: np.expand_dims costs several Python frames
    at = dim if dim >= 0 else dim + len(shape) + 1
    return input.reshape(shape[:at] + (1,) + shape[at:])


def squeeze(input, dim: int):
    return np.squeeze(input, dim)


def gather(input, dim: int, index):
    d = dim % max(input.ndim, 1)
    x, i = input.reshape(input.shape or (1,)), index.reshape(index.shape or (1,))
    x = x[tuple(slice(None) if a == d else slice(0, n) for a, n in enumerate(i.shape))]
    return np.take_along_axis(x, i, axis=d).reshape(index.shape)  # torch reads x's leading block


def scatter_add(input, dim: int, index, src):
    d = dim % max(input.ndim, 1)
    out = input.reshape(input.shape or (1,)).copy()
    i = index.reshape(index.shape or (1,))
    src = src.reshape(src.shape or (1,))[tuple(slice(0, n) for n in i.shape)]
    key = along(i, d)
    if i.shape[d] == 1:  # one index per line along dim (cross entropy's): no position repeats
        out[key.post] += src
    else:
        add_at(out, key, src)  # ScatterAdd's own kernel: repeated indices accumulate
    return out.reshape(input.shape)
