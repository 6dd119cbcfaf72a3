"""One SGD training step of an MLP 784-512-256-10, batch 128, float32: tapegrad vs PyTorch vs numpy.

The step is: linear+relu, linear+relu, linear, mean cross-entropy from a log-softmax shifted by
the row max (the shift is a constant, so taking it outside the graph changes no gradient),
backward, and a plain SGD update. All three start from the same weights and batch, and must
agree on the loss before and after one step (1e-4 relative) before anything is timed.

PyTorch runs its idiomatic code (``F.linear``, ``F.cross_entropy``); numpy runs the same math
with the backward derived by hand. At this size the matmuls dominate, so the ratios show how
much the tape adds on top of the BLAS work.

Run from the repository root: ``python -m benchmarks.bench_mlp``.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import torch
import torch.nn.functional as F

import tapegrad as tg
from benchmarks._timing import CLOCKS, environment, measure, set_threads, table

SIZES = (784, 512, 256, 10)
BATCH = 128
LR = 0.1


def init_arrays(seed: int = 0) -> tuple:
    """Weights as torch.nn.Linear draws them (U(+-1/sqrt(fan_in))), a batch and its labels."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in itertools.pairwise(SIZES):
        bound = 1 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], BATCH)
    return params, x, labels


# --- tapegrad ------------------------------------------------------------------------------


class TapegradMLP:
    def __init__(self, params, x, labels):
        self.params = [tg.from_numpy(p.copy()).requires_grad_() for p in params]
        self.x = tg.from_numpy(x)
        self.labels = tg.from_numpy(labels)

    def loss(self) -> tg.Tensor:
        """The same idiomatic code as the PyTorch version: F.linear, F.relu, F.cross_entropy."""
        h = self.x
        n_layers = len(self.params) // 2
        for i in range(n_layers):
            h = tg.nn.functional.linear(h, self.params[2 * i], self.params[2 * i + 1])
            if i < n_layers - 1:
                h = tg.nn.functional.relu(h)
        return tg.nn.functional.cross_entropy(h, self.labels)

    def step(self) -> float:
        loss = self.loss()
        loss.backward()
        with tg.no_grad():
            for p in self.params:
                p -= LR * p.grad
                p.grad = None
        return loss.item()


# --- PyTorch -------------------------------------------------------------------------------


class TorchMLP:
    def __init__(self, params, x, labels):
        self.params = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
        self.x = torch.from_numpy(x)
        self.labels = torch.from_numpy(labels)

    def loss(self) -> torch.Tensor:
        h = self.x
        n_layers = len(self.params) // 2
        for i in range(n_layers):
            h = F.linear(h, self.params[2 * i], self.params[2 * i + 1])
            if i < n_layers - 1:
                h = F.relu(h)
        return F.cross_entropy(h, self.labels)

    def step(self) -> float:
        loss = self.loss()
        loss.backward()
        with torch.no_grad():
            for p in self.params:
                p -= LR * p.grad
                p.grad = None
        return loss.item()


# --- numpy, backward by hand ---------------------------------------------------------------


class NumpyMLP:
    def __init__(self, params, x, labels):
        self.params = [p.copy() for p in params]
        self.x = x
        self.onehot = np.eye(SIZES[-1], dtype=np.float32)[labels]

    def forward(self) -> tuple:
        """The loss and what backward needs: each layer's input and pre-activation, softmax."""
        h, inputs, pre = self.x, [], []
        n_layers = len(self.params) // 2
        for i in range(n_layers):
            w, b = self.params[2 * i], self.params[2 * i + 1]
            inputs.append(h)
            a = h @ w.T + b
            pre.append(a)
            h = np.maximum(a, 0) if i < n_layers - 1 else a
        z = h - h.max(axis=1, keepdims=True)
        e = np.exp(z)
        total = e.sum(axis=1, keepdims=True)
        loss = -(self.onehot * (z - np.log(total))).sum() / BATCH
        return loss, inputs, pre, e / total

    def loss(self) -> float:
        return float(self.forward()[0])

    def step(self) -> float:
        loss, inputs, pre, softmax = self.forward()
        grad = (softmax - self.onehot) / BATCH  # d mean CE / d logits
        grads = []
        for i in reversed(range(len(inputs))):
            w = self.params[2 * i]
            if i < len(inputs) - 1:
                grad = grad * (pre[i] > 0)  # relu
            grads.append(grad.sum(axis=0))  # bias
            grads.append(grad.T @ inputs[i])  # weight: d(h @ w.T)/dw = grad^T h
            if i > 0:
                grad = grad @ w
        for p, g in zip(self.params, reversed(grads)):
            p -= LR * g
        return float(loss)


def check_agreement(models: dict) -> list:
    """Losses before and after one step must agree to 1e-4 relative across the libraries."""
    rows = []
    before = {name: _scalar(m.loss()) for name, m in models.items()}
    for m in models.values():
        m.step()
    after = {name: _scalar(m.loss()) for name, m in models.items()}
    for when, losses in (("initial loss", before), ("loss after 1 step", after)):
        ref = losses["torch"]
        for name, value in losses.items():
            np.testing.assert_allclose(value, ref, rtol=1e-4, err_msg=f"{name} {when}")
        rows.append([when, *(f"{losses[n]:.6f}" for n in models)])
    return rows


def _scalar(loss) -> float:
    return loss.detach().item() if hasattr(loss, "detach") else float(loss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="timing loops per measurement")
    parser.add_argument("--threads", type=int, default=1, help="threads for torch and BLAS")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="what to time")
    args = parser.parse_args()
    threads = set_threads(args.threads, torch)

    print(environment(torch))
    print(threads)
    sizes = "-".join(map(str, SIZES))
    print(f"MLP {sizes}, batch {BATCH}, float32, SGD lr={LR}")
    print(f"{args.clock} time, best of {args.repeat} loops")
    print()
    arrays = init_arrays()
    models = {
        "tapegrad": TapegradMLP(*arrays),
        "torch": TorchMLP(*arrays),
        "numpy": NumpyMLP(*arrays),
    }
    print(table(["check", *models], check_agreement(models)))
    print()

    rows = []
    for what, method in (("forward (loss only)", "loss"), ("train step", "step")):
        fns = [getattr(m, method) for m in models.values()]
        timings = measure(fns, args.repeat, clock=args.clock)
        ms = [t.best * 1e3 for t in timings]
        rows.append([what, *ms, ms[0] / ms[1], ms[0] / ms[2]])
    headers = ["ms per", "tapegrad", "torch", "numpy", "tg/torch", "tg/numpy"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
