"""The fit helper: it trains, logs per step and per epoch, validates, and steps schedulers."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.training import History, accuracy, evaluate, fit
from tapegrad.utils.data import DataLoader, TensorDataset


class _Logistic(tg.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = tg.nn.Parameter(tg.zeros(2, 1))
        self.b = tg.nn.Parameter(tg.zeros(1))

    def forward(self, x):
        return (x @ self.w + self.b).reshape(-1)


def _bce(logits, y):
    y = y.float()
    return (logits.clamp(min=0) - logits * y + (-logits.abs()).exp().log1p()).mean()


def _loaders():
    x, y = tg.datasets.separable(n_samples=64, margin=1.0)
    ds = TensorDataset(x, y)
    return DataLoader(ds, batch_size=16, shuffle=True), DataLoader(ds, batch_size=64)


def test_fit_drives_loss_down_and_logs_steps_and_epochs(capsys):
    train, val = _loaders()
    model = _Logistic()
    opt = tg.optim.SGD(model.parameters(), lr=0.5)
    history = fit(
        model, train, _bce, opt, epochs=5, metrics={"acc": accuracy}, val_loader=val, progress=False
    )
    assert len(history.steps["loss"]) == 5 * 4 and len(history.epochs["loss"]) == 5
    assert history.epochs["loss"][-1] < history.epochs["loss"][0] * 0.5
    assert history.epochs["val_acc"][-1] == 1.0
    assert capsys.readouterr().out == ""


def test_fit_epoch_means_equal_the_mean_of_their_steps():
    train, _ = _loaders()
    model = _Logistic()
    history = fit(
        model, train, _bce, tg.optim.SGD(model.parameters(), lr=0.1), epochs=2, progress=False
    )
    np.testing.assert_allclose(history.epochs["loss"][1], np.mean(history.steps["loss"][4:8]))


def test_fit_steps_the_scheduler_once_per_epoch_and_prints_a_summary(capsys):
    train, _ = _loaders()
    model = _Logistic()
    opt = tg.optim.SGD(model.parameters(), lr=1.0)
    sched = tg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    fit(model, train, _bce, opt, epochs=3, scheduler=sched, progress=True)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.125)
    assert "epoch 3/3" in capsys.readouterr().out


def test_evaluate_restores_train_mode_and_records_nothing():
    _, val = _loaders()
    model = _Logistic()
    result = evaluate(model, val, _bce, {"acc": accuracy})
    assert model.training and set(result) == {"loss", "acc"}
    assert all(p.grad is None for p in model.parameters())


def test_history_end_epoch_averages_only_the_last_epoch():
    h = History()
    h.log_step(loss=1.0)
    h.end_epoch()
    h.log_step(loss=0.2)
    h.log_step(loss=0.4)
    assert h.end_epoch() == {"loss": pytest.approx(0.3)}
    assert h.epochs["loss"] == pytest.approx([1.0, 0.3])


def test_accuracy_handles_logit_columns_and_class_scores():
    assert accuracy(tg.tensor([[2.0], [-1.0]]), tg.tensor([1, 0])) == 1.0
    assert accuracy(tg.tensor([[0.1, 0.9], [0.8, 0.2]]), tg.tensor([1, 1])) == 0.5


def test_history_plot_writes_a_file(tmp_path):
    pytest.importorskip("matplotlib")
    h = History()
    for v in (1.0, 0.5, 0.25):
        h.log_step(loss=v)
    h.end_epoch()
    h.plot(tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
