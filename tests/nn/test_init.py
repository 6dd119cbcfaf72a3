"""tg.nn.init: statistics of large draws vs the formulas, gains vs torch, errors, repeatability."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import init


def _empty(*shape, dtype=tg.float64):
    return tg.empty(*shape, dtype=dtype)


def _stats(t):
    data = t.detach().numpy()
    return data.mean(), data.std(), data.min(), data.max()


# --- gains and fans ------------------------------------------------------------------------

GAINS = [
    ("linear", None),
    ("conv1d", None),
    ("conv2d", None),
    ("conv_transpose3d", None),
    ("sigmoid", None),
    ("tanh", None),
    ("relu", None),
    ("leaky_relu", None),
    ("leaky_relu", 0.2),
    ("leaky_relu", 3),
    ("leaky_relu", math.sqrt(5)),
    ("selu", None),
]


@pytest.mark.parametrize(("nonlinearity", "param"), GAINS)
def test_calculate_gain_matches_torch(torch, nonlinearity, param):
    want = torch.nn.init.calculate_gain(nonlinearity, param)
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(want, rel=1e-15)


def test_calculate_gain_hand_values():
    assert init.calculate_gain("tanh") == 5.0 / 3
    assert init.calculate_gain("relu") == math.sqrt(2.0)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2.0 / (1 + 0.01**2))
    assert init.calculate_gain("selu") == 0.75


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match=r"negative_slope 0\.1 not a valid number"):
        init.calculate_gain("leaky_relu", "0.1")


@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3), (8, 3, 2, 5)])
def test_fan_in_and_fan_out_match_torch(torch, shape):
    want = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(_empty(*shape)) == want


def test_fan_of_conv_weight_counts_the_receptive_field():
    assert init._calculate_fan_in_and_fan_out(_empty(16, 3, 5, 5)) == (75, 400)


@pytest.mark.parametrize(
    "fn",
    [
        init._calculate_fan_in_and_fan_out,
        init.xavier_uniform_,
        init.xavier_normal_,
        init.kaiming_uniform_,
        init.kaiming_normal_,
    ],
)
def test_fan_of_a_vector_raises(fn):
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        fn(_empty(5))


def test_kaiming_bad_mode_raises():
    with pytest.raises(ValueError, match=r"Mode fan_avg not supported, please use one of"):
        init.kaiming_uniform_(_empty(3, 4), mode="fan_avg")


def test_kaiming_zero_elements_warns_and_is_a_no_op():
    t = _empty(0, 3)
    with pytest.warns(UserWarning, match="zero-element"):
        assert init.kaiming_normal_(t) is t


# --- distributions -------------------------------------------------------------------------

N = 200_000


def test_uniform_bounds_and_moments():
    t = init.uniform_(_empty(N), -2.0, 3.0)
    mean, std, low, high = _stats(t)
    assert low >= -2.0 and high < 3.0
    assert mean == pytest.approx(0.5, abs=0.02)
    assert std == pytest.approx(5 / math.sqrt(12), rel=0.01)


def test_normal_moments():
    mean, std, _, _ = _stats(init.normal_(_empty(N), 1.5, 0.5))
    assert mean == pytest.approx(1.5, abs=0.01)
    assert std == pytest.approx(0.5, rel=0.01)


def test_constant_ones_zeros_eye():
    t = _empty(2, 3)
    np.testing.assert_array_equal(init.constant_(t, 0.25).numpy(), np.full((2, 3), 0.25))
    np.testing.assert_array_equal(init.ones_(t).numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(init.zeros_(t).numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(2, 3))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(_empty(2, 2, 2))


def test_xavier_uniform_bound_and_std():
    t = init.xavier_uniform_(_empty(400, 600), gain=2.0)
    bound = 2.0 * math.sqrt(6.0 / 1000)
    mean, std, low, high = _stats(t)
    assert -bound <= low and high <= bound and high > 0.99 * bound
    assert mean == pytest.approx(0.0, abs=0.01 * bound)
    assert std == pytest.approx(bound / math.sqrt(3), rel=0.01)


def test_xavier_normal_std():
    _, std, _, _ = _stats(init.xavier_normal_(_empty(300, 20, 10)))
    assert std == pytest.approx(math.sqrt(2.0 / (20 * 10 + 300 * 10)), rel=0.01)


@pytest.mark.parametrize(
    ("a", "mode", "nonlinearity", "fan"),
    [
        (0, "fan_in", "leaky_relu", 500),
        (math.sqrt(5), "fan_in", "leaky_relu", 500),
        (0, "fan_out", "relu", 400),
        (0, "FAN_OUT", "tanh", 400),
    ],
)
def test_kaiming_uniform_bound_and_std(a, mode, nonlinearity, fan):
    t = init.kaiming_uniform_(_empty(400, 500), a=a, mode=mode, nonlinearity=nonlinearity)
    bound = init.calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    _, std, low, high = _stats(t)
    assert -bound <= low and high <= bound and high > 0.99 * bound
    assert std == pytest.approx(bound / math.sqrt(3), rel=0.01)


def test_kaiming_normal_std():
    t = init.kaiming_normal_(_empty(400, 50, 3), mode="fan_out", nonlinearity="relu")
    _, std, _, _ = _stats(t)
    assert std == pytest.approx(math.sqrt(2.0) / math.sqrt(1200), rel=0.01)


@pytest.mark.parametrize(
    ("mean", "std", "a", "b"),
    [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (0.0, 1.0, 1.0, 1.2), (0.5, 1.0, -0.1, 3)],
)
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    t = init.trunc_normal_(_empty(N), mean, std, a, b)
    got_mean, got_std, low, high = _stats(t)
    alpha, beta = (a - mean) / std, (b - mean) / std

    def pdf(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    def cdf(z):
        return (1 + math.erf(z / math.sqrt(2))) / 2

    mass = cdf(beta) - cdf(alpha)
    want_mean = mean + std * (pdf(alpha) - pdf(beta)) / mass
    var = (
        1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - ((pdf(alpha) - pdf(beta)) / mass) ** 2
    )
    assert a <= low and high <= b
    assert got_mean == pytest.approx(want_mean, abs=0.01 * std)
    assert got_std == pytest.approx(std * math.sqrt(var), rel=0.01)


def test_trunc_normal_float32_stays_in_bounds():
    t = init.trunc_normal_(_empty(N, dtype=tg.float32), 0.0, 1.0, -0.3, 0.3)
    data = t.numpy()
    assert data.dtype == np.float32
    assert data.min() >= np.float32(-0.3) and data.max() <= np.float32(0.3)


def test_trunc_normal_far_mean_warns():
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        init.trunc_normal_(_empty(10), mean=5.0, std=1.0, a=-1.0, b=1.0)


@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4), (5, 2, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    t = init.orthogonal_(_empty(*shape), gain=2.0)
    q = t.numpy().reshape(shape[0], -1) / 2.0
    rows, cols = q.shape
    gram = q @ q.T if rows <= cols else q.T @ q
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-12)


def test_orthogonal_sign_correction_makes_the_diagonal_of_r_positive():
    # after torch's correction, Q's first column has a positive dot product with the draw's
    tg.manual_seed(3)
    t = init.orthogonal_(_empty(5, 5))
    tg.manual_seed(3)
    draw = tg.randn(5, 5, dtype=tg.float64).numpy()
    r = t.numpy().T @ draw
    assert np.all(np.diag(r) > 0)
    np.testing.assert_allclose(np.triu(r), r, atol=1e-12)


def test_orthogonal_vector_raises():
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions"):
        init.orthogonal_(_empty(3))


# --- behaviour shared by all -----------------------------------------------------------------

DRAWS = [
    (init.uniform_, {}),
    (init.normal_, {}),
    (init.trunc_normal_, {}),
    (init.trunc_normal_, {"a": 0.5, "b": 0.6}),
    (init.xavier_uniform_, {}),
    (init.xavier_normal_, {}),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}),
    (init.kaiming_normal_, {}),
    (init.orthogonal_, {}),
]


@pytest.mark.parametrize(("fn", "kwargs"), DRAWS)
def test_manual_seed_repeats_the_draw(fn, kwargs):
    tg.manual_seed(7)
    first = fn(_empty(4, 6), **kwargs).numpy().copy()
    tg.manual_seed(7)
    second = fn(_empty(4, 6), **kwargs).numpy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, fn(_empty(4, 6), **kwargs).numpy())


@pytest.mark.parametrize(("fn", "kwargs"), DRAWS)
def test_generator_argument_draws_from_that_generator(fn, kwargs):
    first = fn(_empty(4, 6), generator=tg.Generator(11), **kwargs).numpy().copy()
    tg.manual_seed(0)
    second = fn(_empty(4, 6), generator=tg.Generator(11), **kwargs).numpy()
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    ("fn", "kwargs"), [*DRAWS, (init.zeros_, {}), (init.ones_, {}), (init.eye_, {})]
)
def test_parameter_stays_a_leaf_and_keeps_its_dtype(fn, kwargs):
    p = tg.nn.Parameter(tg.zeros(4, 6))
    out = fn(p, **kwargs)
    assert out is p
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    assert p.dtype == tg.float32
