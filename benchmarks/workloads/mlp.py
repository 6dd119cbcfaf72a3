"""Workload 2: one SGD step of an MLP 784-512-256-10 with ReLU and cross entropy, batch 128.

At this size the matmuls dominate, so the ratios show what each library adds around BLAS.
"""

from __future__ import annotations

import numpy as np

from benchmarks.workload import Workload, by_library, layer_params

SIZES = (784, 512, 256, 10)
BATCH = 128
LR = 0.01


def arrays() -> tuple[list, list]:
    """Weights (out, in) as torch.nn.Linear draws them, U(+-1/sqrt(fan_in)); a batch, labels."""
    rng = np.random.default_rng(0)
    params = layer_params(rng, SIZES)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], BATCH)
    return params, [x, labels]


def layers(h, params, linear, relu):
    """Linear layers with a ReLU between them; the last one gives the logits."""
    last = len(params) - 2
    for i in range(0, len(params), 2):
        h = linear(h, params[i], params[i + 1])
        if i < last:
            h = relu(h)
    return h


def torch_like(mod, data):
    """tapegrad and torch: the same idiomatic code, F.linear, F.relu, F.cross_entropy."""
    F = mod.nn.functional
    x, labels = data
    return lambda params: F.cross_entropy(layers(x, params, F.linear, F.relu), labels)


def mygrad_loss(mg, data):
    from mygrad.nnet import relu, softmax_crossentropy

    x, labels = data

    def linear(h, w, b):
        return mg.matmul(h, w.T) + b

    return lambda params: softmax_crossentropy(layers(x, params, linear, relu), labels)


def autograd_loss(anp, data):
    from autograd.scipy.special import logsumexp

    x, labels = data
    rows = np.arange(len(labels))

    def linear(h, w, b):
        return anp.dot(h, w.T) + b

    def loss(params):
        logits = layers(x, params, linear, lambda h: anp.maximum(h, 0.0))
        return -anp.mean(logits[rows, labels] - logsumexp(logits, axis=1))

    return loss


def cross_entropy_by_hand(logits, labels) -> tuple[float, np.ndarray]:
    """Mean cross entropy of the logits and its gradient, (softmax - onehot) / batch."""
    z = logits - logits.max(axis=1, keepdims=True)  # shift by the row max: exp stays finite
    e = np.exp(z)
    total = e.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = -(z[rows, labels] - np.log(total[:, 0])).mean()
    grad = e / total
    grad[rows, labels] -= 1
    grad /= len(labels)
    return float(loss), grad


def by_hand(params, data):
    """Forward keeping each layer's input and pre-activation, then backward layer by layer."""
    x, labels = data
    h, inputs, pre = x, [], []
    n_layers = len(params) // 2
    for i in range(n_layers):
        inputs.append(h)
        a = h @ params[2 * i].T + params[2 * i + 1]
        pre.append(a)
        h = np.maximum(a, 0) if i < n_layers - 1 else a
    loss, grad = cross_entropy_by_hand(h, labels)
    grads = []
    for i in reversed(range(n_layers)):
        if i < n_layers - 1:
            grad = grad * (pre[i] > 0)
        grads += [grad.sum(axis=0), grad.T @ inputs[i]]
        if i > 0:
            grad = grad @ params[2 * i]
    return loss, grads[::-1]


MLP = Workload(
    "mlp",
    f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, ReLU, cross entropy, SGD step",
    arrays,
    by_library(torch_like, mygrad_loss, autograd_loss),
    by_hand,
    lr=LR,
)
