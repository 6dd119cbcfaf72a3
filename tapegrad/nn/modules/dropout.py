"""Dropout layers: thin wrappers over F.dropout/dropout1d/dropout2d that honour train()/eval()."""

from __future__ import annotations

from tapegrad.nn.functional.dropout import _check_p, dropout, dropout1d, dropout2d
from tapegrad.nn.modules.module import Module
from tapegrad.tensor import Tensor

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        _check_p(p)
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero elements with probability ``p`` while training. Same as ``torch.nn.Dropout``.

    Example:
        >>> import tapegrad as tg
        >>> drop = tg.nn.Dropout(0.5).eval()
        >>> drop(tg.ones(3))
        tensor([1., 1., 1.])
    """

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) inputs while training. Same as ``torch.nn.Dropout1d``."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) inputs while training. Same as torch's Dropout2d."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout2d(input, self.p, self.training, self.inplace)
