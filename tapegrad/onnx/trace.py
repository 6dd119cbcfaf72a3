"""Recording one run of a model for export: the Calls it made and the tensors they touched.

The recorder is a tracer on ``grad_mode.current().tracers`` (as ``tg.viz.trace`` is). It sees every
Function a recorded op runs and, through the registry, the non-differentiable ops
(comparisons, argmax) too. Integer and bool tensors computed from the inputs are marked as
recorded for the run, so ops on token ids and masks stay computations instead of constants.
"""

from __future__ import annotations

import numpy as np

from tapegrad.autograd.grad_mode import current, enable_grad
from tapegrad.nn.parameter import Parameter
from tapegrad.tensor import Tensor, _make
from tapegrad.viz.trace import _source_site


class Call:
    """One recorded op: its Function (or plain op name), arguments, outputs and origin.

    The translation rules in ``tapegrad/onnx/ops`` read it: ``x(i)`` is the ONNX value of
    argument ``i``; ``sym``/``sym_shape`` give sizes that follow the dynamic axes.
    """

    def __init__(self, fn, args: tuple, kwargs: dict, outputs: tuple, source: str, scope):
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.source = source
        self.scope = scope  # the nn module calls running when it was recorded
        self.variants: list[Call] = []  # the same op in the runs at other sizes
        self.ctx = None  # the export context (graph, names, sizes), set before a rule runs

    @property
    def name(self) -> str:
        if isinstance(self.fn, str):
            return self.fn
        return self.fn.graph_name or self.fn.__name__

    def where(self) -> str:
        module = f" in module {type(self.scope[-1]).__name__}" if self.scope else ""
        return f"recorded at {self.source}{module}"

    @property
    def runs(self) -> list[Call]:
        """This call in every run: the example's first."""
        return [self, *self.variants]

    # --- ONNX values -------------------------------------------------------------------------

    def x(self, i: int, dtype=None) -> str:
        """The value of positional argument ``i``: a Tensor, or a number as ``dtype``.

        A number that follows a dynamic axis (``x.sum() / x.shape[0]``) is computed from it.
        """
        return self.ctx.value(self, self.args[i], dtype, position=i)

    def value(self, v, dtype=None) -> str:
        """The value of a Tensor or fixed number that is not a positional argument."""
        return self.ctx.value(self, v, dtype)

    def array(self, a: np.ndarray) -> str:
        """The value of an index array: an input's or a computed tensor's, else a constant."""
        return self.ctx.array(self, a)

    def fixed(self, a: np.ndarray, dtype=None) -> str:
        """A constant from an array argument that the graph cannot compute if it changes."""
        return self.ctx.fixed(self, a, dtype)

    def dims(self, dims) -> str:
        """A 1-D int64 shape from ints and sizes that follow the dynamic axes (None is -1)."""
        return self.ctx.shapes.shape(dims)

    # --- shapes and dtypes --------------------------------------------------------------------

    @property
    def out_dtype(self) -> np.dtype:
        return self.outputs[0]._data.dtype

    def dtype(self, i: int) -> np.dtype:
        return self.args[i]._data.dtype

    def shape(self, i: int) -> tuple:
        return tuple(self.args[i]._data.shape)

    @property
    def out_shape(self) -> tuple:
        return tuple(self.outputs[0]._data.shape)

    def sym(self, i: int):
        """Argument ``i`` with each int that changes with the dynamic axes as its Dim."""
        return self.ctx.sizes.fit_tree([c.args[i] for c in self.runs])

    def sym_shape(self, i: int) -> tuple:
        """The shape of tensor argument ``i``, dims that follow dynamic axes as Dims."""
        return self.ctx.sizes.fit_shape([c.args[i]._data.shape for c in self.runs])

    def sym_out_shape(self, k: int = 0) -> tuple:
        return self.ctx.sizes.fit_shape([c.outputs[k]._data.shape for c in self.runs])


class Trace:
    """One run: its inputs, outputs, recorded calls and the ids of every computed tensor."""

    def __init__(self, inputs: tuple, outputs: tuple, calls: list[Call]):
        self.inputs = inputs
        self.outputs = outputs
        self.calls = calls
        self.computed = {id(t) for t in inputs}
        for call in calls:
            self.computed.update(id(t) for t in call.outputs if isinstance(t, Tensor))


