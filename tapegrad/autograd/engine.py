"""The backward pass: replay recorded nodes newest first and deliver gradients to the leaves.

Walks the graph with a max-heap on each node's ``seq`` (no recursion, so a 100,000-op chain
is fine). A node is popped only after every consumer of its outputs has run, because
consumers are always recorded later. Broadcasting is undone here, for every op at once.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

import tapegrad  # ctx.xp when backward records; the package is being imported, this binds it
from tapegrad.autograd.anomaly import describe_origin
from tapegrad.autograd.errstate import restore, silence
from tapegrad.autograd.grad_mode import current
from tapegrad.autograd.node import Node, compact_edge, full_edge
from tapegrad.ops import _numpy_ops
from tapegrad.ops._broadcast import sum_to, sum_to_array
from tapegrad.tensor import Tensor, _make


def backward(
    tensors,
    grad_tensors=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs=None,
) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of leaves. Same as torch."""
    tensors = _as_tuple(tensors)
    grads = _root_grads(tensors, grad_tensors)
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if not inputs:
            raise RuntimeError("backward() got an empty 'inputs' sequence")
    captured = _run(tensors, grads, retain_graph, create_graph, inputs, capture=False)
    for t in inputs or ():
        g = captured.get(_key(t)) if t.grad_fn is not None else None
        if g is not None:  # a non-leaf listed in inputs= gets its .grad, as in torch
            t.grad = _accumulated(t.grad, g, create_graph)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """Return d(outputs)/d(inputs) without touching any ``.grad``. Same as torch.autograd.grad."""
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t._rg:
            raise RuntimeError(f"input {i} of grad() does not require grad")
    grads = _root_grads(outputs, grad_outputs)
    captured = _run(outputs, grads, retain_graph, create_graph, inputs, capture=True)
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(_key(t))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"One of the differentiated Tensors (input {i}, shape {tuple(t.shape)}) appears "
                "to not have been used in the graph. Set allow_unused=True if this is the "
                "desired behavior."
            )
        result.append(g)
    return tuple(result)


# --- the steps of a backward pass ------------------------------------------------------------


def _as_tuple(x) -> tuple:
    if isinstance(x, Tensor):
        return (x,)
    if isinstance(x, Sequence):
        return tuple(x)
    raise TypeError(f"expected a Tensor or a sequence of Tensors, got {type(x).__name__}")


def _root_grads(tensors: tuple, grad_tensors) -> list:
    """Seed gradients: ones for scalars, the given ones (checked) otherwise."""
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors) if len(tensors) == 1 else grad_tensors
    grad_tensors = list(grad_tensors) if grad_tensors is not None else [None] * len(tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(
            f"got {len(grad_tensors)} gradients for {len(tensors)} tensors to differentiate"
        )
    seeds = []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not isinstance(t, Tensor):
            raise TypeError(f"output {i} is a {type(t).__name__}, not a Tensor")
        if not t._rg:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(
                    "grad can be implicitly created only for scalar outputs; output "
                    f"{i} has shape {tuple(t.shape)}: pass backward(gradient=...) of that shape"
                )
            g = _make(np.ones(t._data.shape, t._data.dtype))  # np.ones_like costs Python frames
        else:
            if not isinstance(g, Tensor):
                g = _make(np.asarray(g, dtype=t._data.dtype))
            if g._data.shape != t._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} and "
                    f"output[{i}] has a shape of {tuple(t.shape)}"
                )
            if g._data.dtype != t._data.dtype:
                g = g.to(t._data.dtype)
        seeds.append(g)
    return seeds


def _key(t: Tensor):
    """Where a tensor's gradient shows up in the walk: its node's output, or the leaf itself."""
    return id(t) if t.grad_fn is None else (t.grad_fn, t._output_nr)


