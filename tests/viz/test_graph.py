"""draw(): labels, clusters, node counts, depth, gradient colours, replay order, golden source."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn
from tapegrad.autograd.grad_mode import current
from tapegrad.viz import colors
from tapegrad.viz.trace import op_name
from tests.viz.models import RNN, Lin, mlp_loss

pytest.importorskip("graphviz")

GOLDEN = Path(__file__).parent / "golden"
_NODE = re.compile(r'^\s*(\w+) \[label="([^"]*)"(.*)\]$', re.MULTILINE)


def nodes_of(graph) -> dict:
    """vertex id -> (label lines, attribute text) from the DOT source."""
    return {m[1]: (m[2].split("\\n"), m[3]) for m in _NODE.finditer(graph.source)}


def op_nodes(graph) -> dict:
    return {k: v for k, v in nodes_of(graph).items() if k.startswith("op")}


def edges_of(graph) -> list:
    return re.findall(r"^\s*(\w+) -> (\w+)", graph.source, re.MULTILINE)


def test_draw_labels_ops_with_name_shape_and_dtype():
    tg.manual_seed(0)
    _, loss = mlp_loss(hidden=1)
    graph = tg.viz.draw(loss)
    labels = [lines for lines, _ in op_nodes(graph).values()]
    assert ["Mul", "(8, 2, 4) float32"] in labels
    assert ["Tanh", "(8, 4) float32"] in labels
    assert ["Mean", "() float32"] in labels  # the root
    root = next(attrs for lines, attrs in op_nodes(graph).values() if lines[0] == "Mean")
    assert "penwidth=2.5" in root  # the drawn tensor stands out
    no_shapes = tg.viz.draw(loss, show_shapes=False)
    assert all(len(lines) == 1 for lines, _ in op_nodes(no_shapes).values())


def test_parameters_are_named_by_module_path_and_params_names_other_leaves():
    tg.manual_seed(0)
    _model, loss = mlp_loss(hidden=1)
    leaves = [lines[0] for k, (lines, _) in nodes_of(tg.viz.draw(loss)).items() if "leaf" in k]
    assert leaves == ["encoder.0.weight", "encoder.0.bias", "head.weight", "head.bias"]
    x = tg.ones(3, requires_grad=True)
    w = tg.ones(3, requires_grad=True)
    graph = tg.viz.draw((x * w).sum(), params={"x": x, "w": w})
    assert [nodes_of(graph)[k][0][0] for k in ("leaf0", "leaf1")] == ["x", "w"]
    unnamed = tg.viz.draw((x * w).sum())
    assert nodes_of(unnamed)["leaf0"][0] == ["tensor", "(3,) float32"]


def test_edges_run_in_data_flow_direction():
    x = tg.ones(3, requires_grad=True)
    y = x.exp()
    z = y.sum()
    graph = tg.viz.draw(z)
    assert edges_of(graph) == [("leaf0", "op0"), ("op0", "op1")]  # x -> Exp -> Sum


def test_node_and_cluster_counts_follow_model_depth():
    tg.manual_seed(0)
    ops, clusters = [], []
    for hidden in (1, 2, 3, 4):
        _, loss = mlp_loss(hidden=hidden)
        graph = tg.viz.draw(loss)
        ops.append(len(op_nodes(graph)))
        clusters.append(graph.source.count("subgraph "))
    # each extra block adds a Lin (reshape, mul, sum, add) and an activation: 5 ops, 2 clusters
    assert np.diff(ops).tolist() == [5, 5, 5]
    assert np.diff(clusters).tolist() == [2, 2, 2]


def test_clusters_are_named_and_labelled_after_module_paths():
    tg.manual_seed(0)
    _, loss = mlp_loss(hidden=2)
    source = tg.viz.draw(loss).source
    assert "subgraph cluster_MLP {" in source  # the outermost module, by class
    assert "subgraph cluster_encoder {" in source
    for path, kind in (("encoder.0", "Lin"), ("encoder.1", "Act"), ("encoder.2", "Lin")):
        assert f'subgraph "cluster_{path}" {{' in source
        assert f'label="{path} ({kind})"' in source
    assert 'label="head (Lin)"' in source


def test_each_call_of_a_module_gets_its_own_cluster_and_depth_collapses_calls():
    tg.manual_seed(0)
    steps = 5
    rnn = RNN(3)
    h0 = tg.zeros(3, requires_grad=True)
    out = rnn(np.ones((steps, 3), dtype=np.float32)) + h0
    source = tg.viz.draw(out).source
    for k in range(1, steps + 1):
        assert f"cluster_cell_call{k} {{" in source
        assert f'label="cell (Cell) call {k}"' in source
    collapsed = tg.viz.draw(out, depth=1)
    modules = {k: v for k, v in nodes_of(collapsed).items() if k.startswith("module")}
    assert len(modules) == steps
    assert all("shape=box3d" in attrs for _, attrs in modules.values())
    chain = [(a, b) for a, b in edges_of(collapsed) if a.startswith("module")]
    assert chain[: steps - 1] == [(f"module{i}", f"module{i + 1}") for i in range(steps - 1)]
    # the weight every call reads is drawn next to each call, not as one node with 5 edges
    leaves = [lines for k, (lines, _) in nodes_of(collapsed).items() if k.startswith("leaf")]
    assert leaves == [["tensor", "(3,) float32"]] + [["cell.w_hh", f"shared by {steps}"]] * steps
    whole = tg.viz.draw(out, depth=0)
    assert [k for k in nodes_of(whole) if k.startswith("module")] == ["module0"]
    n_ops = len(op_nodes(tg.viz.draw(out))) - 1  # all but the final Add, outside the RNN
    assert nodes_of(whole)["module0"][0][:2] == ["RNN", f"{n_ops} ops, 1 param (9 values)"]


def test_depth_collapsed_module_lists_its_parameters_and_outputs():
    tg.manual_seed(0)
    _, loss = mlp_loss(hidden=1)
    graph = tg.viz.draw(loss, depth=1)
    labels = [lines for k, (lines, _) in nodes_of(graph).items() if k.startswith("module")]
    assert labels == [
        ["encoder (Sequential)", "4 ops, 2 params (12 values)", "-> (8, 4) float32"],
        ["head (Lin)", "4 ops, 2 params (5 values)", "-> (8, 1) float32"],
    ]
    with pytest.raises(ValueError, match="depth must be None or >= 0"):
        tg.viz.draw(loss, depth=-1)


def test_show_grads_and_show_order_need_a_traced_backward():
    x = tg.ones(2, requires_grad=True)
    loss = (x * 3).sum()
    loss.backward()
    with pytest.raises(ValueError, match=r"inside `with tg.viz.trace\(\):`"):
        tg.viz.draw(loss, show_grads=True)
    with pytest.raises(ValueError, match="show_order needs"):
        tg.viz.draw(loss, show_order=True)


def test_show_grads_colours_by_norm_with_a_legend():
    tg.manual_seed(0)
    model = nn.Sequential(Lin(2, 3), Lin(3, 1))
    with tg.viz.trace():
        loss = (model(tg.randn(4, 2)) ** 2).sum()
        loss.backward()
    graph = tg.viz.draw(loss, show_grads=True)
    nodes = nodes_of(graph)
    root = next(
        lines for k, (lines, _) in nodes.items() if k.startswith("op") and "() " in lines[1]
    )
    assert root[-1] == "|grad| 1.00e+00"  # d loss / d loss
    weight = nodes["leaf0"][0]
    expected = np.linalg.norm(model[0].weight.grad.numpy())
    assert weight[-1] == f"|grad| {expected:.2e}"
    assert "legend [label=<<TABLE" in graph.source and "|grad| (log scale)" in graph.source
    fills = {
        re.search(r'fillcolor="([^"]+)"', a)[1] for k, (_, a) in nodes.items() if k != "legend"
    }
    assert colors.NAN_FILL not in fills and len(fills) > 3


def test_nan_and_its_origin_are_marked_after_a_backward_that_made_one():
    x = tg.tensor([1.0, 0.0, 4.0], dtype=tg.float32, requires_grad=True)
    w = tg.tensor([2.0, 0.0, 1.0], dtype=tg.float32, requires_grad=True)
    with tg.viz.trace():
        loss = (x * w).sqrt().sum()
        with np.errstate(divide="ignore", invalid="ignore"):  # sqrt'(0) = inf, inf * 0 = nan
            loss.backward()
    nodes = nodes_of(tg.viz.draw(loss, show_grads=True, params={"x": x, "w": w}))
    by_op = {lines[0]: (lines, attrs) for k, (lines, attrs) in nodes.items() if k != "legend"}
    sqrt_lines, sqrt_attrs = by_op["Sqrt"]
    assert "NaN/inf starts here" in sqrt_lines and 'color="#7a0000"' in sqrt_attrs
    mul_lines, mul_attrs = by_op["Mul"]
    assert "grad inf" in mul_lines and f'fillcolor="{colors.NAN_FILL}"' in mul_attrs
    assert "NaN/inf starts here" not in mul_lines  # it only passed the inf on
    assert "grad NaN" in by_op["x"][0] and f'fillcolor="{colors.NAN_FILL}"' in by_op["w"][1]


def test_vanishing_gradients_are_marked_distinctly():
    x = tg.ones(3, requires_grad=True)
    with tg.viz.trace():
        loss = (x * 1e-12).sum()
        loss.backward()
    nodes = nodes_of(tg.viz.draw(loss, show_grads=True))
    lines, attrs = nodes["leaf0"]
    assert lines[-1].endswith("vanishing") and f'fillcolor="{colors.VANISHING_FILL}"' in attrs
    assert "dashed" in attrs


class _ReplayOrder:
    """A tracer of our own: the nodes in the order the engine replays them."""

    def __init__(self):
        self.nodes = []

    def on_record(self, node, args, outputs):
        pass

    def on_backward(self, node, output_grads, input_grads):
        self.nodes.append(node)


def test_show_order_numbers_nodes_in_replay_order():
    tg.manual_seed(0)
    model = nn.Sequential(Lin(2, 3), Lin(3, 2))
    x = tg.randn(5, 2, requires_grad=True)
    spy = _ReplayOrder()
    with tg.viz.trace():
        h = model(x)
        loss = (h * h).sum() + h.exp().mean()  # h feeds two branches
        current().tracers.append(spy)
        try:
            loss.backward()
        finally:
            current().tracers.remove(spy)
    labels = [lines[0] for lines, _ in op_nodes(tg.viz.draw(loss, show_order=True)).values()]
    steps = {int(m[1]): m[2] for m in (re.match(r"#(\d+) (\w+)", s) for s in labels)}
    assert sorted(steps) == list(range(1, len(spy.nodes) + 1))
    assert [steps[k] for k in sorted(steps)] == [op_name(n) for n in spy.nodes]


def test_a_second_backward_pass_numbers_from_one_again():
    x = tg.ones(2, requires_grad=True)
    with tg.viz.trace():
        loss = (x.exp() * 2).sum()
        loss.backward(retain_graph=True)
        loss.backward()
    labels = sorted(lines[0] for lines, _ in op_nodes(tg.viz.draw(loss, show_order=True)).values())
    assert labels == ["#1 Sum", "#2 Mul", "#3 Exp"]


def test_tape_draw_draws_what_was_recorded():
    tg.manual_seed(0)
    with tg.viz.trace() as tape:
        _, loss = mlp_loss(hidden=1)
    assert tape.draw().source == tg.viz.draw(loss).source


def test_draw_rejects_tensors_without_a_graph():
    with pytest.raises(ValueError, match=r"tensor 0 \(shape \(2,\)\) does not require grad"):
        tg.viz.draw(tg.ones(2))
    with pytest.raises(TypeError, match="item 0 is a list"):
        tg.viz.draw([[1.0]])


def _tiny_graph():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(tg.tensor([0.5, -1.0], dtype=tg.float32))

        def forward(self, x):
            return x * self.weight

    x = tg.tensor([1.0, 2.0], dtype=tg.float32, requires_grad=True)
    y = Scale()(x)
    return tg.viz.draw((y * y + y).sum(), params={"x": x})


def test_golden_dot_source_for_a_tiny_graph():
    source = _tiny_graph().source
    assert source == (GOLDEN / "tiny.dot").read_text(encoding="utf-8")
    assert _tiny_graph().source == source  # ids come from the graph, not from id()
