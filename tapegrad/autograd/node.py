"""Node: one recorded op. It is the ``ctx`` its Function sees and the ``grad_fn`` of its outputs.

A node holds its input edges, what backward needs (saved values) and a sequence number; it
never holds its output tensors, so graphs are freed as soon as the tensors that reach them are.
"""

from __future__ import annotations

import itertools
import weakref

import numpy as np

import tapegrad  # ctx.xp when backward records; tapegrad is being imported: this binds it
from tapegrad.tensor import Tensor, _make, _new, _VersionCounter

# Recording order. Every consumer of a tensor is recorded after it, so replaying nodes from the
# highest seq down visits each node after all of its consumers. A counter is not graph state.
SEQUENCE = itertools.count()

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed) in {name}. Saved intermediate values of the graph are "
    "freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need "
    "to backward through the graph a second time or to access saved tensors after backward."
)


class Node:
    """One op on the tape: the Function that ran, its input edges and its saved values.

    ``edges[i]`` is ``(node, output_nr)`` for an input made by another op, ``(tensor, None)``
    for a leaf that requires grad, or ``None`` when input ``i`` needs no gradient. The node
    stores them compactly (``_edges``, see ``compact_edge``): most edges need no tuple.
    """

    # Slots for what every recorded op sets, so a node needs no instance dict; ``__dict__``
    # holds what a user's Function stores on ctx and the rarer attributes below.
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_edges",  # per input, compact_edge(...) of its edge
        "_freed",
        "_hooks",  # {output_nr: [hook]} of register_hook on an output, or None
        "_retained",  # {output_nr: weakref to the output} of retain_grad, or None
        "_saved",  # what save_for_backward got; after forward, entries as _pack makes them
        "fn",
        "needs_input_grad",
        "non_differentiable",  # output arrays of mark_non_differentiable
        "out_meta",  # (shape, dtype) of each output
        "seq",
        "xp",  # backward's array namespace: tapegrad, or numpy's in a raw_backward
    )

    # Class-level defaults of the rarer attributes
    materialize_grads = True
    modules = ()  # ModuleScope: the nn modules running when recorded, one object per call
    origin = None  # anomaly mode: the user call site (anomaly.Site) that recorded this op
    recorded_args = None  # anomaly mode: copies of the forward's arguments, for check_graph
    forward_kwargs = None  # keyword arguments of apply, when there were any

    def __init__(self, fn: type, needs_input_grad: tuple = ()):
        self.fn = fn
        self._edges = ()
        self.needs_input_grad = needs_input_grad
        self.out_meta = ()
        self.seq = -1
        self._saved = None
        self._freed = False
        self._hooks = self._retained = None
        self.non_differentiable = ()
        self.xp = tapegrad

    # --- the ctx API of torch.autograd.Function --------------------------------------------

    def save_for_backward(self, *values) -> None:
        """Keep input Tensors or output arrays for backward. Same as torch's ctx method."""
        self._saved = values  # packed by _pack once the outputs exist

    def mark_non_differentiable(self, *outputs) -> None:
        """Declare outputs (arrays or Tensors) that never carry a gradient."""
        self.non_differentiable = tuple(o._data if isinstance(o, Tensor) else o for o in outputs)

    def set_materialize_grads(self, value: bool) -> None:
        """Whether backward gets zeros (True, default) or None for outputs that got no grad."""
        self.materialize_grads = value

    @property
    def saved_tensors(self) -> tuple:
        """The saved values as Tensors, outputs reconnected to this node's graph.

        In a raw backward (``xp`` is numpy's namespace) they are the bare numpy arrays instead.
        """
        saved = self._saved
        if type(saved) is SavedOutput:  # the output alone (see _pack): no loop
            return (saved.unpack(self, self.xp is not tapegrad),)
        if saved is None:
            if self._freed:
                raise RuntimeError(_FREED_MESSAGE.format(name=self.name()))
            return ()
        raw = self.xp is not tapegrad
        values = []
        for entry in saved:
            kind = type(entry)
            if kind is SavedOutput:
                values.append(entry.unpack(self, raw))
                continue
            if kind is not tuple:  # an input Tensor saved at version 0
                counter = entry._vc
                if counter is not None and counter.value != 0:
                    raise RuntimeError(_modified_message(self, entry, 0, counter.value))
                values.append(entry._data if raw else entry)
                continue
            if entry[0] == "input":
                _, value, version = entry
                now = 0 if value._vc is None else value._vc.value
                if now != version:
                    raise RuntimeError(_modified_message(self, entry, version, now))
                values.append(value._data if raw else value)
            else:
                value = entry[1]
                values.append(value._data if raw and isinstance(value, Tensor) else value)
        return tuple(values)

    def _pack(self, outputs: tuple, raw_outputs: tuple) -> None:
        """Turn what forward asked to save into entries whose in-place changes can be detected.

        Entries: an input Tensor at version 0 as itself (so saving only such inputs keeps
        forward's tuple: no object per entry); ``("input", tensor, version)`` at another
        version; a ``SavedOutput`` for an output, which is also the output's version counter;
        ``("const", value)`` for anything else. An op that saves its output alone (exp, tanh,
        relu ...) keeps the lone SavedOutput, without a tuple around it: Function.apply packs
        that case itself.
        """
        saved = self._saved
        for value in saved:  # the common case: inputs that require grad, at version 0
            if not (isinstance(value, Tensor) and value._rg) or (
                value._vc is not None and value._vc.value != 0
            ):
                break
        else:
            return  # each is its own entry: forward's tuple stays
        entries = None  # a list from the first value that needs an entry object
        for i, value in enumerate(saved):
            if isinstance(value, Tensor):
                # _rg first: the common saved input costs no identity search
                if value._rg or not _is_one_of(value, raw_outputs):
                    version = 0 if value._vc is None else value._vc.value
                    entry = value if version == 0 else ("input", value, version)
                else:  # an output that a user's forward returned as a Tensor
                    entry = self._pack_array(value._data, outputs, raw_outputs)
            elif isinstance(value, (np.ndarray, np.generic)):
                entry = self._pack_array(value, outputs, raw_outputs)
            else:
                entry = ("const", value)
            if entries is None and entry is not value:
                entries = list(saved[:i])
            if entries is not None:
                entries.append(entry)
        if entries is not None:
            self._saved = tuple(entries)

    def _pack_array(self, value, outputs: tuple, raw_outputs: tuple):
        """An output array (matched by identity, before or after wrapping) or a constant."""
        for nr, (out, raw) in enumerate(zip(outputs, raw_outputs)):
            if value is out._data or value is raw:
                return _output_entry(out, nr)
        return ("const", _make(np.asarray(value)))

    def input_shape(self, index: int) -> tuple:
        """(shape, dtype) of input ``index``, read off its edge: a leaf, or an op's output."""
        target, output_nr = full_edge(self._edges[index])
        if output_nr is None:
            return target._data.shape, target._data.dtype
        return target.out_meta[output_nr]

    # --- graph introspection, as torch's grad_fn -------------------------------------------

    @property
    def edges(self) -> tuple:
        """Per forward input: ``(node, output_nr)``, ``(leaf tensor, None)`` or None."""
        return tuple(None if edge is None else full_edge(edge) for edge in self._edges)

    def name(self) -> str:
        """The op's name in the graph, as torch's grad_fn.name().

        Built-in ops read ``MulBackward0`` (torch's generated nodes); a user's Function
        subclass ``Cube`` reads ``CubeBackward``, as torch names custom Functions.
        """
        fn = self.fn
        if fn.__module__.startswith("tapegrad."):
            return (fn.graph_name or fn.__name__) + "Backward0"
        return fn.__name__ + "Backward"

    @property
    def next_functions(self) -> tuple:
        """``(grad_fn, output_nr)`` per input; leaves appear as AccumulateGrad. As torch."""
        result = []
        for edge in self.edges:
            if edge is None:
                result.append((None, 0))
            elif edge[1] is None:
                result.append((AccumulateGrad(edge[0]), 0))
            else:
                result.append(edge)
        return tuple(result)

    def __repr__(self) -> str:
        prefix = "" if self.fn.__module__.startswith("tapegrad.") else "tapegrad.autograd.function."
        return f"<{prefix}{self.name()} object at {id(self):#x}>"

    # --- per-output hooks and retained grads, set through the output tensors ----------------

    def _output_hooks(self, output_nr: int) -> list:
        if self._hooks is None:
            self._hooks = {}
        return self._hooks.setdefault(output_nr, [])

    def _retain_output(self, output_nr: int, tensor: Tensor) -> None:
        if self._retained is None:
            self._retained = {}
        self._retained[output_nr] = weakref.ref(tensor)

    def _retains(self, output_nr: int, tensor: Tensor) -> bool:
        ref = self._retained and self._retained.get(output_nr)
        return ref is not None and ref() is tensor


