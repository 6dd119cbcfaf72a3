"""What a translation rule writes into: value names, constants, and the checks between runs.

``Names`` maps tensors (and index arrays) to graph value names. ``Context`` turns a call's
arguments into values; before a rule runs it compares the call with the same call in the
runs at other sizes (``dynamic.py``): constants that grew become computed, and a number
that changed where the rule cannot compute it is an error naming the op.
"""

from __future__ import annotations

import numbers

import numpy as np

from tapegrad.onnx.dynamic import Dim, ShapeValues, Sizes, Unfitted, repeated_slice
from tapegrad.tensor import Tensor


def _array_key(a: np.ndarray) -> tuple:
    """Same memory, shape and layout: a view that ``reshape``/``astype`` handed back."""
    return (a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str)


class Names:
    """Value names of tensors (by identity) and of integer arrays (by memory)."""

    def __init__(self, graph, constant_names: dict):
        self.graph = graph
        self._tensors: dict = {}  # id(Tensor) -> value name, or None for an unexported value
        self._arrays: dict = {}  # _array_key(ndarray) -> value name of an index tensor
        self._constant_names = constant_names  # id(Tensor) -> parameter/buffer name
        self._missing: dict = {}  # id(Tensor) -> what the value is, for a tensor bound to None
        self._keep: list = []  # what the ids refer to, kept alive

    def bind(self, tensor: Tensor, name: str | None) -> None:
        self._tensors[id(tensor)] = name
        self._keep.append(tensor)
        if name is not None and tensor._data.dtype.kind in "iub":
            self._arrays[_array_key(tensor._data)] = name

    def has(self, v) -> bool:
        """Whether ``v`` is a Tensor the graph already computes (an input or an op output)."""
        return isinstance(v, Tensor) and self._tensors.get(id(v)) is not None

    def is_parameter(self, v: Tensor) -> bool:
        return id(v) in self._constant_names

    def array(self, a: np.ndarray) -> str | None:
        return self._arrays.get(_array_key(a))

    def of(self, v: Tensor) -> str:
        if id(v) in self._tensors:
            name = self._tensors[id(v)]
            if name is None:
                raise NotImplementedError(
                    f"tg.onnx.export: the model uses {self._missing[id(v)]}, which has no ONNX "
                    "counterpart"
                )
            return name
        name = self.graph.const(v._data, name=self._constant_names.get(id(v)))
        self.bind(v, name)
        return name

    def missing(self, tensor: Tensor, reason: str) -> None:
        """Bind ``tensor`` to no value: using it later raises, saying ``reason``."""
        self.bind(tensor, None)
        self._missing[id(tensor)] = reason

    def missing_among(self, values) -> str | None:
        """The reason one of ``values`` has no value, if one has none."""
        for v in values:
            if isinstance(v, Tensor) and self._tensors.get(id(v), "") is None:
                return self._missing[id(v)]
        return None


def leaves(obj, path: tuple = ()):
    """``(path, leaf)`` for every Tensor, array and plain value inside tuples, lists, dicts."""
    if isinstance(obj, (tuple, list)):
        for i, item in enumerate(obj):
            yield from leaves(item, (*path, i))
    elif isinstance(obj, dict):
        for key in sorted(obj):
            yield from leaves(obj[key], (*path, key))
    elif isinstance(obj, slice):
        for field in ("start", "stop", "step"):
            yield from leaves(getattr(obj, field), (*path, field))
    else:
        yield path, obj


def kind(leaf) -> str:
    """What must stay the same between runs: Tensors, arrays and numbers may change value."""
    if isinstance(leaf, Tensor):
        return "tensor"
    if isinstance(leaf, np.ndarray):
        return f"array{leaf.ndim}"
    if isinstance(leaf, numbers.Number) and not isinstance(leaf, bool):
        return "number"
    return type(leaf).__name__


def same(values: list) -> bool:
    """Whether every run saw the same value (arrays: same shape and elements, NaN too)."""
    first = values[0]
    if isinstance(first, np.ndarray):
        return all(v.shape == first.shape and np.array_equal(v, first, True) for v in values)
    return all(type(v) is type(first) and v == first for v in values)


