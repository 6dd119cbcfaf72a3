"""The graph is freed by reference counting alone: no cycles, no growth over training steps."""

from __future__ import annotations

import gc
import os
import tracemalloc
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


def _rss_bytes() -> int | None:
    """The process's resident memory now (Linux; None elsewhere). Not the peak: an earlier
    test's peak would hide any growth below it."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


# Growth allowed over the traced window. Without a leak it is under 100 bytes; one leaked
# pointer per step (a list append, 8 bytes) adds 6.4 kB over 800 steps, any object more.
TRACED_STEPS = 800
GROWTH_LIMIT = 4 * 1024


def test_ten_thousand_training_steps_keep_memory_flat_without_gc():
    """10,000 steps of an MLP with momentum SGD, the garbage collector off throughout: only
    reference counting frees the graphs. Checked three ways: the number of live Nodes stays
    the same, tracemalloc sees no growth over the last 800 steps (tracing is slow), and the
    resident memory does not grow (a leaked graph per step would add megabytes)."""
    tg.manual_seed(0)
    x, target = tg.randn(8, 4), tg.randn(8, 1)
    params = [(tg.randn(4, 8) * 0.5).requires_grad_(), tg.zeros(8, requires_grad=True)]
    params += [(tg.randn(8, 1) * 0.5).requires_grad_(), tg.zeros(1, requires_grad=True)]
    optimizer = tg.optim.SGD(params, lr=0.05, momentum=0.9)

    def step() -> tg.Tensor:
        w1, b1, w2, b2 = params
        loss = ((((x @ w1 + b1).tanh() @ w2 + b2) - target) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    gc.collect()
    gc.disable()
    try:
        for _ in range(1000):  # warm up: optimizer state, numpy's and Python's free lists
            first_loss = step()
        watched = weakref.ref(first_loss.grad_fn)
        del first_loss
        nodes, rss = _live_nodes(), _rss_bytes()
        for _ in range(8000):
            step()
        rss_growth = None if rss is None else _rss_bytes() - rss
        tracemalloc.start()
        try:
            for _ in range(200):  # tracemalloc's own tables settle
                step()
            start = tracemalloc.get_traced_memory()[0]
            for _ in range(TRACED_STEPS):
                step()
            growth = tracemalloc.get_traced_memory()[0] - start
        finally:
            tracemalloc.stop()
        assert watched() is None  # the graph of step 1,000 is gone
        assert _live_nodes() == nodes
        assert growth < GROWTH_LIMIT, f"{growth} bytes more after {TRACED_STEPS} steps"
        if rss_growth is not None:
            assert rss_growth < 4 * 2**20, f"resident memory grew by {rss_growth} bytes"
    finally:
        gc.enable()
