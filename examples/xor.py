"""A 2-2-1 network learns XOR, in plain Python; writes its graph and training pictures.

    python examples/xor.py [OUT_DIR]      (default: out/)

Two hidden units are enough: a sigmoid hidden layer trained with momentum SGD separates the
four points. The run is seeded, so it is the same every time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tapegrad as tg
from tapegrad import nn


def train(steps: int = 1500, seed: int = 0):
    """Train the 2-2-1 net; return the model, its history and the data."""
    tg.manual_seed(seed)
    x, y = tg.datasets.xor()
    target = y.float().reshape(-1, 1)
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1))
    optimizer = tg.optim.SGD(model.parameters(), lr=2.0, momentum=0.9)
    loss_fn = nn.BCEWithLogitsLoss()
    history = tg.training.History()
    for step in range(steps):
        optimizer.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, target)
        loss.backward()
        optimizer.step()
        history.log_step(loss=loss.item(), accuracy=tg.training.accuracy(logits, y))
        if (step + 1) % 100 == 0:
            history.end_epoch()  # an "epoch" here is 100 steps on the four points
    return model, history, (x, y, target, loss_fn)


def draw(model, history, data, out: Path) -> list[Path]:
    """Write the graph of one forward+backward (coloured by gradient) and the training plots."""
    x, y, target, loss_fn = data
    out.mkdir(parents=True, exist_ok=True)
    with tg.viz.trace() as tape:  # records the module of each op, its site and its gradient
        loss = loss_fn(model(x), target)
        loss.backward()
    paths = [out / "xor_graph.png", out / "xor_training.png", out / "xor_boundary.png"]
    tg.viz.save(tg.viz.draw(loss, show_grads=True, show_order=True), paths[0])
    history.plot(paths[1], log=True)
    tg.viz.plot_decision_boundary(model, x, y, paths[2])
    print(tape.summary())
    return paths


def main(out: str = "out", steps: int = 1500) -> float:
    model, history, data = train(steps)
    x, y, _, _ = data
    with tg.no_grad():
        probabilities = model(x).sigmoid().reshape(-1)
    final = history.steps["loss"][-1]
    print(
        f"final loss {final:.2e}, predictions {[round(p, 3) for p in probabilities.tolist()]}"
        f" for targets {y.tolist()}"
    )
    for path in draw(model, history, data, Path(out)):
        print(f"wrote {path}")
    return final


if __name__ == "__main__":
    main(*sys.argv[1:2])
