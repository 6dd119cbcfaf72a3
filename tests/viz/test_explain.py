"""explain(): replay steps, local rules, paths adding up, leaf totals; the graph is left intact."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.viz.explain import rule_for


def test_each_replay_step_shows_incoming_gradient_rule_and_what_it_sends():
    x = tg.tensor([1.0, 2.0], dtype=tg.float32, requires_grad=True)
    w = tg.tensor([3.0, -1.0], dtype=tg.float32, requires_grad=True)
    loss = (x * w).tanh().sum()
    result = tg.viz.explain(loss, params={"x": x, "w": w})
    assert [(s.number, s.op) for s in result.steps] == [(1, "Sum"), (2, "Tanh"), (3, "Mul")]
    tanh = result.steps[1]
    assert tanh.grad == "[1, 1]"
    assert tanh.rule.startswith("d/dx tanh(x) = 1 - tanh(x)^2")
    expected = 1 - np.tanh(np.array([3.0, -2.0])) ** 2
    assert tanh.sent == [("grad_x", f"[{expected[0]:.4g}, {expected[1]:.4g}]", "Mul (step 3)")]
    assert [target for _, _, target in result.steps[2].sent] == ["x (2,)", "w (2,)"]
    text = str(result)
    assert "step 1: Sum" in text and "(the seed: d output / d output)" in text
    assert "    rule     grad_x = grad * y, grad_y = grad * x" in text


def test_gradients_of_two_paths_add_up_at_a_tensor_used_twice():
    x = tg.tensor([2.0], dtype=tg.float32, requires_grad=True)
    y = x * 3
    loss = (y * y + y).sum()  # y feeds the product twice and the sum once
    result = tg.viz.explain(loss, params={"x": x})
    mul3 = next(s for s in result.steps if s.op == "Mul" and s.number == len(result.steps))
    assert len(mul3.arrived) == 3 and mul3.grad == "[13]"  # dL/dy = 2y + 1 = 13
    text = str(result)
    assert "(3 paths add up here)" in text
    assert "x (1,):  [39]" in text  # dL/dx = 13 * 3
    assert x.grad is None  # explain never touches .grad
    loss.backward()  # and keeps the graph
    np.testing.assert_allclose(x.grad.numpy(), [39.0])


def test_a_leaf_reached_by_two_paths_shows_the_sum():
    x = tg.tensor([1.0, 2.0], dtype=tg.float32, requires_grad=True)
    result = tg.viz.explain((x * x).sum(), params={"x": x})
    name, arrived, total = result.leaves[0]
    assert name == "x (2,)" and len(arrived) == 2 and total == "[2, 4]"
    assert "= [2, 4]  (2 paths add up here)" in str(result)


def test_large_tensors_show_shape_and_norm():
    x = tg.ones(4, 5, requires_grad=True)
    result = tg.viz.explain((x * 2).sum(), max_values=8)
    assert result.steps[1].sent[0][1] == f"shape (4, 5), norm {np.sqrt(20 * 4):.3g}"


def test_nan_origin_is_pointed_out():
    x = tg.tensor([0.0, 1.0], dtype=tg.float32, requires_grad=True)
    with np.errstate(divide="ignore"):
        result = tg.viz.explain(x.sqrt().sum())
    assert [s.nonfinite for s in result.steps] == [False, True]
    assert "!! a finite gradient came in and NaN/inf went out: here" in str(result)


def test_explain_after_a_freeing_backward_says_what_to_do():
    x = tg.ones(2, requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(ValueError, match="call explain\\(\\) before backward\\(\\)"):
        tg.viz.explain(loss)
    with pytest.raises(ValueError, match="needs a tensor computed from tensors that require"):
        tg.viz.explain(tg.ones(2))


def test_explanation_draws_the_graph_with_gradients_on_edges():
    pytest.importorskip("graphviz")
    x = tg.tensor([1.0, 2.0], dtype=tg.float32, requires_grad=True)
    source = tg.viz.explain((x * 3).sum(), params={"x": x}).draw().source
    assert 'leaf0 -> op0 [label="grad [3, 3]" fontcolor="#b03a2e"]' in source
    assert 'op0 -> op1 [label="grad [1, 1]" fontcolor="#b03a2e"]' in source
    assert 'leaf0 [label="x' in source
    assert 'label="#1 Sum' in source and 'label="#2 Mul' in source


def test_rules_fall_back_to_derivative_comments_then_docstrings():
    from tapegrad.ops.elementwise import Cos, Exp2

    assert rule_for(Exp2) == "d/dx 2^x = 2^x ln 2"
    assert rule_for(Cos) == "grad_x = grad * (-sin(x))"

    class Cube(tg.autograd.Function):
        """x^3, elementwise."""

        @staticmethod
        def forward(ctx, x):
            return x._data**3

        @staticmethod
        def backward(ctx, grad):
            return grad

    assert rule_for(Cube) == "x^3, elementwise."
