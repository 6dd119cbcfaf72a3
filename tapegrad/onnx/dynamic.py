"""Sizes that follow the dynamic axes, learned by running the model at more than one size.

A tape holds plain ints: ``zeros(x.shape[0], 8)`` records an 8-by-whatever constant, not
where its size came from. So export runs the model once at the example's sizes, once per
dynamic axis with that axis one larger, and once with every axis two larger; each size on
the tape is then fitted as ``coef * product(axes) + offset`` (``batch``, ``seq * batch``,
``seq - 1``) and checked against the last run. Sizes that fit are computed in the graph
from the inputs' shapes; the rest must not be needed.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dim:
    """A size that follows dynamic axes: ``coef * product(symbols) + offset``."""

    coef: int
    symbols: tuple[str, ...]
    offset: int = 0

    def __str__(self) -> str:
        term = "*".join(([str(self.coef)] if self.coef != 1 else []) + list(self.symbols))
        if self.offset:
            term += f"{self.offset:+d}"
        return term

    @property
    def label(self) -> str | None:
        """The axis label when the size is exactly one dynamic axis."""
        if self.coef == 1 and self.offset == 0 and len(self.symbols) == 1:
            return self.symbols[0]
        return None


class Unfitted:
    """A size that changes between runs in a way no Dim explains (``seq // 2``)."""

    def __init__(self, values: list[int]):
        self.values = values

    def __repr__(self) -> str:
        return f"Unfitted({self.values})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Unfitted) and self.values == other.values

    def __hash__(self) -> int:
        return hash(tuple(self.values))


class Sizes:
    """Each dynamic axis's size in every run: the example, one run per axis, the check run."""

    def __init__(self, base: dict[str, int]):
        self.symbols = list(base)
        self.runs = [dict(base)]
        for name in self.symbols:
            self.runs.append({**base, name: base[name] + 1})
        if base:
            self.runs.append({name: size + 2 for name, size in base.items()})

    def describe(self, run: int) -> str:
        """What changed in run ``run``: ``batch=3`` or ``batch=4, seq=7``."""
        base, sizes = self.runs[0], self.runs[run]
        return ", ".join(f"{k}={v}" for k, v in sizes.items() if v != base[k])

    def fit(self, values: list[int]):
        """An int (the same in every run), a Dim, or an Unfitted."""
        first = values[0]
        if all(v == first for v in values):
            return first
        base = self.runs[0]
        involved = []
        scaled = set()
        for i, name in enumerate(self.symbols):
            delta = values[1 + i] - first
            if delta:
                involved.append(name)
                # growing one axis by one adds coef * (product of the others)
                scaled.add(delta * base[name])
        if len(scaled) != 1:
            return Unfitted(values)
        (coef_product,) = scaled
        product = math.prod(base[name] for name in involved)
        if coef_product % product:
            return Unfitted(values)
        dim = Dim(coef_product // product, tuple(involved), first - coef_product)
        check = self.runs[-1]
        if dim.coef * math.prod(check[name] for name in involved) + dim.offset != values[-1]:
            return Unfitted(values)
        return dim

    def fit_shape(self, shapes: list[tuple]) -> tuple:
        return tuple(self.fit([s[d] for s in shapes]) for d in range(len(shapes[0])))

    def fit_tree(self, values: list):
        """``values[0]`` with every int (in tuples, lists, slices) that varies fitted."""
        first = values[0]
        if isinstance(first, bool) or first is None:
            return first
        if isinstance(first, numbers.Integral):
            return self.fit([int(v) for v in values])
        if isinstance(first, float) and all(float(v).is_integer() for v in values):
            fitted = self.fit([int(v) for v in values])
            return float(fitted) if isinstance(fitted, int) else fitted
        if isinstance(first, slice):
            parts = [[getattr(v, f) for v in values] for f in ("start", "stop", "step")]
            return slice(*(self.fit_tree(p) for p in parts))
        if isinstance(first, (tuple, list)):
            items = [self.fit_tree([v[j] for v in values]) for j in range(len(first))]
            return type(first)(*items) if hasattr(first, "_fields") else type(first)(items)
        return first


class ShapeValues:
    """Graph values for sizes: each dynamic axis read from an input's Shape, then Dims."""

    def __init__(self, g, sources: dict[str, tuple[str, int]]):
        self.g = g
        self.sources = sources  # axis label -> (input name, axis)
        self._cache: dict = {}

    def dim(self, d) -> str:
        """A 1-D int64 tensor of one element: the size ``d`` (an int or a Dim)."""
        if isinstance(d, numbers.Integral):
            return self.g.ints([int(d)])
        if d not in self._cache:
            g = self.g
            out = None
            for name in d.symbols:
                source = self._symbol(name)
                out = source if out is None else g.op1("Mul", [out, source])
            if d.coef != 1:
                out = g.op1("Mul", [out, g.ints([d.coef])])
            if d.offset:
                out = g.op1("Add", [out, g.ints([d.offset])])
            self._cache[d] = out
        return self._cache[d]

    def _symbol(self, name: str) -> str:
        key = ("symbol", name)
        if key not in self._cache:
            input_name, axis = self.sources[name]
            shape = self.g.op1("Shape", [input_name])
            self._cache[key] = self.g.op1("Gather", [shape, self.g.ints([axis])], axis=0)
        return self._cache[key]

    def shape(self, dims) -> str:
        """A 1-D int64 shape; None entries become -1 (inferred by Reshape)."""
        if not any(isinstance(d, Dim) for d in dims):
            return self.g.ints([-1 if d is None else int(d) for d in dims])
        pieces = []
        run: list[int] = []
        for d in dims:
            if isinstance(d, Dim):
                if run:
                    pieces.append(self.g.ints(run))
                    run = []
                pieces.append(self.dim(d))
            else:
                run.append(-1 if d is None else int(d))
        if run:
            pieces.append(self.g.ints(run))
        return self.g.op1("Concat", pieces, axis=0)

    def scalar(self, d: Dim, dtype) -> str:
        """The size ``d`` as a 0-d value of ``dtype`` (a number the model computed from it)."""
        key = ("scalar", d, np.dtype(dtype).str)
        if key not in self._cache:
            g = self.g
            flat = g.op1("Squeeze", [self.dim(d), g.ints([0])])
            elem = g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
            self._cache[key] = g.op1("Cast", [flat], to=elem)
        return self._cache[key]


def repeated_slice(a: np.ndarray, axes: list[int]) -> np.ndarray | None:
    """``a`` cut to length 1 along ``axes`` when it only repeats one slice along them."""
    for axis in axes:
        first = np.take(a, [0], axis=axis)
        if a.shape[axis] and not np.array_equal(a, np.broadcast_to(first, a.shape), True):
            return None
        a = first
    return a
