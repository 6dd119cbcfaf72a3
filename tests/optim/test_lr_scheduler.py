"""Schedulers: the learning-rate sequences equal torch's (or hand-derived values)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapegrad as tg

EPOCHS = 30
SCHEDULES = [
    ("StepLR", {"step_size": 4, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [3, 7, 7, 12], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.01}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 1 / (1 + epoch)}),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": EPOCHS + 1}),
    (
        "OneCycleLR",
        {
            "max_lr": [1.0, 0.5],
            "total_steps": EPOCHS + 1,
            "three_phase": True,
            "anneal_strategy": "linear",
        },
    ),
]


def _lrs(lib, name, kwargs, optimizer_name="SGD"):
    a = lib.nn.Parameter(lib.zeros(2))
    b = lib.nn.Parameter(lib.zeros(2))
    opt = getattr(lib.optim, optimizer_name)(
        [{"params": [a]}, {"params": [b], "lr": 0.2}], lr=0.1, momentum=0.9
    )
    sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
    seen = [sched.get_last_lr()]
    momenta = [[g["momentum"] for g in opt.param_groups]]
    for _ in range(EPOCHS):
        opt.step()
        sched.step()
        seen.append(sched.get_last_lr())
        momenta.append([g["momentum"] for g in opt.param_groups])
    return np.array(seen), np.array(momenta)


@pytest.mark.parametrize(
    ("name", "kwargs"), SCHEDULES, ids=[f"{n}{i}" for i, (n, _) in enumerate(SCHEDULES)]
)
def test_schedule_matches_torch(name, kwargs, torch):
    got, got_m = _lrs(tg, name, kwargs)
    want, want_m = _lrs(torch, name, kwargs)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got_m, want_m, rtol=1e-12)


def test_step_lr_matches_hand_derived_sequence():
    got, _ = _lrs(tg, "StepLR", {"step_size": 2, "gamma": 0.5})
    want = [0.1 * 0.5 ** (epoch // 2) for epoch in range(EPOCHS + 1)]
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-12)


def test_cosine_annealing_matches_closed_form_within_a_period():
    got, _ = _lrs(tg, "CosineAnnealingLR", {"T_max": 10, "eta_min": 0.0})
    want = [0.05 * (1 + math.cos(math.pi * t / 10)) for t in range(11)]
    np.testing.assert_allclose(got[:11, 0], want, rtol=1e-9)


def test_reduce_on_plateau_matches_torch(torch):
    metrics = [1.0, 0.9, 0.9, 0.9, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5]

    def run(lib):
        w = lib.nn.Parameter(lib.zeros(1))
        opt = lib.optim.SGD([w], lr=1.0)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1)
        out = []
        for m in metrics:
            sched.step(m)
            out.append(opt.param_groups[0]["lr"])
        return out

    assert run(tg) == run(torch)


def test_one_cycle_rejects_stepping_past_total_steps():
    w = tg.nn.Parameter(tg.zeros(1))
    opt = tg.optim.SGD([w], lr=0.1, momentum=0.9)
    sched = tg.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        sched.step()
