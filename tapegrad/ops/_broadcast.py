"""Undoing broadcasting: the one place a gradient is summed back to its input's shape."""

from __future__ import annotations

import numpy as np

from tapegrad.tensor import Tensor


def sum_to(grad: Tensor, shape: tuple, what: object = "gradient") -> Tensor:
    """Sum ``grad`` over the dimensions that broadcasting added or stretched to reach ``shape``.

    Written with the registered ``sum`` op, so it is recorded under ``create_graph``. The
    error message calls ``grad`` ``str(what)``, made only when the shapes do not fit.
    """
    from tapegrad.ops.reduction import sum as sum_

    lead, stretched = _summed_dims(grad._data.shape, shape, what)
    if not stretched:  # only leading dims were added (a bias): one sum drops them
        return sum_(grad, tuple(range(lead)))
    grad = sum_(grad, tuple(range(lead)) + stretched, keepdim=True)
    return grad.reshape(shape) if lead else grad


def sum_to_array(grad: np.ndarray, shape: tuple, what: object = "gradient") -> np.ndarray:
    """``sum_to`` on a numpy array, for backward passes that record nothing."""
    g_shape = grad.shape
    lead = len(g_shape) - len(shape)
    if lead > 0 and g_shape[lead:] == shape:  # a bias: np.add.reduce, without np.sum's frames
        total = np.add.reduce(grad, axis=0 if lead == 1 else tuple(range(lead)))
        return total if shape else np.asarray(total)  # all axes summed: a scalar, made 0-d
    lead, stretched = _summed_dims(g_shape, shape, what)
    grad = np.sum(grad, axis=tuple(range(lead)) + stretched, keepdims=True)
    return grad.reshape(shape) if lead else grad


def _summed_dims(g_shape: tuple, shape: tuple, what: object) -> tuple[int, tuple]:
    """How many leading dims broadcasting added, and which size-1 dims it stretched."""
    lead = len(g_shape) - len(shape)
    if lead < 0 or any(s != 1 and s != g for s, g in zip(shape, g_shape[lead:])):
        raise RuntimeError(f"{what} has shape {g_shape}, which cannot be summed to shape {shape}")
    stretched = tuple(lead + i for i, s in enumerate(shape) if s == 1 and g_shape[lead + i] != 1)
    return lead, stretched