class AccumulateGrad:
    """The node torch shows for a leaf in ``next_functions``; ``.variable`` is the leaf."""

    __slots__ = ("variable",)

    def __init__(self, variable: Tensor):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    next_functions = ()

    def __eq__(self, other) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)


def compact_edge(target, output_nr):
    """How a node stores an edge: output 0 of a node as the node itself, a leaf as the tensor,
    and only another output as a ``(node, output_nr)`` tuple (a graph holds fewer objects)."""
    if output_nr is None or output_nr == 0:
        return target
    return (target, output_nr)


def full_edge(edge) -> tuple:
    """``(node, output_nr)`` or ``(leaf, None)`` from a compact (not None) edge."""
    if type(edge) is Node:
        return edge, 0
    if type(edge) is tuple:
        return edge
    return edge, None


class SavedOutput(_VersionCounter):
    """A saved output: its array and output number, and the output tensor's version counter.

    One object serves as both (the output is new, so it has no counter yet): an op that saves
    its output (exp, tanh, sigmoid ...) leaves one object for gc to track, not three.
    """

    __slots__ = ("array", "output_nr")

    def unpack(self, node: Node, raw: bool):
        """The array (raw backward), or the output as a Tensor on ``node``'s graph again."""
        if self.value != 0:
            raise RuntimeError(_modified_message(node, self, 0, self.value))
        array = self.array
        return array if raw else _make(array, array.dtype.kind == "f", node, self.output_nr)


def _output_entry(out: Tensor, output_nr: int) -> SavedOutput:
    """The saved entry of an output, watching it for in-place writes (the same entry when an
    output is saved twice)."""
    entry = out._vc
    if entry is None:  # SavedOutput() without an __init__ frame: one per such op
        entry = out._vc = _new(SavedOutput)
        entry.value = 0
        entry.array = out._data
        entry.output_nr = output_nr
    return entry


def _is_one_of(value, candidates: tuple) -> bool:
    # a loop, not any(genexpr), which costs a generator per call: runs per saved input that
    # needs no grad (x in x @ w)
    for candidate in candidates:  # noqa: SIM110
        if candidate is value:
            return True
    return False


def _modified_message(node: Node, entry, saved: int, now: int) -> str:
    entries = node._saved
    index = 0 if entries is entry else next(i for i, e in enumerate(entries) if e is entry)
    return (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: saved tensor {index} of {node.name()} is at version {now}; expected version "
        f"{saved} instead. Clone it before the in-place operation, or do the operation out of "
        "place."
    )