class Recorder:
    """The tracer: keeps every call, and the tensors it touched alive (so ids stay unique)."""

    def __init__(self, state: dict):
        self.state = state  # id -> name of the model's parameters and buffers
        self.calls: list[Call] = []
        self._marked: list[Tensor] = []
        self._outputs: dict = {}  # id(node) -> (node, outputs): what a grad_fn stands for
        self._snapshots: dict = {}  # (id, version) of a constant -> (it, a copy of its data)
        self._by_array: dict = {}  # id(array) -> the recorded tensor (input, output) holding it

    def __enter__(self) -> Recorder:
        current().tracers.append(self)
        return self

    def __exit__(self, *exc) -> None:
        current().tracers.remove(self)
        for t in self._marked:
            t._rg = False  # integer tensors go back to never requiring grad

    def known(self, t: Tensor) -> None:
        """``t`` is a graph value (an input, an op output): a detached alias stands for it."""
        self._by_array.setdefault(id(t._data), t)

    def mark(self, t: Tensor) -> None:
        """Let ops on ``t`` (an integer tensor, a mask) record, for this run only."""
        if not t._rg:
            t._rg = True
            self._marked.append(t)

    def on_record(self, node, args: tuple, outputs: tuple) -> None:
        self._add(node.fn, args, node.forward_kwargs or {}, outputs, node.modules)
        self._outputs[id(node)] = (node, outputs)

    def on_plain_op(self, name: str, args: tuple, kwargs: dict, out) -> None:
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
        outputs = out if isinstance(out, tuple) else (out,)
        if any(t._rg for t in tensors) and all(isinstance(t, Tensor) for t in outputs):
            self._add(name, args, kwargs, outputs, current().module_stack)

    def on_backward(self, node, output_grads, input_grads) -> None:
        """Export runs no backward; a backward inside the model is none of its business."""

    def _add(self, fn, args, kwargs, outputs, scope) -> None:
        args = tuple(self.canonical(a) for a in args)
        kwargs = {k: self.canonical(v) for k, v in kwargs.items()}
        self.calls.append(Call(fn, args, kwargs, outputs, _source_site(), scope))
        for t in outputs:
            self.mark(t)  # integer outputs, and outputs of ops without a gradient
            self.known(t)

    def canonical(self, v):
        """The tensor that holds ``v``'s value now, as the graph should see it.

        After an in-place op (``y[0] = x``, ``h.add_(1)``) ``y`` stands for the op's output:
        its grad_fn says which. Any other constant than a parameter or buffer is copied as it
        is now, since a later in-place write would change the value an earlier op used.
        """
        if not isinstance(v, Tensor):
            return v
        if v.grad_fn is not None:
            entry = self._outputs.get(id(v.grad_fn))
            return v if entry is None else entry[1][v._output_nr]
        if v._rg or isinstance(v, Parameter) or id(v) in self.state:
            return v
        alias = self._by_array.get(id(v._data))
        if alias is not None:  # x.detach(), x.data: the same value, outside autograd
            return self.canonical(alias)
        key = (id(v), v._version)
        if key not in self._snapshots:
            self._snapshots[key] = (v, _make(v._data.copy()))
        return self._snapshots[key][1]


def as_tuple(values) -> tuple:
    """A Tensor, or nested tuples and lists of them (an LSTM's ``(out, (h, c))``), flat."""
    if isinstance(values, Tensor):
        return (values,)
    if not isinstance(values, (tuple, list)):
        raise TypeError(
            f"tg.onnx.export: the model must return Tensors (in tuples or lists), got "
            f"{type(values).__name__}"
        )
    return tuple(t for v in values for t in as_tuple(v))


def state_names(model) -> dict:
    """id -> state_dict name of the parameters and buffers of ``model`` (a Module)."""
    names = {}
    for attr in ("named_parameters", "named_buffers"):
        if hasattr(model, attr):
            names.update({id(t): name for name, t in getattr(model, attr)()})
    return names


def record(model, inputs: tuple) -> Trace:
    """Run ``model(*inputs)`` once under a Recorder; floats require grad so every op records."""
    with enable_grad(), Recorder(state_names(model)) as recorder:
        traced = []
        for t in inputs:
            if t._data.dtype.kind == "f":
                traced.append(t.detach().requires_grad_(True))
            else:
                alias = t.detach()
                recorder.mark(alias)
                traced.append(alias)
            recorder.known(traced[-1])
        outputs = tuple(recorder.canonical(t) for t in as_tuple(model(*traced)))
    return Trace(tuple(traced), outputs, recorder.calls)


def grown(t: Tensor, sizes: dict[int, int]) -> Tensor:
    """``t`` with axis ``a`` grown to ``sizes[a]`` by repeating its last slice.

    Repeated float slices are halved each time, so a value the model computes outside the
    tape from the data (and that export would freeze) differs between runs and is caught.
    """
    data = t._data
    for axis, size in sizes.items():
        n = data.shape[axis]
        extra = size - n
        if extra <= 0:
            continue
        last = np.take(data, [n - 1], axis=axis)
        pieces = [data]
        for j in range(1, extra + 1):
            pieces.append(last * 0.5**j if data.dtype.kind == "f" else last)
        data = np.concatenate(pieces, axis=axis).astype(data.dtype, copy=False)
    return _make(data)
