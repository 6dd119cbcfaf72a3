"""BatchNorm1d/2d, LayerNorm, GroupNorm and F.normalize: against torch with the same weights,
hand-derived values, running statistics, state_dict layout and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import functional as F
from tests.helpers import build_arrays, cases_and_samples, op_callable, tg_args, torch_args
from tests.opdb import nn_norm

ROWS = cases_and_samples({case.name: case for case in nn_norm.CASES if case.torch is not None})


def _copy_state(source, target) -> None:
    """Load a torch module's state_dict (as numpy arrays) into a tapegrad module."""
    target.load_state_dict({k: v.detach().numpy().copy() for k, v in source.state_dict().items()})


def _randomize(torch, module) -> None:
    """Give a torch module non-trivial affine parameters, so they matter in the comparison."""
    with torch.no_grad():
        for param in module.parameters():
            param.uniform_(0.5, 1.5)


def _pair(torch, name: str, *args, dtype="float64", **kwargs):
    theirs = getattr(torch.nn, name)(*args, **kwargs).to(getattr(torch, dtype))
    _randomize(torch, theirs)
    ours = getattr(tg.nn, name)(*args, **kwargs).to(getattr(tg, dtype))
    _copy_state(theirs, ours)
    return ours, theirs


def _step(torch, ours, theirs, x: np.ndarray, rtol: float, atol: float) -> None:
    """One forward/backward with a random cotangent; outputs and all gradients must agree."""
    ox = tg.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out, t_out = ours(ox), theirs(tx)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=rtol, atol=atol)
    cotangent = np.random.default_rng(1).standard_normal(x.shape).astype(x.dtype)
    out.backward(tg.tensor(cotangent))
    t_out.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    for (name, p), (t_name, t_p) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == t_name
        np.testing.assert_allclose(p.grad.numpy(), t_p.grad.numpy(), rtol=rtol, atol=atol)


def _assert_state_equal(ours, theirs, rtol: float) -> None:
    state, t_state = ours.state_dict(), theirs.state_dict()
    assert list(state) == list(t_state)
    for key in state:
        np.testing.assert_allclose(state[key].numpy(), t_state[key].numpy(), rtol=rtol, err_msg=key)


# --- BatchNorm -------------------------------------------------------------------------------

BATCHNORM_CASES = [
    ("BatchNorm1d", (8, 3)),
    ("BatchNorm1d", (6, 3, 5)),
    ("BatchNorm2d", (4, 3, 5, 5)),
]


@pytest.mark.parametrize(("name", "shape"), BATCHNORM_CASES)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_training_steps_match_torch(torch, name, shape, momentum):
    ours, theirs = _pair(torch, name, 3, momentum=momentum)
    rng = np.random.default_rng(0)
    for step in range(3):
        x = rng.normal(step, 1.0 + step, shape)
        _step(torch, ours, theirs, x, rtol=1e-9, atol=1e-12)
        ours.zero_grad()
        theirs.zero_grad()
    assert int(ours.num_batches_tracked) == 3
    _assert_state_equal(ours, theirs, rtol=1e-12)
    ours.eval()
    theirs.eval()
    _step(torch, ours, theirs, rng.normal(0, 2, shape), rtol=1e-9, atol=1e-12)
    assert int(ours.num_batches_tracked) == 3  # eval leaves the statistics alone


@pytest.mark.parametrize(("name", "shape"), BATCHNORM_CASES)
def test_batchnorm_float32_matches_torch(torch, name, shape):
    ours, theirs = _pair(torch, name, 3, dtype="float32")
    x = np.random.default_rng(2).normal(1.0, 3.0, shape).astype(np.float32)
    _step(torch, ours, theirs, x, rtol=1e-4, atol=1e-5)
    _assert_state_equal(ours, theirs, rtol=1e-5)
    assert ours.running_mean.dtype == tg.float32


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval(torch):
    ours, theirs = _pair(torch, "BatchNorm1d", 4, affine=False, track_running_stats=False)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    assert ours.running_mean is None and ours.weight is None
    ours.eval()
    theirs.eval()
    _step(torch, ours, theirs, np.random.default_rng(3).normal(size=(5, 4)), 1e-9, 1e-12)


def test_batchnorm_state_dict_keys_and_dtypes_match_torch(torch):
    ours, theirs = tg.nn.BatchNorm2d(5), torch.nn.BatchNorm2d(5)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    tracked = ours.state_dict()["num_batches_tracked"]
    assert tracked.dtype == tg.int64 and tracked.shape == ()
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    ours.double()
    assert ours.running_var.dtype == tg.float64
    assert ours.num_batches_tracked.dtype == tg.int64  # .double() casts floats only


def test_batchnorm_loads_a_torch_state_dict_after_training(torch):
    theirs = torch.nn.BatchNorm1d(3).double()
    theirs(torch.randn(10, 3, dtype=torch.float64) * 2 + 1)
    ours = tg.nn.BatchNorm1d(3).double()
    _copy_state(theirs, ours)
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(4).normal(size=(4, 3))
    np.testing.assert_allclose(
        ours(tg.tensor(x)).detach().numpy(),
        theirs(torch.tensor(x)).detach().numpy(),
        rtol=1e-12,
    )


