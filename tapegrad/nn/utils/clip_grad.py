"""Gradient clipping by total norm or by value, in place, as torch.nn.utils."""

from __future__ import annotations

import math

import numpy as np

from tapegrad.tensor import Tensor, _make

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _grads(parameters) -> list[np.ndarray]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad._data for p in parameters if p.grad is not None]


def get_total_norm(tensors, norm_type: float = 2.0) -> Tensor:
    """The ``norm_type``-norm of all tensors' elements together. Same as torch."""
    arrays = [t._data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
    return _make(np.asarray(_total(arrays, float(norm_type))))


def _total(arrays: list[np.ndarray], norm_type: float):
    if not arrays:
        return np.float32(0.0)
    if math.isinf(norm_type):
        fn = np.max if norm_type > 0 else np.min
        return fn([fn(np.abs(a)) for a in arrays])
    norms = [np.sum(np.abs(a) ** norm_type) for a in arrays]
    return np.sum(norms) ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale all gradients together so their total norm is at most ``max_norm``.

    Same as ``torch.nn.utils.clip_grad_norm_``: returns the total norm before clipping.
    """
    grads = _grads(parameters)
    total = _total(grads, float(norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {float(norm_type)} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. Set error_if_nonfinite=False to clip anyway."
        )
    coefficient = float(max_norm) / (float(total) + 1e-6)
    if coefficient < 1.0:
        for g in grads:
            g *= coefficient
    dtype = grads[0].dtype if grads else np.float32
    return _make(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``. Same as torch."""
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
