"""Pooling layers and F.pad: against torch, torch's tie/NaN/-inf rules, by hand, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F


def _compare(torch, ours, theirs, x: np.ndarray, rtol: float = 1e-10, atol: float = 1e-12):
    """Forward (and indices when returned) and input gradient for a random cotangent."""
    x_ours, x_theirs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(x_ours), theirs(x_theirs)
    if isinstance(out, tuple):
        np.testing.assert_array_equal(out[1].numpy(), expected[1].numpy())
        out, expected = out[0], expected[0]
    assert out.dtype == (tg.float64 if x.dtype == np.float64 else tg.float32)
    np.testing.assert_allclose(
        out.detach().numpy(), expected.detach().numpy(), rtol=rtol, atol=atol
    )
    cotangent = np.random.default_rng(1).standard_normal(expected.shape).astype(x.dtype)
    out.backward(tg.tensor(cotangent))
    expected.backward(torch.from_numpy(cotangent))
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=rtol, atol=atol)


POOL_CONFIGS = [
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (2, 3, 9, 8)),
    ("MaxPool2d", ((2, 3),), {"stride": 1, "dilation": (2, 1), "return_indices": True}, (2, 7, 9)),
    ("MaxPool2d", (3,), {"stride": 2, "ceil_mode": True, "return_indices": True}, (1, 2, 10, 7)),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1, "return_indices": True}, (2, 3, 11)),
    ("MaxPool1d", (2,), {"dilation": 2, "ceil_mode": True}, (3, 10)),
    ("AvgPool2d", (2,), {}, (2, 3, 8, 8)),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (2, 3, 9, 8)),
    ("AvgPool2d", ((3, 2),), {"padding": (1, 0), "count_include_pad": False}, (2, 7, 9)),
    ("AvgPool2d", (3,), {"stride": 2, "ceil_mode": True, "count_include_pad": False}, (1, 2, 8, 7)),
    ("AvgPool2d", (2,), {"stride": 1, "divisor_override": 3}, (1, 2, 5, 5)),
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (2, 3, 10)),
    ("AvgPool1d", (4,), {"padding": 2, "count_include_pad": False}, (3, 9)),
    ("AdaptiveAvgPool2d", ((3, 4),), {}, (2, 3, 7, 9)),
    ("AdaptiveAvgPool2d", (5,), {}, (2, 3, 3, 4)),
    ("AdaptiveAvgPool2d", ((None, 2),), {}, (3, 5, 5)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 10)),
]


@pytest.mark.parametrize(("cls", "args", "kwargs", "shape"), POOL_CONFIGS)
def test_pool_module_matches_torch_float64(torch, cls, args, kwargs, shape):
    ours, theirs = getattr(tg.nn, cls)(*args, **kwargs), getattr(torch.nn, cls)(*args, **kwargs)
    _compare(torch, ours, theirs, np.random.default_rng(0).standard_normal(shape))


@pytest.mark.parametrize(("cls", "args", "kwargs", "shape"), POOL_CONFIGS[::2])
def test_pool_module_matches_torch_float32(torch, cls, args, kwargs, shape):
    ours, theirs = getattr(tg.nn, cls)(*args, **kwargs), getattr(torch.nn, cls)(*args, **kwargs)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    _compare(torch, ours, theirs, x, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("cls", "args", "kwargs", "shape"), POOL_CONFIGS)
def test_pool_repr_matches_torch(torch, cls, args, kwargs, shape):
    ours, theirs = getattr(tg.nn, cls)(*args, **kwargs), getattr(torch.nn, cls)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.state_dict() == {} and dict(theirs.state_dict()) == {}


# --- torch's rules at ties, NaN and -inf ----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1}]
)
def test_max_pool_tie_gradient_goes_to_the_first_element_as_torch(torch, kwargs):
    x = np.round(np.random.default_rng(0).uniform(0, 2, (2, 2, 6, 6)))  # values 0, 1, 2: ties
    ours = lambda t: F.max_pool2d(t, return_indices=True, **kwargs)  # noqa: E731
    theirs = lambda t: torch.nn.functional.max_pool2d(t, return_indices=True, **kwargs)  # noqa: E731
    _compare(torch, ours, theirs, x)


def test_max_pool_of_a_constant_sends_each_gradient_to_the_window_start():
    x = tg.ones(1, 1, 4, 4, requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()
    expected = np.zeros((4, 4))
    expected[:3, :3] = 1
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)


def test_max_pool_propagates_nan_and_picks_its_index_as_torch(torch):
    x = np.array([[[[1.0, np.nan, np.nan, 0.0], [2.0, 3.0, 4.0, 5.0]]]])
    out, idx = F.max_pool2d(tg.tensor(x), 2, return_indices=True)
    ref, ref_idx = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    assert np.isnan(out.numpy()).all() and np.isnan(ref.numpy()).all()
    np.testing.assert_array_equal(idx.numpy(), ref_idx.numpy())


def test_max_pool_never_chooses_padding_in_an_all_minus_inf_window(torch):
    x = np.full((1, 1, 4, 4), -np.inf)
    _, idx = F.max_pool2d(tg.tensor(x), 3, 2, 1, return_indices=True)
    _, ref_idx = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), ref_idx.numpy())
    assert idx.numpy().min() >= 0


def test_max_pool_accepts_integers_as_torch():
    x = tg.arange(16).reshape(1, 1, 4, 4)
    out = F.max_pool2d(x, 2, padding=1)
    assert out.dtype == tg.int64
    np.testing.assert_array_equal(out.numpy()[0, 0], [[0, 2, 3], [8, 10, 11], [12, 14, 15]])


# --- by hand ------------------------------------------------------------------------------------


def test_pools_of_a_ramp_by_hand():
    x = tg.arange(16, dtype=tg.float64).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(F.max_pool2d(x, 2).numpy()[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(F.avg_pool2d(x, 2).numpy()[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(F.adaptive_avg_pool2d(x, 1).numpy()[0, 0], [[7.5]])
    padded = F.avg_pool2d(x, 2, padding=1, count_include_pad=False).numpy()[0, 0]
    np.testing.assert_array_equal(padded[0], [0, 1.5, 3])


def test_max_pool_gradient_adds_up_where_windows_overlap():
    x = tg.tensor([[[[0.0, 1.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]]], requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()  # 5 is the max of all four windows
    assert x.grad.numpy()[0, 0, 1, 1] == 4 and x.grad.numpy().sum() == 4


def test_pools_double_backward_match_central_differences():
    x = tg.randn(2, 2, 6, 5, dtype=tg.float64, requires_grad=True)
    for fn in (
        lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True),
        lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda t: F.adaptive_avg_pool2d(t, (4, 3)),
    ):
        assert tg.autograd.gradgradcheck(fn, (x,))


def test_max_pool_without_grad_returns_only_values():
    with tg.no_grad():
        out = F.max_pool2d(tg.randn(1, 2, 4, 4, requires_grad=True), 2)
    assert isinstance(out, tg.Tensor) and not out.requires_grad


# --- pad ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pad", "kwargs", "shape"),
    [
        ((1, 2), {}, (2, 3)),
        ((1, -1, -2, 3), {"value": -2.0}, (2, 4, 5)),
        ((0, 0, 0, 0, 1, 1), {}, (2, 3, 4)),
        ((2, 1, 1, 2), {"mode": "reflect"}, (2, 3, 4)),
        ((3, 3), {"mode": "replicate"}, (2, 3, 2)),
        ((1, 2, 3, 1), {"mode": "circular"}, (1, 2, 3, 4)),
    ],
)
def test_pad_matches_torch(torch, pad, kwargs, shape):
    ours = lambda t: F.pad(t, pad, **kwargs)  # noqa: E731
    theirs = lambda t: torch.nn.functional.pad(t, pad, **kwargs)  # noqa: E731
    _compare(torch, ours, theirs, np.random.default_rng(0).standard_normal(shape))


def test_pad_crop_gradient_is_zero_outside_the_kept_region():
    x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
    F.pad(x, (-1, 2)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[:, 0], 0)
    np.testing.assert_array_equal(x.grad.numpy()[:, 1:], 1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: F.pad(tg.randn(2, 3), (1, 2, 3)), "even number of ints"),
        (lambda: F.pad(tg.randn(3), (1, 1, 1, 1)), r"4 pad values are too many for input \(3,\)"),
        (lambda: F.pad(tg.randn(2, 3), (-2, -2)), r"gives size \(2, -1\)"),
        (lambda: F.pad(tg.randn(1, 2, 3), (3, 3), mode="reflect"), r"between 0 and 2 for dim 2"),
        (lambda: F.pad(tg.randn(3), (1, 1), mode="reflect"), "do not fit input of shape"),
        (lambda: F.pad(tg.randn(2, 3), (1, 1), mode="mirror"), "mode must be 'constant'"),
        (lambda: F.pad(tg.randn(2, 3), (1, 1), mode="reflect", value=1.0), "doesn't take a value"),
    ],
)
def test_pad_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- pooling errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: F.max_pool2d(tg.randn(4, 4), 2),
            ValueError,
            r"3-D \(unbatched\) or 4-D \(batched\) input, got input of shape \(4, 4\)",
        ),
        (
            lambda: F.max_pool2d(tg.randn(1, 1, 4, 4), 3, padding=2),
            ValueError,
            "at most half of the",
        ),
        (
            lambda: F.max_pool2d(tg.randn(1, 1, 2, 2), 3),
            ValueError,
            r"input of shape \(1, 1, 2, 2\) is too small",
        ),
        (lambda: F.max_pool2d(tg.randn(1, 1, 4, 4), 0), ValueError, "kernel_size must be positive"),
        (
            lambda: F.max_pool1d(tg.randn(1, 1, 4), (2, 2)),
            TypeError,
            "kernel_size to be an int or a tuple of 1 ints",
        ),
        (
            lambda: F.avg_pool2d(tg.ones(1, 1, 4, 4, dtype=tg.int64), 2),
            TypeError,
            "floating-point input, got int64",
        ),
        (
            lambda: F.avg_pool2d(tg.randn(1, 1, 4, 4), 2, divisor_override=0),
            ValueError,
            "must not be zero",
        ),
        (
            lambda: F.adaptive_avg_pool2d(tg.randn(1, 1, 4, 4), (2, 2, 2)),
            ValueError,
            "output_size of 2",
        ),
        (lambda: F.adaptive_avg_pool1d(tg.randn(1, 1, 4), -1), ValueError, "non-negative"),
    ],
)
def test_pool_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
