"""trace(): record a run on an explicit tape, with module paths, source sites and gradient norms.

A Tape is one of the tracers the autograd core calls on every recorded op and after every
node's backward; outside ``with tg.viz.trace():`` nothing in this file runs at all.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import weakref
from typing import NamedTuple

import numpy as np

from tapegrad.autograd.grad_mode import current
from tapegrad.autograd.node import SavedOutput
from tapegrad.nn.parameter import Parameter
from tapegrad.tensor import Tensor

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_PASSES = itertools.count(1)  # backward passes seen by any tape, so records never mix two


class NodeRecord:
    """What a trace learned about one node: where it was recorded and what backward sent.

    Only norms are kept, never gradient arrays, so a record costs a few floats.
    """

    __slots__ = ("grad_norm", "input_norms", "made_nonfinite", "pass_id", "source", "step")

    def __init__(self, source: str | None = None):
        self.source = source
        self.grad_norm: float | None = None  # norm of the gradient arriving at the outputs
        self.input_norms: tuple = ()  # norm (or None) of the gradient sent to each input
        self.made_nonfinite = False  # finite gradient in, NaN/inf out: the culprit
        self.pass_id = 0  # which backward pass the step and norms come from
        self.step = 0  # 1 for the first node that pass replayed


# Node -> NodeRecord. Weak keys: a record dies with its node, and it refers to no node itself.
RECORDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class TapeInput(NamedTuple):
    """One tensor argument of a recorded op."""

    shape: tuple
    dtype: np.dtype
    producer: int | None  # index in tape.nodes of the op that made it, if on this tape
    name: str | None  # parameter name, for a parameter of the running module


class TapeNode(NamedTuple):
    """One entry of ``tape.nodes``: an op as it was recorded."""

    index: int
    op: str  # e.g. "Mul"; node.name() gives torch's "MulBackward0"
    node: object  # the Node (the outputs' grad_fn)
    inputs: tuple  # TapeInput per tensor argument
    outputs: tuple  # (shape, dtype) per output
    module: str | None  # module path ("encoder.0"; "" for the outermost), None outside modules
    module_type: str | None  # class name of that module
    source: str  # "file.py:12", the first frame outside tapegrad
    params: tuple  # names of the parameters the op reads
    saved_bytes: int  # memory the node keeps for backward (views count their base)


class Names:
    """Dotted module paths and parameter names, looked up from the outermost running module."""

    def __init__(self, params: dict | None = None):
        self._params = {id(t): name for name, t in (params or {}).items()}
        self._roots: dict = {}  # id(root module) -> (root, {id(module): path}, {id(p): name})

    def _root(self, root) -> tuple:
        entry = self._roots.get(id(root))
        if entry is None:
            paths = {id(m): path for path, m in root.named_modules()}
            params = {id(p): name for name, p in root.named_parameters()}
            entry = self._roots[id(root)] = (root, paths, params)
        return entry

    def module_path(self, scope: tuple, level: int) -> str:
        """The path of ``scope[level]`` below ``scope[0]``; its class name if not a child."""
        _, paths, _ = self._root(scope[0])
        path = paths.get(id(scope[level]))
        return type(scope[level]).__name__ if path is None else path

    def see(self, scope: tuple) -> None:
        """Learn the parameter names of the outermost module of ``scope``."""
        if scope:
            self._root(scope[0])

    def param_name(self, tensor: Tensor) -> str | None:
        name = self._params.get(id(tensor))
        if name is not None:
            return name
        found = [p[id(tensor)] for _, _, p in self._roots.values() if id(tensor) in p]
        return found[0] if found else None


def op_name(node) -> str:
    """The op's short name, e.g. ``Mul`` (torch's grad_fn name without ``Backward0``)."""
    return node.fn.graph_name or node.fn.__name__


def saved_arrays(node) -> list:
    """The arrays a node keeps for backward (see Node._pack for the entry layout)."""
    arrays = []
    saved = node._saved
    for entry in (saved,) if type(saved) is SavedOutput else saved or ():
        if type(entry) is SavedOutput:
            arrays.append(entry.array)
        elif type(entry) is not tuple:  # an input Tensor
            arrays.append(entry._data)
        elif entry[0] != "const" or isinstance(entry[1], Tensor):
            value = entry[1]
            arrays.append(value._data if isinstance(value, Tensor) else value)
    return arrays


def owner(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory of ``array`` (a view's base), so views count once."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _source_site() -> str:
    """``file:line`` of the first frame outside the tapegrad package."""
    frame = sys._getframe(2)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def grad_norm(grads) -> float | None:
    """The 2-norm of a list of gradients (Tensors, arrays or None): nan/inf when not finite."""
    total = 0.0
    seen = False
    with np.errstate(over="ignore", invalid="ignore"):
        for g in grads:
            if g is None:
                continue
            seen = True
            array = np.asarray(g._data if isinstance(g, Tensor) else g, dtype=np.float64)
            if np.isnan(array).any():
                return math.nan
            total += float(np.sum(np.square(array)))
    return math.sqrt(total) if seen else None


class Tape:
    """The ops recorded during a ``trace()``, in recording order, and what backward did.

    ``nodes`` holds a TapeNode per op (and so keeps the graph alive while the tape lives).
    The nodes' source sites, gradient norms and replay steps are what ``tg.viz.draw`` shows
    with ``show_grads=True`` and ``show_order=True``.
    """

    def __init__(self, params: dict | None = None):
        self.nodes: list[TapeNode] = []
        self._params = dict(params or {})
        self._names = Names(self._params)
        self._index: dict = {}  # id(node) -> index in nodes
        self._owners: dict = {}  # id(owning array) -> weakref, to count shared memory once
        self._total_saved = 0
        self._pass = 0
        self._last_seq = -1
        self._step = 0

    def __enter__(self) -> Tape:
        current().tracers.append(self)
        return self

    def __exit__(self, *exc) -> None:
        current().tracers.remove(self)

    # --- the tracer interface the autograd core calls -----------------------------------

    def on_record(self, node, args: tuple, outputs: tuple) -> None:
        source = _source_site()
        RECORDS.setdefault(node, NodeRecord()).source = source
        scope = node.modules
        self._names.see(scope)
        inputs = []
        params = []
        for arg in args:
            if not isinstance(arg, Tensor):
                continue
            name = self._names.param_name(arg) if isinstance(arg, Parameter) else None
            if name is not None:
                params.append(name)
            producer = self._index.get(id(arg.grad_fn)) if arg.grad_fn is not None else None
            inputs.append(TapeInput(tuple(arg._data.shape), arg._data.dtype, producer, name))
        entry = TapeNode(
            index=len(self.nodes),
            op=op_name(node),
            node=node,
            inputs=tuple(inputs),
            outputs=tuple((tuple(s), d) for s, d in node.out_meta),
            module=self._names.module_path(scope, -1) if scope else None,
            module_type=type(scope[-1]).__name__ if scope else None,
            source=source,
            params=tuple(params),
            saved_bytes=self._count_saved(node),
        )
        self._index[id(node)] = entry.index
        self.nodes.append(entry)

    def on_backward(self, node, output_grads, input_grads) -> None:
        record = RECORDS.get(node)
        if record is None:  # recorded before the trace began: still worth colouring
            record = RECORDS[node] = NodeRecord()
        # One pass replays nodes by decreasing seq, each once; anything else starts a new one.
        if node.seq >= self._last_seq or record.pass_id == self._pass:
            self._pass = next(_PASSES)
            self._step = 0
        self._last_seq = node.seq
        self._step += 1
        record.pass_id = self._pass
        record.step = self._step
        record.grad_norm = grad_norm(output_grads)
        record.input_norms = tuple(grad_norm([g]) for g in input_grads)
        arrived_finite = record.grad_norm is None or math.isfinite(record.grad_norm)
        sent = [n for n in record.input_norms if n is not None]
        record.made_nonfinite = arrived_finite and not all(math.isfinite(n) for n in sent)

    # --- reading the tape ---------------------------------------------------------------

    def _count_saved(self, node) -> int:
        """Bytes this node keeps; the tape total counts each owning array once."""
        total = 0
        for array in saved_arrays(node):
            base = owner(array)
            total += base.nbytes
            ref = self._owners.get(id(base))
            if ref is None or ref() is not base:
                self._owners[id(base)] = weakref.ref(base)
                self._total_saved += base.nbytes
        return total

    @property
    def saved_bytes(self) -> int:
        """Memory the recorded nodes kept for backward, each array counted once."""
        return self._total_saved

    def outputs(self) -> list:
        """The recorded nodes whose outputs no other recorded op consumed: the graph's ends."""
        used = set()
        for entry in self.nodes:
            for edge in entry.node.edges:
                if edge is not None and edge[1] is not None:
                    used.add(id(edge[0]))
        return [entry.node for entry in self.nodes if id(entry.node) not in used]

    def summary(self) -> str:
        """A table of the recorded ops (op, output shape, inputs, params, module, saved memory,
        source line) with the totals."""
        header = ("#", "op", "output", "inputs", "params", "module", "saved", "source")
        rows = [header]
        for entry in self.nodes:
            rows.append(
                (
                    str(entry.index),
                    entry.op,
                    ", ".join(format_shape(shape) for shape, _ in entry.outputs),
                    ", ".join(_input_label(i) for i in entry.inputs),
                    ", ".join(entry.params) or "-",
                    _module_label(entry),
                    format_bytes(entry.saved_bytes),
                    _short_source(entry.source),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        n_params = len({name for entry in self.nodes for name in entry.params})
        lines.append(
            f"total: {len(self.nodes)} ops, {n_params} parameters read, "
            f"{format_bytes(self.saved_bytes)} saved for backward (shared arrays counted once)"
        )
        return "\n".join(lines)

    def draw(self, **kwargs):
        """``tg.viz.draw`` of everything recorded on this tape (keyword arguments as draw)."""
        from tapegrad.viz.graph import draw_nodes

        if self._params:
            kwargs.setdefault("params", self._params)
        return draw_nodes(self.outputs(), **kwargs)

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"<Tape: {len(self.nodes)} ops, {format_bytes(self.saved_bytes)} saved>"


def format_shape(shape: tuple) -> str:
    """``(2, 3)`` -> ``(2, 3)``; ``()`` stays ``()`` (a scalar)."""
    return str(tuple(shape))


def _input_label(tensor_input: TapeInput) -> str:
    if tensor_input.producer is not None:
        return f"#{tensor_input.producer}"
    return tensor_input.name or format_shape(tensor_input.shape)


def _module_label(entry: TapeNode) -> str:
    if entry.module is None:
        return "-"
    return f"{entry.module} ({entry.module_type})" if entry.module else entry.module_type


def _short_source(source: str) -> str:
    path, _, line = source.rpartition(":")
    return f"{os.path.basename(path)}:{line}" if path else source


def format_bytes(n: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def trace(fn=None, /, *args, params: dict | None = None, **kwargs):
    """Record the ops run inside a ``with`` block (or by one call) on a Tape.

    ``with tg.viz.trace() as tape: loss = model(x)`` records; ``tape.nodes`` lists the ops,
    ``tape.summary()`` tabulates them and ``tape.draw()`` draws them. Run the backward inside
    the block too, and the tape also gets gradient norms and the replay order for
    ``tg.viz.draw(loss, show_grads=True, show_order=True)``. ``trace(fn, *args, **kwargs)``
    runs one call and returns ``(result, tape)``. ``params`` names tensors (``{name: tensor}``)
    that are not parameters of a running module.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.ones(3, requires_grad=True)
        >>> with tg.viz.trace() as tape:
        ...     y = (x * 2).sum()
        >>> [entry.op for entry in tape.nodes]
        ['Mul', 'Sum']
    """
    tape = Tape(params)
    if fn is None:
        return tape
    with tape:
        result = fn(*args, **kwargs)
    return result, tape
