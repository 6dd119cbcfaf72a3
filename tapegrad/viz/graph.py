"""draw(): the recorded graph behind tensors as a graphviz Digraph; save() writes it to a file.

Ops are boxes (name, output shape and dtype), leaf tensors are ellipses (parameters named by
module path), edges run in data-flow direction, and the ops of each nn.Module call sit in a
cluster labelled with the module's path. Ids follow recording order, so the DOT source is the
same on every run. Gradient colours and replay steps come from a trace (tapegrad/viz/trace.py).
"""

from __future__ import annotations

import math
import os

from tapegrad.autograd.node import Node
from tapegrad.nn.parameter import Parameter
from tapegrad.tensor import Tensor
from tapegrad.viz import colors
from tapegrad.viz.render import FORMATS, graph_class, render_source
from tapegrad.viz.trace import RECORDS, Names, format_shape, grad_norm, op_name

_MAX_FANOUT = 4  # readers beyond which a leaf is drawn once per reader
_NEEDS_TRACE = (
    "{what} needs what a trace records during backward: run the forward and the backward "
    "inside `with tg.viz.trace():` and draw afterwards"
)


def draw(
    tensors,
    params: dict | None = None,
    show_shapes: bool = True,
    show_grads: bool = False,
    show_order: bool = False,
    depth: int | None = None,
    rankdir: str = "TB",
    vanishing: float = 1e-8,
):
    """Draw the graph that produced ``tensors`` (a Tensor or a sequence of them).

    Args:
        params: ``{name: tensor}`` naming leaves, as torchviz's ``make_dot``; parameters of a
            module whose forward recorded an op are named by their path automatically.
        show_shapes: write each op's output shape and dtype under its name.
        show_grads: colour each node by the norm of the gradient that reached it in the last
            backward (log scale, with a legend); NaN/inf is red, vanishing (below
            ``vanishing``) grey. Needs that backward to have run inside ``tg.viz.trace()``.
        show_order: number op nodes in the order the last backward replayed them.
        depth: draw module calls nested deeper than ``depth`` as one node each (0: every
            outermost module call is one node); None draws every op.
        rankdir: graphviz layout direction, "TB" (inputs on top) or "LR".

    Returns:
        A ``graphviz.Digraph``; ``.render()``, ``tg.viz.save`` or Jupyter display it.
    """
    roots = _as_tensors(tensors)
    return _Drawing(roots, params, show_shapes, show_grads, show_order, depth, vanishing).emit(
        rankdir
    )


def draw_nodes(nodes: list, **kwargs):
    """``draw`` for graph nodes rather than tensors (a Tape's recorded ends)."""
    keys = (
        "params",
        "show_shapes",
        "show_grads",
        "show_order",
        "depth",
        "vanishing",
        "edge_labels",
    )
    options = {k: kwargs.pop(k) for k in keys if k in kwargs}
    drawing = _Drawing(list(nodes), **options)
    return drawing.emit(**kwargs)


def save(graph_or_tensors, path, engine: str | None = None, **draw_kwargs) -> str:
    """Write a graph (or the graph behind tensors) to ``path``: .png, .svg, .pdf, .jpg or .dot.

    ``.dot``/``.gv`` writes the DOT source and needs no Graphviz program; images use the system
    ``dot`` or else ``graphviz-pure`` (``engine=`` picks one). Returns the path.
    """
    graph = graph_or_tensors
    if not hasattr(graph, "source"):
        graph = draw(graph_or_tensors, **draw_kwargs)
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt in ("dot", "gv"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(graph.source)
        return path
    if fmt not in FORMATS["dot"]:
        raise ValueError(
            f"cannot save a graph as {path!r}: use a .png, .svg, .pdf, .jpg or .dot file name"
        )
    data = render_source(graph.source, fmt, engine)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _as_tensors(tensors) -> list:
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    elif isinstance(tensors, dict):
        tensors = list(tensors.values())
    else:
        tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"draw() expects Tensors; item {i} is a {type(t).__name__}")
        if not t.requires_grad:
            raise ValueError(
                f"tensor {i} (shape {tuple(t.shape)}) does not require grad, so no graph was "
                "recorded for it: make an input or parameter require grad before the forward"
            )
    return tensors


