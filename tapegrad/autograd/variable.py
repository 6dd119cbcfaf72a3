"""The legacy ``Variable`` spelling, still common in tutorials: it returns a plain Tensor."""

from __future__ import annotations

from tapegrad.tensor import Tensor


def Variable(data, requires_grad: bool = False) -> Tensor:
    """Return ``data`` as a tensor (optionally requiring grad). Same as torch's Variable."""
    from tapegrad.creation import as_tensor

    t = as_tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t
