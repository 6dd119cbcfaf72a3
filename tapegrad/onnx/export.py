"""tg.onnx.export: run a model once under a recorder, then translate each recorded op.

The recorder is a tracer on ``STATE.tracers`` (as ``tg.viz.trace`` is): it keeps each op's
Function class, arguments and outputs. Tensors that no recorded op made and that are not
inputs (parameters, buffers, constants) become initializers. The rules live in ``ops.py``.
"""

from __future__ import annotations

import os

import numpy as np

from tapegrad.autograd.grad_mode import STATE, enable_grad
from tapegrad.onnx.graph import GraphBuilder
from tapegrad.tensor import Tensor
from tapegrad.viz.trace import _source_site

_MISSING = (
    "tg.onnx.export needs the optional packages onnx and onnxruntime: pip install tapegrad[onnx]"
)


class Call:
    """One recorded op: its Function, arguments, outputs and where it was recorded."""

    def __init__(self, node, args: tuple, outputs: tuple, source: str):
        self.node = node
        self.fn = node.fn
        self.args = args
        self.kwargs = node.forward_kwargs or {}
        self.outputs = outputs
        self.source = source
        scope = node.modules
        self.module = type(scope[-1]).__name__ if scope else None
        self.names: Names | None = None  # set by the translator before a rule runs

    def x(self, i: int) -> str:
        """The value name of positional argument ``i`` (a scalar becomes a constant)."""
        return self.names.of(self.args[i], self.out_dtype)

    def value(self, v) -> str:
        """The value name of a Tensor or scalar that is not a positional argument."""
        return self.names.of(v, self.out_dtype)

    @property
    def out_dtype(self) -> np.dtype:
        return self.outputs[0]._data.dtype

    def shape(self, i: int) -> tuple:
        return tuple(self.args[i]._data.shape)

    @property
    def out_shape(self) -> tuple:
        return tuple(self.outputs[0]._data.shape)

    def where(self) -> str:
        module = f" in module {self.module}" if self.module else ""
        return f"recorded at {self.source}{module}"


class Recorder:
    """The tracer: keeps every recorded op, and the tensors it touched alive (ids stay unique)."""

    def __init__(self):
        self.calls: list[Call] = []

    def __enter__(self) -> Recorder:
        STATE.tracers.append(self)
        return self

    def __exit__(self, *exc) -> None:
        STATE.tracers.remove(self)

    def on_record(self, node, args: tuple, outputs: tuple) -> None:
        self.calls.append(Call(node, args, outputs, _source_site()))

    def on_backward(self, node, output_grads, input_grads) -> None:
        """Export runs no backward; a backward inside the model is none of its business."""


class Names:
    """Value names of tensors (by id) and of index arrays (by id of the array)."""

    def __init__(self, graph: GraphBuilder, constant_names: dict):
        self.graph = graph
        self._tensors: dict = {}  # id(Tensor) -> value name, or None for an unexported output
        self._arrays: dict = {}  # id(ndarray) -> value name: integer inputs used as indices
        self._constant_names = constant_names  # id(Tensor) -> parameter/buffer name
        self._keep: list = []  # what the ids refer to, kept alive

    def bind(self, tensor: Tensor, name: str | None, array_too: bool = False) -> None:
        self._tensors[id(tensor)] = name
        self._keep.append(tensor)
        if array_too:
            self._arrays[id(tensor._data)] = name

    def has(self, v) -> bool:
        """Whether ``v`` is a Tensor the graph already computes (an input or an op output)."""
        return isinstance(v, Tensor) and self._tensors.get(id(v)) is not None

    def array(self, a: np.ndarray) -> str:
        """The value name of an index array: an input's own array, else a constant."""
        name = self._arrays.get(id(a))
        return name if name is not None else self.graph.const(a.astype(np.int64))

    def of(self, v, dtype) -> str:
        if isinstance(v, Tensor):
            if id(v) in self._tensors:
                name = self._tensors[id(v)]
                if name is None:
                    raise NotImplementedError(
                        "tg.onnx.export: the model uses a value that has no ONNX counterpart "
                        "(max_pool2d's indices, or a value inside a fused LayerNorm/BatchNorm)"
                    )
                return name
            name = self.graph.const(v._data, name=self._constant_names.get(id(v)))
            self.bind(v, name)
            return name
        return self.graph.const(np.asarray(v, dtype=dtype))


def _by_module_call(calls: list) -> list:
    """Runs of calls as ``(scope, calls)``: scope set for one call of a fusable module."""
    from tapegrad.onnx.modules import fusable

    groups: list = []
    for call in calls:
        scope = call.node.modules
        if not (scope and fusable(scope[-1])):
            scope = None
        if groups and scope is not None and groups[-1][0] is scope:
            groups[-1][1].append(call)
        else:
            groups.append((scope, [call]))
    return groups


