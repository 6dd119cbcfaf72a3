"""Custom Functions: the torch.autograd.Function contract, naming, once_differentiable."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd.function import once_differentiable


def f64(values, requires_grad: bool = True) -> tg.Tensor:
    return tg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


class Cube(tg.autograd.Function):
    """x ** 3 with a hand-written backward; forward returns a Tensor, as users write it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2


class ScaledExp(tg.autograd.Function):
    """k * exp(x); saves its output (a Tensor) and takes a non-tensor argument."""

    @staticmethod
    def forward(ctx, x, k):
        out = x.exp() * k
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out, None


class SplitAndSort(tg.autograd.Function):
    """Three outputs: 2x, exp(x), and argsort indices (not differentiable)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        order = np.argsort(x.detach().numpy())
        ctx.mark_non_differentiable(order)
        return x.detach().numpy() * 2, x.exp(), order

    @staticmethod
    def backward(ctx, grad_double, grad_exp, grad_order):
        (x,) = ctx.saved_tensors
        return grad_double * 2 + grad_exp * x.exp()


def test_forward_returning_tensors_gives_right_gradient():
    x = f64([1.0, -2.0])
    Cube.apply(x).backward(f64([1.0, 1.0], False))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    assert tg.autograd.gradcheck(Cube.apply, (x,))
    assert tg.autograd.gradgradcheck(Cube.apply, (x,))


def test_custom_function_is_named_like_torch():
    y = Cube.apply(f64([2.0]))
    assert y.grad_fn.name() == "CubeBackward"
    assert repr(y.grad_fn).startswith("<tapegrad.autograd.function.CubeBackward object at 0x")
    assert "grad_fn=<CubeBackward>" in repr(y)
    assert (y * 2).grad_fn.name() == "MulBackward0"  # built-ins keep torch's generated names


def test_custom_function_names_match_torch():
    torch = pytest.importorskip("torch")

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x**3

        @staticmethod
        def backward(ctx, grad):
            return grad

    theirs = Cube.apply(torch.ones(1, requires_grad=True)).grad_fn
    ours = globals()["Cube"].apply(f64([1.0])).grad_fn
    assert ours.name() == theirs.name()


def test_next_functions_show_the_custom_node():
    x = f64([1.0, 2.0])
    y = Cube.apply(x * 2)
    (producer, output_nr), *_ = (y * 1).grad_fn.next_functions
    assert output_nr == 0
    assert producer.name() == "CubeBackward"
    assert producer.next_functions[0][0].name() == "MulBackward0"


def test_non_tensor_arguments_and_needs_input_grad():
    seen = {}

    class Affine(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, scale, offset):
            ctx.save_for_backward(x, w)
            ctx.scale = scale
            return x.detach().numpy() * w.detach().numpy() * scale + offset

        @staticmethod
        def backward(ctx, grad):
            seen["needs"] = ctx.needs_input_grad
            x, w = ctx.saved_tensors
            grad_x = grad * w * ctx.scale if ctx.needs_input_grad[0] else None
            grad_w = grad * x * ctx.scale if ctx.needs_input_grad[1] else None
            return grad_x, grad_w, None, None

    x = f64([1.0, 2.0])
    w = f64([3.0, 4.0], requires_grad=False)
    Affine.apply(x, w, 2.0, 1.0).sum().backward()
    assert seen["needs"] == (True, False, False, False)
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 8.0])
    assert w.grad is None
    w.requires_grad_()
    assert tg.autograd.gradcheck(lambda x, w: Affine.apply(x, w, 2.0, 1.0), (x, w))


def test_saved_output_is_connected_to_the_graph():
    x = f64([0.5, -1.0])
    y = ScaledExp.apply(x, 3.0)
    np.testing.assert_allclose(y.detach().numpy(), 3 * np.exp([0.5, -1.0]))
    (g,) = tg.autograd.grad(y.sum(), x, create_graph=True)
    assert g.requires_grad  # the saved output came back with this node as grad_fn
    (gg,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 3 * np.exp([0.5, -1.0]))
    assert tg.autograd.gradgradcheck(lambda x: ScaledExp.apply(x, 3.0), (x,))


def test_multiple_outputs_and_mark_non_differentiable():
    x = f64([0.3, -0.2, 0.1])
    double, exp, order = SplitAndSort.apply(x)
    assert double.requires_grad and exp.requires_grad
    assert not order.requires_grad and order.dtype == tg.int64
    assert order.tolist() == [1, 2, 0]
    (double.sum() + exp.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 + np.exp([0.3, -0.2, 0.1]))
    assert tg.autograd.gradcheck(SplitAndSort.apply, (x,))


def test_unused_outputs_get_zero_grads_or_none():
    received = []

    class Two(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x, materialize):
            ctx.set_materialize_grads(materialize)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, grad_a, grad_b):
            received.append(grad_b)
            return grad_a * 2 if grad_b is None else grad_a * 2 + grad_b * 3, None

    x = f64([1.0])
    Two.apply(x, True)[0].sum().backward()
    Two.apply(x, False)[0].sum().backward()
    assert received[0].tolist() == [0.0]
    assert received[1] is None
    np.testing.assert_allclose(x.grad.numpy(), [4.0])


def test_mark_non_differentiable_on_a_float_output():
    class WithMask(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            mask = (x.detach().numpy() > 0).astype(np.float64)
            ctx.mark_non_differentiable(mask)
            return x * 1.0, mask

        @staticmethod
        def backward(ctx, grad, grad_mask):
            return grad

    out, mask = WithMask.apply(f64([1.0, -1.0]))
    assert out.requires_grad and not mask.requires_grad


def test_saved_tensor_modified_in_place_raises():
    x = f64([1.0, 2.0])
    h = x * 1
    y = Cube.apply(h)
    with tg.no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: saved tensor 0 of "):
        y.sum().backward()


def test_wrong_number_of_gradients_is_reported():
    class TooFew(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, grad):
            return grad

    out = TooFew.apply(f64([1.0]), f64([2.0]))
    with pytest.raises(RuntimeError, match=r"TooFewBackward returned an incorrect number of grad"):
        out.sum().backward()


def test_extra_trailing_none_gradients_are_accepted_as_in_torch():
    class Extra(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2, None, None

    x = f64([1.0])
    Extra.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0]


@pytest.mark.parametrize("create_graph", [False, True])
def test_gradient_of_wrong_shape_is_reported(create_graph):
    class BadShape(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return tg.ones(5, dtype=tg.float64)

    out = BadShape.apply(f64([1.0, 2.0]))
    with pytest.raises(RuntimeError, match=r"gradient 0 of BadShapeBackward has shape \(5,\)"):
        out.sum().backward(create_graph=create_graph)


def test_custom_function_matches_torch():
    torch = pytest.importorskip("torch")

    class TorchCube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x**2

    values = np.array([0.5, -1.5, 2.0])
    ours = f64(values)
    theirs = torch.tensor(values, requires_grad=True)
    (g_ours,) = tg.autograd.grad(Cube.apply(ours).sum(), ours, create_graph=True)
    (g_theirs,) = torch.autograd.grad(TorchCube.apply(theirs).sum(), theirs, create_graph=True)
    np.testing.assert_allclose(g_ours.detach().numpy(), g_theirs.detach().numpy())
    (gg_ours,) = tg.autograd.grad(g_ours.sum(), ours)
    (gg_theirs,) = torch.autograd.grad(g_theirs.sum(), theirs)
    np.testing.assert_allclose(gg_ours.numpy(), gg_theirs.numpy())


# --- once_differentiable --------------------------------------------------------------------


class NumpySquare(tg.autograd.Function):
    """x ** 2 computed and differentiated in numpy."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.detach().numpy() ** 2

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        NumpySquare.grad_mode_seen = tg.is_grad_enabled()
        return 2 * x.detach().numpy() * grad.detach().numpy()


def test_once_differentiable_first_order():
    x = f64([3.0, -1.0])
    NumpySquare.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, -2.0])
    assert tg.autograd.gradcheck(NumpySquare.apply, (x,))


def test_once_differentiable_backward_does_not_record():
    x = f64([3.0])
    tg.autograd.grad(NumpySquare.apply(x).sum(), x, create_graph=True)
    assert NumpySquare.grad_mode_seen is False


def test_double_backward_through_once_differentiable_raises():
    x = f64([3.0, -1.0])
    (g,) = tg.autograd.grad(NumpySquare.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [6.0, -2.0])
    message = r"differentiate twice a function that was marked with @once_differentiable: Numpy"
    with pytest.raises(RuntimeError, match=message):
        tg.autograd.grad(g.sum(), x)
    with pytest.raises(RuntimeError, match=message):
        g.sum().backward()


def test_a_forward_that_saves_and_returns_its_input_saves_the_input():
    # torch: the saved x is the input, so a double backward reaches x through it
    class Identity(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x

    x = tg.tensor([2.0, 3.0], requires_grad=True)
    (grad_x,) = tg.autograd.grad(Identity.apply(x).sum(), x, create_graph=True)
    grad_x.sum().backward()  # d/dx sum(1 * x) = 1
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