def _needed_nodes(roots: tuple, inputs: tuple) -> set:
    """Nodes on some path from the roots to the inputs; others need not run."""
    reachable = []
    seen = set()
    stack = [t.grad_fn for t in roots if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        reachable.append(node)
        for edge in node.edges:
            if edge is not None and edge[1] is not None:
                stack.append(edge[0])
    leaf_ids = {id(t) for t in inputs if t.grad_fn is None}
    input_nodes = {t.grad_fn for t in inputs if t.grad_fn is not None}
    needed = set()
    for node in sorted(reachable, key=lambda n: n.seq):  # inputs before their consumers
        for edge in node.edges:
            if edge is None:
                continue
            target, nr = edge
            if (
                (id(target) in leaf_ids)
                if nr is None
                else (target in needed or target in input_nodes)
            ):
                needed.add(node)
                break
    return needed | (input_nodes & seen)


def _run(roots, seeds, retain_graph, create_graph, inputs, capture: bool) -> dict:
    """Replay the graph behind ``roots``; return captured input grads when ``capture``.

    Gradients in flight are numpy arrays when nothing records (every training step), and
    Tensors under ``create_graph``; they are wrapped only where a user may see them. A leaf's
    gradients are summed first and accumulated once, at the end (torch's AccumulateGrad: its
    hooks see the total).
    """
    if retain_graph is None:
        retain_graph = create_graph
    needed = _needed_nodes(roots, inputs) if inputs is not None else None
    wanted = {_key(t) for t in inputs} if inputs is not None else None
    captured: dict = {}
    pending: dict[Node, list] = {}  # node -> gradients of its outputs received so far
    leaves: dict[int, list] = {}  # id(leaf) -> [leaf, summed gradient, owned by the engine]
    heap: list = []  # (-seq, node): the newest pending node first
    push, pop, add = heapq.heappush, heapq.heappop, np.add

    state = current()
    tracers = state.tracers  # this thread's list, read once: tracers added later show in it
    prev_mode = state.enabled
    state.enabled = create_graph
    quiet = silence()  # raw backward formulas call numpy directly: no warnings, as torch
    try:
        # The first round hands the seeds to the roots, as if from a node (torch's GraphRoot)
        node = None
        edges = tuple(
            t if t.grad_fn is None else compact_edge(t.grad_fn, t._output_nr) for t in roots
        )
        grads = grad_inputs = [g if create_graph else g._data for g in seeds]
        while True:
            for i, (edge, g) in enumerate(zip(edges, grad_inputs)):
                if edge is None or g is None:
                    continue
                if type(edge) is Node:  # compact edges (node.compact_edge): output 0 of a node
                    target, nr = edge, 0
                elif type(edge) is tuple:  # another output of a node
                    target, nr = edge
                else:  # a leaf: its gradients are summed in `leaves`
                    target = edge
                    if wanted is not None and id(target) not in wanted:
                        continue
                    data = target._data
                    if node is not None and (
                        create_graph
                        or type(g) is not np.ndarray
                        or g.shape != data.shape
                        or g.dtype != data.dtype
                    ):
                        fitted = _fit(node, i, g, create_graph)
                    else:  # fits already, or a seed (the caller's, checked by _root_grads)
                        fitted = g
                    entry = leaves.get(id(target))
                    if entry is None:  # kept: may .grad take it uncopied? (never a seed)
                        owned = (
                            node is not None
                            and not create_graph
                            and _owned(fitted, g, grads, grad_inputs)
                        )
                        leaves[id(target)] = [target, fitted, owned]
                    elif create_graph:
                        entry[1] = entry[1] + fitted
                    elif entry[2]:  # the sum so far is the engine's own array: add in place
                        add(entry[1], fitted, out=entry[1])
                    else:
                        entry[1] = total = add(entry[1], fitted)
                        entry[2] = type(total) is np.ndarray  # 0-d + 0-d is a numpy scalar
                    continue
                if needed is not None and target not in needed:
                    continue
                if node is not None:
                    shape, dtype = target.out_meta[nr]
                    if create_graph or type(g) is not np.ndarray or g.shape != shape:
                        g = _fit(node, i, g, create_graph)
                    elif g.dtype is not dtype and g.dtype != dtype:
                        g = g.astype(dtype)
                slots = pending.get(target)
                if slots is None:
                    slots = pending[target] = [None] * len(target.out_meta)
                    push(heap, (-target.seq, target))  # seqs are unique: nodes never compared
                prev = slots[nr]
                if prev is None:
                    slots[nr] = g
                else:  # a tensor used twice: its gradients add up
                    slots[nr] = prev + g if create_graph else add(prev, g)

            if not heap:
                break
            node = pop(heap)[1]
            edges = node._edges
            grads = pending.pop(node)
            if node._hooks or node._retained or wanted is not None:
                grads = _output_grads(node, grads, wanted, captured, capture)
            if capture and needed is not None and not _has_needed_edge(node, needed, wanted):
                grad_inputs = ()
                continue
            try:
                fn = node.fn
                # one output always has its gradient (only real ones are delivered)
                if len(grads) > 1 and node.materialize_grads and _has_none(grads):
                    grads = _materialized(node, grads, create_graph)
                if create_graph:
                    grad_inputs = fn.backward(node, *grads)
                elif fn.raw_backward:  # numpy in, numpy out: see Function.raw_backward
                    node.xp = _numpy_ops
                    try:
                        grad_inputs = fn.backward(node, *grads)
                    finally:
                        node.xp = tapegrad
                else:
                    grad_inputs = fn.backward(
                        node, *[None if g is None else _make(g) for g in grads]
                    )
                if type(grad_inputs) is not tuple:
                    grad_inputs = (grad_inputs,)
                if len(grad_inputs) != len(edges):
                    grad_inputs = _trimmed(node, grad_inputs)
            except Exception as exc:
                if node.origin is not None and hasattr(exc, "add_note"):  # anomaly mode
                    exc.add_note(f"Error in the backward of {node.name()}. {describe_origin(node)}")
                raise
            if tracers:
                shown = _as_tensors(grad_inputs)
                for tracer in tracers:
                    tracer.on_backward(node, _as_tensors(grads), shown)
            if not retain_graph:
                node._saved = None  # what backward kept is released as the pass moves on
                node._freed = True

        for leaf, g, owned in leaves.values():
            _deliver_to_leaf(leaf, g if create_graph else _make(g), captured, capture, owned)
    finally:
        restore(quiet)
        state.enabled = prev_mode
    return captured


def _has_needed_edge(node: Node, needed: set, wanted: set) -> bool:
    for edge in node._edges:
        if edge is None:
            continue
        target, nr = full_edge(edge)
        if (id(target) in wanted) if nr is None else (target in needed):
            return True
    return False


def _output_grads(node: Node, grads: list, wanted, captured: dict, capture: bool) -> list:
    """Run tensor hooks on a node's finished output grads; retain and capture them."""
    arrays = not current().enabled  # what users see are Tensors: wrap, and unwrap after
    if arrays:
        grads = [None if g is None else _make(g) for g in grads]
    if node._hooks:
        for nr, hooks in node._hooks.items():
            if grads[nr] is not None:
                for hook in hooks:
                    new = hook(grads[nr])
                    if new is not None:
                        grads[nr] = new
    if node._retained:
        for nr, ref in node._retained.items():
            tensor = ref()
            if tensor is not None and grads[nr] is not None:
                tensor.grad = _accumulated(tensor.grad, grads[nr], current().enabled)
    if wanted is not None:
        for nr, g in enumerate(grads):
            if (node, nr) in wanted and g is not None:
                captured[(node, nr)] = g
    if arrays:
        return [None if g is None else g._data for g in grads]
    return grads


def _materialized(node: Node, grads: list, recording: bool) -> list:
    """Zeros for the outputs that got no gradient (arrays unless ``recording``), as torch."""
    return [
        (_make(np.zeros(shape, dtype)) if recording else np.zeros(shape, dtype)) if g is None else g
        for g, (shape, dtype) in zip(grads, node.out_meta)
    ]


def _has_none(grads: list) -> bool:
    for g in grads:  # noqa: SIM110 - a plain loop costs less than any(genexpr) per node
        if g is None:
            return True
    return False


def _trimmed(node: Node, result: tuple) -> tuple:
    """torch accepts trailing Nones for extra inputs; any other count is an error."""
    n = len(node.edges)
    if len(result) > n and all(g is None for g in result[n:]):
        return result[:n]
    raise RuntimeError(
        f"function {node.name()} returned an incorrect number of gradients "
        f"(expected {n}, got {len(result)})"
    )


def _as_tensors(grads: tuple) -> tuple:
    """What tracers see: Tensors (a raw backward returns arrays or numbers)."""
    return tuple(g if g is None or isinstance(g, Tensor) else _make(np.asarray(g)) for g in grads)


def _fit(node: Node, index: int, g, recording: bool):
    """Bring an input's gradient to the input's shape (undoing broadcasting) and dtype.

    An array when nothing records; a Tensor, with the fitting recorded, under create_graph.
    """
    shape, dtype = node.input_shape(index)
    if recording:
        if not isinstance(g, Tensor):
            g = _make(np.asarray(g))
        data = g._data
        if data.shape == shape and data.dtype == dtype:
            return g
        g = sum_to(g, shape, _GradientOf(node, index)) if data.shape != shape else g
        return g if g._data.dtype == dtype else g.to(dtype)
    if type(g) is not np.ndarray:
        g = g._data if isinstance(g, Tensor) else np.asarray(g)
    if g.shape == shape and g.dtype == dtype:
        return g
    if g.shape != shape:
        g = sum_to_array(g, shape, _GradientOf(node, index))
    return g if g.dtype == dtype else g.astype(dtype)


class _GradientOf(NamedTuple):
    """Names a gradient in sum_to's error message; formatted only if there is an error (a
    broadcast bias's gradient is summed on every step)."""

    node: Node
    index: int

    def __str__(self) -> str:
        return f"gradient {self.index} of {self.node.name()}"


def _owned(data: np.ndarray, raw, grads: list, grad_inputs: tuple) -> bool:
    """Whether a leaf's gradient array is the engine's alone, so ``.grad`` may take it uncopied.

    True for an array a raw backward just made (torch's AccumulateGrad steals such a buffer
    too): not a view, not one of the node's incoming gradients passed through (``x + y`` hands
    ``grad`` to both), not returned for two inputs; or one that ``_fit`` summed or cast anew.
    """
    if type(raw) is not np.ndarray or current().tracers:  # a tracer may keep what it was shown
        return False
    if data is not raw:
        return True
    if data.base is not None:
        return False
    for g in grads:
        if g is data:
            return False
    count = 0
    for other in grad_inputs:  # a loop, not sum(genexpr): this runs for every leaf gradient
        if other is data:
            count += 1
    return count == 1


def _deliver_to_leaf(leaf: Tensor, g: Tensor, captured: dict, capture: bool, owned: bool) -> None:
    """A leaf's summed gradient: through its hooks, then captured or accumulated in ``.grad``."""
    if leaf._hooks:
        owned = False  # a hook may keep the gradient it is shown
        for hook in leaf._hooks:
            new = hook(g)
            if new is not None:
                g = new
    if capture:
        captured[id(leaf)] = g
        return
    leaf.grad = _accumulated(leaf.grad, g, current().enabled, owned)


def _accumulated(current: Tensor | None, g: Tensor, create_graph: bool, owned=False) -> Tensor:
    """``.grad`` accumulation: in place when nothing records, recorded under create_graph.

    A first gradient is copied unless ``owned``: it may be shared with other leaves, with a
    non-leaf's retained ``.grad`` or with the caller's ``grad_tensors``.
    """
    if create_graph or (current is not None and current._rg):
        return g if current is None else current + g
    if current is None:
        return g if owned else _make(np.array(g._data, copy=True))
    if current._data.shape != g._data.shape:
        raise RuntimeError(
            f"existing .grad of shape {tuple(current.shape)} does not match the new gradient "
            f"of shape {tuple(g.shape)}"
        )
    current._data += g._data
    return current
