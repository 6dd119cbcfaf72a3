"""tg.onnx.export: record the model's run, then translate each recorded op to ONNX nodes.

Recording is ``trace.py``; with dynamic axes the model also runs at other sizes, so that
sizes on the tape can be followed (``dynamic.py``). Tensors that no recorded op made and
that are not inputs (parameters, buffers, constants) become initializers. The rules live
in ``ops/``; ``modules.py`` fuses LayerNorm and eval BatchNorm calls into one node each.
"""

from __future__ import annotations

import contextlib
import os

from tapegrad.nn.modules.module import Module
from tapegrad.onnx.context import Context, Names, kind, leaves, same
from tapegrad.onnx.dynamic import Dim, Sizes
from tapegrad.onnx.graph import GraphBuilder
from tapegrad.onnx.trace import grown, record, state_names
from tapegrad.random import rng
from tapegrad.tensor import Tensor

_MISSING = (
    "tg.onnx.export needs the optional packages onnx and onnxruntime: pip install tapegrad[onnx]"
)


def _by_module_call(calls: list) -> list:
    """Runs of calls as ``(scope, calls)``: scope set for one call of a fusable module."""
    from tapegrad.onnx.modules import fusable

    groups: list = []
    for call in calls:
        scope = call.scope
        if not (scope and fusable(scope[-1])):
            scope = None
        if groups and scope is not None and groups[-1][0] is scope:
            groups[-1][1].append(call)
        else:
            groups.append((scope, [call]))
    return groups


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


def _symbols(dynamic: dict, inputs: tuple, in_names: list) -> tuple[Sizes, dict, list]:
    """The dynamic axes' sizes in the example, where to read each, and each input's axes."""
    base: dict = {}
    sources: dict = {}
    axes: list = []
    for t, name in zip(inputs, in_names):
        mine = {}
        for axis, label in dynamic.get(name, {}).items():
            ndim = t._data.ndim
            if not -ndim <= axis < ndim:
                raise ValueError(
                    f"tg.onnx.export: dynamic_axes gives input {name!r} axis {axis}, but it "
                    f"has {ndim} dims"
                )
            axis %= ndim
            size = t._data.shape[axis]
            if base.setdefault(label, size) != size:
                raise ValueError(
                    f"tg.onnx.export: dynamic_axes labels axes of sizes {base[label]} and "
                    f"{size} both {label!r}; one label means one size"
                )
            if size == 0:
                raise ValueError(f"tg.onnx.export: dynamic axis {label!r} has size 0")
            sources.setdefault(label, (name, axis))
            mine[axis] = label
        axes.append(mine)
    return Sizes(base), sources, axes


@contextlib.contextmanager
def _inference(model):
    """Eval mode while the model runs, as torch.onnx.export's default; modes restored after."""
    modules = list(model.modules()) if isinstance(model, Module) else []
    modes = [m.training for m in modules]
    if modules:
        model.eval()
    try:
        yield
    finally:
        for module, mode in zip(modules, modes):
            object.__setattr__(module, "training", mode)


def _runs(model, inputs: tuple, in_names: list, output_names, dynamic_axes) -> tuple:
    """Record the model at the example's sizes and, for dynamic axes, at the grown ones.

    Returns the traces (the example's first), output names, the dynamic axes by name, the
    Sizes and where each axis label is read. The extra runs leave the random stream as the
    first left it, so exporting draws what one forward pass draws.
    """
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(
                f"tg.onnx.export: example inputs must be Tensors, got {type(t).__name__}"
            )
    with _inference(model):
        base = record(model, inputs)
        out_names = _names(output_names, len(base.outputs), "output")
        dynamic = _dynamic(dynamic_axes, in_names + out_names)
        sizes, sources, axes = _symbols(dynamic, inputs, in_names)
        state = rng().bit_generator.state
        variants = [_run_at(model, inputs, axes, sizes, run) for run in range(1, len(sizes.runs))]
        rng().bit_generator.state = state
    _align(base, variants, sizes)
    return [base, *variants], out_names, dynamic, sizes, sources


def _run_at(model, inputs: tuple, axes: list, sizes: Sizes, run: int):
    """Record the model on the inputs grown to run ``run``'s sizes."""
    target = sizes.runs[run]
    grown_inputs = tuple(
        grown(t, {axis: target[label] for axis, label in mine.items()})
        for t, mine in zip(inputs, axes)
    )
    try:
        return record(model, grown_inputs)
    except Exception as error:
        raise RuntimeError(
            f"tg.onnx.export: the model fails when its dynamic axes grow to "
            f"{sizes.describe(run)} ({type(error).__name__}: {error}); axes that must change "
            "together need the same label in dynamic_axes"
        ) from error


def _signature(call, trace) -> tuple:
    parts = []
    for path, leaf in leaves((call.args, call.kwargs)):
        computed = isinstance(leaf, Tensor) and id(leaf) in trace.computed
        parts.append((path, kind(leaf), computed))
    return (len(call.outputs), tuple(parts))


