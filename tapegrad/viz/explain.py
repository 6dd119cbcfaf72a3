"""explain(): backpropagation step by step, as text (and as a picture with ``.draw()``).

It replays the graph behind a tensor once (as ``autograd.grad`` does, keeping the graph and
leaving every ``.grad`` untouched) and writes, per replay step, the gradient that arrived, the
local rule the op applied, what it sent to each input, and where two paths' gradients add up.
"""

from __future__ import annotations

import inspect
import re
from typing import NamedTuple

import numpy as np

from tapegrad.autograd.engine import grad as autograd_grad
from tapegrad.autograd.grad_mode import current
from tapegrad.tensor import Tensor
from tapegrad.viz.trace import RECORDS, Names, Tape, format_shape, grad_norm, op_name

# The local rules in one vocabulary: ``grad`` is the gradient arriving at the output,
# ``out`` the op's result. Ops missing here fall back to the derivative comment their
# backward carries (house style), then to their docstring.
RULES = {
    "Add": "grad_x = grad, grad_y = grad",
    "Sub": "grad_x = grad, grad_y = -grad",
    "Mul": "grad_x = grad * y, grad_y = grad * x",
    "Div": "grad_x = grad / y, grad_y = -grad * x / y^2",
    "Pow": "grad_x = grad * y * x^(y-1), grad_y = grad * x^y * log(x)",
    "Neg": "grad_x = -grad",
    "Exp": "grad_x = grad * exp(x)",
    "Log": "grad_x = grad / x",
    "Tanh": "d/dx tanh(x) = 1 - tanh(x)^2: grad_x = grad * (1 - out^2)",
    "Sigmoid": "d/dx sigmoid(x) = s(1 - s): grad_x = grad * out * (1 - out)",
    "Relu": "grad_x = grad where x > 0, else 0",
    "Sum": "every summed element gets the same grad: grad_x = grad broadcast to x's shape",
    "Reshape": "grad_x = grad reshaped back to x's shape",
    "Expand": "grad_x = grad summed over the expanded dims",
    "Permute": "grad_x = grad permuted back by the inverse permutation",
    "Clone": "grad_x = grad",
    "Cast": "grad_x = grad cast back to x's dtype",
}
_DERIVATIVE_COMMENT = re.compile(r"#\s*(d[^#\n]*?=[^#\n]*)")


def rule_for(fn: type) -> str:
    """The text of an op's local backward rule."""
    rule = RULES.get(fn.__name__)
    if rule is not None:
        return rule
    for method in ("derivative", "backward"):
        try:
            source = inspect.getsource(getattr(fn, method))
        except (AttributeError, OSError, TypeError):
            continue
        found = _DERIVATIVE_COMMENT.search(source)
        if found:
            return found.group(1).strip()
        returned = re.search(r"return (.+)", source)
        if method == "derivative" and returned:  # a one-input op: out = f(x), f' as written
            formula = re.sub(r"\b(ctx\.)?xp\.", "", returned.group(1).strip())  # numpy or tg
            return f"grad_x = grad * ({formula})"
    doc = inspect.getdoc(fn)
    if doc:
        return doc.splitlines()[0]
    return f"see {fn.__module__}.{fn.__qualname__}.backward"


class Step(NamedTuple):
    """One replay step: the node, the gradients that arrived and those it sent."""

    number: int
    op: str
    node: object
    arrived: list  # (from: str, value text) per path; two or more means paths add up
    grad: str  # the summed gradient the rule was applied to
    rule: str
    sent: list  # (gradient name, value text, to: str) per input that got a gradient
    nonfinite: bool  # finite gradient in, NaN/inf out


