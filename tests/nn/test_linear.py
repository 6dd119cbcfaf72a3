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


# --- the layers ------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
def test_linear_layer_with_torch_weights_matches_torch(torch, bias, shape):
    t_layer = torch.nn.Linear(4, 3, bias=bias).double()
    layer = tg.nn.Linear(4, 3, bias=bias, dtype=tg.float64)
    layer.load_state_dict({k: v.numpy() for k, v in t_layer.state_dict().items()})
    assert repr(layer) == repr(t_layer)
    assert list(layer.state_dict()) == list(t_layer.state_dict())
    data = np.random.default_rng(0).standard_normal(shape)
    x = tg.tensor(data, requires_grad=True)
    t_x = torch.tensor(data, requires_grad=True)
    out, t_out = layer(x), t_layer(t_x)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
    v = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(tg.tensor(v))
    t_out.backward(torch.tensor(v))
    np.testing.assert_allclose(x.grad.numpy(), t_x.grad.numpy(), rtol=1e-12)
    for (key, p), (t_key, t_p) in zip(layer.named_parameters(), t_layer.named_parameters()):
        assert key == t_key
        np.testing.assert_allclose(p.grad.numpy(), t_p.grad.numpy(), rtol=1e-12)


def test_linear_layer_float32_matches_torch(torch):
    t_layer = torch.nn.Linear(64, 10)
    layer = tg.nn.Linear(64, 10)
    layer.load_state_dict({k: v.numpy() for k, v in t_layer.state_dict().items()})
    data = np.random.default_rng(0).standard_normal((8, 64)).astype(np.float32)
    out = layer(tg.tensor(data))
    assert out.dtype == tg.float32
    np.testing.assert_allclose(
        out.detach().numpy(), t_layer(torch.tensor(data)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_linear_default_init_bounds_and_spread():
    layer = tg.nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    weight, bias = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert layer.weight.dtype == tg.float32 and tuple(layer.weight.shape) == (300, 400)
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.99 * bound
    assert weight.std() == pytest.approx(bound / np.sqrt(3), rel=0.01)
    assert np.abs(bias).max() <= bound and bias.std() > 0.5 * bound / np.sqrt(3)


def test_linear_init_repeats_under_manual_seed():
    tg.manual_seed(5)
    first = tg.nn.Linear(3, 2).state_dict()
    tg.manual_seed(5)
    second = tg.nn.Linear(3, 2).state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key].numpy(), second[key].numpy())


def test_linear_without_bias_registers_none():
    layer = tg.nn.Linear(3, 2, bias=False)
    assert layer.bias is None
    assert list(layer.state_dict()) == ["weight"]
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"


def test_linear_layer_shape_error_names_the_shapes():
    with pytest.raises(ValueError, match=r"input of shape \(2, 5\) and weight of shape \(2, 3\)"):
        tg.nn.Linear(3, 2)(tg.randn(2, 5))


def test_identity_ignores_arguments_and_returns_its_input():
    x = tg.randn(2)
    assert tg.nn.Identity(54, unused="x")(x) is x
    assert repr(tg.nn.Identity(3)) == "Identity()"


@pytest.mark.parametrize(("start", "end"), [(1, -1), (0, 1), (-2, -1)])
def test_flatten_matches_torch(torch, start, end):
    data = np.arange(24.0).reshape(2, 3, 4)
    out = tg.nn.Flatten(start, end)(tg.tensor(data))
    t_layer = torch.nn.Flatten(start, end)
    np.testing.assert_array_equal(out.numpy(), t_layer(torch.tensor(data)).numpy())
    assert repr(tg.nn.Flatten(start, end)) == repr(t_layer)


def test_flatten_and_unflatten_by_hand():
    x = tg.randn(2, 3, 4, requires_grad=True)
    flat = tg.nn.Flatten()(x)
    assert tuple(flat.shape) == (2, 12)
    back = tg.nn.Unflatten(1, (3, 4))(flat)
    assert tuple(back.shape) == (2, 3, 4)
    back.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3, 4)))
    assert repr(tg.nn.Unflatten(1, [3, 4])) == "Unflatten(dim=1, unflattened_size=[3, 4])"


def test_unflatten_rejects_non_int_sizes():
    with pytest.raises(TypeError, match="found element of type float at pos 1"):
        tg.nn.Unflatten(1, (3, 4.0))
    with pytest.raises(TypeError, match="must be a tuple of ints, but found type int"):
        tg.nn.Unflatten(1, 12)
