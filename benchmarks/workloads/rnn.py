"""Workload 4: a tanh RNN written as a Python loop over 32 steps, forward and backward.

``h = tanh(x_t @ w_ih + h @ w_hh + b)`` for batch 16, input 64, hidden 128; the loss is the
mean square of the last hidden state. The loop is one source for all four libraries.
"""

from __future__ import annotations

import numpy as np

from benchmarks.workload import Workload, one_source

STEPS, BATCH, INPUT, HIDDEN = 32, 16, 64, 128


def arrays() -> tuple[list, list]:
    """w_ih, w_hh, b as torch.nn.RNN draws them, U(+-1/sqrt(hidden)); inputs and h0 = 0."""
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(HIDDEN)
    params = [
        rng.uniform(-bound, bound, shape).astype(np.float32)
        for shape in ((INPUT, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN,))
    ]
    xs = rng.standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
    return params, [xs, np.zeros((BATCH, HIDDEN), np.float32)]


def loss(mod, data):
    xs, h0 = data
    steps = [xs[t] for t in range(STEPS)]  # the inputs, split once outside the timed step

    def rnn(params):
        w_ih, w_hh, b = params
        h = h0
        for x in steps:
            h = mod.tanh(x @ w_ih + h @ w_hh + b)
        return (h * h).mean()

    return rnn


def by_hand(params, data):
    """Forward keeping every hidden state; backpropagation through time by hand."""
    w_ih, w_hh, b = params
    xs, h0 = data
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(x @ w_ih + hs[-1] @ w_hh + b))
    h = hs[-1]
    grad = 2 * h / h.size  # d mean(h^2)/dh
    grad_ih, grad_hh, grad_b = np.zeros_like(w_ih), np.zeros_like(w_hh), np.zeros_like(b)
    for t in reversed(range(STEPS)):
        grad = grad * (1 - hs[t + 1] * hs[t + 1])  # through tanh
        grad_b += grad.sum(0)
        grad_ih += xs[t].T @ grad
        grad_hh += hs[t].T @ grad
        grad = grad @ w_hh.T
    return float((h * h).mean()), [grad_ih, grad_hh, grad_b]


RNN = Workload(
    "rnn",
    f"tanh RNN, Python loop: {STEPS} steps, input {INPUT}, hidden {HIDDEN}, batch {BATCH}",
    arrays,
    one_source(loss),
    by_hand,
)