def _scope_chain(scope: tuple) -> list:
    """One key per module call enclosing an op, outermost first.

    A ModuleScope (one object per call) keys each level by identity, so two calls of one
    module stay apart; a plain tuple falls back to the modules themselves.
    """
    if hasattr(scope, "parent"):
        chain = []
        while scope:
            chain.append(scope)
            scope = scope.parent
        return [(id(s), s) for s in reversed(chain)]
    return [(tuple(id(m) for m in scope[: i + 1]), scope[: i + 1]) for i in range(len(scope))]


class _Call:
    """One module call on the drawing: a cluster, or one node when collapsed by ``depth``."""

    def __init__(self, index: int, scope: tuple, parent):
        self.index = index
        self.scope = scope
        self.parent = parent  # the enclosing _Call, or None
        self.children: list[_Call] = []
        self.vertices: list[str] = []  # ids drawn directly inside the cluster
        self.nodes: list[Node] = []  # every op inside, when collapsed
        self.absorbed: list[Tensor] = []  # parameters only it reads, when collapsed


class _Drawing:
    """Everything draw() decides, computed once, then emitted as DOT."""

    def __init__(
        self,
        roots: list,
        params=None,
        show_shapes=True,
        show_grads=False,
        show_order=False,
        depth=None,
        vanishing=1e-8,
        edge_labels=None,
    ):
        self.edge_labels = edge_labels or {}  # (id(node), input index) -> text, for explain
        self.show_shapes, self.show_grads, self.show_order = show_shapes, show_grads, show_order
        self.depth, self.vanishing = depth, vanishing
        if depth is not None and depth < 0:
            raise ValueError(f"depth must be None or >= 0, got {depth}")
        self.root_tensors = [r for r in roots if isinstance(r, Tensor)]
        root_nodes = [r.grad_fn if isinstance(r, Tensor) else r for r in roots]
        self.roots = {id(n) for n in root_nodes if n is not None}
        self.nodes = _walk([n for n in root_nodes if n is not None])
        self.leaves = self._find_leaves()
        self.names = Names(params)
        for node in self.nodes:
            self.names.see(node.modules)
        self.ids: dict = {}  # id(node or leaf) -> vertex id
        self.copies: dict = {}  # id(leaf) -> {reader vertex id: copy id}, for shared leaves
        self.calls: dict = {}  # scope key -> _Call
        self.top: list[str] = []  # vertices outside every module
        self.top_calls: list[_Call] = []
        self._place_nodes()
        self._place_leaves()
        self.latest_pass = self._latest_pass()

    # --- structure ----------------------------------------------------------------------

    def _find_leaves(self) -> list:
        seen = {}
        for t in self.root_tensors:
            if t.grad_fn is None:
                seen.setdefault(id(t), t)
        for node in self.nodes:
            for edge in node.edges:
                if edge is not None and edge[1] is None:
                    seen.setdefault(id(edge[0]), edge[0])
        return list(seen.values())

    def _call(self, chain: list, level: int) -> _Call:
        key, scope = chain[level]
        call = self.calls.get(key)
        if call is None:
            parent = self._call(chain, level - 1) if level > 0 else None
            call = self.calls[key] = _Call(len(self.calls), scope, parent)
            (parent.children if parent else self.top_calls).append(call)
        return call

    def _place_nodes(self) -> None:
        for i, node in enumerate(self.nodes):
            chain = _scope_chain(node.modules)
            if self.depth is not None and len(chain) > self.depth:
                group = self._call(chain, self.depth)
                if not group.nodes:
                    group_id = f"module{len([c for c in self.calls.values() if c.nodes])}"
                    self.ids[id(group)] = group_id
                    (group.parent.vertices if group.parent else self.top).append(group_id)
                group.nodes.append(node)
                self.ids[id(node)] = self.ids[id(group)]
                continue
            self.ids[id(node)] = f"op{i}"
            (self._call(chain, len(chain) - 1).vertices if chain else self.top).append(f"op{i}")

    def _place_leaves(self) -> None:
        """Leaves get ids in order of first use; a parameter sits in the innermost cluster
        holding all its readers, or inside the collapsed node that alone reads it."""
        readers: dict = {id(leaf): [] for leaf in self.leaves}
        for node in self.nodes:
            for edge in node.edges:
                if edge is not None and edge[1] is None:
                    readers[id(edge[0])].append(node)
        groups = [c for c in self.calls.values() if c.nodes]
        placed: dict = {}  # id(call) or None -> leaf ids, drawn before the ops there
        for j, leaf in enumerate(self.leaves):
            by_vertex: dict = {}  # consumer vertex id -> its nodes, in order of first use
            for node in readers[id(leaf)]:
                by_vertex.setdefault(self.ids[id(node)], []).append(node)
            owners = [g for g in groups if self.ids[id(g)] in by_vertex]
            if isinstance(leaf, Parameter) and len(by_vertex) == 1 and owners:
                owners[0].absorbed.append(leaf)
                self.ids[id(leaf)] = self.ids[id(owners[0])]
                continue
            self.ids[id(leaf)] = f"leaf{j}"
            # A tensor read by many nodes (an RNN's weights) is drawn next to each reader:
            # edges fanning out to 100 steps make dot's layout quadratic and the picture a web.
            uses = [(f"leaf{j}", readers[id(leaf)])]
            if len(by_vertex) > _MAX_FANOUT:
                self.copies[id(leaf)] = {v: f"leaf{j}_{k}" for k, v in enumerate(by_vertex)}
                uses = [(f"leaf{j}_{k}", ns) for k, ns in enumerate(by_vertex.values())]
            for vertex, nodes in uses:
                home = self._common_call(nodes) if isinstance(leaf, Parameter) else None
                placed.setdefault(id(home) if home else None, (home, []))[1].append(vertex)
        for home, leaf_ids in placed.values():
            container = home.vertices if home else self.top
            container[:0] = leaf_ids

    def _common_call(self, nodes: list):
        """The innermost drawn cluster enclosing all ``nodes``, or None."""
        chains = []
        for node in nodes:
            chain = _scope_chain(node.modules)
            if self.depth is not None:
                chain = chain[: self.depth]
            chains.append([key for key, _ in chain])
        common = []
        for keys in zip(*chains):
            if any(k != keys[0] for k in keys):
                break
            common.append(keys[0])
        return self.calls[common[-1]] if common else None

    def _latest_pass(self) -> int:
        passes = [r.pass_id for r in (RECORDS.get(n) for n in self.nodes) if r is not None]
        latest = max(passes, default=0)
        for flag, what in ((self.show_grads, "show_grads=True"), (self.show_order, "show_order")):
            if flag and self.nodes and latest == 0:
                raise ValueError(_NEEDS_TRACE.format(what=what))
        return latest

    def _record(self, node):
        record = RECORDS.get(node)
        return record if record is not None and record.pass_id == self.latest_pass else None

    # --- labels and colours -------------------------------------------------------------

    def _norm(self, item):
        if isinstance(item, Tensor):
            return grad_norm([item.grad])
        if isinstance(item, _Call):  # the gradient arriving at the module call's outputs
            return _group_norm([self._norm(n) for n, _, _ in self._group_outputs(item)])
        record = self._record(item)
        return None if record is None else record.grad_norm

    def _made_nonfinite(self, item) -> bool:
        if isinstance(item, Tensor):
            return False
        nodes = item.nodes if isinstance(item, _Call) else [item]
        return any(r is not None and r.made_nonfinite for r in map(self._record, nodes))

    def _op_label(self, node: Node) -> list:
        record = self._record(node)
        head = op_name(node)
        if self.show_order and record is not None:
            head = f"#{record.step} {head}"
        lines = [head]
        if self.show_shapes:
            lines += [_shape_dtype(s, d) for s, d in node.out_meta]
        return lines

    def _leaf_label(self, leaf: Tensor) -> list:
        name = self.names.param_name(leaf)
        lines = [name or ("parameter" if isinstance(leaf, Parameter) else "tensor")]
        if self.show_shapes:
            lines.append(_shape_dtype(leaf.shape, leaf.dtype))
        return lines

    def _group_label(self, call: _Call) -> list:
        lines = [self._call_title(call)]
        steps = [r.step for r in map(self._record, call.nodes) if r is not None]
        if self.show_order and steps:
            lines[0] = f"#{min(steps)}-{max(steps)} {lines[0]}"
        count = f"{len(call.nodes)} op" + ("s" if len(call.nodes) > 1 else "")
        if call.absorbed:
            numel = sum(p.numel() for p in call.absorbed)
            plural = "s" if len(call.absorbed) > 1 else ""
            count += f", {len(call.absorbed)} param{plural} ({numel:,} values)"
        lines.append(count)
        if self.show_shapes:
            lines += [f"-> {_shape_dtype(s, d)}" for _, s, d in self._group_outputs(call)]
        return lines

    def _group_outputs(self, call: _Call) -> list:
        """``(node, shape, dtype)`` for each output of the call that is read outside it."""
        inside = {id(n) for n in call.nodes}
        used_outside = set()
        for node in self.nodes:
            if id(node) in inside:
                continue
            for edge in node.edges:
                if edge is not None and edge[1] is not None and id(edge[0]) in inside:
                    used_outside.add((id(edge[0]), edge[1]))
        outputs = []
        for node in call.nodes:
            for nr, meta in enumerate(node.out_meta):
                if (id(node), nr) in used_outside or id(node) in self.roots:
                    outputs.append((node, *meta))
        return outputs

    def _call_title(self, call: _Call) -> str:
        module = call.scope[-1]
        path = self.names.module_path(call.scope, -1)
        title = type(module).__name__ if path == "" else f"{path} ({type(module).__name__})"
        same = [c for c in self.calls.values() if c.scope[-1] is module]
        if len(same) > 1:
            title += f" call {same.index(call) + 1}"
        return title

    def _style(self, item, kind: str, lines: list, compact: bool = False) -> dict:
        """Node attributes: shape and fill by kind, or by gradient norm with show_grads."""
        attrs = dict(colors.NODE_STYLES[kind])
        if self.show_grads:
            norm = self._norm(item)
            if not compact:
                lines.append(colors.norm_text(norm, self.vanishing))
            fill = colors.grad_fill(norm, self.scale, self.vanishing)
            extra = fill.pop("style_extra", None)
            if extra:
                attrs["style"] += "," + extra
            attrs.update(fill)
            if self._made_nonfinite(item):
                lines.append("NaN/inf starts here")
                attrs.update(colors.ORIGIN)
        if id(item) in self.roots:
            attrs["penwidth"] = attrs.get("penwidth", "2.5")
        attrs["label"] = "\\n".join(_escape(line) for line in lines)
        return attrs

    # --- emission -----------------------------------------------------------------------

    def emit(self, rankdir: str = "TB"):
        graph = graph_class()(
            name="tape",
            graph_attr={**colors.GRAPH, "rankdir": rankdir},
            node_attr=colors.NODE,
            edge_attr=colors.EDGE,
        )
        norms = []
        if self.show_grads:
            items = self.nodes + self.leaves + [c for c in self.calls.values() if c.nodes]
            norms = [self._norm(i) for i in items]
        self.scale = colors.LogScale(norms, self.vanishing)
        vertices = self._vertex_attrs()
        self._emit_members(graph, self.top, self.top_calls, vertices, 0)
        self._emit_edges(graph)
        if self.show_grads:
            graph.node("legend", **colors.legend(self.scale, self.vanishing))
        return graph

    def _vertex_attrs(self) -> dict:
        attrs = {}
        for node in self.nodes:
            vid = self.ids[id(node)]
            if vid.startswith("op"):
                tooltip = node.name()
                record = RECORDS.get(node)
                if record is not None and record.source:
                    tooltip += f" at {record.source}"
                attrs[vid] = {**self._style(node, "op", self._op_label(node)), "tooltip": tooltip}
        for leaf in self.leaves:
            vid = self.ids[id(leaf)]
            if not vid.startswith("leaf"):
                continue
            kind = "param" if isinstance(leaf, Parameter) else "leaf"
            copies = self.copies.get(id(leaf))
            if copies is None:
                attrs[vid] = self._style(leaf, kind, self._leaf_label(leaf))
                continue
            name = self._leaf_label(leaf)[0]
            style = self._style(leaf, kind, [name, f"shared by {len(copies)}"], compact=True)
            style.update(style=style["style"] + ",dashed", fontsize="9")
            for copy in copies.values():
                attrs[copy] = style
        for call in self.calls.values():
            if call.nodes:
                attrs[self.ids[id(call)]] = self._style(call, "module", self._group_label(call))
        return attrs

    def _emit_members(self, graph, vertices: list, calls: list, attrs: dict, level: int) -> None:
        for vid in vertices:
            graph.node(vid, **attrs[vid])
        fill = colors.CLUSTER_FILLS[level % len(colors.CLUSTER_FILLS)]
        for call in calls:
            if call.nodes:
                continue
            with graph.subgraph(name=self._cluster_name(call)) as sub:
                sub.attr(label=_escape(self._call_title(call)), fillcolor=fill, **colors.CLUSTER)
                self._emit_members(sub, call.vertices, call.children, attrs, level + 1)

    def _cluster_name(self, call: _Call) -> str:
        path = self.names.module_path(call.scope, -1) or type(call.scope[-1]).__name__
        same = [c for c in self.calls.values() if c.scope[-1] is call.scope[-1]]
        suffix = f"_call{same.index(call) + 1}" if len(same) > 1 else ""
        return f"cluster_{path}{suffix}"

    def _emit_edges(self, graph) -> None:
        drawn = set()
        for node in self.nodes:
            head = self.ids[id(node)]
            record = self._record(node)
            for i, edge in enumerate(node.edges):
                if edge is None:
                    continue
                source, nr = edge
                tail = self.ids[id(source)]
                if nr is None and id(source) in self.copies:
                    tail = self.copies[id(source)][head]
                if tail == head:
                    continue
                attrs = {}
                label = self.edge_labels.get((id(node), i))
                if label is not None:
                    attrs.update(label=_escape(f"grad {label}"), **colors.GRAD_LABEL)
                if nr is not None and len(source.out_meta) > 1:
                    attrs["taillabel"] = f"out {nr}"
                if self.show_grads and record is not None and i < len(record.input_norms):
                    sent = record.input_norms[i]
                    if sent is not None and not math.isfinite(sent):
                        attrs.update(colors.NONFINITE_EDGE)
                grouped = head.startswith("module") or tail.startswith("module")
                if grouped and (tail, head) in drawn:
                    continue  # one edge per pair once a module is collapsed
                drawn.add((tail, head))
                graph.edge(tail, head, **attrs)


def _walk(root_nodes: list) -> list:
    """Every node reachable from ``root_nodes``, in recording order (an explicit stack)."""
    seen = {}
    stack = list(root_nodes)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        for edge in node.edges:
            if edge is not None and edge[1] is not None:
                stack.append(edge[0])
    return sorted(seen.values(), key=lambda n: n.seq)


def _group_norm(norms: list):
    """The 2-norm of several gradients given their norms (nan stays nan)."""
    known = [n for n in norms if n is not None]
    return math.sqrt(sum(n * n for n in known)) if known else None


def _shape_dtype(shape, dtype) -> str:
    return f"{format_shape(tuple(shape))} {dtype}"


def _escape(text: str) -> str:
    """Make text safe inside a quoted DOT label (backslashes would start escapes)."""
    return text.replace("\\", "\\\\")