class Context:
    """The export in progress: graph, names, sizes per run, and the per-call checks."""

    def __init__(self, graph, names: Names, sizes: Sizes, sources: dict, traces: list):
        self.graph = graph
        self.names = names
        self.sizes = sizes
        self.shapes = ShapeValues(graph, sources)
        self.traces = traces  # the example's run, then the runs at other sizes
        self._varying_arrays: dict = {}  # id(base array) -> the array in every run
        self._varying_tensors: dict = {}  # id(base constant) -> the constant in every run

    # --- values --------------------------------------------------------------------------

    def value(self, call, v, dtype=None, position: int | None = None) -> str:
        if isinstance(v, Tensor):
            values = self._varying_tensors.pop(id(v), None)
            if values is not None:  # first use of a constant that grew: compute it
                self.names.bind(v, self.grown_constant(call, values))
            return self.names.of(v)
        dtype = call.out_dtype if dtype is None else dtype
        if position is not None and call.variants:
            fitted = call.sym(position)
            if isinstance(fitted, Dim):
                return self.shapes.scalar(fitted, dtype)
            if isinstance(fitted, Unfitted):
                raise _cannot_follow(call, f"argument {position}", fitted, self.sizes)
        return self.graph.const(np.asarray(v, dtype=dtype))

    def array(self, call, a: np.ndarray) -> str:
        name = self.names.array(a)
        if name is not None:
            return name
        values = self._varying_arrays.get(id(a))
        if values is not None:
            what = f"op {call.name} ({call.where()}) indexes with an array that"
            return self.grown_array(values, what)
        return self.graph.const(a.astype(np.int64))

    def varies(self, a: np.ndarray) -> bool:
        """Whether the array argument ``a`` differs between the runs."""
        return id(a) in self._varying_arrays

    def fixed(self, call, a: np.ndarray, dtype=None) -> str:
        """A constant from an array argument (a weight, divisors) that must not change."""
        if self.varies(a):
            values = self._varying_arrays[id(a)]
            raise _cannot_follow(call, "an array", Unfitted([v.shape for v in values]), self.sizes)
        return self.graph.const(a, dtype)

    # --- checks between runs -------------------------------------------------------------

    def prepare(self, call, sized: tuple = ()) -> None:
        """Check ``call`` against its other runs; note the constants and arrays that grew.

        ``sized`` lists the positional arguments whose changing ints the rule computes
        (through ``call.sym``); a positional number is computed by ``call.x``.
        """
        call.ctx = self
        if not call.variants:
            return
        runs = call.runs
        per_run = [list(leaves((c.args, c.kwargs))) for c in runs]
        for j, (path, leaf) in enumerate(per_run[0]):
            values = [r[j][1] for r in per_run]
            if isinstance(leaf, Tensor):
                self._constant(call, path, values)
            elif same(values):
                continue
            elif isinstance(leaf, np.ndarray):
                self._varying_arrays[id(leaf)] = values  # computed if a rule reads it
            elif path[0] == 0 and (len(path) == 2 or path[1] in sized):
                continue  # a positional number (call.x) or a size the rule computes
            else:
                where = "/".join(str(p) for p in path[1:])
                raise _cannot_follow(call, f"argument {where}", Unfitted(values), self.sizes)

    def _constant(self, call, path: tuple, values: list) -> None:
        """Note a constant argument that differs between runs: computed if a rule reads it."""
        t = values[0]
        if id(t) in self.traces[0].computed or self.names.is_parameter(t):
            return
        if all(v is t for v in values) or same([v._data for v in values]):
            return
        self._varying_tensors.setdefault(id(t), values)

    def grown_constant(self, call, values: list) -> str:
        """A constant tensor whose size follows the dynamic axes, computed for any size."""
        what = f"op {call.name} ({call.where()}) uses a constant that" if call else "an output"
        return self.grown_array([v._data for v in values], what)

    def grown_array(self, arrays: list, what: str) -> str:
        """``arange(n)``, or one slice repeated along the dynamic axes: Range or Expand."""
        shapes = [a.shape for a in arrays]
        if any(len(s) != len(shapes[0]) for s in shapes):
            raise _value_error(what)
        dims = self.sizes.fit_shape(shapes)
        if any(isinstance(d, Unfitted) for d in dims):
            raise _value_error(what)
        if len(dims) == 1 and isinstance(dims[0], Dim):
            steps = _arange_steps(arrays)
            if steps is not None:
                return self._range(*steps, dims[0], arrays[0].dtype)
        moving = [axis for axis, d in enumerate(dims) if isinstance(d, Dim)]
        cut = repeated_slice(arrays[0], moving) if moving else None
        if cut is None or not all(
            np.array_equal(np.broadcast_to(cut, a.shape), a, True) for a in arrays[1:]
        ):
            raise _value_error(what)
        return self.graph.op1("Expand", [self.graph.const(cut), self.shapes.shape(dims)])

    def _range(self, start, step, n: Dim, dtype) -> str:
        """start, start + step, ... (n values): the ONNX Range of an arange on a size."""
        g = self.graph
        limit = Dim(n.coef * step, n.symbols, n.offset * step + start)
        bounds = [g.const(np.asarray(start, dtype)), self.shapes.scalar(limit, dtype)]
        return g.op1("Range", [*bounds, g.const(np.asarray(step, dtype))])


def _arange_steps(arrays: list) -> tuple | None:
    """(start, step) when every run's 1-D array is start + step * arange(n), ints."""
    longest = max(arrays, key=len)
    if longest.dtype.kind not in "iu" or len(longest) < 2:
        return None
    start, step = int(longest[0]), int(longest[1] - longest[0])
    for a in arrays:
        if not np.array_equal(a, start + step * np.arange(len(a))):
            return None
    return start, step


def _value_error(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"tg.onnx.export: {what} changes with the dynamic axes but was computed outside the "
        "recorded ops (numpy, .item(), .tolist(), a boolean mask, creation functions), so the "
        "graph would freeze it. Export computes such a constant for any size only when it "
        "repeats one slice along the dynamic axes (zeros(batch, n)) or is arange(n)"
    )


def _cannot_follow(call, what: str, values: Unfitted, sizes: Sizes) -> NotImplementedError:
    runs = "; ".join(
        f"{v} at {sizes.describe(i) or 'the example size'}" for i, v in enumerate(values.values)
    )
    return NotImplementedError(
        f"tg.onnx.export: op {call.name} ({call.where()}) takes {what} that changes with the "
        f"dynamic axes in a way the graph cannot compute ({runs})"
    )
