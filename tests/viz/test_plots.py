"""Plots: each returns a Figure and writes a real image file; errors name the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn
from tests.viz.models import MLP, Lin

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def is_png(path) -> bool:
    data = Path(path).read_bytes()
    return data.startswith(PNG_MAGIC) and len(data) > 1000


def test_plot_history_per_step_and_per_epoch(tmp_path):
    steps = 120
    loss = list(np.exp(-np.linspace(0, 4, steps)) + 0.01)
    history = {"loss": loss, "accuracy": list(np.linspace(0.5, 0.95, steps))}
    epochs = {
        "loss": [np.mean(loss[i : i + 30]) for i in range(0, steps, 30)],
        "val_loss": [0.5, 0.3, 0.2, 0.15],
    }
    fig = tg.viz.plot_history(history, tmp_path / "history.png", log=True, epochs=epochs)
    assert isinstance(fig, Figure) and is_png(tmp_path / "history.png")
    losses, metrics = fig.axes
    assert losses.get_yscale() == "log" and metrics.get_yscale() == "linear"
    labels = [
        line.get_label() for line in losses.get_lines() if not line.get_label().startswith("_")
    ]
    assert labels == ["loss (mean of 4)", "loss (per epoch)", "val_loss"]
    per_epoch = losses.get_lines()[2]
    np.testing.assert_allclose(per_epoch.get_xdata(), [30, 60, 90, 120])


def test_plot_history_with_epochs_only_and_errors(tmp_path):
    fig = tg.viz.plot_history({"loss": [1.0, 0.5, 0.25]})
    assert fig.axes[0].get_xlabel() == "step"
    fig = tg.viz.plot_history({}, epochs={"acc": [0.5, 0.7]})
    assert fig.axes[0].get_xlabel() == "epoch"
    with pytest.raises(ValueError, match=r"needs positive losses"):
        tg.viz.plot_history({"loss": [1.0, 0.0]}, log=True)
    with pytest.raises(ValueError, match=r"history\['loss'\] must be a non-empty list"):
        tg.viz.plot_history({"loss": []})
    with pytest.raises(ValueError, match="at least one series"):
        tg.viz.plot_history({})


class Logit(nn.Module):
    def __init__(self, classes: int = 1):
        super().__init__()
        self.net = MLP(hidden=1, width=8, n_out=classes)
        self.classes = classes

    def forward(self, x):
        out = self.net(x)
        return out.squeeze(-1) if self.classes == 1 else out


def test_plot_decision_boundary_binary_and_multiclass(tmp_path):
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = Logit()
    fig = tg.viz.plot_decision_boundary(model, X, y, tmp_path / "binary.png", resolution=50)
    assert isinstance(fig, Figure) and is_png(tmp_path / "binary.png")
    assert model.training  # eval only while plotting
    three = Logit(classes=3)
    labels = tg.tensor(rng.integers(0, 3, size=60))
    tg.viz.plot_decision_boundary(
        three, tg.tensor(X), labels, tmp_path / "multi.png", resolution=40
    )
    assert is_png(tmp_path / "multi.png")
    with pytest.raises(ValueError, match=r"needs X of shape \(n, 2\), got \(60, 3\)"):
        tg.viz.plot_decision_boundary(model, np.zeros((60, 3)), y)
    with pytest.raises(ValueError, match="X has 60 points but y has 59 labels"):
        tg.viz.plot_decision_boundary(model, X, y[:59])


def test_plot_grad_flow_marks_parameters_without_gradient(tmp_path):
    tg.manual_seed(0)
    model = nn.Sequential(Lin(2, 3), Lin(3, 1), Lin(1, 1))
    model[1](model[0](tg.randn(4, 2))).sum().backward()  # the last layer gets no gradient
    fig = tg.viz.plot_grad_flow(model, tmp_path / "flow.png")
    assert is_png(tmp_path / "flow.png")
    (ax,) = fig.axes
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]
    dead = [t.get_text() for t in ax.get_xticklabels() if t.get_color() == "#e03131"]
    assert dead == ["2.weight", "2.bias"]
    fig = tg.viz.plot_grad_flow(dict(model.named_parameters()))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == names
    with pytest.raises(ValueError, match="found no parameters"):
        tg.viz.plot_grad_flow([])
