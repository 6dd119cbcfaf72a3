"""tg.func: grad, grad_and_value, vjp, jacrev/jacobian, hessian, against torch.func and by hand."""

from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import func


def f64(values, requires_grad: bool = False) -> tg.Tensor:
    return tg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


X = np.array([0.5, -1.25, 2.0])
Y = np.array([1.5, 0.25, -0.75])


def as_numpy(tree):
    """Tensors (ours or torch's) in nested tuples/dicts, as numpy arrays."""
    if isinstance(tree, (tuple, list)):
        return type(tree)(as_numpy(t) for t in tree)
    if isinstance(tree, dict):
        return {k: as_numpy(v) for k, v in tree.items()}
    return tree.detach().numpy()


def assert_trees_close(ours, theirs) -> None:
    _assert_close(as_numpy(ours), as_numpy(theirs))


def _assert_close(ours, theirs) -> None:
    if isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_close(a, b)
    elif isinstance(theirs, dict):
        assert ours.keys() == theirs.keys()
        for key in theirs:
            _assert_close(ours[key], theirs[key])
    else:
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


# --- by hand (no torch needed) ----------------------------------------------------------------


def test_grad_by_hand():
    x = f64(X)
    g = func.grad(lambda x: (x**3).sum())(x)
    np.testing.assert_allclose(g.numpy(), 3 * X**2)
    assert not g.requires_grad  # the outermost result is a plain tensor, as torch.func's


def test_grad_of_grad_by_hand():
    d2 = func.grad(func.grad(lambda x: x**3))(f64(2.0))
    assert d2.item() == pytest.approx(12.0)
    d3 = func.grad(func.grad(func.grad(lambda x: x**3)))(f64(2.0))
    assert d3.item() == pytest.approx(6.0)


def test_jacrev_and_hessian_by_hand():
    x = f64(X)
    np.testing.assert_allclose(func.jacrev(lambda x: x.sin())(x).numpy(), np.diag(np.cos(X)))
    np.testing.assert_allclose(func.hessian(lambda x: (x**3).sum())(x).numpy(), np.diag(6 * X))
    assert func.jacobian is func.jacrev