class Explanation:
    """The result of ``explain``: ``print()`` it, or ``.draw()`` the annotated graph."""

    def __init__(self, output: Tensor, steps: list, leaves: list, edge_labels: dict, params):
        self.output = output
        self._params = params
        self.steps = steps
        self.leaves = leaves  # (name, [(from, value text)], total text)
        self._edge_labels = edge_labels

    def __str__(self) -> str:
        lines = [
            f"Backward from {self.output.grad_fn.name()} (shape "
            f"{format_shape(tuple(self.output.shape))}): {len(self.steps)} steps, newest op "
            "first. grad is the gradient of the output with respect to a tensor.",
            "",
        ]
        for step in self.steps:
            lines.append(f"step {step.number}: {step.op}")
            seed = " (the seed: d output / d output)" if step.number == 1 else ""
            lines += _arrivals("grad in", step.arrived, step.grad + seed)
            lines.append(f"    rule     {step.rule}")
            for name, value, target in step.sent:
                lines.append(f"    {name:<8} {value}  -> {target}")
            if step.nonfinite:
                lines.append("    !! a finite gradient came in and NaN/inf went out: here")
        lines += ["", "leaf gradients (what backward() adds to .grad)"]
        for name, arrived, total in self.leaves:
            lines += _arrivals(f"{name}:", arrived, total, indent="  ")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def draw(self, **kwargs):
        """The graph with replay steps numbered and each edge labelled with the gradient
        backward sent along it (against the arrow)."""
        from tapegrad.viz.graph import draw_nodes

        kwargs.setdefault("show_order", True)
        kwargs.setdefault("params", self._params)
        return draw_nodes([self.output], edge_labels=self._edge_labels, **kwargs)


def _arrivals(head: str, arrived: list, total: str, indent: str = "    ") -> list:
    """``head total``, or the sum written out when several paths' gradients meet."""
    if len(arrived) <= 1:
        return [f"{indent}{head:<8} {total}"]
    pad = " " * len(f"{indent}{head:<8}")
    lines = [f"{indent}{head:<8}   {arrived[0][1]}  (from {arrived[0][0]})"]
    lines += [f"{pad} + {value}  (from {source})" for source, value in arrived[1:]]
    lines.append(f"{pad} = {total}  ({len(arrived)} paths add up here)")
    return lines


def explain(output: Tensor, gradient=None, params: dict | None = None, max_values: int = 8):
    """Replay the backward of ``output`` and describe every step (for small graphs).

    Tensors with at most ``max_values`` elements show their values, larger ones their shape
    and norm. The graph is kept and no ``.grad`` changes, so ``backward()`` still works after.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor(3.0, requires_grad=True)
        >>> print(tg.viz.explain(x * x))  # doctest: +ELLIPSIS
        Backward from MulBackward0 (shape ()): 1 steps, newest op first.
        ...
    """
    if not isinstance(output, Tensor) or output.grad_fn is None:
        raise ValueError("explain() needs a tensor computed from tensors that require grad")
    names = Names(params)
    recorder = _Recorder(max_values)
    leaves = recorder.leaves_of(output)
    if recorder.freed:
        raise ValueError(
            "explain() replays the graph, but a backward already freed its saved values: "
            "call explain() before backward(), or run that backward with retain_graph=True"
        )
    with Tape(params):
        current().tracers.append(recorder)
        try:
            grads = autograd_grad(
                output, leaves, grad_outputs=gradient, retain_graph=True, allow_unused=True
            )
        finally:
            current().tracers.remove(recorder)
    return recorder.explanation(output, leaves, grads, names, params)


