"""Optimizers: trajectories equal torch's (float64), plus validation and state round trips."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg

STEPS = 25
CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "maximize": False}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1}),
    (
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.2},
    ),
]


def _loss(lib, w, b, x, y):
    """A small least-squares problem with a nonlinearity, identical in both libraries."""
    pred = (x @ w + b).tanh()
    return ((pred - y) ** 2).mean() + (w**4).sum() * 0.01


def _problem():
    rng = np.random.default_rng(0)
    return (
        rng.standard_normal((3, 2)),
        rng.standard_normal(2),
        rng.standard_normal((8, 3)),
        rng.standard_normal((8, 2)),
    )


def _run_tapegrad(name, kwargs):
    w0, b0, x, y = _problem()
    w = tg.nn.Parameter(tg.tensor(w0))
    b = tg.nn.Parameter(tg.tensor(b0))
    opt = getattr(tg.optim, name)(
        [{"params": [w]}, {"params": [b], "lr": kwargs["lr"] / 2}], **kwargs
    )
    for _ in range(STEPS):
        opt.zero_grad()
        _loss(tg, w, b, tg.tensor(x), tg.tensor(y)).backward()
        opt.step()
    return w.detach().numpy(), b.detach().numpy()


def _needs_matmul():
    if not hasattr(tg.Tensor, "__matmul__"):
        pytest.skip("matmul not available yet")


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=[f"{n}{k}" for n, k in CONFIGS])
def test_optimizer_trajectory_matches_torch(name, kwargs, torch):
    _needs_matmul()
    w0, b0, x, y = _problem()
    w = torch.nn.Parameter(torch.tensor(w0))
    b = torch.nn.Parameter(torch.tensor(b0))
    opt = getattr(torch.optim, name)(
        [{"params": [w]}, {"params": [b], "lr": kwargs["lr"] / 2}], **kwargs
    )
    for _ in range(STEPS):
        opt.zero_grad()
        _loss(torch, w, b, torch.tensor(x), torch.tensor(y)).backward()
        opt.step()
    got_w, got_b = _run_tapegrad(name, kwargs)
    np.testing.assert_allclose(got_w, w.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(got_b, b.detach().numpy(), rtol=1e-9, atol=1e-10)


def test_sgd_step_matches_hand_derived_value():
    w = tg.nn.Parameter(tg.tensor([1.0, -2.0], dtype=tg.float64))
    opt = tg.optim.SGD([w], lr=0.1, momentum=0.5)
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()  # grad = 2w
        opt.step()
    # step 1: buf = 2w0 = [2, -4]; w1 = w0 - 0.1 buf = [0.8, -1.6]
    # step 2: buf = 0.5 [2, -4] + 2 w1 = [2.6, -5.2]; w2 = w1 - 0.1 buf = [0.54, -1.08]
    np.testing.assert_allclose(w.detach().numpy(), [0.54, -1.08], rtol=1e-12)


def test_optimizer_rejects_bad_hyperparameters():
    w = tg.nn.Parameter(tg.zeros(2))
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        tg.optim.SGD([w], lr=-1)
    with pytest.raises(ValueError, match=r"Invalid beta parameter at index 1: 1\.5"):
        tg.optim.Adam([w], betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="empty parameter list"):
        tg.optim.Adam([])
    with pytest.raises(ValueError, match="more than one parameter group"):
        tg.optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        tg.optim.SGD([w], lr=0.1, nesterov=True)


def test_zero_grad_sets_none_by_default_and_zeroes_on_request():
    w = tg.nn.Parameter(tg.ones(2))
    opt = tg.optim.SGD([w], lr=0.1)
    (w * 3).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_step_bumps_version_and_skips_params_without_grad():
    w, v = tg.nn.Parameter(tg.ones(2)), tg.nn.Parameter(tg.ones(2))
    opt = tg.optim.Adam([w, v], lr=0.1)
    (w * 2).sum().backward()
    before = w._version
    opt.step()
    assert w._version == before + 1
    assert v.tolist() == [1.0, 1.0] and v not in opt.state


def test_closure_is_called_with_grad_enabled_and_returns_loss():
    w = tg.nn.Parameter(tg.ones(2))
    opt = tg.optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 2.0
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 0.8], rtol=1e-6)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_state_dict_round_trip_through_save_continues_identically(name, tmp_path):
    def make():
        w = tg.nn.Parameter(tg.tensor([0.5, -1.5, 2.0], dtype=tg.float64))
        kwargs = {"lr": 0.1, "momentum": 0.9} if name in ("SGD", "RMSprop") else {"lr": 0.1}
        return w, getattr(tg.optim, name)([w], **kwargs)

    def train(w, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((w - 1.0) ** 2).sum().backward()
            opt.step()

    w_ref, opt_ref = make()
    train(w_ref, opt_ref, 6)
    w1, opt1 = make()
    train(w1, opt1, 3)
    tg.save({"w": w1.detach(), "opt": opt1.state_dict()}, tmp_path / "ckpt.tg")
    ckpt = tg.load(tmp_path / "ckpt.tg")
    w2, opt2 = make()
    with tg.no_grad():
        w2.copy_(ckpt["w"])
    opt2.load_state_dict(ckpt["opt"])
    train(w2, opt2, 3)
    np.testing.assert_allclose(w2.detach().numpy(), w_ref.detach().numpy(), rtol=1e-12)
