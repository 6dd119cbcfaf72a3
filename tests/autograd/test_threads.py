"""Grad mode is per thread: two threads training two models at once give exactly the results
of running them one after the other, though one of them keeps switching recording off while
the other records (a barrier makes the two overlap at every step, not by luck)."""

from __future__ import annotations

import sys
import threading

import numpy as np

import tapegrad as tg


def _model(seed: int) -> list[tg.Tensor]:
    """An MLP's parameters from its own numpy generator: the threads share no random state."""
    rng = np.random.default_rng(seed)
    shapes = [(6, 16), (16,), (16, 1), (1,)]
    return [tg.nn.Parameter(tg.from_numpy(rng.standard_normal(s) * 0.4)) for s in shapes]


def _forward(params: list[tg.Tensor], x: tg.Tensor) -> tg.Tensor:
    w1, b1, w2, b2 = params
    return (x @ w1 + b1).tanh() @ w2 + b2


def _train(seed: int, validate: bool, sync=None, steps: int = 150) -> dict:
    """Adam on a regression task; with ``validate``, a no_grad pass after every step.

    ``sync`` (a two-thread barrier's ``wait``) is called twice per step by each thread: by the
    validating one just inside and just before leaving ``no_grad``, by the other before and
    after its recording step. So every recording step of one thread runs while the other
    is inside ``no_grad``, the case a process-wide switch gets wrong.
    """
    rng = np.random.default_rng(seed + 100)
    x, y = tg.from_numpy(rng.standard_normal((32, 6))), tg.from_numpy(rng.standard_normal((32, 1)))
    params = _model(seed)
    optimizer = tg.optim.Adam(params, lr=0.01)
    losses, validation = [], []
    for _ in range(steps):
        if sync and not validate:
            sync()  # the other thread has just entered no_grad
        assert tg.is_grad_enabled()
        loss = ((_forward(params, x) - y) ** 2).mean()
        assert loss.requires_grad  # recording must not have been switched off by the other
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if sync and not validate:
            sync()  # only now may the other thread leave no_grad
        if validate:
            with tg.no_grad():
                if sync:
                    sync()
                assert not tg.is_grad_enabled()
                check = ((_forward(params, x) - y) ** 2).mean()
                assert not check.requires_grad and check.grad_fn is None
                validation.append(check.item())
                if sync:
                    sync()
    return {
        "params": [p.detach().numpy().copy() for p in params],
        "losses": losses,
        "val": validation,
    }


def _run_in_threads(jobs) -> list:
    """Run each ``job(sync)`` in its own thread, all started together; ``sync`` is a barrier
    between them, broken as soon as one fails so the others stop waiting."""
    results = [None] * len(jobs)
    errors = []
    barrier = threading.Barrier(len(jobs), timeout=60)

    def worker(i, job):
        try:
            barrier.wait()
            results[i] = job(barrier.wait)
        except BaseException as error:  # report it in the main thread
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: interleave the ops
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert not any(thread.is_alive() for thread in threads), "a thread hangs"
    assert not errors, errors
    return results


def _assert_identical(a: dict, b: dict) -> None:
    assert a["losses"] == b["losses"]
    assert a["val"] == b["val"]
    for p, q in zip(a["params"], b["params"]):
        np.testing.assert_array_equal(p, q)


def test_two_threads_train_as_if_run_one_after_the_other():
    sequential = [_train(1, validate=True), _train(2, validate=False)]
    concurrent = _run_in_threads(
        [
            lambda sync: _train(1, validate=True, sync=sync),
            lambda sync: _train(2, validate=False, sync=sync),
        ]
    )
    for seq, con in zip(sequential, concurrent):
        _assert_identical(seq, con)
    assert len(sequential[0]["val"]) == 150 and not sequential[1]["val"]


def test_a_thread_inside_no_grad_does_not_stop_another_from_recording():
    entered, recorded = threading.Event(), threading.Event()
    seen = {}

    def idle_without_grad(sync):
        with tg.no_grad():
            entered.set()
            recorded.wait(timeout=30)
            seen["inside"] = tg.is_grad_enabled()

    def record(sync):
        entered.wait(timeout=30)
        x = tg.ones(2, requires_grad=True)
        seen["recorded"] = (x * 2).requires_grad
        recorded.set()

    _run_in_threads([idle_without_grad, record])
    assert seen == {"inside": False, "recorded": True}
    assert tg.is_grad_enabled()  # and the main thread was never touched