def _as_tuple(values) -> tuple:
    if isinstance(values, Tensor):
        return (values,)
    return tuple(values)


def _traceable(t) -> Tensor:
    """A float input that requires grad (so every op on it records); others as they are."""
    if not isinstance(t, Tensor):
        raise TypeError(f"tg.onnx.export: example inputs must be Tensors, got {type(t).__name__}")
    if t._data.dtype.kind == "f" and not t.requires_grad:
        return t.detach().requires_grad_(True)
    return t


def _constant_names(model) -> dict:
    names = {}
    for attr in ("named_parameters", "named_buffers"):
        if hasattr(model, attr):
            names.update({id(t): name for name, t in getattr(model, attr)()})
    return names


def _value_info(onnx, name: str, t: Tensor, dynamic: dict) -> object:
    shape = list(t._data.shape)
    for axis, label in dynamic.get(name, {}).items():
        shape[axis] = label
    elem = onnx.helper.np_dtype_to_tensor_dtype(t._data.dtype)
    return onnx.helper.make_tensor_value_info(name, elem, shape)


def _dynamic(dynamic_axes, names: list) -> dict:
    """``{name: [0]}`` or ``{name: {0: "batch"}}`` as ``{name: {axis: label}}``."""
    out = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            raise ValueError(
                f"tg.onnx.export: dynamic_axes names {name!r}, which is not an input or "
                f"output name ({', '.join(names)})"
            )
        if isinstance(axes, dict):
            out[name] = {int(a): str(label) for a, label in axes.items()}
        else:
            out[name] = {int(a): f"{name}_dynamic_axes_{a + 1}" for a in axes}
    return out


def _names(given, count: int, prefix: str) -> list[str]:
    given = list(given or [])
    if len(given) > count:
        raise ValueError(f"tg.onnx.export: {len(given)} {prefix} names for {count} {prefix}s")
    return given + [f"{prefix}_{i}" for i in range(len(given), count)]


def export(
    model,
    args,
    f,
    input_names=None,
    output_names=None,
    dynamic_axes=None,
    opset_version: int = 17,
    **kwargs,
):
    """Export ``model(*args)`` to an ONNX file. Same as ``torch.onnx.export``.

    The model runs once on ``args``; the ops it ran become the graph, so Python control flow
    is exported as the path it took for these inputs. Parameters and buffers become
    initializers under their names. ``f`` is a path or a writable binary file.
    ``dynamic_axes`` (``{"input": {0: "batch"}}`` or ``{"input": [0]}``) marks axes that may
    change size, such as the batch. Needs ``pip install tapegrad[onnx]``.
    """
    try:
        import onnx
    except ImportError as error:
        raise ImportError(_MISSING) from error
    from tapegrad.onnx.modules import translate_module
    from tapegrad.onnx.ops import translate

    if kwargs:
        raise TypeError(f"tg.onnx.export: unsupported arguments {sorted(kwargs)}")
    if opset_version < 13:
        raise ValueError(f"tg.onnx.export supports opset_version 13 or later, got {opset_version}")
    inputs = tuple(_traceable(t) for t in _as_tuple(args))
    with enable_grad(), Recorder() as recorder:
        result = model(*inputs)
    outputs = _as_tuple(result)
    in_names = _names(input_names, len(inputs), "input")
    out_names = _names(output_names, len(outputs), "output")
    dynamic = _dynamic(dynamic_axes, in_names + out_names)

    graph = GraphBuilder(onnx, opset_version)
    names = Names(graph, _constant_names(model))
    for t, name in zip(inputs, in_names):
        names.bind(t, name, array_too=True)
    for scope, calls in _by_module_call(recorder.calls):
        if scope is not None:
            translate_module(graph, names, scope[-1], calls)
        else:
            for call in calls:
                translate(graph, names, call)
    for t, name in zip(outputs, out_names):
        graph.nodes.append(onnx.helper.make_node("Identity", [names.of(t, None)], [name]))

    proto = onnx.helper.make_graph(
        graph.nodes,
        "tapegrad",
        [_value_info(onnx, n, t, dynamic) for t, n in zip(inputs, in_names)],
        [_value_info(onnx, n, t, dynamic) for t, n in zip(outputs, out_names)],
        graph.initializers,
    )
    opset = onnx.helper.make_opsetid("", opset_version)
    model_proto = onnx.helper.make_model(proto, opset_imports=[opset], producer_name="tapegrad")
    model_proto.ir_version = min(model_proto.ir_version, 8)  # runtimes that lag onnx read 8
    onnx.checker.check_model(model_proto)
    if isinstance(f, (str, os.PathLike)):
        onnx.save(model_proto, os.fspath(f))
    else:
        f.write(model_proto.SerializeToString())
    return model_proto
