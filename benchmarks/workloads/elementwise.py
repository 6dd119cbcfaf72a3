"""Workloads 1 and 5: a (16,) tensor through a cycle of small elementwise ops, then backward.

Per-op overhead (200 ops) and a long chain (20,000 ops) run the same cycle ``exp(tanh(y * w +
b))``, ending in ``sum()``. At 16 elements the arithmetic is nearly free, so the time is each
library's bookkeeping: recording a node per op and walking the graph back.
"""

from __future__ import annotations

import numpy as np

from benchmarks.workload import Workload, one_source

SIZE = 16
CYCLE = 4  # ops per cycle: mul, add, tanh, exp


def arrays() -> tuple[list, list]:
    """x, w, b: every one a parameter; exp(tanh) keeps the chain in (1/e, e) at any depth."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, SIZE)
    w = rng.uniform(0.5, 1.5, SIZE)
    b = rng.uniform(-0.5, 0.5, SIZE)
    return [a.astype(np.float32) for a in (x, w, b)], []


def chain_loss(depth: int):
    """The chain as one source for all four libraries: each has ``tanh``, ``exp``, ``*``, ``+``."""

    def build(mod, data):
        def loss(params):
            y, w, b = params
            for _ in range(depth // CYCLE):
                y = mod.exp(mod.tanh(y * w + b))
            return y.sum()

        return loss

    return build


def chain_by_hand(depth: int):
    """The chain's forward, keeping each tanh and exp output, and its backward step by step."""

    def by_hand(params, data):
        y, w, b = params
        saved = []
        for _ in range(depth // CYCLE):
            t = np.tanh(y * w + b)
            out = np.exp(t)
            saved.append((y, t, out))
            y = out
        grad_w, grad_b = np.zeros_like(w), np.zeros_like(b)
        grad = np.ones_like(y)
        for y_in, t, out in reversed(saved):
            grad = grad * out * (1 - t * t)  # d exp(tanh(a))/da = exp(tanh(a)) (1 - tanh(a)^2)
            grad_b += grad
            grad_w += grad * y_in
            grad = grad * w
        return float(y.sum()), [grad, grad_w, grad_b]

    return by_hand


def chain(name: str, title: str, depth: int, per_op: bool) -> Workload:
    return Workload(
        name,
        title,
        arrays,
        one_source(chain_loss(depth)),
        chain_by_hand(depth),
        ops=depth + 1 if per_op else None,  # the elementwise ops and the final sum
    )


OPS = chain("ops", f"per-op overhead: ({SIZE},) through 200 elementwise ops, backward", 200, False)
CHAIN = chain("chain", f"chain of 20,000 elementwise ops on ({SIZE},), backward", 20_000, True)
