"""Workload 6: a 2-16-16-1 tanh MLP on 64 points, mean squared error, forward and backward.

Tiny matrices, so like the per-op workload this measures each library's overhead per op. The
forward is one source for all four libraries.
"""

from __future__ import annotations

import numpy as np

from benchmarks.workload import Workload, layer_params, one_source

SIZES = (2, 16, 16, 1)
POINTS = 64


def arrays() -> tuple[list, list]:
    """Weights (in, out), U(+-1/sqrt(fan_in)); points in [-1, 1]^2, target sin(3x) cos(3y)."""
    rng = np.random.default_rng(0)
    params = layer_params(rng, SIZES, transposed=True)
    x = rng.uniform(-1, 1, (POINTS, 2)).astype(np.float32)
    y = (np.sin(3 * x[:, :1]) * np.cos(3 * x[:, 1:])).astype(np.float32)
    return params, [x, y]


def loss(mod, data):
    x, y = data

    def mse(params):
        w1, b1, w2, b2, w3, b3 = params
        h = mod.tanh(x @ w1 + b1)
        h = mod.tanh(h @ w2 + b2)
        diff = h @ w3 + b3 - y
        return (diff * diff).mean()

    return mse


def by_hand(params, data):
    """Forward keeping both hidden layers; backward layer by layer."""
    w1, b1, w2, b2, w3, b3 = params
    x, y = data
    h1 = np.tanh(x @ w1 + b1)
    h2 = np.tanh(h1 @ w2 + b2)
    diff = h2 @ w3 + b3 - y
    grad = 2 * diff / diff.size  # d mean(diff^2)/d out
    grads = [h2.T @ grad, grad.sum(0)]
    grad = (grad @ w3.T) * (1 - h2 * h2)
    grads = [h1.T @ grad, grad.sum(0), *grads]
    grad = (grad @ w2.T) * (1 - h1 * h1)
    grads = [x.T @ grad, grad.sum(0), *grads]
    return float((diff * diff).mean()), grads


TINY_MLP = Workload(
    "tiny_mlp",
    f"tanh MLP {'-'.join(map(str, SIZES))} on {POINTS} points, MSE, forward+backward",
    arrays,
    one_source(loss),
    by_hand,
)
