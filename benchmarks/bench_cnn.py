"""One SGD step of a small CNN on a batch of 32 1x28x28 images: tapegrad vs PyTorch vs numpy.

The model: conv(1->8, 3x3, padding 1) + ReLU + maxpool 2, conv(8->16, 3x3, padding 1) + ReLU
+ maxpool 2, flatten, linear(784->10), mean cross-entropy, SGD step (lr 0.01), all float32.
The three start from the same weights and batch and must agree on the loss before and after
one step (1e-4 relative) before anything is timed.

tapegrad runs its layers (nn.Conv2d, F.max_pool2d, optim.SGD) and a stable log-softmax
written with tapegrad ops; PyTorch runs its idiomatic code; numpy runs the same math with a
hand-written backward (im2col convolutions), the floor any numpy library can reach.

Run from the repository root: ``python -m benchmarks.bench_cnn`` (``--profile`` for cProfile
of the tapegrad step, ``--threads N``, ``--repeat N``).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as torch_F
from numpy.lib.stride_tricks import as_strided

import tapegrad as tg
import tapegrad.nn.functional as F

BATCH, LR = 32, 0.01


def init_arrays(seed: int = 0) -> tuple:
    """Weights drawn with torch's default bounds (U(+-1/sqrt(fan_in))), a batch and labels."""
    rng = np.random.default_rng(seed)
    shapes = [((8, 1, 3, 3), 9), ((8,), 9), ((16, 8, 3, 3), 72), ((16,), 72)]
    shapes += [((10, 784), 784), ((10,), 784)]
    params = [
        rng.uniform(-1, 1, shape).astype(np.float32) / np.float32(np.sqrt(fan_in))
        for shape, fan_in in shapes
    ]
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, BATCH)
    return params, x, labels


# --- tapegrad ------------------------------------------------------------------------------------


class TapegradCNN(tg.nn.Module):
    def __init__(self, params, x, labels):
        super().__init__()
        self.conv1 = tg.nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = tg.nn.Conv2d(8, 16, 3, padding=1)
        self.fc_weight = tg.nn.Parameter(tg.empty(10, 784))
        self.fc_bias = tg.nn.Parameter(tg.empty(10))
        names = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc_weight", "fc_bias"]
        self.load_state_dict(dict(zip(names, params)))
        self.optimizer = tg.optim.SGD(self.parameters(), lr=LR)
        self.x = tg.from_numpy(x)
        self.labels = tg.from_numpy(labels[:, None])

    def loss(self) -> tg.Tensor:
        h = F.max_pool2d(tg.relu(self.conv1(self.x)), 2)
        h = F.max_pool2d(tg.relu(self.conv2(h)), 2)
        logits = h.flatten(1) @ self.fc_weight.T + self.fc_bias
        # log-softmax through logsumexp, which subtracts the row max: stable at any logit
        log_probs = logits - logits.logsumexp(1, keepdim=True)
        return -log_probs.gather(1, self.labels).mean()

    def step(self) -> float:
        self.optimizer.zero_grad()
        loss = self.loss()
        loss.backward()
        self.optimizer.step()
        return loss.item()


# --- PyTorch -------------------------------------------------------------------------------------


class TorchCNN(torch.nn.Module):
    def __init__(self, params, x, labels):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.fc = torch.nn.Linear(784, 10)
        names = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"]
        self.load_state_dict({k: torch.from_numpy(p) for k, p in zip(names, params)})
        self.optimizer = torch.optim.SGD(self.parameters(), lr=LR)
        self.x = torch.from_numpy(x)
        self.labels = torch.from_numpy(labels)

    def loss(self) -> torch.Tensor:
        h = torch_F.max_pool2d(torch_F.relu(self.conv1(self.x)), 2)
        h = torch_F.max_pool2d(torch_F.relu(self.conv2(h)), 2)
        return torch_F.cross_entropy(self.fc(h.flatten(1)), self.labels)

    def step(self) -> float:
        self.optimizer.zero_grad()
        loss = self.loss()
        loss.backward()
        self.optimizer.step()
        return loss.item()


# --- numpy, backward by hand ---------------------------------------------------------------------


def _im2col(x: np.ndarray) -> np.ndarray:
    """(N, C*9, H*W) columns of a 3x3, padding 1, stride 1 convolution."""
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2, w + 2), x.dtype)
    xp[:, :, 1:-1, 1:-1] = x
    s = xp.strides
    view = as_strided(xp, (n, c, 3, 3, h, w), (s[0], s[1], s[2], s[3], s[2], s[3]))
    return view.reshape(n, c * 9, h * w)


def _col2im(cols: np.ndarray, shape: tuple) -> np.ndarray:
    """Adjoint of _im2col: (N, C*9, H*W) columns summed back into (N, C, H, W)."""
    n, c, h, w = shape
    cols = cols.reshape(n, c, 3, 3, h, w)
    out = np.zeros((n, c, h + 2, w + 2), cols.dtype)
    for i in range(3):
        for j in range(3):
            out[:, :, i : i + h, j : j + w] += cols[:, :, i, j]
    return out[:, :, 1:-1, 1:-1]