def _align(base, variants: list, sizes: Sizes) -> None:
    """Pair each call with the same call in the other runs; they must run the same ops."""
    for run, trace in enumerate(variants, 1):
        for j in range(max(len(base.calls), len(trace.calls))):
            a = base.calls[j] if j < len(base.calls) else None
            b = trace.calls[j] if j < len(trace.calls) else None
            if (
                a is None
                or b is None
                or a.fn != b.fn
                or _signature(a, base) != _signature(b, trace)
            ):
                first = a or b
                raise NotImplementedError(
                    f"tg.onnx.export: the model runs different ops when its dynamic axes grow "
                    f"to {sizes.describe(run)}, from op #{j} {first.name} ({first.where()}) on. "
                    "A loop or branch on a dynamic size (an RNN's time steps, a Python loop "
                    "over the batch) is fixed by the recorded run, so that axis cannot be dynamic"
                )
            a.variants.append(b)
        if len(trace.outputs) != len(base.outputs):
            raise NotImplementedError(
                f"tg.onnx.export: the model returns {len(trace.outputs)} outputs instead of "
                f"{len(base.outputs)} when its dynamic axes grow to {sizes.describe(run)}"
            )


def _output_value(ctx: Context, traces: list, k: int) -> str:
    values = [trace.outputs[k] for trace in traces]
    t = values[0]
    if ctx.names.has(t) or all(v is t for v in values):
        return ctx.names.of(t)
    if same([v._data for v in values]):
        return ctx.names.of(t)
    return ctx.grown_constant(None, values)


def _value_info(onnx, name: str, tensors: list, sizes: Sizes, labels: dict) -> object:
    """The declared type of an input or output (``tensors``: it in every run).

    Dims are sizes, the labels ``dynamic_axes`` gave, or labels for sizes that follow the
    dynamic axes (``batch``, ``2*seq``), so an undeclared output batch is dynamic too.
    """
    shapes = [t._data.shape for t in tensors]
    ndim = len(shapes[0])
    labels = {axis % ndim: label for axis, label in labels.items()} if ndim else {}
    dims = []
    for axis, d in enumerate(sizes.fit_shape(shapes)):
        if axis in labels:
            dims.append(labels[axis])
        elif isinstance(d, int):
            dims.append(d)
        elif isinstance(d, Dim):
            dims.append(d.label or str(d))
        else:
            dims.append(f"{name}_dim{axis}")
    elem = onnx.helper.np_dtype_to_tensor_dtype(tensors[0]._data.dtype)
    return onnx.helper.make_tensor_value_info(name, elem, dims)


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

    The model runs once on ``args``, in eval mode (as torch's default); the ops it ran become
    the graph, so Python control flow is exported as the path it took for these inputs.
    Parameters and buffers become initializers under their names. ``f`` is a path or a
    writable binary file. ``dynamic_axes`` (``{"input": {0: "batch"}}`` or
    ``{"input": [0]}``) marks axes that may change size, such as the batch; the model then
    also runs with those axes grown, to learn which sizes follow them. Needs
    ``pip install tapegrad[onnx]``.
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
    inputs = (args,) if isinstance(args, Tensor) else tuple(args)
    in_names = _names(input_names, len(inputs), "input")
    traces, out_names, dynamic, sizes, sources = _runs(
        model, inputs, in_names, output_names, dynamic_axes
    )
    graph = GraphBuilder(onnx, opset_version)
    ctx = Context(graph, Names(graph, state_names(model)), sizes, sources, traces)
    for t, name in zip(traces[0].inputs, in_names):
        ctx.names.bind(t, name)
    for scope, calls in _by_module_call(traces[0].calls):
        if scope is not None:
            translate_module(ctx, scope[-1], calls)
        else:
            for call in calls:
                translate(ctx, call)
    for k, name in enumerate(out_names):
        value = _output_value(ctx, traces, k)
        graph.nodes.append(onnx.helper.make_node("Identity", [value], [name]))
    declared = [
        [
            _value_info(onnx, n, [getattr(t, side)[k] for t in traces], sizes, dynamic.get(n, {}))
            for k, n in enumerate(side_names)
        ]
        for side, side_names in (("inputs", in_names), ("outputs", out_names))
    ]
    proto = onnx.helper.make_graph(graph.nodes, "tapegrad", *declared, graph.initializers)
    opset = onnx.helper.make_opsetid("", opset_version)
    model_proto = onnx.helper.make_model(proto, opset_imports=[opset], producer_name="tapegrad")
    model_proto.ir_version = min(model_proto.ir_version, 8)  # runtimes that lag onnx read 8
    onnx.checker.check_model(model_proto)
    if isinstance(f, (str, os.PathLike)):
        onnx.save(model_proto, os.fspath(f))
    else:
        f.write(model_proto.SerializeToString())
    return model_proto
