"""F.dropout and its channel-wise forms dropout1d/dropout2d.

Each is a composite: the input times a constant mask drawn from ``tapegrad.random``, so
``tg.manual_seed`` repeats it and the gradient is the mask itself.
"""

from __future__ import annotations

import warnings

import numpy as np

from tapegrad.ops.registry import register
from tapegrad.random import rng
from tapegrad.tensor import Tensor, _make

__all__ = ["dropout", "dropout1d", "dropout2d"]


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _mask(input: Tensor, p: float, shape: tuple) -> Tensor:
    """Keep each element with probability 1 - p, scaled by 1 / (1 - p) (zeros when p = 1)."""
    dtype = input._data.dtype
    if p == 1:
        return _make(np.zeros((), dtype))  # torch multiplies by 0: NaN and inf stay NaN
    keep = rng().random(shape) >= p
    # torch divides the 0/1 noise by (1 - p) before multiplying, in the input's dtype
    return _make(keep.astype(dtype) / dtype.type(1 - p))


def _apply_mask(input: Tensor, p: float, training: bool, inplace: bool, shape: tuple):
    if not training or p == 0 or input._data.size == 0:
        return input  # torch returns the input itself, not a copy
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"dropout: expected a floating point input, got {input._data.dtype}")
    mask = _mask(input, p, shape)
    return input.mul_(mask) if inplace else input * mask


@register(export=False)
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p).

    Same as ``torch.nn.functional.dropout``.
    """
    _check_p(p)
    return _apply_mask(input, p, training, inplace, input._data.shape)


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool) -> Tensor:
    """Drop whole channels: one draw per (sample, channel) of an (N, C, *) input."""
    shape = input._data.shape
    noise_shape = shape[:2] + (1,) * (len(shape) - 2)
    return _apply_mask(input, p, training, inplace, noise_shape)


@register(export=False)
def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of an (N, C, L) or (C, L) input. Same as ``F.dropout1d``."""
    _check_p(p)
    ndim = input._data.ndim
    if ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {ndim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs)."
        )
    if ndim == 3:
        return _feature_dropout(input, p, training, inplace)
    # an unbatched (C, L) input: one draw per channel
    return _apply_mask(input, p, training, inplace, (input._data.shape[0], 1))


@register(export=False)
def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of an (N, C, H, W) input. Same as ``F.dropout2d``.

    As torch, a 3-D input is read as (N, C, L) with a warning, and other ranks warn too.
    """
    _check_p(p)
    ndim = input._data.ndim
    if ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead.",
            UserWarning,
            stacklevel=2,
        )
    if ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. To maintain the 1D channel-wise dropout behavior, please switch "
            "to using dropout1d instead.",
            UserWarning,
            stacklevel=2,
        )
    if ndim < 2:
        raise RuntimeError(
            f"dropout2d: Feature dropout requires at least 2 dimensions in the input, got {ndim}"
        )
    return _feature_dropout(input, p, training, inplace)
