"""Dropout: statistics, scaling, eval identity, seeding, gradient, channel-wise forms, errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import functional as F


def test_dropout_zeroes_a_fraction_p_and_scales_the_rest():
    p = 0.3
    out = F.dropout(tg.ones(200_000), p).numpy()
    dropped = np.mean(out == 0)
    assert abs(dropped - p) < 0.005  # binomial std is about 0.001
    np.testing.assert_allclose(out[out != 0], np.float32(1 / (1 - p)), rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.01  # the scaling keeps the expectation


def test_dropout_keeps_dtype_and_shape():
    x = tg.randn(3, 4, dtype=tg.float64)
    out = F.dropout(x, 0.5)
    assert out.dtype == tg.float64
    assert out.shape == (3, 4)


def test_dropout_eval_is_identity():
    x = tg.randn(4, 5)
    assert F.dropout(x, 0.5, training=False) is x
    layer = tg.nn.Dropout(0.5).eval()
    assert layer(x) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_module_honours_train_and_eval():
    layer = tg.nn.Dropout(0.5)
    x = tg.ones(1000)
    assert (layer(x).numpy() == 0).any()
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    layer.train()
    assert (layer(x).numpy() == 0).any()


def test_dropout_is_repeatable_with_manual_seed():
    x = tg.ones(50)
    tg.manual_seed(7)
    first = F.dropout(x, 0.4).numpy()
    tg.manual_seed(7)
    second = F.dropout(x, 0.4).numpy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, F.dropout(x, 0.4).numpy())


def test_dropout_gradient_is_mask_over_keep_probability():
    p = 0.25
    x = tg.tensor(np.random.default_rng(0).uniform(1, 2, (6, 7)), requires_grad=True)
    out = F.dropout(x, p)
    out.backward(tg.ones_like(out))
    kept = out.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), kept / (1 - p), rtol=1e-12)


def test_dropout_p_one_gives_zeros_and_zero_gradient():
    x = tg.randn(3, 4, requires_grad=True)
    out = F.dropout(x, 1.0)
    np.testing.assert_array_equal(out.detach().numpy(), np.zeros((3, 4)))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_probability_outside_unit_interval_raises(p):
    with pytest.raises(
        ValueError, match=rf"dropout probability has to be between 0 and 1, but got {p}"
    ):
        F.dropout(tg.ones(3), p)
    with pytest.raises(ValueError, match=r"between 0 and 1"):
        tg.nn.Dropout(p)
    with pytest.raises(ValueError, match=r"between 0 and 1"):
        F.dropout2d(tg.ones(2, 3, 4, 4), p)


def test_dropout_inplace_writes_into_the_input():
    x = tg.ones(100)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x
    assert (x.numpy() == 0).any()
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}


def test_dropout_inplace_on_a_leaf_that_requires_grad_raises():
    x = tg.ones(5, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"leaf Variable that requires grad"):
        F.dropout(x, 0.5, inplace=True)


def test_dropout_inplace_keeps_the_gradient_of_a_non_leaf():
    x = tg.ones(20, requires_grad=True)
    y = x * 3
    out = tg.nn.Dropout(0.5, inplace=True)(y)
    out.sum().backward()
    kept = out.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), 3 * kept * 2.0)


def test_dropout_on_integer_input_raises():
    with pytest.raises(RuntimeError, match=r"floating point input, got int64"):
        F.dropout(tg.tensor([1, 2, 3]), 0.5)


def _channels_are_whole(out: np.ndarray, scale: float) -> bool:
    flat = out.reshape(out.shape[0], out.shape[1], -1)
    return all(
        np.all(flat[n, c] == 0) or np.allclose(flat[n, c], scale)
        for n in range(flat.shape[0])
        for c in range(flat.shape[1])
    )


def test_dropout2d_drops_whole_channels():
    out = F.dropout2d(tg.ones(8, 16, 3, 3), 0.5).numpy()
    assert _channels_are_whole(out, 2.0)
    assert 0 < np.mean(out == 0) < 1


def test_dropout1d_drops_whole_channels_batched_and_unbatched():
    out = F.dropout1d(tg.ones(8, 16, 5), 0.5).numpy()
    assert _channels_are_whole(out, 2.0)
    unbatched = F.dropout1d(tg.ones(16, 5), 0.5).numpy()
    assert _channels_are_whole(unbatched[None], 2.0)


def test_dropout1d_rejects_other_ranks():
    with pytest.raises(
        RuntimeError, match=r"dropout1d: Expected 2D or 3D input, but received a 4D"
    ):
        F.dropout1d(tg.ones(2, 3, 4, 5))


def test_dropout2d_on_3d_input_warns_and_drops_channels_of_n_c_l():
    with pytest.warns(UserWarning, match=r"Received a 3D input to dropout2d"):
        out = F.dropout2d(tg.ones(4, 6, 5), 0.5).numpy()
    assert _channels_are_whole(out, 2.0)


def test_channel_dropout_modules_repr_and_eval():
    for cls in (tg.nn.Dropout1d, tg.nn.Dropout2d):
        layer = cls(0.2)
        assert repr(layer) == f"{cls.__name__}(p=0.2, inplace=False)"
        x = tg.ones(2, 3, 4, 4) if cls is tg.nn.Dropout2d else tg.ones(2, 3, 4)
        assert layer.eval()(x) is x


def test_dropout_repr_matches_torch(torch):
    assert repr(tg.nn.Dropout(0.3, inplace=True)) == repr(torch.nn.Dropout(0.3, inplace=True))
    assert repr(tg.nn.Dropout()) == repr(torch.nn.Dropout())


def test_dropout_statistics_match_torch(torch):
    p = 0.4
    ours = F.dropout(tg.ones(100_000), p).numpy()
    theirs = torch.nn.functional.dropout(torch.ones(100_000), p).numpy()
    assert abs(np.mean(ours == 0) - np.mean(theirs == 0)) < 0.01
    np.testing.assert_allclose(ours.max(), theirs.max(), rtol=1e-7)
