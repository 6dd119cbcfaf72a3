"""A tour of tg.viz: draws the pictures in docs/viz.md (python examples/viz_tour.py OUT_DIR)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import tapegrad as tg
from tapegrad import nn


class Lin(nn.Module):
    """x @ weight + bias, written as a broadcast product and a sum."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(tg.randn(n_in, n_out) * (1 / n_in**0.5))
        self.bias = nn.Parameter(tg.zeros(n_out))

    def forward(self, x):
        return (x.unsqueeze(-1) * self.weight).sum(-2) + self.bias


class Tanh(nn.Module):
    def forward(self, x):
        return x.tanh()


class Cell(nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.w_hh = nn.Parameter(tg.randn(n, n) * 0.5)

    def forward(self, x, h):
        return (x + (h.unsqueeze(-1) * self.w_hh).sum(-2)).tanh()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tg.manual_seed(0)
    model = nn.Sequential(Lin(2, 4), Tanh(), Lin(4, 1))
    x, y = tg.randn(8, 2), tg.randn(8, 1)
    with tg.viz.trace() as tape:
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
    print(tape.summary())
    tg.viz.save(loss, out / "mlp.svg")
    tg.viz.save(tg.viz.draw(loss, show_grads=True, show_order=True), out / "mlp_grads.svg")

    # NaN: sqrt'(0) is inf, and inf * 0 is NaN
    a = tg.tensor([1.0, 0.0, 4.0], dtype=tg.float32, requires_grad=True)
    b = tg.tensor([2.0, 0.0, 1.0], dtype=tg.float32, requires_grad=True)
    with tg.viz.trace(), np.errstate(divide="ignore", invalid="ignore"):
        h = (a * b).sqrt()
        nan_loss = (h * 2 + h).sum()
        print(tg.viz.explain(nan_loss, params={"a": a, "b": b}))
        nan_loss.backward()
    graph = tg.viz.draw(nan_loss, show_grads=True, show_order=True, params={"a": a, "b": b})
    tg.viz.save(graph, out / "nan.svg")

    # an RNN cell unrolled 8 steps, one node per call
    cell = Cell(3)
    hidden = tg.zeros(3)
    with tg.viz.trace():
        for step in np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32):
            hidden = cell(tg.tensor(step), hidden)
        rnn_loss = hidden.sum()
        rnn_loss.backward()
    tg.viz.save(tg.viz.draw(rnn_loss, depth=0, show_grads=True), out / "rnn_depth0.svg")

    w = tg.tensor([2.0], dtype=tg.float32, requires_grad=True)
    v = w * 3
    small = (v * v + v).sum()
    tg.viz.save(tg.viz.explain(small, params={"w": w}).draw(), out / "explain.svg")

    history = {"loss": [], "accuracy": []}
    rng = np.random.default_rng(0)
    points = rng.normal(size=(200, 2)).astype(np.float32)
    labels = (points**2).sum(1) < 1.2
    clf = nn.Sequential(Lin(2, 16), Tanh(), Lin(16, 1))
    inputs, targets = tg.tensor(points), tg.tensor(labels.astype(np.float32)).unsqueeze(-1)
    for _ in range(300):
        logits = clf(inputs)
        p = logits.sigmoid()
        bce = -(targets * (p + 1e-7).log() + (1 - targets) * (1 - p + 1e-7).log()).mean()
        for param in clf.parameters():
            param.grad = None
        bce.backward()
        with tg.no_grad():
            for param in clf.parameters():
                param -= 0.5 * param.grad
        history["loss"].append(bce.item())
        history["accuracy"].append(float(((logits.detach().numpy() > 0) == labels[:, None]).mean()))
    tg.viz.plot_history(history, out / "history.png", log=True)
    tg.viz.plot_decision_boundary(clf, points, labels.astype(np.int64), out / "boundary.png")
    tg.viz.plot_grad_flow(clf, out / "grad_flow.png")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images"))