def _pool(a: np.ndarray) -> tuple:
    """2x2 max pooling and, per tap, where it holds each window's first maximum."""
    taps = [a[:, :, i::2, j::2] for i in (0, 1) for j in (0, 1)]
    out = np.maximum(np.maximum(taps[0], taps[1]), np.maximum(taps[2], taps[3]))
    found = np.zeros(out.shape, bool)
    masks = []
    for tap in taps:
        first = (tap == out) > found
        found |= first
        masks.append(first)
    return out, masks


def _unpool(grad: np.ndarray, masks: list) -> np.ndarray:
    n, c, h, w = grad.shape
    out = np.empty((n, c, 2 * h, 2 * w), grad.dtype)
    for (i, j), mask in zip(((0, 0), (0, 1), (1, 0), (1, 1)), masks):
        np.multiply(grad, mask, out=out[:, :, i::2, j::2])
    return out


class NumpyCNN:
    def __init__(self, params, x, labels):
        self.params = [p.copy() for p in params]
        self.x = x
        self.onehot = np.eye(10, dtype=np.float32)[labels]

    def forward(self) -> tuple:
        w1, b1, w2, b2, wf, bf = self.params
        cache = []
        h = self.x
        for w, b in ((w1, b1), (w2, b2)):
            cols = _im2col(h)
            a = np.matmul(w.reshape(len(w), -1), cols) + b[:, None]
            pooled, masks = _pool(np.maximum(a, 0).reshape(len(h), len(w), *h.shape[2:]))
            cache.append((h.shape, cols, a, masks))
            h = pooled
        flat = h.reshape(len(h), -1)
        logits = flat @ wf.T + bf
        z = logits - logits.max(1, keepdims=True)
        e = np.exp(z)
        total = e.sum(1, keepdims=True)
        loss = -(self.onehot * (z - np.log(total))).sum() / BATCH
        return loss, cache, flat, e / total

    def loss(self) -> float:
        return float(self.forward()[0])

    def step(self) -> float:
        loss, cache, flat, softmax = self.forward()
        w1, _, w2, _, wf, _ = self.params
        grad = (softmax - self.onehot) / BATCH
        grads = [grad.T @ flat, grad.sum(0)]
        grad = (grad @ wf).reshape(BATCH, 16, 7, 7)
        for (shape, cols, a, masks), w in zip(reversed(cache), (w2, w1)):
            grad = _unpool(grad, masks).reshape(a.shape) * (a > 0)
            w_grad = np.matmul(grad, cols.transpose(0, 2, 1)).sum(0)
            grads = [w_grad.reshape(w.shape), grad.sum((0, 2)), *grads]
            if shape[1] > 1:  # the first layer's input needs no gradient
                grad = _col2im(np.matmul(w.reshape(len(w), -1).T, grad), shape)
        for p, g in zip(self.params, grads):
            p -= LR * g
        return float(loss)


# --- running -------------------------------------------------------------------------------------


def check_agreement(models: dict) -> None:
    """Same loss before and after one step, or the timings would compare different work."""
    with torch.no_grad(), tg.no_grad():
        before = {name: float(m.loss()) for name, m in models.items()}
    for m in models.values():
        m.step()
    with torch.no_grad(), tg.no_grad():
        after = {name: float(m.loss()) for name, m in models.items()}
    for name in models:
        for what, values in (("before", before), ("after", after)):
            ref = values["torch"]
            if abs(values[name] - ref) > 1e-4 * abs(ref):
                raise AssertionError(f"{name} loss {what} one step {values[name]} != torch {ref}")
    print(f"losses agree: {before['torch']:.6f} before, {after['torch']:.6f} after one step")


def time_steps(models: dict, repeat: int, steps: int) -> dict:
    """Per-step seconds: the libraries take turns, so busy spells hit them alike."""
    times = {name: [] for name in models}
    for _ in range(repeat):
        for name, model in models.items():
            start = time.perf_counter()
            for _ in range(steps):
                model.step()
            times[name].append((time.perf_counter() - start) / steps)
    return times


def set_threads(n: int) -> str:
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return f"torch {n} threads; numpy BLAS default (threadpoolctl not installed)"
    threadpool_limits(limits=n, user_api="blas")
    return f"torch and numpy BLAS {n} threads each"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="timing rounds (default 30)")
    parser.add_argument("--steps", type=int, default=3, help="steps per round (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/torch threads (default 1)")
    parser.add_argument("--profile", action="store_true", help="cProfile the tapegrad step")
    args = parser.parse_args()
    threads = set_threads(args.threads)
    params, x, labels = init_arrays()
    models = {
        "tapegrad": TapegradCNN(params, x, labels),
        "torch": TorchCNN(params, x, labels),
        "numpy": NumpyCNN(params, x, labels),
    }
    check_agreement(models)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [models["tapegrad"].step() for _ in range(50)])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    times = time_steps(models, args.repeat, args.steps)
    medians = {name: statistics.median(t) for name, t in times.items()}
    bests = {name: min(t) for name, t in times.items()}
    print(f"CNN step, batch {BATCH} of 1x28x28 float32; {threads}; load {os.getloadavg()[0]:.2f}")
    print(f"{'':10} {'median ms':>10} {'best ms':>9} {'/ torch':>8} {'/ numpy':>8}")
    for name in models:
        print(
            f"{name:10} {medians[name] * 1e3:10.2f} {bests[name] * 1e3:9.2f} "
            f"{medians[name] / medians['torch']:8.2f} {medians[name] / medians['numpy']:8.2f}"
        )


if __name__ == "__main__":
    main()
