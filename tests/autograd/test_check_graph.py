"""check_graph: every op behind a loss is gradient-checked; a wrong custom Function is found."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd import GradcheckError


class WrongCube(tg.autograd.Function):
    """x ** 3 whose backward forgot a power."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x


class RightCube(tg.autograd.Function):
    """x ** 3, correctly."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2


def linear(x, w, b):
    """x @ w.T + b with the ops this tree has: broadcast multiply, then sum."""
    return (x.unsqueeze(1) * w.unsqueeze(0)).sum(-1) + b


def model(x, params, cube):
    w1, b1, w2, b2 = params
    h = linear(x, w1, b1).tanh()
    h = cube.apply(h)  # the user's op, somewhere in the middle
    return ((linear(h, w2, b2) - 1.0) ** 2).mean()


MODEL_CUBE_LINE = model.__code__.co_firstlineno + 3


def make_params(rng, dtype=tg.float32):
    shapes = [(4, 3), (4,), (2, 4), (2,)]
    return [tg.tensor(rng.standard_normal(s), dtype=dtype, requires_grad=True) for s in shapes]


def test_a_correct_graph_passes():
    rng = np.random.default_rng(0)
    params = make_params(rng)
    x = tg.tensor(rng.standard_normal((5, 3)), dtype=tg.float32)
    with tg.autograd.detect_anomaly():
        loss = model(x, params, RightCube)
    assert tg.autograd.check_graph(loss)


def test_a_wrong_custom_function_in_a_bigger_graph_is_found():
    rng = np.random.default_rng(1)
    params = make_params(rng)
    x = tg.tensor(rng.standard_normal((5, 3)), dtype=tg.float32)
    with tg.autograd.detect_anomaly():
        loss = model(x, params, WrongCube)
    message = (
        r"check_graph: the backward of WrongCubeBackward \(op \d+ of \d+ in recording order\) "
        r"disagrees with its forward: Jacobian mismatch for input 0 .* recorded at "
        rf"{re.escape(__file__)}:{MODEL_CUBE_LINE} in model"
    )
    with pytest.raises(GradcheckError, match=message):
        tg.autograd.check_graph(loss)
    assert tg.autograd.check_graph(loss, raise_exception=False) is False


def test_the_first_wrong_op_in_recording_order_is_reported():
    x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
    with tg.autograd.detect_anomaly():
        first = WrongCube.apply(x)
        second = WrongCube.apply(first.tanh())
        loss = (first * second).sum()
    with pytest.raises(GradcheckError, match=r"op 1 of 5 .* recorded at .*:\d+ in test_the_first"):
        tg.autograd.check_graph(loss)


def test_graph_recorded_outside_anomaly_mode_is_refused():
    x = tg.ones(2, requires_grad=True)
    loss = (x * 2).sum()
    with pytest.raises(RuntimeError, match=r"MulBackward0 was recorded outside anomaly mode"):
        tg.autograd.check_graph(loss)


def test_kinks_are_not_reported():
    x = tg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    with tg.autograd.detect_anomaly():
        h = x.relu()
        loss = (h.relu() * 3 + (h - 2.0).abs()).sum()  # relu of exact zeros, abs at exactly 0
    assert tg.autograd.check_graph(loss)


def test_inputs_changed_in_place_after_recording_are_checked_as_recorded():
    x = tg.tensor([0.3, -0.7], requires_grad=True)
    with tg.autograd.detect_anomaly():
        h = x * 2
        h.add_(1.0)  # in place, recorded: the Add node saw h before the write
        loss = (h * h).sum()
    with tg.no_grad():
        x.mul_(100)  # a later optimizer-like step does not change what check_graph re-runs
    assert tg.autograd.check_graph(loss)


def test_ops_that_cannot_run_in_float64_are_skipped():
    x = tg.tensor([0.3, -0.7], dtype=tg.float64, requires_grad=True)
    with tg.autograd.detect_anomaly():
        loss = (x.to(tg.float32) * 2).sum()
    assert tg.autograd.check_graph(loss)


def test_random_forward_is_skipped():
    rng = np.random.default_rng(0)

    class Jitter(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.detach().numpy() + rng.standard_normal(x.shape)

        @staticmethod
        def backward(ctx, grad):
            return grad * 5  # wrong, but a random forward cannot be checked numerically

    x = tg.ones(2, dtype=tg.float64, requires_grad=True)
    with tg.autograd.detect_anomaly():
        loss = Jitter.apply(x).sum()
    assert tg.autograd.check_graph(loss)


def test_multiple_outputs_and_keyword_arguments():
    class Scaled(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x, *, scale):
            ctx.scale = scale
            return x * scale, x.exp()

        @staticmethod
        def backward(ctx, grad_scaled, grad_exp):
            return grad_scaled * ctx.scale * 2  # forgot the exp output, and doubled the scale

    x = tg.tensor([0.1, 0.2], dtype=tg.float64, requires_grad=True)
    with tg.autograd.detect_anomaly():
        a, b = Scaled.apply(x, scale=3.0)
        loss = (a * b).sum()
    with pytest.raises(GradcheckError, match=r"ScaledBackward"):
        tg.autograd.check_graph(loss)


def test_several_outputs_are_checked_together():
    x = tg.tensor([0.1, 0.2], dtype=tg.float64, requires_grad=True)
    with tg.autograd.detect_anomaly():
        a = x.sin()
        b = WrongCube.apply(x)
    with pytest.raises(GradcheckError, match=r"WrongCubeBackward"):
        tg.autograd.check_graph([a, b])
    assert tg.autograd.check_graph(a)


def test_graphs_of_a_double_backward_are_checked_too():
    x = tg.tensor([0.4, 0.9], dtype=tg.float64, requires_grad=True)
    with tg.autograd.detect_anomaly():
        (g,) = tg.autograd.grad((x.tanh() ** 2).sum(), x, create_graph=True)
        penalty = (g * g).sum()
    assert tg.autograd.check_graph(penalty)
