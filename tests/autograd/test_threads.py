"""Grad mode is per thread: two threads training two models at once give exactly the results
of running them one after the other, though one of them keeps switching recording off."""

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


def _train(seed: int, evaluate_without_grad: bool, steps: int = 150) -> dict:
    """Adam on a regression task; optionally a no_grad validation pass after every step."""
    rng = np.random.default_rng(seed + 100)
    x, y = tg.from_numpy(rng.standard_normal((32, 6))), tg.from_numpy(rng.standard_normal((32, 1)))
    params = _model(seed)
    optimizer = tg.optim.Adam(params, lr=0.01)
    losses, validation = [], []
    for _ in range(steps):
        assert tg.is_grad_enabled()
        loss = ((_forward(params, x) - y) ** 2).mean()
        assert loss.requires_grad  # recording must not have been switched off by the other
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if evaluate_without_grad:
            with tg.no_grad():
                assert not tg.is_grad_enabled()
                check = ((_forward(params, x) - y) ** 2).mean()
                assert not check.requires_grad and check.grad_fn is None
                validation.append(check.item())
    return {
        "params": [p.detach().numpy().copy() for p in params],
        "losses": losses,
        "val": validation,
    }


def _run_in_threads(jobs) -> list:
    results = [None] * len(jobs)
    errors = []
    start = threading.Barrier(len(jobs))

    def worker(i, job):
        try:
            start.wait()
            results[i] = job()
        except BaseException as error:  # report it in the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: interleave the steps
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors
    return results


def _assert_identical(a: dict, b: dict) -> None:
    assert a["losses"] == b["losses"]
    assert a["val"] == b["val"]
    for p, q in zip(a["params"], b["params"]):
        np.testing.assert_array_equal(p, q)


def test_two_threads_train_as_if_run_one_after_the_other():
    sequential = [_train(1, evaluate_without_grad=True), _train(2, evaluate_without_grad=False)]
    concurrent = _run_in_threads(
        [
            lambda: _train(1, evaluate_without_grad=True),
            lambda: _train(2, evaluate_without_grad=False),
        ]
    )
    for seq, con in zip(sequential, concurrent):
        _assert_identical(seq, con)
    assert sequential[0]["val"] and not sequential[1]["val"]


def test_a_thread_inside_no_grad_does_not_stop_another_from_recording():
    entered, recorded = threading.Event(), threading.Event()
    seen = {}

    def idle_without_grad():
        with tg.no_grad():
            entered.set()
            recorded.wait(timeout=30)
            seen["inside"] = tg.is_grad_enabled()

    def record():
        entered.wait(timeout=30)
        x = tg.ones(2, requires_grad=True)
        seen["recorded"] = (x * 2).requires_grad
        recorded.set()

    _run_in_threads([idle_without_grad, record])
    assert seen == {"inside": False, "recorded": True}
    assert tg.is_grad_enabled()  # and the main thread was never touched
