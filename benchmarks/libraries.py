"""The five implementations of every workload and how each runs one training step.

tapegrad and torch share a runner (same API); MyGrad's tensors have ``.backward()`` like
them; HIPS autograd is functional, ``value_and_grad`` of the loss of a parameter list; numpy
calls the workload's hand-written backward. torch, MyGrad and autograd are optional.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version

from benchmarks.workload import Workload

LIBRARIES = ("tapegrad", "numpy", "torch", "mygrad", "autograd")
MODULES = {"autograd": "autograd.numpy"}  # the namespace a loss is written against


def load(lib: str):
    """The library's namespace, or None when it is not installed."""
    try:
        return importlib.import_module(MODULES.get(lib, lib))
    except ImportError:
        return None


def version(lib: str) -> str:
    """The installed distribution's version, as pip reports it."""
    try:
        return dist_version(lib)
    except PackageNotFoundError:
        return "not installed"


class TorchLikeRunner:
    """tapegrad or torch: leaves with requires_grad, ``backward()``, ``optim.SGD``."""

    def __init__(self, mod, work: Workload, params, data):
        self.params = [mod.from_numpy(p.copy()).requires_grad_() for p in params]
        data = [mod.from_numpy(a) for a in data]
        self.loss = work.losses[mod.__name__](mod, data)
        self.optimizer = mod.optim.SGD(self.params, lr=work.lr) if work.lr else None

    def step(self):
        self.drop_grads()
        loss = self.loss(self.params)
        loss.backward()
        if self.optimizer:
            self.optimizer.step()
        return loss

    def grads(self) -> list:
        return [p.grad.numpy() for p in self.params]

    def drop_grads(self) -> None:
        for p in self.params:
            p.grad = None


class MyGradRunner:
    """MyGrad: tensors with ``backward()``; SGD updates ``.data`` in place, as its docs do."""

    def __init__(self, mod, work: Workload, params, data):
        self.params = [mod.tensor(p.copy()) for p in params]
        self.loss = work.losses["mygrad"](mod, data)
        self.lr = work.lr

    def step(self):
        loss = self.loss(self.params)
        loss.backward()
        if self.lr:
            for p in self.params:
                p.data -= self.lr * p.grad
        return loss

    def grads(self) -> list:
        return [p.grad for p in self.params]

    def drop_grads(self) -> None:
        for p in self.params:
            p.null_grad()


class AutogradRunner:
    """HIPS autograd: ``value_and_grad`` of the loss; SGD builds the next parameter list."""

    def __init__(self, mod, work: Workload, params, data):
        from autograd import value_and_grad

        self.params = [p.copy() for p in params]
        self.loss_and_grads = value_and_grad(work.losses["autograd"](mod, data))
        self.lr = work.lr
        self.last_grads = []

    def step(self):
        loss, self.last_grads = self.loss_and_grads(self.params)
        if self.lr:
            self.params = [p - self.lr * g for p, g in zip(self.params, self.last_grads)]
        return loss

    def grads(self) -> list:
        return self.last_grads

    def drop_grads(self) -> None:
        self.last_grads = []


class NumpyRunner:
    """The floor: the workload's hand-written backward, SGD in place."""

    def __init__(self, mod, work: Workload, params, data):
        self.params = [p.copy() for p in params]
        self.data = data
        self.by_hand = work.by_hand
        self.lr = work.lr
        self.last_grads = []

    def step(self):
        loss, self.last_grads = self.by_hand(self.params, self.data)
        if self.lr:
            for p, g in zip(self.params, self.last_grads):
                p -= self.lr * g
        return loss

    def grads(self) -> list:
        return self.last_grads

    def drop_grads(self) -> None:
        self.last_grads = []


RUNNERS = {
    "tapegrad": TorchLikeRunner,
    "torch": TorchLikeRunner,
    "mygrad": MyGradRunner,
    "autograd": AutogradRunner,
    "numpy": NumpyRunner,
}


def runner(lib: str, mod, work: Workload):
    """A fresh implementation of ``work`` in ``lib``, from the workload's seeded arrays."""
    params, data = work.arrays()
    return RUNNERS[lib](mod, work, params, data)


def loss_value(loss) -> float:
    """A float from any library's loss: a 0-d tensor, a numpy scalar or a float."""
    return float(loss.item()) if hasattr(loss, "item") else float(loss)
