"""Flatten parameters into one vector and back, as torch.nn.utils."""

from __future__ import annotations

import numpy as np

from tapegrad.ops.shape import reshape
from tapegrad.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    """Concatenate the flattened parameters into one vector (differentiably). As torch."""
    from tapegrad.ops.shape import cat

    return cat([reshape(p, -1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of ``vec`` into the parameters' memory. Same as torch."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected a Tensor, but got {type(vec).__name__}")
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if vec._data.ndim != 1 or vec._data.size != total:
        raise ValueError(
            f"vector_to_parameters: vector of shape {tuple(vec.shape)} does not hold the "
            f"{total} elements of the parameters"
        )
    start = 0
    for p in parameters:
        n = p.numel()
        p._data = np.array(vec._data[start : start + n].reshape(p._data.shape), dtype=p.dtype)
        start += n
