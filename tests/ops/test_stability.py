"""Numerical stability at extreme inputs: finite, correct values and gradients.

Each case is a function whose true value and gradient are finite at the inputs given, so an
inf or a NaN in the result is a bug in a formula, not in the math. Values and gradients are
checked against float64 references written with stable formulas, and against torch in the
same dtype when torch is installed. Ops silence numpy's floating-point warnings inside
forward (as torch is silent); a warning raised anywhere else (the engine) fails here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import tapegrad as tg

# Some cases compute fragile patterns on purpose (log(sigmoid(x))) to show they stay finite in
# range; tapegrad's advice to use the stable op is tested in tests/autograd/test_numerics.py.
pytestmark = pytest.mark.filterwarnings("ignore::tapegrad.NumericsWarning")

# Absolute slack for gradients: 1 - tanh(x)^2 and s * (1 - s) cancel in the working precision,
# so a gradient near 0 is only good to about one ulp of 1 (torch computes them the same way).
TOL = {
    "float32": {"value": (1e-5, 1e-38), "grad": (1e-5, 1e-6)},
    "float64": {"value": (1e-13, 1e-300), "grad": (1e-12, 1e-14)},
}


@dataclass(frozen=True)
class Case:
    """``fn(lib, x)`` spelled once for tapegrad and torch; float64 reference value and f'(x)."""

    id: str
    fn: Callable
    x: tuple
    dtype: str
    value: Callable
    derivative: Callable


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _sigmoid_prime(x):
    s = _sigmoid(x)
    return s * _sigmoid(-x)  # s * (1 - s) without the cancellation


def _tanh_prime(x):
    # 1 - tanh^2 = 4 e^{-2|x|} / (1 + e^{-2|x|})^2, finite for every x
    e = np.exp(-2 * np.abs(x))
    return 4 * e / (1 + e) ** 2


def _ones(x):
    return np.ones_like(x)


def _identity(x):
    return x


CASES = [
    Case("sigmoid", lambda m, x: m.sigmoid(x), (-1e4, -50, 0, 50, 1e4), "float32", _sigmoid,
         _sigmoid_prime),
    Case("sigmoid", lambda m, x: m.sigmoid(x), (-1e4, -700, 0, 700, 1e4), "float64", _sigmoid,
         _sigmoid_prime),
    Case("tanh", lambda m, x: m.tanh(x), (-1e4, -20, 0.5, 20, 1e4), "float32", np.tanh,
         _tanh_prime),
    Case("tanh", lambda m, x: m.tanh(x), (-1e4, -400, 0.5, 400, 1e4), "float64", np.tanh,
         _tanh_prime),
    Case("log(exp(x))", lambda m, x: m.log(m.exp(x)), (-80, 0, 80), "float32", _identity, _ones),
    Case("log(exp(x))", lambda m, x: m.log(m.exp(x)), (-700, 0, 700), "float64", _identity,
         _ones),
    Case("exp(log(x))", lambda m, x: m.exp(m.log(x)), (1e-30, 1, 1e30), "float32", _identity,
         _ones),
    Case("exp(x) underflow", lambda m, x: m.exp(x), (-1e4, -200), "float32", np.exp, np.exp),
    Case("log(sigmoid(x))", lambda m, x: m.log(m.sigmoid(x)), (-80, -10, 0), "float32",
         lambda x: -np.logaddexp(0, -x), lambda x: _sigmoid(-x)),
    Case("log1p(x) tiny", lambda m, x: m.log1p(x), (-1e-10, 1e-10), "float64", np.log1p,
         lambda x: 1 / (1 + x)),
    Case("expm1(x) tiny", lambda m, x: m.expm1(x), (-1e-10, 1e-10), "float64", np.expm1, np.exp),
    # a square overflows inside these backward formulas, but the gradient it feeds is ~0
    Case("atan(x) huge", lambda m, x: m.atan(x), (-3e19, 3e19), "float32", np.arctan,
         lambda x: 1 / (1 + x * x)),
    Case("erf(x) huge", lambda m, x: m.erf(x), (-3e19, 3e19), "float32", np.sign,
         lambda x: np.zeros_like(x)),
    Case("1 / y, y huge", lambda m, y: m.div(1.0, y), (-3e19, 3e19), "float32", lambda y: 1 / y,
         lambda y: -1 / (y * y)),
]  # fmt: skip


