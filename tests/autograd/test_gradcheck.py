"""Public gradcheck / gradgradcheck: torch's signature, and reports that name input and element."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd import GradcheckError


def f64(values, requires_grad: bool = True) -> tg.Tensor:
    return tg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


class WrongCube(tg.autograd.Function):
    """x ** 3 whose backward forgot a power: 3x instead of 3x^2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x


class DetachedSin(tg.autograd.Function):
    """sin(x) with a right first derivative whose backward is not differentiable (detached)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.detach().cos()


def test_correct_ops_pass():
    rng = np.random.default_rng(0)
    x = f64(rng.standard_normal((2, 3)))
    y = f64(rng.standard_normal(3))
    assert tg.autograd.gradcheck(lambda a, b: (a * b).tanh() / (1 + b * b), (x, y))
    assert tg.autograd.gradgradcheck(lambda a, b: (a * b).tanh() / (1 + b * b), (x, y))
    assert tg.autograd.gradcheck(tg.sigmoid, x)  # a single tensor is accepted as inputs


def test_wrong_backward_is_rejected_with_input_and_element():
    x = f64([1.0, 2.0])  # at x = 1 the wrong 3x equals 3x^2: element (1,) is the first to differ
    message = (
        r"gradcheck of WrongCube\.apply: Jacobian mismatch for input 0 \(shape \(2,\)\) "
        r"at element \(1,\): analytic -?[\d.]+ vs numeric -?[\d.]+"
    )
    with pytest.raises(GradcheckError, match=message):
        tg.autograd.gradcheck(WrongCube.apply, (x,))
    assert tg.autograd.gradcheck(WrongCube.apply, (x,), raise_exception=False) is False


def test_report_names_the_right_input():
    a = f64([0.5, 0.7])
    b = f64([1.5, 2.0])
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(2,\)\) at element \(0,\)"):
        tg.autograd.gradcheck(lambda a, b: a + WrongCube.apply(b), (a, b))


def test_report_values_are_the_projected_derivatives():
    x = f64([2.0])
    with pytest.raises(GradcheckError) as info:
        tg.autograd.gradcheck(WrongCube.apply, (x,))
    analytic, numeric = [float(v) for v in _values(str(info.value))]
    assert numeric == pytest.approx(2 * analytic, rel=1e-5)  # 3x^2 = 2 * 3x at x = 2


def _values(message: str) -> list[str]:
    words = message.replace(",", " ").split()
    return [words[words.index("analytic") + 1], words[words.index("numeric") + 1]]


def test_large_inputs_use_random_directions():
    x = f64(np.linspace(1.0, 2.0, 100))
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(100,\)\) along random direction"):
        tg.autograd.gradcheck(WrongCube.apply, (x,))
    assert tg.autograd.gradcheck(tg.tanh, (x,))


def test_fast_mode_checks_random_directions_only():
    x = f64([1.0, 2.0, 3.0])
    with pytest.raises(GradcheckError, match=r"along random direction 0"):
        tg.autograd.gradcheck(WrongCube.apply, (x,), fast_mode=True)
    assert tg.autograd.gradcheck(tg.tanh, (x,), fast_mode=True)


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = f64([0.3, 1.2])
    assert tg.autograd.gradcheck(DetachedSin.apply, (x,))
    with pytest.raises(GradcheckError, match=r"gradcheck of the gradient of DetachedSin\.apply"):
        tg.autograd.gradgradcheck(DetachedSin.apply, (x,))


def test_gradgradcheck_takes_grad_outputs():
    x = f64([0.3, 1.2])
    v = f64([1.0, -2.0])
    assert tg.autograd.gradgradcheck(tg.tanh, (x,), (v,))
    assert tg.autograd.gradgradcheck(tg.tanh, (x,), v)


def test_float32_inputs_are_refused():
    x = tg.ones(2, dtype=tg.float32, requires_grad=True)
    with pytest.raises(ValueError, match=r"input 0 is float32; gradients are checked in float64"):
        tg.autograd.gradcheck(tg.tanh, (x,))


def test_nothing_to_check_is_an_error():
    with pytest.raises(ValueError, match=r"no input requires grad"):
        tg.autograd.gradcheck(tg.tanh, (f64([1.0], requires_grad=False),))


def test_nondeterministic_backward_is_not_reentrant():
    rng = np.random.default_rng(0)

    class Noisy(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * (2 + 1e-9 * rng.standard_normal())

    x = f64([1.0, 2.0])
    with pytest.raises(GradcheckError, match=r"Backward is not reentrant for input 0"):
        tg.autograd.gradcheck(Noisy.apply, (x,))
    assert tg.autograd.gradcheck(Noisy.apply, (x,), nondet_tol=1e-6)


def test_backward_must_be_linear_in_the_incoming_gradient():
    class Affine(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2 + 1e-12  # invisible to central differences, wrong all the same

    x = f64([1.0])
    with pytest.raises(GradcheckError, match=r"a zero cotangent gave a nonzero gradient"):
        tg.autograd.gradcheck(Affine.apply, (x,))
    assert tg.autograd.gradcheck(Affine.apply, (x,), check_undefined_grad=False)


def test_non_differentiable_outputs_are_ignored():
    class WithCount(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            count = np.asarray(np.sum(x.detach().numpy() ** 2))  # float, but declared constant
            ctx.mark_non_differentiable(count)
            return x * 2, count

        @staticmethod
        def backward(ctx, grad, grad_count):
            return grad * 2

    assert tg.autograd.gradcheck(WithCount.apply, (f64([1.0, 2.0]),))


def test_forward_mode_and_batched_checks_are_refused():
    x = f64([1.0])
    with pytest.raises(NotImplementedError, match=r"check_forward_ad=True needs forward-mode AD"):
        tg.autograd.gradcheck(tg.tanh, (x,), check_forward_ad=True)
    with pytest.raises(NotImplementedError, match=r"check_batched_grad=True"):
        tg.autograd.gradgradcheck(tg.tanh, (x,), check_batched_grad=True)


def test_signature_is_a_subset_of_torchs():
    torch = pytest.importorskip("torch")
    for ours, theirs in (
        (tg.autograd.gradcheck, torch.autograd.gradcheck),
        (tg.autograd.gradgradcheck, torch.autograd.gradgradcheck),
    ):
        our_params = inspect.signature(ours).parameters
        their_params = inspect.signature(theirs).parameters
        for name, param in our_params.items():
            if name == "seed":  # tapegrad's own: fixes the random cotangent
                continue
            assert name in their_params, name
            assert param.kind == their_params[name].kind, name
            assert param.default == their_params[name].default, name
