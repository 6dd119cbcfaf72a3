"""The graph is freed by reference counting alone: no cycles, no growth over training steps."""

from __future__ import annotations

import gc
import weakref

import numpy as np

import tapegrad as tg
from tapegrad.autograd.node import Node


def _linear(x: tg.Tensor, w: tg.Tensor) -> tg.Tensor:
    # x @ w as a broadcast product and a sum, so this test needs only the core op families
    return (x.unsqueeze(-1) * w).sum(-2)


def _live_nodes() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is Node)


def _train(steps: int, watch_step: int):
    """Fit a small tanh MLP with plain SGD; return losses, live-node counts and a weakref."""
    x = tg.randn(16, 8)
    target = tg.randn(16, 1)
    w1 = (tg.randn(8, 16) * 0.3).requires_grad_()
    w2 = (tg.randn(16, 1) * 0.3).requires_grad_()
    losses, counts, watched = [], [], None
    for step in range(steps):
        hidden = _linear(x, w1).tanh()
        loss = ((_linear(hidden, w2) - target) ** 2).mean()
        loss.backward()
        with tg.no_grad():
            for p in (w1, w2):
                p -= 0.1 * p.grad
                p.grad.zero_()
        if step == watch_step:
            watched = (weakref.ref(loss.grad_fn), weakref.ref(hidden.grad_fn))
        losses.append(loss.item())
        if step % 20 == 1:  # scanning every gc-tracked object is slow: sample the count
            counts.append(_live_nodes())
    return losses, counts, watched


def test_training_loop_frees_graph_without_gc():
    gc.collect()
    gc.disable()  # anything freed below is freed by reference counting: the graph has no cycles
    try:
        losses, counts, (loss_node, hidden_node) = _train(steps=200, watch_step=5)
        assert loss_node() is None
        assert hidden_node() is None
        # only the last step's graph is alive, and it is the same size every step
        assert len(counts) == 10
        assert counts[0] > 0
        assert counts == [counts[0]] * len(counts)
    finally:
        gc.enable()
    assert losses[-1] < 0.1 * losses[0]  # the loop really trains


def test_graph_freed_when_output_dropped():
    x = tg.ones(3, requires_grad=True)
    y = (x * 2).tanh().sum()
    ref = weakref.ref(y.grad_fn)
    del y
    assert ref() is None


def test_graph_kept_alive_by_output_only():
    x = tg.ones(3, requires_grad=True)
    h = x * 2
    y = h.tanh().sum()
    ref = weakref.ref(h.grad_fn)
    del h
    assert ref() is not None  # y's graph still needs it
    del y
    assert ref() is None


def test_saved_values_released_after_backward():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0])
    y = x * w
    node = y.grad_fn
    saved_w = weakref.ref(w)
    del w
    assert saved_w() is not None  # saved for backward
    y.sum().backward()
    assert node._saved is None
    assert saved_w() is None


def test_saved_values_kept_with_retain_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.tanh()
    y.sum().backward(retain_graph=True)
    assert y.grad_fn._saved is not None
    y.sum().backward()
    assert y.grad_fn._saved is None
    np.testing.assert_allclose(x.grad.numpy(), 2 * (1 - np.tanh([1.0, 2.0]) ** 2), rtol=1e-6)
