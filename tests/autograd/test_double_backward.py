"""Double backward on a model: an MLP's Hessian, Hessian-vector products, a gradient penalty."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tapegrad as tg

SHAPES = [(3, 2), (3,), (1, 3), (1,)]  # W1, b1, W2, b2: a 2-3-1 tanh MLP, 13 parameters


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s) * 0.8 for s in SHAPES]
    x = rng.standard_normal((5, 2))
    target = rng.standard_normal((5, 1))
    return params, x, target


def linear(lib, x, w, b):
    """x @ w.T + b from broadcasting and sum, the ops this tree has (and torch has too)."""
    return (x.unsqueeze(1) * w.unsqueeze(0)).sum(-1) + b


def mlp(lib, x, w1, b1, w2, b2):
    return linear(lib, lib.tanh(linear(lib, x, w1, b1)), w2, b2)


def mlp_loss(lib, x, target, w1, b1, w2, b2):
    return ((mlp(lib, x, w1, b1, w2, b2) - target) ** 2).mean()


def numpy_loss(theta: np.ndarray, x: np.ndarray, target: np.ndarray) -> float:
    w1, b1, w2, b2 = unflatten(theta)
    h = np.tanh(x @ w1.T + b1)
    return float(np.mean((h @ w2.T + b2 - target) ** 2))


def unflatten(theta: np.ndarray) -> list[np.ndarray]:
    parts, start = [], 0
    for shape in SHAPES:
        size = int(np.prod(shape))
        parts.append(theta[start : start + size].reshape(shape))
        start += size
    return parts


def finite_difference_hessian(f, theta: np.ndarray, h: float = 1e-4) -> np.ndarray:
    n = theta.size
    hess = np.zeros((n, n))
    eye = np.eye(n) * h
    for i in range(n):
        for j in range(n):
            hess[i, j] = (
                f(theta + eye[i] + eye[j])
                - f(theta + eye[i] - eye[j])
                - f(theta - eye[i] + eye[j])
                + f(theta - eye[i] - eye[j])
            ) / (4 * h * h)
    return hess


def assemble(blocks) -> np.ndarray:
    """A nested tuple of Hessian blocks (as tg/torch.func return them) as one matrix."""
    sizes = [int(np.prod(s)) for s in SHAPES]
    rows = []
    for i, row in enumerate(blocks):
        rows.append(
            np.concatenate(
                [
                    np.asarray(b.detach().numpy()).reshape(sizes[i], sizes[j])
                    for j, b in enumerate(row)
                ],
                axis=1,
            )
        )
    return np.concatenate(rows, axis=0)


def tapegrad_hessian(params, x, target) -> np.ndarray:
    xt, tt = tg.tensor(x), tg.tensor(target)
    hessian = tg.func.hessian(
        lambda *p: mlp_loss(tg, xt, tt, *p), argnums=tuple(range(len(SHAPES)))
    )
    return assemble(hessian(*[tg.tensor(p) for p in params]))


def test_mlp_hessian_matches_finite_differences():
    params, x, target = make_data()
    ours = tapegrad_hessian(params, x, target)
    theta = np.concatenate([p.ravel() for p in params])
    numeric = finite_difference_hessian(lambda t: numpy_loss(t, x, target), theta)
    np.testing.assert_allclose(ours, ours.T, atol=1e-12)  # a Hessian is symmetric
    np.testing.assert_allclose(ours, numeric, atol=1e-6)


def test_mlp_hessian_matches_torch():
    torch = pytest.importorskip("torch")
    params, x, target = make_data(1)
    ours = tapegrad_hessian(params, x, target)
    xt, tt = torch.tensor(x), torch.tensor(target)
    hessian = torch.func.hessian(
        lambda *p: mlp_loss(torch, xt, tt, *p), argnums=tuple(range(len(SHAPES)))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # raised inside torch.func
        theirs = assemble(hessian(*[torch.tensor(p) for p in params]))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_hessian_vector_product_by_double_backward():
    params, x, target = make_data(2)
    leaves = [tg.tensor(p, requires_grad=True) for p in params]
    loss = mlp_loss(tg, tg.tensor(x), tg.tensor(target), *leaves)
    grads = tg.autograd.grad(loss, leaves, create_graph=True)
    rng = np.random.default_rng(3)
    v = rng.standard_normal(sum(int(np.prod(s)) for s in SHAPES))
    dot = sum((g * tg.tensor(vi)).sum() for g, vi in zip(grads, unflatten(v)))
    hvp = tg.autograd.grad(dot, leaves)
    ours = np.concatenate([h.numpy().ravel() for h in hvp])
    np.testing.assert_allclose(ours, tapegrad_hessian(params, x, target) @ v, atol=1e-12)


def gradient_penalty(lib, grad_fn, x, w1, b1, w2, b2):
    """WGAN-GP: mean over samples of (|d critic / d x_i| - 1)^2, differentiable in the weights."""
    x = x.detach().requires_grad_()
    (g,) = grad_fn(mlp(lib, x, w1, b1, w2, b2).sum(), x, create_graph=True)
    norms = ((g * g).sum(1) + 1e-12) ** 0.5
    return ((norms - 1) ** 2).mean()


def test_gradient_penalty_passes_gradcheck():
    params, x, _ = make_data(4)
    leaves = [tg.tensor(p, requires_grad=True) for p in params]
    xt = tg.tensor(x)
    penalty = lambda *p: gradient_penalty(tg, tg.autograd.grad, xt, *p)  # noqa: E731
    assert tg.autograd.gradcheck(penalty, leaves)


def test_gradient_penalty_matches_torch():
    torch = pytest.importorskip("torch")
    params, x, _ = make_data(5)
    ours = [tg.tensor(p, requires_grad=True) for p in params]
    theirs = [torch.tensor(p, requires_grad=True) for p in params]
    gp = gradient_penalty(tg, tg.autograd.grad, tg.tensor(x), *ours)
    torch_gp = gradient_penalty(torch, torch.autograd.grad, torch.tensor(x), *theirs)
    gp.backward()
    torch_gp.backward()
    assert gp.item() == pytest.approx(torch_gp.item(), rel=1e-12)
    assert ours[3].grad is None and theirs[3].grad is None  # the output bias leaves no trace
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_backward_with_create_graph_makes_grad_differentiable():
    x = tg.tensor(np.array([0.5, 1.5]), requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    np.testing.assert_allclose(x.grad.detach().numpy(), [0.75, 6.75])
    (second,) = tg.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(second.numpy(), [3.0, 9.0])


def test_third_derivative():
    x = tg.tensor(np.array([0.3, -0.4]), requires_grad=True)
    y = x.sin()
    (d1,) = tg.autograd.grad(y.sum(), x, create_graph=True)
    (d2,) = tg.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = tg.autograd.grad(d2.sum(), x)
    np.testing.assert_allclose(d3.numpy(), -np.cos([0.3, -0.4]), rtol=1e-12)