class _Recorder:
    """A tracer that keeps, per replayed node, the gradients in and out (small values only)."""

    def __init__(self, max_values: int):
        self.max_values = max_values
        self.steps: list = []  # (node, output grad texts, [(edge, value text)])
        self.arrivals: dict = {}  # (id(node), nr) or id(leaf) -> [(step index, value text)]

    def leaves_of(self, output: Tensor) -> list:
        from tapegrad.viz.graph import _walk

        leaves = {}
        self.freed = False
        for node in _walk([output.grad_fn]):
            self.freed = self.freed or node._freed
            for edge in node.edges:
                if edge is not None and edge[1] is None:
                    leaves.setdefault(id(edge[0]), edge[0])
        return list(leaves.values())

    def text(self, array) -> str:
        array = np.asarray(array._data if isinstance(array, Tensor) else array)
        if array.size <= self.max_values:
            return _values(array.tolist())
        return f"shape {format_shape(array.shape)}, norm {grad_norm([array]):.3g}"

    def on_record(self, node, args, outputs) -> None:
        pass  # only backward matters here

    def on_backward(self, node, output_grads, input_grads) -> None:
        index = len(self.steps)
        grad_texts = [None if g is None else self.text(g) for g in output_grads]
        sent = []
        for i, (edge, g) in enumerate(zip(node.edges, input_grads)):
            if edge is None or g is None:
                continue
            value = self.text(_sum_to(g, node.input_shape(i)[0]))
            key = id(edge[0]) if edge[1] is None else (id(edge[0]), edge[1])
            self.arrivals.setdefault(key, []).append((index, value))
            sent.append((i, edge, value))
        self.steps.append((node, grad_texts, sent))

    def explanation(self, output, leaves, grads, names: Names, params) -> Explanation:
        for node, _, _ in self.steps:
            names.see(node.modules)
        number = {id(node): i + 1 for i, (node, _, _) in enumerate(self.steps)}
        leaf_names = {id(leaf): _leaf_name(leaf, names, k) for k, leaf in enumerate(leaves)}

        def where(index: int) -> str:
            return f"step {index + 1}, {op_name(self.steps[index][0])}"

        steps = []
        edge_labels = {}
        for i, (node, grad_texts, sent) in enumerate(self.steps):
            arrived = []
            for nr in range(len(node.out_meta)):
                arrived += [(where(j), v) for j, v in self.arrivals.get((id(node), nr), [])]
            targets = []
            for input_nr, (target, nr), value in sent:
                if nr is None:
                    to = leaf_names[id(target)]
                else:
                    to = f"{op_name(target)} (step {number.get(id(target), '?')})"
                targets.append((_grad_name(input_nr, node.edges), value, to))
                edge_labels[(id(node), input_nr)] = value
            total = ", ".join(t for t in grad_texts if t is not None) or "none"
            rule = rule_for(node.fn)
            record = RECORDS.get(node)
            nonfinite = record is not None and record.made_nonfinite
            steps.append(Step(i + 1, op_name(node), node, arrived, total, rule, targets, nonfinite))
        leaf_rows = []
        for leaf, g in zip(leaves, grads):
            arrived = [(where(j), v) for j, v in self.arrivals.get(id(leaf), [])]
            leaf_rows.append((leaf_names[id(leaf)], arrived, "none" if g is None else self.text(g)))
        return Explanation(output, steps, leaf_rows, edge_labels, params)


def _grad_name(index: int, edges: tuple) -> str:
    """grad_x, grad_y as in the rules; grad_input2 for ops with gradients past two inputs."""
    last = max(i for i, edge in enumerate(edges) if edge is not None)
    return f"grad_{'xy'[index]}" if last < 2 else f"grad_input{index}"


def _values(value) -> str:
    """Nested lists of numbers, 4 significant digits, no numpy padding."""
    if isinstance(value, list):
        return "[" + ", ".join(_values(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value)
    return f"{value:.4g}"


def _leaf_name(leaf: Tensor, names: Names, k: int) -> str:
    name = names.param_name(leaf) or f"leaf {k}"
    return f"{name} {format_shape(tuple(leaf.shape))}"


def _sum_to(g, shape: tuple) -> np.ndarray:
    """The gradient an input receives: summed over the dims broadcasting added (as the engine)."""
    array = np.asarray(g._data if isinstance(g, Tensor) else g)
    while array.ndim > len(shape):
        array = array.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and array.shape[axis] != 1:
            array = array.sum(axis=axis, keepdims=True)
    return array
