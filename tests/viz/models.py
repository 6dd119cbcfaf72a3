"""Tiny modules for the viz tests, written with elementwise ops and sums (no nn layers needed)."""

from __future__ import annotations

import numpy as np

import tapegrad as tg
from tapegrad import nn


class Lin(nn.Module):
    """x @ weight + bias, as a broadcast product and a sum (matmul-free)."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(tg.randn(n_in, n_out) * (1 / n_in**0.5))
        self.bias = nn.Parameter(tg.zeros(n_out))

    def forward(self, x):
        return (x.unsqueeze(-1) * self.weight).sum(-2) + self.bias


class Act(nn.Module):
    def forward(self, x):
        return x.tanh()


class MLP(nn.Module):
    """``hidden`` Lin+Act blocks in ``encoder``, then a Lin ``head``."""

    def __init__(self, hidden: int, width: int = 4, n_in: int = 2, n_out: int = 1):
        super().__init__()
        layers = []
        for i in range(hidden):
            layers += [Lin(n_in if i == 0 else width, width), Act()]
        self.encoder = nn.Sequential(*layers)
        self.head = Lin(width if hidden else n_in, n_out)

    def forward(self, x):
        return self.head(self.encoder(x))


class Cell(nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.w_hh = nn.Parameter(tg.randn(n, n) * 0.5)

    def forward(self, x, h):
        return (x + (h.unsqueeze(-1) * self.w_hh).sum(-2)).tanh()


class RNN(nn.Module):
    """One Cell called once per time step: the same module, many calls."""

    def __init__(self, n: int):
        super().__init__()
        self.cell = Cell(n)

    def forward(self, xs: np.ndarray):
        h = tg.zeros(xs.shape[1])
        for x in xs:
            h = self.cell(tg.tensor(x), h)
        return h


def mlp_loss(hidden: int = 2, batch: int = 8):
    """A model, its input, and an MSE loss on it."""
    model = MLP(hidden)
    x = tg.randn(batch, 2)
    y = tg.randn(batch, 1)
    return model, ((model(x) - y) ** 2).mean()
