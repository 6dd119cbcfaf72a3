"""nn.utils: gradient clipping and parameter/vector conversion."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapegrad as tg


def _params_with_grads():
    ws = [tg.nn.Parameter(tg.randn(3, 2)), tg.nn.Parameter(tg.randn(4))]
    for w in ws:
        w.grad = tg.randn(*w.shape) * 3
    return ws


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type, torch):
    ws = _params_with_grads()
    tws = [torch.nn.Parameter(torch.tensor(w.detach().numpy())) for w in ws]
    for t, w in zip(tws, ws):
        t.grad = torch.tensor(w.grad.numpy().copy())
    got = tg.nn.utils.clip_grad_norm_(ws, 1.0, norm_type=norm_type)
    want = torch.nn.utils.clip_grad_norm_(tws, 1.0, norm_type=norm_type)
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-6)
    for w, t in zip(ws, tws):
        np.testing.assert_allclose(w.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_clip_grad_norm_scales_to_max_norm_and_leaves_small_grads():
    ws = _params_with_grads()
    total = tg.nn.utils.clip_grad_norm_(ws, 0.5)
    after = math.sqrt(sum(float((w.grad.numpy() ** 2).sum()) for w in ws))
    assert total.item() > 0.5 and abs(after - 0.5) < 1e-5
    before = [w.grad.numpy().copy() for w in ws]
    tg.nn.utils.clip_grad_norm_(ws, 10.0)
    for w, b in zip(ws, before):
        np.testing.assert_array_equal(w.grad.numpy(), b)


def test_clip_grad_norm_nonfinite_raises_on_request():
    w = tg.nn.Parameter(tg.ones(2))
    w.grad = tg.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        tg.nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_clamps_each_element():
    w = tg.nn.Parameter(tg.zeros(3))
    w.grad = tg.tensor([-5.0, 0.1, 3.0])
    tg.nn.utils.clip_grad_value_([w], 1.0)
    assert w.grad.tolist() == pytest.approx([-1.0, 0.1, 1.0])


def test_parameters_to_vector_and_back_round_trip():
    ws = [tg.nn.Parameter(tg.randn(2, 3)), tg.nn.Parameter(tg.randn(4))]
    vec = tg.nn.utils.parameters_to_vector(ws)
    assert vec.shape == (10,)
    tg.nn.utils.vector_to_parameters(vec * 2, ws)
    np.testing.assert_allclose(
        tg.nn.utils.parameters_to_vector(ws).detach().numpy(), vec.detach().numpy() * 2, rtol=1e-6
    )
    with pytest.raises(ValueError, match=r"shape \(9,\) does not hold the 10 elements"):
        tg.nn.utils.vector_to_parameters(tg.zeros(9), ws)