def test_batchnorm1d_by_hand():
    bn = tg.nn.BatchNorm1d(2)
    out = bn(tg.tensor([[1.0, 2.0], [3.0, 6.0]], dtype=tg.float64))
    np.testing.assert_allclose(out.detach().numpy(), [[-1, -1], [1, 1]], rtol=1e-5)
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.2, 0.4])  # 0.9 * 0 + 0.1 * mean
    # the running variance takes the unbiased batch variance: [2, 8]
    np.testing.assert_allclose(bn.running_var.numpy(), [0.9 + 0.2, 0.9 + 0.8], rtol=1e-6)
    assert int(bn.num_batches_tracked) == 1


def test_batchnorm_momentum_none_is_a_cumulative_average():
    bn = tg.nn.BatchNorm1d(1, momentum=None)
    batches = [[[1.0], [3.0]], [[5.0], [9.0]], [[0.0], [2.0]]]
    for batch in batches:
        bn(tg.tensor(batch))
    means = [np.mean(b) for b in batches]
    variances = [np.var(b, ddof=1) for b in batches]
    np.testing.assert_allclose(bn.running_mean.numpy(), [np.mean(means)], rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), [np.mean(variances)], rtol=1e-6)


def test_batchnorm_eval_normalises_with_running_stats():
    bn = tg.nn.BatchNorm1d(2).eval()
    with tg.no_grad():
        bn.running_mean.copy_(tg.tensor([1.0, -1.0]))
        bn.running_var.copy_(tg.tensor([4.0, 0.25]))
    out = bn(tg.tensor([[3.0, 0.0]]))  # a single sample is fine in eval
    np.testing.assert_allclose(out.detach().numpy(), [[1.0, 2.0]], rtol=1e-4)


def test_batchnorm_input_rank_errors():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        tg.nn.BatchNorm1d(3)(tg.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        tg.nn.BatchNorm2d(3)(tg.ones(2, 3, 4))


def test_batchnorm_one_value_per_channel_in_training_raises():
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\[1, 3\]"):
        tg.nn.BatchNorm1d(3)(tg.ones(1, 3))


def test_batch_norm_eval_without_running_stats_raises():
    with pytest.raises(RuntimeError, match=r"running_mean must be defined in evaluation mode"):
        F.batch_norm(tg.ones(4, 3), None, None, training=False)


def test_batch_norm_channel_mismatch_raises():
    with pytest.raises(RuntimeError, match=r"running_mean should contain 3 elements not 4"):
        F.batch_norm(tg.ones(2, 3), tg.zeros(4), tg.ones(4))


def test_batch_norm_training_does_not_touch_running_stats_gradients():
    mean, var = tg.zeros(3), tg.ones(3)
    x = tg.randn(4, 3, requires_grad=True)
    out = F.batch_norm(x, mean, var, training=True)
    assert not mean.requires_grad and not var.requires_grad
    out.sum().backward()
    assert mean._version == 1 and var._version == 1


# --- LayerNorm and GroupNorm ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("normalized_shape", "kwargs"),
    [((5,), {}), ((3, 5), {}), ((5,), {"elementwise_affine": False}), ((5,), {"bias": False})],
)
def test_layernorm_matches_torch(torch, normalized_shape, kwargs):
    ours, theirs = _pair(torch, "LayerNorm", normalized_shape, **kwargs)
    x = np.random.default_rng(5).normal(2.0, 3.0, (2, 3, 5))
    _step(torch, ours, theirs, x, rtol=1e-9, atol=1e-12)
    ours32, theirs32 = _pair(torch, "LayerNorm", normalized_shape, dtype="float32", **kwargs)
    _step(torch, ours32, theirs32, x.astype(np.float32), rtol=1e-4, atol=1e-5)


