"""Conv1d/Conv2d and F.conv*: against torch (same weights), by hand, and their errors.

Every nn_conv op-table row (convolutions, pooling, pad) is also compared with torch here:
forward and a vector-Jacobian product, in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tests.helpers import build_arrays, cases_and_samples, op_callable, tg_args, torch_args
from tests.opdb import nn_conv

ROWS = cases_and_samples({case.name: case for case in nn_conv.CASES if case.torch is not None})

# torch warns that it copies the input for an even kernel with padding='same'
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


@pytest.mark.parametrize(("case", "sample", "index"), ROWS)
def test_row_matches_torch_forward_and_vjp(torch, case, sample, index):
    values = build_arrays(case, sample, index)
    ours = tg_args(sample, values, read_only=False)
    theirs = torch_args(torch, sample, values)
    out = op_callable(case)(*ours, **sample.kwargs)
    torch_fn = getattr(torch, case.name) if case.torch == "same" else case.torch
    expected = torch_fn(*theirs, **sample.kwargs)
    outs = list(out) if isinstance(out, tuple) else [out]
    expecteds = list(expected) if isinstance(expected, tuple) else [expected]
    for got, want in zip(outs, expecteds):
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(
            got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12
        )
    cotangent = np.random.default_rng(index).standard_normal(tuple(outs[0].shape))
    mine = [a for a in ours if isinstance(a, tg.Tensor) and a.requires_grad]
    refs = [a for a in theirs if isinstance(a, torch.Tensor) and a.requires_grad]
    grads = tg.autograd.grad(outs[0], mine, tg.tensor(cotangent))
    ref_grads = torch.autograd.grad(expecteds[0], refs, torch.from_numpy(cotangent))
    for got, want in zip(grads, ref_grads):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


# --- modules against torch ------------------------------------------------------------------------


def _pair_of_modules(torch, tg_cls, torch_cls, *args, dtype="float64", **kwargs):
    """A torch layer and a tapegrad layer carrying the same weights."""
    theirs = getattr(torch_cls(*args, **kwargs), "double" if dtype == "float64" else "float")()
    ours = tg_cls(*args, **kwargs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours.double() if dtype == "float64" else ours, theirs


def _compare_module(torch, ours, theirs, x: np.ndarray, rtol: float, atol: float) -> None:
    """Forward, input gradient and every parameter gradient, for a random cotangent."""
    x_ours = tg.tensor(x, requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)
    out, expected = ours(x_ours), theirs(x_theirs)
    assert out.dtype == tg.float64 if x.dtype == np.float64 else out.dtype == tg.float32
    np.testing.assert_allclose(
        out.detach().numpy(), expected.detach().numpy(), rtol=rtol, atol=atol
    )
    cotangent = np.random.default_rng(1).standard_normal(expected.shape).astype(x.dtype)
    out.backward(tg.tensor(cotangent))
    expected.backward(torch.from_numpy(cotangent))
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=rtol, atol=atol)
    params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), params[name].grad.numpy(), rtol=rtol, atol=atol)


CONV2D_CONFIGS = [
    ((3, 8, 3), {}),
    ((3, 8, 3), {"padding": 1, "bias": False}),
    ((4, 6, (3, 2)), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2}),
    ((4, 4, 3), {"groups": 4, "padding": "same"}),
    ((2, 5, 1), {"stride": 2}),
    ((3, 4, 5), {"padding": 2, "stride": 3}),
    ((3, 4, 3), {"padding": "valid", "dilation": 2}),
    ((2, 4, 3), {"padding": 1, "padding_mode": "reflect"}),
    ((2, 4, 3), {"padding": (2, 1), "padding_mode": "replicate"}),
    ((2, 4, 3), {"padding": 1, "padding_mode": "circular", "stride": 2}),
    ((2, 4, (3, 4)), {"padding": "same", "padding_mode": "reflect"}),
    ((3, 4, 1), {"padding": 2}),  # padding beyond the kernel: the adjoint crops
    ((2, 4, (2, 3)), {"padding": (3, 1), "dilation": (1, 2), "bias": False}),
]


@pytest.mark.parametrize(("args", "kwargs"), CONV2D_CONFIGS)
def test_conv2d_module_matches_torch_float64(torch, args, kwargs):
    ours, theirs = _pair_of_modules(torch, tg.nn.Conv2d, torch.nn.Conv2d, *args, **kwargs)
    x = np.random.default_rng(0).standard_normal((2, args[0], 9, 8))
    _compare_module(torch, ours, theirs, x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("args", "kwargs"), CONV2D_CONFIGS[:6])
def test_conv2d_module_matches_torch_float32(torch, args, kwargs):
    ours, theirs = _pair_of_modules(
        torch, tg.nn.Conv2d, torch.nn.Conv2d, *args, dtype="float32", **kwargs
    )
    x = np.random.default_rng(0).standard_normal((4, args[0], 12, 11)).astype(np.float32)
    _compare_module(torch, ours, theirs, x, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((3, 8, 3), {}),
        ((4, 6, 2), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2, "bias": False}),
        ((3, 4, 4), {"padding": "same"}),
        ((2, 3, 3), {"padding": 2, "padding_mode": "reflect"}),
        ((2, 3, 3), {"padding": 1, "padding_mode": "circular"}),
    ],
)
def test_conv1d_module_matches_torch(torch, args, kwargs):
    ours, theirs = _pair_of_modules(torch, tg.nn.Conv1d, torch.nn.Conv1d, *args, **kwargs)
    x = np.random.default_rng(0).standard_normal((3, args[0], 10))
    _compare_module(torch, ours, theirs, x, rtol=1e-10, atol=1e-12)


def test_conv2d_module_takes_unbatched_input(torch):
    ours, theirs = _pair_of_modules(torch, tg.nn.Conv2d, torch.nn.Conv2d, 3, 2, 3, padding=1)
    x = np.random.default_rng(0).standard_normal((3, 5, 5))
    _compare_module(torch, ours, theirs, x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("cls", "args", "kwargs"),
    [
        ("Conv2d", (3, 8, 3), {}),
        ("Conv2d", (4, 8, (3, 2)), {"groups": 2, "bias": False}),
        ("Conv1d", (3, 5, 4), {"stride": 2}),
    ],
)
def test_state_dict_keys_and_shapes_match_torch(torch, cls, args, kwargs):
    ours = getattr(tg.nn, cls)(*args, **kwargs).state_dict()
    theirs = getattr(torch.nn, cls)(*args, **kwargs).state_dict()
    assert list(ours) == list(theirs)
    assert [tuple(v.shape) for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]


@pytest.mark.parametrize(
    ("cls", "args", "kwargs"),
    [
        ("Conv2d", (3, 8, 3), {}),
        ("Conv2d", (3, 8, (3, 2)), {"stride": 2, "padding": 1, "dilation": 2, "bias": False}),
        ("Conv2d", (4, 8, 3), {"padding": "same", "groups": 2, "padding_mode": "reflect"}),
        ("Conv2d", (4, 8, 3), {"padding": (0, 1), "padding_mode": "circular"}),
        ("Conv1d", (3, 8, 3), {"stride": 2, "padding": "valid"}),
        ("Conv1d", (3, 6, 5), {"padding": 2, "groups": 3}),
    ],
)
def test_repr_matches_torch(torch, cls, args, kwargs):
    assert repr(getattr(tg.nn, cls)(*args, **kwargs)) == repr(
        getattr(torch.nn, cls)(*args, **kwargs)
    )


def test_conv2d_double_backward_matches_torch(torch):
    rng = np.random.default_rng(0)
    x, w, v = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((6, 2, 3, 2)), None
    kwargs = {"stride": (2, 1), "padding": 1, "dilation": (1, 2), "groups": 2}
    results = []
    for lib, fn in ((tg, F.conv2d), (torch, torch.nn.functional.conv2d)):
        xs, ws = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        out = fn(xs, ws, **kwargs)
        v = rng.standard_normal(tuple(out.shape)) if v is None else v
        gx, gw = lib.autograd.grad(out, (xs, ws), lib.tensor(v), create_graph=True)
        # a scalar mixing both gradients non-linearly, so every second-order path is used
        loss = (gx * gx).sum() + (gw * gw * gw).sum()
        results.append([g.detach().numpy() for g in lib.autograd.grad(loss, (xs, ws))])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)


# --- by hand (no torch needed) ----------------------------------------------------------------


def test_conv2d_counts_window_sizes_with_zero_padding():
    out = F.conv2d(tg.ones(1, 1, 3, 4), tg.ones(1, 1, 3, 3), padding=1)
    np.testing.assert_array_equal(out.numpy()[0, 0], [[4, 6, 6, 4], [6, 9, 9, 6], [4, 6, 6, 4]])


def test_conv2d_1x1_is_a_channel_matmul():
    x, w, b = tg.randn(2, 3, 4, 5), tg.randn(6, 3, 1, 1), tg.randn(6)
    expected = (
        np.einsum("oc,nchw->nohw", w.numpy()[:, :, 0, 0], x.numpy()) + b.numpy()[:, None, None]
    )
    np.testing.assert_allclose(F.conv2d(x, w, b).numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"padding": 1}, {"stride": 2, "groups": 2}])
def test_conv2d_of_an_empty_batch_matches_torch(torch, kwargs):
    ours, theirs = _pair_of_modules(torch, tg.nn.Conv2d, torch.nn.Conv2d, 4, 6, 3, **kwargs)
    _compare_module(torch, ours, theirs, np.zeros((0, 4, 6, 5)), rtol=1e-10, atol=1e-12)


def test_conv2d_keeps_float32_and_float64():
    for dtype in (tg.float32, tg.float64):
        out = F.conv2d(tg.randn(1, 2, 4, 4, dtype=dtype), tg.randn(3, 2, 2, 2, dtype=dtype))
        assert out.dtype == dtype
        assert out.numpy().flags.c_contiguous


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    x, w = tg.randn(2, 4, 7, 6, dtype=tg.float64), tg.randn(6, 2, 3, 2, dtype=tg.float64)
    kwargs = {"stride": 2, "padding": 1, "dilation": (1, 2), "groups": 2}
    y = tg.randn(*F.conv2d(x, w, **kwargs).shape, dtype=tg.float64)
    back = F.conv_transpose2d(y, w, output_padding=(0, 1), **kwargs)
    assert back.shape == x.shape
    lhs = float((F.conv2d(x, w, **kwargs) * y).sum())
    assert lhs == pytest.approx(float((x * back).sum()), rel=1e-12)


def test_conv2d_gradients_match_central_differences():
    x = tg.randn(2, 4, 5, 6, dtype=tg.float64, requires_grad=True)
    w = tg.randn(4, 2, 3, 3, dtype=tg.float64, requires_grad=True)
    b = tg.randn(4, dtype=tg.float64, requires_grad=True)

    def fn(x, w, b):
        return F.conv2d(x, w, b, stride=2, padding=(2, 1), groups=2)

    assert tg.autograd.gradcheck(fn, (x, w, b))
    assert tg.autograd.gradgradcheck(fn, (x, w, b))


def test_conv_module_default_init_has_torch_bounds_and_follows_the_seed():
    layer = tg.nn.Conv2d(6, 32, 3, groups=2)
    bound = 1 / np.sqrt(3 * 9)  # fan_in = in_channels / groups * kh * kw
    w = layer.weight.detach().numpy()
    assert np.abs(w).max() <= bound
    assert np.abs(layer.bias.detach().numpy()).max() <= bound
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.1)  # uniform(-b, b)
    assert layer.weight.dtype == tg.float32
    tg.manual_seed(0)
    first = tg.nn.Conv1d(2, 3, 2).weight.detach().numpy()
    tg.manual_seed(0)
    np.testing.assert_array_equal(tg.nn.Conv1d(2, 3, 2).weight.detach().numpy(), first)


def test_conv_module_dtype_argument():
    layer = tg.nn.Conv2d(1, 2, 3, dtype=tg.float64)
    assert layer.weight.dtype == tg.float64 and layer.bias.dtype == tg.float64


def test_conv_weight_grad_columns_are_released_after_backward():
    x = tg.randn(1, 2, 5, 5, requires_grad=True)
    out = F.conv2d(x, tg.randn(3, 2, 3, 3, requires_grad=True))
    node = out.grad_fn
    out.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        node.saved_tensors


# --- errors --------------------------------------------------------------------------------------


def test_conv2d_channel_mismatch_names_both_shapes():
    with pytest.raises(
        ValueError,
        match=r"conv2d: expected input with 3 channels \(weight \(8, 3, 3, 3\), groups=1\), "
        r"got input of shape \(2, 4, 5, 5\)",
    ):
        F.conv2d(tg.randn(2, 4, 5, 5), tg.randn(8, 3, 3, 3))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: F.conv2d(tg.randn(4, 5), tg.randn(1, 4, 3, 3)),
            ValueError,
            r"3-D \(unbatched\) or 4-D",
        ),
        (
            lambda: F.conv2d(tg.randn(1, 4, 5, 5), tg.randn(4, 3, 3)),
            ValueError,
            r"4-D weight, got weight of shape \(4, 3, 3\)",
        ),
        (
            lambda: F.conv2d(tg.randn(1, 4, 5, 5), tg.randn(3, 2, 3, 3), groups=2),
            ValueError,
            r"3 kernels, not divisible by groups=2",
        ),
        (
            lambda: F.conv2d(tg.randn(1, 2, 5, 5), tg.randn(3, 2, 3, 3), tg.randn(4)),
            ValueError,
            r"bias of shape \(3,\), got \(4,\)",
        ),
        (
            lambda: F.conv2d(tg.randn(1, 2, 5, 5), tg.randn(3, 2, 3, 3), stride=2, padding="same"),
            ValueError,
            "not supported for strided",
        ),
        (
            lambda: F.conv2d(tg.randn(1, 2, 5, 5), tg.randn(3, 2, 3, 3), padding="full"),
            ValueError,
            "invalid padding string 'full'",
        ),
        (
            lambda: F.conv2d(tg.randn(1, 2, 5, 5), tg.randn(3, 2, 3, 3), padding=-1),
            ValueError,
            "non-negative",
        ),
        (
            lambda: F.conv2d(tg.randn(1, 2, 5, 5), tg.randn(3, 2, 3, 3), stride=0),
            ValueError,
            r"stride must be positive, got \(0, 0\)",
        ),
        (
            lambda: F.conv2d(tg.randn(1, 2, 5, 5), tg.randn(3, 2, 3, 3), stride=(1, 2, 3)),
            TypeError,
            "stride to be an int or a tuple of 2 ints",
        ),
        (
            lambda: F.conv2d(tg.randn(1, 2, 2, 2), tg.randn(3, 2, 3, 3)),
            ValueError,
            r"kernel size \(3, 3\) \(after dilation\) is larger than the padded input \(2, 2\)",
        ),
        (
            lambda: F.conv2d(tg.randn(1, 2, 5, 5), tg.randn(3, 2, 3, 3, dtype=tg.float64)),
            TypeError,
            "float32, float64",
        ),
        (
            lambda: F.conv2d(
                tg.ones(1, 2, 5, 5, dtype=tg.int64), tg.ones(3, 2, 3, 3, dtype=tg.int64)
            ),
            TypeError,
            "floating-point",
        ),
        (
            lambda: F.conv1d(tg.randn(2, 3, 8), tg.randn(4, 2, 3)),
            ValueError,
            r"conv1d: expected input with 2 channels",
        ),
        (
            lambda: F.conv_transpose2d(tg.randn(1, 3, 4, 4), tg.randn(2, 3, 3, 3)),
            ValueError,
            r"conv_transpose2d: expected input with 2 channels",
        ),
        (
            lambda: F.conv_transpose2d(
                tg.randn(1, 2, 4, 4), tg.randn(2, 3, 3, 3), stride=2, output_padding=2
            ),
            ValueError,
            "smaller than either stride",
        ),
    ],
)
def test_conv_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"groups": 2}, "in_channels must be divisible by groups"),
        ({"groups": 0}, "groups must be a positive integer"),
        ({"padding": "same", "stride": 2}, "padding='same' is not supported for strided"),
        ({"padding": "full"}, "Invalid padding string 'full'"),
        ({"padding_mode": "mirror"}, "padding_mode must be one of"),
    ],
)
def test_conv_module_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tg.nn.Conv2d(3, 6, 3, **kwargs)
