"""F.linear and the Linear/Identity/Flatten/Unflatten layers, against torch and by hand."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tests.helpers import build_arrays, cases_and_samples, op_callable, tg_args, torch_args
from tests.opdb import nn_activation

ROWS = cases_and_samples({c.name: c for c in nn_activation.CASES if c.name == "linear"})


@pytest.mark.parametrize(("case", "sample", "index"), ROWS)
def test_f_linear_matches_torch(torch, case, sample, index):
    values = build_arrays(case, sample, index)
    args = tg_args(sample, values, read_only=False)
    t_args = torch_args(torch, sample, values)
    out = op_callable(case)(*args)
    t_out = torch.nn.functional.linear(*t_args)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
    v = np.random.default_rng(index).standard_normal(out.shape)
    grads = tg.autograd.grad(out, args, tg.from_numpy(v))
    t_grads = torch.autograd.grad(t_out, t_args, torch.from_numpy(v))
    for g, t_g in zip(grads, t_grads):
        np.testing.assert_allclose(g.numpy(), t_g.numpy(), rtol=1e-12, atol=1e-14)


def test_f_linear_by_hand():
    x = tg.tensor([[1.0, 2.0]], requires_grad=True)
    w = tg.tensor([[1.0, 0.0], [0.5, -1.0], [2.0, 1.0]], requires_grad=True)
    b = tg.tensor([0.0, 1.0, -1.0], requires_grad=True)
    out = F.linear(x, w, b)
    np.testing.assert_array_equal(out.detach().numpy(), [[1.0, -0.5, 3.0]])
    out.backward(tg.tensor([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(x.grad.numpy(), [[8.0, 1.0]])
    np.testing.assert_array_equal(w.grad.numpy(), [[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 2.0, 3.0])


def test_f_linear_3d_input_equals_matmul_composite():
    x = tg.randn(2, 5, 3, dtype=tg.float64, requires_grad=True)
    w = tg.randn(4, 3, dtype=tg.float64, requires_grad=True)
    b = tg.randn(4, dtype=tg.float64, requires_grad=True)
    v = tg.randn(2, 5, 4, dtype=tg.float64)
    fused = tg.autograd.grad(F.linear(x, w, b), [x, w, b], v)
    composite = tg.autograd.grad(x @ w.T + b, [x, w, b], v)
    for a, c in zip(fused, composite):
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-12)


def test_f_linear_is_one_graph_node():
    out = F.linear(tg.randn(2, 3), tg.randn(4, 3, requires_grad=True), tg.randn(4))
    assert out.grad_fn.name() == "LinearBackward0"


def test_f_linear_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"input of shape \(2, 3\) and weight of shape \(4, 5\)"):
        F.linear(tg.randn(2, 3), tg.randn(4, 5))
    with pytest.raises(ValueError, match=r"bias of shape \(3,\) does not broadcast to .*\(2, 4\)"):
        F.linear(tg.randn(2, 5), tg.randn(4, 5), tg.randn(3))
    with pytest.raises(ValueError, match=r"weight must be 2-D .* got shape \(5,\)"):
        F.linear(tg.randn(2, 5), tg.randn(5))
