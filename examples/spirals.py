"""An MLP learns three interleaved spirals; the decision boundary is saved as it changes.

    python examples/spirals.py [OUT_DIR]      (default: out/)

No straight line separates the arms, so the hidden layers must bend the plane. The pictures
at a few steps show it: a few wedges first, then the arms curling outwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tapegrad as tg
from tapegrad import nn


def main(out: str = "out", quick: bool = False) -> float:
    tg.manual_seed(0)
    x, y = tg.datasets.spirals(n_per_class=100, classes=3, noise=0.1)
    model = nn.Sequential(
        nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3)
    )
    optimizer = tg.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()
    steps = 200 if quick else 600
    snapshots = {steps // 10, steps // 3, steps}  # when to draw the boundary
    history = tg.training.History()
    Path(out).mkdir(parents=True, exist_ok=True)
    paths = []
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
        optimizer.step()
        history.log_step(loss=loss.item(), accuracy=tg.training.accuracy(logits, y))
        if step in snapshots:
            path = Path(out) / f"spirals_boundary_step{step:04d}.png"
            figure = tg.viz.plot_decision_boundary(model, x, y)
            figure.axes[0].set_title(f"step {step}: loss {loss.item():.3f}")
            figure.savefig(path, dpi=120)
            paths.append(path)
    paths.append(Path(out) / "spirals_training.png")
    history.plot(paths[-1], log=True)
    final = history.steps["accuracy"][-1]
    print(f"training accuracy {final:.3f}, loss {history.steps['loss'][-1]:.4f}")
    for path in paths:
        print(f"wrote {path}")
    return final


if __name__ == "__main__":
    main(*sys.argv[1:2])
