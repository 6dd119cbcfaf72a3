"""What a workload of the suite is: parameters, data, a loss per library, numpy's backward."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Arrays = list[np.ndarray]


@dataclass(frozen=True)
class Workload:
    """One benchmark, written once per library and once by hand in numpy.

    ``arrays()`` draws the float32 parameters and the data (inputs, labels) with a fixed seed.
    ``losses[lib](mod, data)`` builds the loss as a function of the parameters, spelled the
    way a user of that library would; ``mod`` is its namespace (``tapegrad``, ``torch``,
    ``mygrad`` or ``autograd.numpy``) and ``data`` are already its tensors. ``by_hand(params,
    data)`` returns the loss and every parameter's gradient in plain numpy: the floor.
    ``lr`` adds an SGD step after backward; ``ops`` makes the tables report time per op.
    """

    name: str
    title: str
    arrays: Callable[[], tuple[Arrays, Arrays]]
    losses: dict[str, Callable]
    by_hand: Callable[[Arrays, Arrays], tuple[float, Arrays]]
    lr: float | None = None
    ops: int | None = None


def by_library(torch_like: Callable, mygrad: Callable, autograd: Callable) -> dict[str, Callable]:
    """The ``losses`` mapping: tapegrad and torch share one source, their API being the same."""
    return {"tapegrad": torch_like, "torch": torch_like, "mygrad": mygrad, "autograd": autograd}


def one_source(build: Callable) -> dict[str, Callable]:
    """The same loss source for every autodiff library (they share tanh, exp, @, +, *, mean)."""
    return by_library(build, build, build)


def layer_params(rng: np.random.Generator, sizes: tuple, transposed: bool = False) -> Arrays:
    """Weight and bias per layer, float32, U(+-1/sqrt(fan_in)) as torch.nn.Linear draws them.

    Weights are (out, in) as ``F.linear`` takes them, or (in, out) for ``x @ w``.
    """
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1 / np.sqrt(fan_in)
        shape = (fan_in, fan_out) if transposed else (fan_out, fan_in)
        params.append(rng.uniform(-bound, bound, shape).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return params
