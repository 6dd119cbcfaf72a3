"""OpCase and Sample, and the shared builders that keep each op's row to a line or two.

A sample's args are specs: ``T(shape)`` is a random float64 tensor that requires grad (drawn
inside the op's domain), ``I(values)`` an integer tensor, ``B(values)`` a bool tensor, ``A(arr)``
a fixed float64 tensor; anything else is passed through as a plain Python value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class T:
    """A random float64 tensor of ``shape`` that requires grad (unless ``grad=False``)."""

    shape: tuple
    grad: bool = True
    domain: tuple | None = None  # overrides the case's domain for this argument


@dataclass(frozen=True)
class A:
    """A fixed float64 tensor (requires grad unless ``grad=False``)."""

    values: object
    grad: bool = True


@dataclass(frozen=True)
class I:  # noqa: E742 - short, like T
    """A fixed int64 tensor: indices, counts."""

    values: object


@dataclass(frozen=True)
class B:
    """A fixed bool tensor: masks, conditions."""

    values: object


@dataclass(frozen=True)
class Sample:
    """One call: positional specs and keyword arguments, with a readable id."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    id: str = ""

    def label(self) -> str:
        if self.id:
            return self.id
        parts = [str(a.shape) if isinstance(a, T) else type(a).__name__ for a in self.args]
        extra = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return "x".join(parts) + (f",{extra}" if extra else "")


@dataclass
class OpCase:
    """How to test one registered op.

    Attributes:
        name: the registry name.
        samples: calls to try; include a broadcasting pair, a 0-d case, and for reductions
            keepdim and negative dims.
        ref: numpy forward on the same arguments (arrays in place of tensors), or None.
        torch: the torch callable, or None when torch has no direct equivalent.
        op: what to call, when not ``tg.<name>`` (e.g. a method or a lambda).
        domain: (low, high) for random inputs, away from kinks and poles.
        gradgrad: also check second derivatives.
        atol, rtol: tolerances of the gradient checks.
    """

    name: str
    samples: list[Sample]
    ref: Callable | None = None
    torch: Callable | str | None = "same"
    op: Callable | None = None
    domain: tuple = (-2.0, 2.0)
    gradgrad: bool = True
    atol: float = 1e-5
    rtol: float = 1e-3


# --- shared sample builders ----------------------------------------------------------------


def unary_samples() -> list[Sample]:
    """Shapes for one-input elementwise ops: 0-d, vector, matrix, 3-d, with a size-1 dim."""
    return [Sample((T(s),)) for s in [(), (5,), (3, 4), (2, 1, 3)]]


def binary_broadcast_samples() -> list[Sample]:
    """Pairs for two-input elementwise ops, broadcasting in every direction."""
    pairs = [
        ((3, 4), (3, 4)),
        ((3, 4), (4,)),
        ((4,), (3, 4)),
        ((2, 1, 4), (3, 1)),
        ((), (2, 3)),
        ((2, 3), ()),
    ]
    return [Sample((T(a), T(b))) for a, b in pairs]


def scalar_samples() -> list[Sample]:
    """A tensor with a Python scalar on either side."""
    return [
        Sample((T((3, 4)), 1.5), id="tensor,scalar"),
        Sample((2.5, T((3,))), id="scalar,tensor"),
    ]


def reduction_samples(full: bool = True) -> list[Sample]:
    """Reductions: all dims, one dim, negative dim, several dims, keepdim, and 0-d input."""
    samples = [
        Sample((T((3, 4)), 1)),
        Sample((T((3, 4)), -1), {"keepdim": True}),
        Sample((T((2, 3, 4)), (0, 2))),
        Sample((T((2, 3, 4)), (-1, 0)), {"keepdim": True}),
        Sample((T((5,)), 0)),
    ]
    if full:
        samples += [Sample((T((3, 4)),)), Sample((T(()),))]
    return samples


def positive(low: float = 0.5, high: float = 2.0) -> tuple:
    return (low, high)


def np_dims(dim):
    """A torch dim argument as numpy's axis argument."""
    return tuple(dim) if isinstance(dim, (list, tuple)) else dim


def rng_for(name: str) -> np.random.Generator:
    """A generator seeded by the op's name, so every case draws the same inputs each run."""
    return np.random.default_rng(_stable_seed(name))


def _stable_seed(text: str) -> int:
    return sum((i + 1) * ord(c) for i, c in enumerate(text)) % (2**32)
