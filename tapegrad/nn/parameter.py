"""Parameter: a leaf Tensor that a Module registers when it is assigned as an attribute."""

from __future__ import annotations

import numpy as np

from tapegrad import dtypes
from tapegrad.tensor import Tensor, _init


class Parameter(Tensor):
    """A tensor that is a module's learnable state. Same as ``torch.nn.Parameter``.

    Example:
        >>> import tapegrad as tg
        >>> p = tg.nn.Parameter(tg.zeros(2))
        >>> p.requires_grad, p.is_leaf
        (True, True)
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            array = np.zeros((0,), dtype=dtypes.get_default_dtype())
        elif isinstance(data, Tensor):
            array = data._data  # shares memory, as torch's Parameter(t) does
        else:
            array = np.asarray(data)
        self = object.__new__(cls)
        _init(self, array)
        if requires_grad:
            self.requires_grad_(True)
        return self

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        pass  # everything happens in __new__; Tensor.__init__ would re-read ``data``

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