def test_vjp_by_hand():
    out, vjp_fn = func.vjp(lambda x, y: x * y, f64(X), f64(Y))
    np.testing.assert_allclose(out.numpy(), X * Y)
    gx, gy = vjp_fn(f64([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(gx.numpy(), Y * [1, 2, 3])
    np.testing.assert_allclose(gy.numpy(), X * [1, 2, 3])
    (again, _) = vjp_fn(f64([1.0, 1.0, 1.0]))  # vjp_fn can be called again
    np.testing.assert_allclose(again.numpy(), Y)


def test_namedtuple_arguments_keep_their_type():
    Params = collections.namedtuple("Params", ["w", "b"])
    g = func.grad(lambda p: (p.w * p.b).sum())(Params(f64(X), f64(Y)))
    assert isinstance(g, Params)
    np.testing.assert_allclose(g.w.numpy(), Y)
    np.testing.assert_allclose(g.b.numpy(), X)


def test_unused_input_gets_zeros():
    g = func.grad(lambda x, y: (x * 2).sum(), argnums=(0, 1))(f64(X), f64(Y))
    np.testing.assert_allclose(g[1].numpy(), np.zeros(3))
    np.testing.assert_allclose(func.grad(lambda x: f64(1.0))(f64(X)).numpy(), np.zeros(3))


def test_perturbation_confusion_is_avoided():
    # d/dx [ d/dy (x * y) at y = x ] = d/dx x = 1, not 2
    inner = func.grad(lambda x: func.grad(lambda y: x * y)(x))
    assert inner(f64(3.0)).item() == pytest.approx(1.0)


def test_results_stay_connected_to_outside_tensors():
    w = f64(2.0, requires_grad=True)
    g = func.grad(lambda x: (x**2 * w).sum())(f64(X))
    assert g.requires_grad  # d/dx depends on w, which requires grad
    g.sum().backward()
    np.testing.assert_allclose(w.grad.item(), 2 * X.sum())


def test_gradient_penalty_through_func_grad():
    w = f64([0.3, -0.2, 0.5], requires_grad=True)
    x = f64(X, requires_grad=True)
    g = func.grad(lambda x: (x * w).tanh().sum())(x)  # d/dx = w (1 - tanh^2(x w))
    (g * g).sum().backward()
    t = np.tanh(X * w.detach().numpy())
    wn = w.detach().numpy()
    expected_w = 2 * wn * (1 - t**2) ** 2 + 2 * wn**2 * (1 - t**2) * (-2 * t * (1 - t**2) * X)
    np.testing.assert_allclose(w.grad.numpy(), expected_w, rtol=1e-10)


# --- the same numbers as torch.func ---------------------------------------------------------


def both(torch, *arrays):
    return [f64(a) for a in arrays], [torch.tensor(a) for a in arrays]


def mlp_loss(lib, x, w, b):
    return (lib.tanh(x * w + b) ** 2).sum() + (w * b).sum()


CASES = [
    ("grad", lambda f, lib: f.grad(lambda x: (lib.sin(x) * x).sum())),
    ("grad argnums=1", lambda f, lib: f.grad(lambda x, y: (x * y**2).sum(), argnums=1)),
    ("grad argnums=-1", lambda f, lib: f.grad(lambda x, y: (x * y**2).sum(), argnums=-1)),
    ("grad argnums tuple", lambda f, lib: f.grad(lambda x, y: (x * y**2).sum(), argnums=(0, 1))),
    ("grad has_aux", lambda f, lib: f.grad(lambda x: ((x**2).sum(), x * 2), has_aux=True)),
    ("grad_and_value", lambda f, lib: f.grad_and_value(lambda x: (lib.exp(x) / 3).sum())),
    (
        "grad_and_value has_aux",
        lambda f, lib: f.grad_and_value(lambda x: ((x**2).sum(), x.sum()), has_aux=True),
    ),
    ("grad of grad", lambda f, lib: f.grad(lambda x: f.grad(lambda y: (y**4).sum())(x).sum())),
    ("jacrev", lambda f, lib: f.jacrev(lambda x: lib.sin(x) * x.sum())),
    ("jacrev tuple out", lambda f, lib: f.jacrev(lambda x: (x * 2, (x**2).sum()))),
    ("jacrev argnums", lambda f, lib: f.jacrev(lambda x, y: x * y, argnums=(0, 1))),
    ("jacrev has_aux", lambda f, lib: f.jacrev(lambda x: (x**3, x.sum()), has_aux=True)),
    ("jacrev 2-d out", lambda f, lib: f.jacrev(lambda x, y: x.unsqueeze(1) * y.unsqueeze(0))),
    ("hessian", lambda f, lib: f.hessian(lambda x: (lib.tanh(x) * x).sum() * x.sum())),
    (
        "hessian argnums",
        lambda f, lib: f.hessian(lambda x, w: mlp_loss(lib, x, w, 0.5), argnums=(0, 1)),
    ),
    ("jacrev of jacrev", lambda f, lib: f.jacrev(f.jacrev(lambda x: lib.sin(x) * x))),
]


@pytest.mark.parametrize(("name", "build"), CASES, ids=[c[0] for c in CASES])
def test_matches_torch_func(name, build):
    torch = pytest.importorskip("torch")
    ours_args, torch_args = both(torch, X, Y)
    wants_two = "argnums" in name or "2-d" in name
    n = 2 if wants_two else 1
    ours = build(func, tg)(*ours_args[:n])
    with warnings.catch_warnings():
        # torch.func.hessian (forward over reverse) trips torch's own torch.jit deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        theirs = build(torch.func, torch)(*torch_args[:n])
    assert_trees_close(ours, theirs)


def test_pytree_arguments_match_torch():
    torch = pytest.importorskip("torch")

    def loss(lib, params, x):
        return (lib.tanh(x * params["w"]) + params["b"][0] * x).sum()

    ours = func.grad(lambda p, x: loss(tg, p, x))({"w": f64(Y), "b": (f64(X),)}, f64(X))
    theirs = torch.func.grad(lambda p, x: loss(torch, p, x))(
        {"w": torch.tensor(Y), "b": (torch.tensor(X),)}, torch.tensor(X)
    )
    assert_trees_close(ours, theirs)


def test_vjp_matches_torch():
    torch = pytest.importorskip("torch")
    (x, y), (tx, ty) = both(torch, X, Y)
    out, vjp_fn, aux = func.vjp(lambda a, b: ((a * b, a.sin()), b.sum()), x, y, has_aux=True)
    tout, tvjp_fn, taux = torch.func.vjp(
        lambda a, b: ((a * b, a.sin()), b.sum()), tx, ty, has_aux=True
    )
    assert_trees_close(out, tout)
    assert_trees_close(aux, taux)
    ct = (f64([1.0, -1.0, 2.0]), f64([0.5, 0.5, 0.5]))
    tct = (torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64), torch.full((3,), 0.5).double())
    assert_trees_close(vjp_fn(ct), tvjp_fn(tct))


# --- errors, with torch.func's wording ------------------------------------------------------


def test_grad_needs_a_scalar_tensor_output():
    x = f64(X)
    with pytest.raises(RuntimeError, match=r"to return a scalar Tensor, got tensor with 1 dims"):
        func.grad(lambda x: x * 2)(x)
    with pytest.raises(RuntimeError, match=r"to return a Tensor, got <class 'float'>"):
        func.grad(lambda x: 1.0)(x)
    with pytest.raises(RuntimeError, match=r"should be a tuple: \(output, aux\) if has_aux"):
        func.grad(lambda x: x.sum(), has_aux=True)(x)


def test_argnums_are_validated():
    x = f64(X)
    with pytest.raises(RuntimeError, match=r"argnums must be int or Tuple\[int, \.\.\.\], got"):
        func.grad(lambda x: x.sum(), argnums=[0])(x)
    with pytest.raises(RuntimeError, match=r"Got argnum=2, but only 1 positional inputs"):
        func.grad(lambda x: x.sum(), argnums=2)(x)
    with pytest.raises(RuntimeError, match=r"argnums elements must be unique, got \(0, -2\)"):
        func.grad(lambda x, y: x.sum(), argnums=(0, -2))(x, x)
    with pytest.raises(ValueError, match=r"Thing passed to transform API must be Tensor"):
        func.grad(lambda x, y: x.sum(), argnums=1)(x, 2.0)
    with pytest.raises(RuntimeError, match=r"floating point dtype can require gradients"):
        func.grad(lambda x: (x * 2).sum())(tg.tensor([1, 2]))


def test_vjp_cotangent_structure_must_match():
    _, vjp_fn = func.vjp(lambda x: (x * 2, x.sin()), f64(X))
    with pytest.raises(RuntimeError, match=r"cotangents: \*, primal output: \(\*, \*\)"):
        vjp_fn(f64(X))


def test_jacrev_chunk_size_is_validated():
    with pytest.raises(ValueError, match=r"jacrev: `chunk_size` should be greater than 0"):
        func.jacrev(lambda x: x, chunk_size=0)
    np.testing.assert_allclose(
        func.jacrev(lambda x: x * 2, chunk_size=1)(f64(X)).numpy(), 2 * np.eye(3)
    )