def test_layernorm_state_dict_and_repr_match_torch(torch):
    for kwargs in ({}, {"bias": False}, {"elementwise_affine": False}):
        ours, theirs = tg.nn.LayerNorm([3, 4], **kwargs), torch.nn.LayerNorm([3, 4], **kwargs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert repr(ours) == repr(theirs)


def test_layer_norm_by_hand():
    out = F.layer_norm(tg.tensor([[1.0, 3.0], [2.0, 2.0]], dtype=tg.float64), (2,), eps=0.0)
    np.testing.assert_allclose(out.numpy()[0], [-1.0, 1.0])
    out = F.layer_norm(tg.tensor([1.0, 3.0]), 2, tg.tensor([2.0, 3.0]), tg.tensor([0.5, 0.5]))
    np.testing.assert_allclose(out.numpy(), [-1.5, 3.5], rtol=1e-5)


def test_layer_norm_is_stable_with_a_large_offset():
    noise = np.random.default_rng(6).standard_normal((4, 64))
    out = F.layer_norm(tg.tensor(1e8 + noise), (64,)).numpy()
    mean = noise.mean(axis=1, keepdims=True)
    expected = (noise - mean) / np.sqrt(noise.var(axis=1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_layer_norm_float32_large_offset_matches_torch(torch):
    x = (1e4 + np.random.default_rng(7).standard_normal((3, 32))).astype(np.float32)
    ours = F.layer_norm(tg.tensor(x), (32,)).numpy()
    theirs = torch.nn.functional.layer_norm(torch.tensor(x), (32,)).numpy()
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, theirs, atol=2e-3)


def test_layer_norm_shape_errors():
    with pytest.raises(
        RuntimeError,
        match=r"normalized_shape=\[4\], expected input with shape \[\*, 4\], but got input of "
        r"size\[2, 3\]",
    ):
        F.layer_norm(tg.ones(2, 3), [4])
    with pytest.raises(RuntimeError, match=r"weight of shape \[4\] and normalized_shape = \[3\]"):
        F.layer_norm(tg.ones(2, 3), [3], weight=tg.ones(4))


@pytest.mark.parametrize("shape", [(2, 6), (3, 6, 4), (2, 6, 3, 3)])
def test_groupnorm_matches_torch(torch, shape):
    ours, theirs = _pair(torch, "GroupNorm", 3, 6)
    _step(torch, ours, theirs, np.random.default_rng(8).normal(1, 2, shape), 1e-9, 1e-12)
    assert repr(ours) == repr(theirs)


def test_groupnorm_channel_errors():
    with pytest.raises(
        ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"
    ):
        tg.nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match=r"divisible by num_groups, but got input of shape"):
        F.group_norm(tg.ones(2, 6, 4), 4)


def test_normalization_reprs_match_torch(torch):
    pairs = [
        (tg.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)),
        (
            tg.nn.BatchNorm2d(4, momentum=None, affine=False),
            torch.nn.BatchNorm2d(4, momentum=None, affine=False),
        ),
        (
            tg.nn.BatchNorm1d(2, track_running_stats=False),
            torch.nn.BatchNorm1d(2, track_running_stats=False),
        ),
        (tg.nn.LayerNorm(5, eps=1e-3), torch.nn.LayerNorm(5, eps=1e-3)),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


# --- normalize -----------------------------------------------------------------------------


def test_normalize_zero_vector_gives_zeros_and_finite_gradient():
    x = tg.zeros(2, 3, dtype=tg.float64, requires_grad=True)
    out = F.normalize(x)
    np.testing.assert_array_equal(out.detach().numpy(), np.zeros((2, 3)))
    out.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_normalize_by_hand():
    out = F.normalize(tg.tensor([[3.0, 4.0]]), dim=1)
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.8]], rtol=1e-6)


# --- every nn_norm op-table row against torch ------------------------------------------------


@pytest.mark.parametrize(("case", "sample", "index"), ROWS)
def test_nn_norm_rows_match_torch(torch, case, sample, index):
    values = build_arrays(case, sample, index)
    args = tg_args(sample, values, read_only=False)
    t_args = torch_args(torch, sample, values)
    out = op_callable(case)(*args, **sample.kwargs)
    t_out = case.torch(*t_args, **sample.kwargs)
    assert tuple(out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    if not out.requires_grad:
        return
    cotangent = np.random.default_rng(index).standard_normal(out.shape)
    ours = [a for a in args if isinstance(a, tg.Tensor) and a.requires_grad]
    theirs = [a for a in t_args if isinstance(a, torch.Tensor) and a.requires_grad]
    grads = tg.autograd.grad(out, ours, tg.from_numpy(cotangent), allow_unused=True)
    t_grads = torch.autograd.grad(
        t_out, theirs, torch.from_numpy(cotangent), allow_unused=True, materialize_grads=True
    )
    for g, t_g in zip(grads, t_grads):
        got = np.zeros(t_g.shape) if g is None else g.numpy()
        np.testing.assert_allclose(got, t_g.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "node", "features"),
    [("layer_norm", "NativeLayerNormBackward0", 5), ("batch_norm", "NativeBatchNormBackward0", 3)],
)
def test_norm_is_one_node_whose_double_backward_matches_torch(torch, name, node, features):
    """Second derivatives reach x through the fused node's mean and variance too."""
    rng = np.random.default_rng(7)
    arrays = [
        rng.normal(1.0, 2.0, (4, 3, 5)),
        rng.uniform(0.5, 1.5, features),
        rng.normal(size=features),
    ]
    cotangent = rng.standard_normal((4, 3, 5))
    directions = [rng.standard_normal(a.shape) for a in arrays]

    def run(lib, f):
        x, w, b = args = [lib.tensor(a, requires_grad=True) for a in arrays]
        if name == "layer_norm":
            out = f.layer_norm(x, (5,), w, b)
        else:
            out = f.batch_norm(x, None, None, w, b, training=True)
        grads = lib.autograd.grad(out, args, lib.tensor(cotangent), create_graph=True)
        total = sum((g * lib.tensor(d)).sum() for g, d in zip(grads, directions))
        second = lib.autograd.grad(total, args, allow_unused=True)  # none reaches b
        return out, [*grads, *second]

    out, ours = run(tg, F)
    assert out.grad_fn.name() == node
    _, theirs = run(torch, torch.nn.functional)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(
                a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-11
            )