def _params():
    return [pytest.param(case, id=f"{case.id}-{case.dtype}") for case in CASES]


@pytest.fixture(autouse=True)
def _numpy_warnings_are_errors():
    """Independent of the pytest config: an overflow or invalid-value warning fails here."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def _cotangent(case: Case) -> np.ndarray:
    """Different weights per element, so a wrong sign or a swapped element cannot hide."""
    return np.linspace(0.5, 1.5, len(case.x)).astype(case.dtype)


def _run_tapegrad(case: Case, create_graph: bool = False):
    x = tg.tensor(np.array(case.x, dtype=case.dtype), requires_grad=True)
    out = case.fn(tg, x)
    (grad,) = tg.autograd.grad(out, x, tg.from_numpy(_cotangent(case)), create_graph=create_graph)
    return x, out, grad


@pytest.mark.parametrize("case", _params())
def test_value_and_gradient_are_finite_and_right(case):
    _, out, grad = _run_tapegrad(case)
    value, grad = out.detach().numpy(), grad.detach().numpy()
    assert value.dtype == grad.dtype == np.dtype(case.dtype)
    assert np.isfinite(value).all(), value
    assert np.isfinite(grad).all(), grad
    x64 = np.array(case.x, dtype=case.dtype).astype(np.float64)
    tol = TOL[case.dtype]
    rtol, atol = tol["value"]
    np.testing.assert_allclose(value, case.value(x64), rtol=rtol, atol=atol)
    rtol, atol = tol["grad"]
    expected = _cotangent(case).astype(np.float64) * case.derivative(x64)
    np.testing.assert_allclose(grad, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", _params())
def test_matches_torch(case):
    torch = pytest.importorskip("torch")
    _, out, grad = _run_tapegrad(case)
    tx = torch.tensor(np.array(case.x, dtype=case.dtype), requires_grad=True)
    t_out = case.fn(torch, tx)
    (t_grad,) = torch.autograd.grad(t_out, tx, torch.from_numpy(_cotangent(case)))
    tol = TOL[case.dtype]
    rtol, atol = tol["value"]
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=rtol, atol=atol)
    rtol, atol = tol["grad"]
    np.testing.assert_allclose(grad.detach().numpy(), t_grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_second_derivative_is_finite_at_saturation(name, dtype):
    # sigmoid'' = s(1-s)(1-2s) and tanh'' = -2 t (1-t^2): both vanish far from 0
    x = tg.tensor(np.array([-1e4, 1e4], dtype=dtype), requires_grad=True)
    (g,) = tg.autograd.grad(getattr(tg, name)(x), x, tg.ones(2, dtype=x.dtype), create_graph=True)
    (gg,) = tg.autograd.grad(g, x, tg.ones(2, dtype=x.dtype))
    np.testing.assert_array_equal(gg.numpy(), np.zeros(2, dtype=dtype))


@pytest.mark.parametrize("grad", [True, False], ids=["recording", "no_grad"])
def test_ops_are_quiet_but_leave_numpy_error_state_to_the_caller(grad):
    # ops silence numpy inside (their own quiet context); the caller's numpy code still warns
    x = tg.tensor([1e30, 0.0], requires_grad=grad)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        before = np.geterr()
        y = (x * x).exp() / x  # overflow, then division by zero
        assert np.geterr() == before
        with pytest.raises(FloatingPointError):
            np.float32(1e30) * np.float32(1e30)
    assert np.isinf(y.detach().numpy()[0])
    with pytest.warns(RuntimeWarning, match="overflow"):
        np.exp(np.float32(100))
