"""F activations and softmax: against torch (values, first and second derivatives), stability
at extreme inputs, in-place forms, the softmax Jacobian by hand, and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tests.helpers import build_arrays, cases_and_samples, op_callable, tg_args, torch_args
from tests.opdb import nn_activation
from tests.opdb.cases import OpCase

ROWS = cases_and_samples({c.name: c for c in nn_activation.CASES if c.name != "linear"})
# torch's hardsigmoid backward multiplies by 1/6 rounded to float32, even in float64
GRAD_RTOL = {"hardsigmoid": 1e-7}


def _torch_fn(torch, case: OpCase):
    return getattr(torch, case.name) if case.torch == "same" else case.torch


def _grads(outputs, inputs, cotangent, create_graph=False):
    return tg.autograd.grad(outputs, inputs, cotangent, create_graph=create_graph)


@pytest.mark.parametrize(("case", "sample", "index"), ROWS)
def test_matches_torch_values_and_two_derivatives(torch, case, sample, index):
    values = build_arrays(case, sample, index)
    args = tg_args(sample, values, read_only=False)
    t_args = torch_args(torch, sample, values)
    out = op_callable(case)(*args, **sample.kwargs)
    t_out = _torch_fn(torch, case)(*t_args, **sample.kwargs)
    assert tuple(out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)

    rng = np.random.default_rng(index)
    v = rng.standard_normal(out.shape)
    ours = [a for a in args if isinstance(a, tg.Tensor) and a.requires_grad]
    theirs = [a for a in t_args if isinstance(a, torch.Tensor) and a.requires_grad]
    grads = _grads(out, ours, tg.from_numpy(v), create_graph=True)
    t_grads = torch.autograd.grad(t_out, theirs, torch.from_numpy(v), create_graph=True)
    for g, t_g in zip(grads, t_grads):
        np.testing.assert_allclose(
            g.detach().numpy(),
            t_g.detach().numpy(),
            rtol=GRAD_RTOL.get(case.name, 1e-10),
            atol=1e-13,
        )

    # second order: d/dx <grad, u> for a random u, against torch's double backward
    us = [rng.standard_normal(g.shape) for g in grads]
    inner = sum((g * tg.from_numpy(u)).sum() for g, u in zip(grads, us))
    t_inner = sum((g * torch.from_numpy(u)).sum() for g, u in zip(t_grads, us))
    if not inner.requires_grad:  # piecewise linear: the gradient does not depend on x
        if case.name != "hardsigmoid":  # torch has no double backward for hardsigmoid
            t_second = torch.autograd.grad(t_inner, theirs, materialize_grads=True)
            assert all(not t_g.any() for t_g in t_second)
        return
    second = tg.autograd.grad(inner, ours, allow_unused=True)
    t_second = torch.autograd.grad(t_inner, theirs, allow_unused=True, materialize_grads=True)
    for g, t_g in zip(second, t_second):
        got = np.zeros(t_g.shape) if g is None else g.numpy()
        np.testing.assert_allclose(got, t_g.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("case", "sample", "index"), ROWS)
def test_matches_torch_in_float32(torch, case, sample, index):
    values = [
        v.astype(np.float32) if isinstance(v, np.ndarray) else v
        for v in build_arrays(case, sample, index)
    ]
    out = op_callable(case)(*tg_args(sample, values, read_only=False), **sample.kwargs)
    t_out = _torch_fn(torch, case)(*torch_args(torch, sample, values), **sample.kwargs)
    assert out.dtype == tg.float32
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)


# --- stability at extreme inputs -------------------------------------------------------------

EXTREME = np.array([[-1e4, -100.0, -30.0, -1.0, 0.5, 30.0, 100.0, 1e4]], dtype=np.float32)

STABLE = [
    ("softmax", lambda f, x: f.softmax(x, dim=1)),
    ("log_softmax", lambda f, x: f.log_softmax(x, dim=1)),
    ("softmin", lambda f, x: f.softmin(x, dim=1)),
    ("softplus", lambda f, x: f.softplus(x)),
    ("softplus beta", lambda f, x: f.softplus(x, beta=0.5, threshold=5.0)),
    ("logsigmoid", lambda f, x: f.logsigmoid(x)),
    ("silu", lambda f, x: f.silu(x)),
    ("mish", lambda f, x: f.mish(x)),
    ("elu", lambda f, x: f.elu(x)),
    ("selu", lambda f, x: f.selu(x)),
    ("celu", lambda f, x: f.celu(x, alpha=0.5)),
    ("gelu", lambda f, x: f.gelu(x)),
    ("gelu tanh", lambda f, x: f.gelu(x, approximate="tanh")),
    ("sigmoid", lambda f, x: f.sigmoid(x)),
    ("tanh", lambda f, x: f.tanh(x)),
    ("hardswish", lambda f, x: f.hardswish(x)),
]


@pytest.mark.parametrize(("name", "call"), STABLE, ids=[s[0] for s in STABLE])
def test_float32_extreme_inputs_are_finite_and_match_torch(torch, name, call):
    v = np.linspace(-1.0, 1.0, EXTREME.size, dtype=np.float32).reshape(EXTREME.shape)
    x = tg.tensor(EXTREME, requires_grad=True)
    out = call(F, x)
    (grad,) = _grads(out, [x], tg.tensor(v))
    t_x = torch.tensor(EXTREME, requires_grad=True)
    t_out = call(torch.nn.functional, t_x)
    (t_grad,) = torch.autograd.grad(t_out, [t_x], torch.tensor(v))
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(grad.numpy()).all()
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad.numpy(), t_grad.numpy(), rtol=1e-5, atol=1e-6)


def test_softmax_of_1e4_logits_by_hand():
    x = tg.tensor([[1e4, 0.0, -1e4], [1e4, 1e4, 0.0]], requires_grad=True)
    out = F.softmax(x, dim=1)
    np.testing.assert_array_equal(out.detach().numpy(), [[1, 0, 0], [0.5, 0.5, 0]])
    log_out = F.log_softmax(x, dim=1)
    np.testing.assert_allclose(
        log_out.detach().numpy(),
        [[0, -1e4, -2e4], [-np.log(2), -np.log(2), -1e4 - np.log(2)]],
        rtol=1e-6,
    )
    (grad,) = _grads(log_out, [x], tg.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    np.testing.assert_allclose(grad.numpy(), [[0, 0, 0], [-0.5, 0.5, 0]], atol=1e-7)


# --- the softmax Jacobian, by hand -----------------------------------------------------------


def test_softmax_backward_is_the_full_jacobian_product():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3, 5))
    v = rng.standard_normal((3, 5))  # a random cotangent: sum(softmax) has zero gradient
    x = tg.tensor(logits, requires_grad=True)
    (grad,) = _grads(F.softmax(x, dim=1), [x], tg.tensor(v))
    for row in range(3):
        s = np.exp(logits[row]) / np.exp(logits[row]).sum()
        jacobian = np.diag(s) - np.outer(s, s)
        np.testing.assert_allclose(grad.numpy()[row], jacobian.T @ v[row], rtol=1e-12)


def test_log_softmax_backward_is_the_full_jacobian_product():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((4, 3))
    v = rng.standard_normal((4, 3))
    x = tg.tensor(logits, requires_grad=True)
    (grad,) = _grads(F.log_softmax(x, dim=0), [x], tg.tensor(v))
    for col in range(3):
        s = np.exp(logits[:, col]) / np.exp(logits[:, col]).sum()
        jacobian = np.eye(4) - np.outer(np.ones(4), s)
        np.testing.assert_allclose(grad.numpy()[:, col], jacobian.T @ v[:, col], rtol=1e-12)


def test_gradient_of_summed_softmax_is_zero():
    x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
    F.softmax(x, dim=-1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.0, atol=1e-15)


def test_softmax_dtype_argument_casts_first():
    x = tg.randn(2, 3, requires_grad=True)
    out = F.softmax(x, dim=1, dtype=tg.float64)
    assert out.dtype == tg.float64
    out.backward(tg.ones(2, 3, dtype=tg.float64))
    assert x.grad.dtype == tg.float32


def test_implicit_softmax_dim_warns_and_picks_torchs_dim():
    x = tg.randn(2, 3, dtype=tg.float64)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = F.softmax(x)
    np.testing.assert_allclose(out.sum(1).numpy(), 1.0)
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        F.log_softmax(tg.randn(3))


def test_softmin_is_softmax_of_minus_x():
    x = tg.randn(2, 5, dtype=tg.float64)
    np.testing.assert_allclose(F.softmin(x, 1).numpy(), F.softmax(-x, 1).numpy())


# --- namespace, graph names, in-place forms --------------------------------------------------


def test_torch_top_level_names_and_methods_exist():
    x = tg.randn(2, 3, dtype=tg.float64)
    for name in ("softmax", "log_softmax", "selu", "celu", "prelu"):
        assert callable(getattr(tg, name))
    np.testing.assert_array_equal(x.softmax(1).numpy(), tg.softmax(x, 1).numpy())
    np.testing.assert_array_equal(x.log_softmax(-1).numpy(), F.log_softmax(x, -1).numpy())
    w = tg.tensor([0.25, 0.5, 0.75], dtype=tg.float64)
    np.testing.assert_array_equal(x.prelu(w).numpy(), F.prelu(x, w).numpy())


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda x: F.softmax(x, 0), "SoftmaxBackward0"),
        (lambda x: F.log_softmax(x, 0), "LogSoftmaxBackward0"),
        (F.gelu, "GeluBackward0"),
        (F.silu, "SiluBackward0"),
        (F.elu, "EluBackward0"),
        (F.leaky_relu, "LeakyReluBackward0"),
        (F.relu6, "HardtanhBackward0"),
        (F.softplus, "SoftplusBackward0"),
    ],
)
def test_graph_names_match_torch(call, name):
    assert call(tg.randn(3, requires_grad=True)).grad_fn.name() == name


INPLACE = [
    (F.relu, {}),
    (F.relu6, {}),
    (F.leaky_relu, {"negative_slope": 0.2}),
    (F.elu, {}),
    (F.selu, {}),
    (F.celu, {}),
    (F.silu, {}),
    (F.mish, {}),
    (F.hardtanh, {}),
    (F.hardsigmoid, {}),
    (F.hardswish, {}),
]


@pytest.mark.parametrize(("fn", "kwargs"), INPLACE, ids=[f.__name__ for f, _ in INPLACE])
def test_inplace_writes_into_the_input_and_still_backpropagates(fn, kwargs):
    leaf = tg.tensor([-2.0, -0.5, 0.5, 2.0], dtype=tg.float64, requires_grad=True)
    x = leaf * 1.5
    want = fn(leaf * 1.5, **kwargs)
    (want_grad,) = _grads(want, [leaf], tg.ones(4, dtype=tg.float64))
    out = fn(x, inplace=True, **kwargs)
    assert out is x
    np.testing.assert_array_equal(x.detach().numpy(), want.detach().numpy())
    (grad,) = _grads(out, [leaf], tg.ones(4, dtype=tg.float64))
    np.testing.assert_array_equal(grad.numpy(), want_grad.numpy())


def test_inplace_without_grad_changes_the_tensor():
    x = tg.tensor([-1.0, 2.0])
    assert F.relu(x, inplace=True) is x
    np.testing.assert_array_equal(x.numpy(), [0.0, 2.0])


def test_inplace_on_a_leaf_that_requires_grad_raises():
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.elu(tg.randn(3, requires_grad=True), inplace=True)


# --- errors ------------------------------------------------------------------------------------


def test_integer_input_raises():
    with pytest.raises(TypeError, match="gelu: expected a floating point tensor, got dtype int64"):
        F.gelu(tg.tensor([1, 2]))
    with pytest.raises(TypeError, match="softmax: expected a floating point tensor"):
        tg.softmax(tg.tensor([1, 2]), 0)


def test_option_errors_match_torch():
    x = tg.randn(3)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(x, 1.0, -1.0)
    with pytest.raises(ZeroDivisionError, match="alpha cannot be 0 for CELU"):
        F.celu(x, alpha=0.0)
    with pytest.raises(IndexError, match=r"expected to be in range of \[-1, 0\], but got 1"):
        F.softmax(x, dim=1)


def test_prelu_weight_size_mismatch_names_both():
    with pytest.raises(RuntimeError, match="parameter numbers = 4 and channel size = 3"):
        F.prelu(tg.randn(2, 3, 5), tg.ones(4))


# --- the layers ------------------------------------------------------------------------------

LAYERS = [
    ("ReLU", {}),
    ("ReLU", {"inplace": True}),
    ("ReLU6", {}),
    ("LeakyReLU", {"negative_slope": 0.2}),
    ("ELU", {"alpha": 0.7}),
    ("CELU", {"alpha": 1.5, "inplace": True}),
    ("SELU", {}),
    ("GELU", {}),
    ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}),
    ("Mish", {}),
    ("Tanh", {}),
    ("Sigmoid", {}),
    ("Softplus", {"beta": 2.0, "threshold": 3.0}),
    ("Softsign", {}),
    ("LogSigmoid", {}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("Hardsigmoid", {}),
    ("Hardswish", {"inplace": True}),
    ("Softmax", {"dim": 1}),
    ("LogSoftmax", {"dim": -1}),
    ("Softmin", {"dim": 0}),
    ("PReLU", {}),
    ("PReLU", {"num_parameters": 3, "init": 0.1}),
]


@pytest.mark.parametrize(("name", "kwargs"), LAYERS, ids=[f"{n}{k}" for n, k in LAYERS])
def test_layer_matches_torch_layer(torch, name, kwargs):
    t_layer = getattr(torch.nn, name)(**kwargs).double()
    if name == "PReLU":  # distinct slopes, so a wrong channel broadcast shows
        with torch.no_grad():
            t_layer.weight.copy_(torch.linspace(0.1, 0.3, t_layer.weight.numel()))
    layer = getattr(tg.nn, name)(**kwargs).double()
    layer.load_state_dict({k: v.numpy() for k, v in t_layer.state_dict().items()})
    assert repr(layer) == repr(t_layer)
    data = np.random.default_rng(0).uniform(-4, 4, size=(2, 3, 4))
    x = tg.tensor(data, requires_grad=True)
    t_x = torch.tensor(data, requires_grad=True)
    out = layer(x * 1)  # through a non-leaf, so inplace layers are allowed
    t_out = t_layer(t_x * 1)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-15)
    v = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(tg.tensor(v))
    t_out.backward(torch.tensor(v))
    np.testing.assert_allclose(
        x.grad.numpy(), t_x.grad.numpy(), rtol=GRAD_RTOL.get(name.lower(), 1e-10)
    )
    for (key, p), (t_key, t_p) in zip(layer.named_parameters(), t_layer.named_parameters()):
        assert key == t_key
        np.testing.assert_allclose(p.grad.numpy(), t_p.grad.numpy(), rtol=1e-12)


def test_prelu_layer_by_hand():
    layer = tg.nn.PReLU(2)
    assert [(k, tuple(p.shape)) for k, p in layer.named_parameters()] == [("weight", (2,))]
    np.testing.assert_array_equal(layer.weight.detach().numpy(), [0.25, 0.25])
    x = tg.tensor([[-4.0, 2.0], [1.0, -8.0]])
    out = layer(x)
    np.testing.assert_array_equal(out.detach().numpy(), [[-1.0, 2.0], [1.0, -2.0]])
    out.sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy(), [-4.0, -8.0])


def test_prelu_weight_gradient_at_infinite_input_matches_torch(torch):
    # x = +inf takes the identity branch: no inf * 0 = NaN may reach the weight's gradient
    values = [[np.inf, -2.0, 0.0, 3.0, -np.inf]]
    x, w = tg.tensor(values, requires_grad=True), tg.tensor([0.25], requires_grad=True)
    t_x, t_w = torch.tensor(values, requires_grad=True), torch.tensor([0.25], requires_grad=True)
    F.prelu(x, w).sum().backward()
    torch.nn.functional.prelu(t_x, t_w).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t_x.grad.numpy())
    np.testing.assert_array_equal(w.grad.numpy(), t_w.grad.numpy())


def test_activation_reprs_by_hand():
    assert repr(tg.nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(tg.nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(tg.nn.GELU()) == "GELU(approximate='none')"
    assert repr(tg.nn.Softmax()) == "Softmax(dim=None)"
    assert repr(tg.nn.Hardswish(inplace=True)) == "Hardswish()"


def test_hardtanh_layer_rejects_empty_range():
    with pytest.raises(AssertionError, match=r"max_val \(1.0\) must be greater than min_val"):
        tg.nn.Hardtanh(1.0, 1.0)


def test_softmax_layer_without_dim_warns():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        tg.nn.Softmax()(tg.randn(2, 3))


@pytest.mark.parametrize("columns", [8, 4096], ids=["small", "large"])  # two code paths
def test_relu_special_values_and_mask_at_any_size(columns):
    # torch: relu(nan) = nan and its gradient passes there; 0 at -inf, -0.0 and 0
    x = np.random.default_rng(0).standard_normal((2, columns)).astype(np.float32)
    x[0, :5] = [np.nan, -np.inf, np.inf, -0.0, 0.0]
    t = tg.tensor(x, requires_grad=True)
    out = F.relu(t)
    expected = np.where(np.isnan(x) | (x > 0), x, 0)
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    out.backward(tg.ones_like(out))
    np.testing.assert_array_equal(t.grad.numpy(), (np.isnan(x) | (x > 0)).astype(np.float32))
    ints = np.arange(-2 * columns, 2 * columns, dtype=np.int32).reshape(4, -1)
    assert F.relu(tg.tensor(ints)).dtype == tg.int32
    np.testing.assert_array_equal(F.relu(tg.tensor(ints)).numpy(), np.maximum(ints, 0))
