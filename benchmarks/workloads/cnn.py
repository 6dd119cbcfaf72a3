"""Workload 3: one SGD step of a small CNN on a batch of 32 1x28x28 images.

conv(1->8, 3x3, padding 1) + ReLU + maxpool 2, conv(8->16, 3x3, padding 1) + ReLU + maxpool 2,
flatten, linear(784->10), mean cross entropy. tapegrad and torch run their ``F.conv2d`` and
``F.max_pool2d``, MyGrad its ``conv_nd`` and ``max_pool``. HIPS autograd has neither, so its
user writes the convolution as im2col with ``autograd.numpy`` (pad, nine shifted slices, one
matmul) and pools with reshape and max; numpy does the same with a hand-written backward.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from benchmarks.workload import Workload, by_library
from benchmarks.workloads.mlp import cross_entropy_by_hand

BATCH, LR = 32, 0.01


def arrays() -> tuple[list, list]:
    """Weights drawn with torch's default bounds, U(+-1/sqrt(fan_in)); a batch and labels."""
    rng = np.random.default_rng(0)
    shapes = [((8, 1, 3, 3), 9), ((8,), 9), ((16, 8, 3, 3), 72), ((16,), 72)]
    shapes += [((10, 784), 784), ((10,), 784)]
    params = [
        (rng.uniform(-1, 1, shape) / np.sqrt(fan_in)).astype(np.float32) for shape, fan_in in shapes
    ]
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, BATCH)
    return params, [x, labels]


def logits(x, params, conv, relu, pool, linear):
    """The network, given each library's conv, relu, pool and linear."""
    w1, b1, w2, b2, wf, bf = params
    h = pool(relu(conv(x, w1, b1)))
    h = pool(relu(conv(h, w2, b2)))
    return linear(h.reshape(len(x), -1), wf, bf)


def torch_like(mod, data):
    """tapegrad and torch: the same idiomatic code."""
    F = mod.nn.functional
    x, labels = data

    def conv(h, w, b):
        return F.conv2d(h, w, b, padding=1)

    def pool(h):
        return F.max_pool2d(h, 2)

    return lambda params: F.cross_entropy(logits(x, params, conv, F.relu, pool, F.linear), labels)


def mygrad_loss(mg, data):
    from mygrad.nnet import conv_nd, max_pool, relu, softmax_crossentropy

    x, labels = data

    def conv(h, w, b):
        return conv_nd(h, w, stride=1, padding=1) + b.reshape(-1, 1, 1)

    def pool(h):
        return max_pool(h, (2, 2), 2)

    def linear(h, w, b):
        return mg.matmul(h, w.T) + b

    return lambda params: softmax_crossentropy(logits(x, params, conv, relu, pool, linear), labels)


def autograd_loss(anp, data):
    from autograd.scipy.special import logsumexp

    x, labels = data
    rows = np.arange(len(labels))

    def conv(h, w, b):
        n, c, height, width = h.shape
        padded = anp.pad(h, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="constant")
        taps = [padded[:, :, i : i + height, j : j + width] for i in range(3) for j in range(3)]
        cols = anp.stack(taps, axis=2).reshape(n, c * 9, height * width)
        out = anp.matmul(w.reshape(w.shape[0], -1), cols) + b.reshape(-1, 1)
        return out.reshape(n, -1, height, width)

    def pool(h):
        n, c, height, width = h.shape
        return h.reshape(n, c, height // 2, 2, width // 2, 2).max(axis=(3, 5))

    def linear(h, w, b):
        return anp.dot(h, w.T) + b

    def loss(params):
        out = logits(x, params, conv, lambda h: anp.maximum(h, 0.0), pool, linear)
        return -anp.mean(out[rows, labels] - logsumexp(out, axis=1))

    return loss


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


def by_hand(params, data):
    """im2col forward keeping columns, pre-activations and pooling masks; backward by hand."""
    x, labels = data
    w1, b1, w2, b2, wf, bf = params
    cache = []
    h = x
    for w, b in ((w1, b1), (w2, b2)):
        cols = _im2col(h)
        a = np.matmul(w.reshape(len(w), -1), cols) + b[:, None]
        pooled, masks = _pool(np.maximum(a, 0).reshape(len(h), len(w), *h.shape[2:]))
        cache.append((h.shape, cols, a, masks))
        h = pooled
    flat = h.reshape(len(h), -1)
    loss, grad = cross_entropy_by_hand(flat @ wf.T + bf, labels)
    grads = [grad.T @ flat, grad.sum(0)]
    grad = (grad @ wf).reshape(h.shape)
    for (shape, cols, a, masks), w in zip(reversed(cache), (w2, w1)):
        grad = _unpool(grad, masks).reshape(a.shape) * (a > 0)
        w_grad = np.matmul(grad, cols.transpose(0, 2, 1)).sum(0)
        grads = [w_grad.reshape(w.shape), grad.sum((0, 2)), *grads]
        if shape[1] > 1:  # the first layer's input is the image: it needs no gradient
            grad = _col2im(np.matmul(w.reshape(len(w), -1).T, grad), shape)
    return loss, grads


CNN = Workload(
    "cnn",
    f"CNN batch {BATCH} of 1x28x28: 2x (conv 3x3 + ReLU + maxpool 2), linear, SGD step",
    arrays,
    by_library(torch_like, mygrad_loss, autograd_loss),
    by_hand,
    lr=LR,
)
