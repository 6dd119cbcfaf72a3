"""Gradients of gradients: a Hessian-vector product and a gradient penalty.

    python examples/higher_order.py [OUT_DIR]      (default: out/)

``tg.autograd.grad(..., create_graph=True)`` records the backward pass on the tape too, so
its result can be differentiated again. Two uses:

1. Hessian-vector products ``H v`` for the price of two backward passes, without building
   ``H``; power iteration on them finds the loss's sharpest curvature. (The full Hessian of a
   small model, with ``tg.func.hessian``, is in hessian.py.)
2. A gradient penalty (Drucker & LeCun's "double backpropagation"): add ``|d logit / d x|^2``
   to the loss, so training differentiates through a gradient. The classifier becomes flatter
   around the data, which the decision-boundary pictures show.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tapegrad as tg
from tapegrad import nn


def make_model():
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).double()


def hvp(loss_fn, params: list, vector: list) -> list:
    """Return ``H v`` for the Hessian of ``loss_fn()`` in ``params``: d/dp <grad, v>."""
    grads = tg.autograd.grad(loss_fn(), params, create_graph=True)
    grad_dot_v = sum((g * v).sum() for g, v in zip(grads, vector))
    return list(tg.autograd.grad(grad_dot_v, params))


def check_hvp(loss_fn, params: list, eps: float = 1e-6) -> float:
    """Largest gap between ``H v`` and central differences of the gradient along ``v``."""
    vector = [tg.randn(p.shape, dtype=p.dtype) for p in params]
    exact = hvp(loss_fn, params, vector)

    def grad_at(sign: float) -> list:
        with tg.no_grad():
            for p, v in zip(params, vector):
                p += sign * eps * v
        grads = tg.autograd.grad(loss_fn(), params)
        with tg.no_grad():
            for p, v in zip(params, vector):
                p -= sign * eps * v
        return grads

    plus, minus = grad_at(1.0), grad_at(-1.0)
    numeric = [(a - b) / (2 * eps) for a, b in zip(plus, minus)]
    return max((e - n).abs().max().item() for e, n in zip(exact, numeric))


def sharpest_curvature(loss_fn, params: list, iterations: int = 30) -> float:
    """Largest-magnitude Hessian eigenvalue by power iteration on Hessian-vector products."""
    vector = [tg.randn(p.shape, dtype=p.dtype) for p in params]
    eigenvalue = 0.0
    for _ in range(iterations):
        norm = sum((v * v).sum() for v in vector).sqrt()
        vector = [v / norm for v in vector]
        product = hvp(loss_fn, params, vector)
        eigenvalue = sum((h * v).sum() for h, v in zip(product, vector)).item()  # Rayleigh
        vector = product
    return eigenvalue


def train(x, y, penalty: float, steps: int):
    """Fit a classifier with ``penalty * mean |d logit / d x|^2`` added to its loss."""
    tg.manual_seed(0)
    model = make_model()
    optimizer = tg.optim.Adam(model.parameters(), lr=0.03)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(steps):
        optimizer.zero_grad()
        inputs = x.detach().requires_grad_()
        logits = model(inputs)
        loss = loss_fn(logits, y.double().reshape(-1, 1))
        if penalty:
            (input_grad,) = tg.autograd.grad(logits.sum(), inputs, create_graph=True)
            loss = loss + penalty * (input_grad**2).sum(1).mean()
        loss.backward()  # through the penalty too: a second derivative of the model
        optimizer.step()
    return model


def input_gradient_norm(model, x) -> float:
    """Mean |d logit / d x| over the data: how steep the classifier is where the points are."""
    inputs = x.detach().requires_grad_()
    (input_grad,) = tg.autograd.grad(model(inputs).sum(), inputs)
    return (input_grad**2).sum(1).sqrt().mean().item()


def main(out: str = "out", quick: bool = False) -> dict[str, float]:
    tg.manual_seed(0)
    x, y = tg.datasets.moons(n_samples=200, noise=0.15)
    x = x.double()
    model = train(x, y, penalty=0.0, steps=100)
    params = list(model.parameters())

    def loss_fn():
        return nn.functional.binary_cross_entropy_with_logits(model(x), y.double().reshape(-1, 1))

    results = {"hvp_error": check_hvp(loss_fn, params)}
    results["sharpest_curvature"] = sharpest_curvature(loss_fn, params, 10 if quick else 30)
    print(f"H v vs finite differences: max gap {results['hvp_error']:.2e}")
    print(f"sharpest curvature (top Hessian eigenvalue): {results['sharpest_curvature']:.4f}")

    steps = 150 if quick else 400
    Path(out).mkdir(parents=True, exist_ok=True)
    paths = []
    for penalty in (0.0, 0.02):
        model = train(x, y, penalty, steps)
        name = "plain" if penalty == 0 else "penalty"
        results[f"accuracy_{name}"] = tg.training.accuracy(model(x), y)
        results[f"input_grad_{name}"] = input_gradient_norm(model, x)
        print(
            f"{name:>7}: accuracy {results[f'accuracy_{name}']:.3f}, "
            f"mean |d logit/dx| {results[f'input_grad_{name}']:.2f}"
        )
        paths.append(Path(out) / f"higher_order_boundary_{name}.png")
        figure = tg.viz.plot_decision_boundary(model, x, y)
        figure.axes[0].set_title(f"gradient penalty {penalty}")
        figure.savefig(paths[-1], dpi=120)
    for path in paths:
        print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main(*sys.argv[1:2])
