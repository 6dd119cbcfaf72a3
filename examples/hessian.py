"""The Hessian of a small MLP's loss: tg.func.hessian, checked against finite differences."""

from __future__ import annotations

import numpy as np

import tapegrad as tg
from tapegrad import func


def loss_fn(w1, w2, x, y):
    hidden = (x.unsqueeze(1) * w1).sum(-1).tanh()  # x @ w1.T with broadcasting
    pred = (hidden * w2).sum(-1)
    return ((pred - y) ** 2).mean()


def main() -> None:
    rng = np.random.default_rng(0)
    w1 = tg.tensor(rng.standard_normal((3, 2)))
    w2 = tg.tensor(rng.standard_normal(3))
    x = tg.tensor(rng.standard_normal((8, 2)))
    y = tg.tensor(rng.standard_normal(8))

    h = func.hessian(loss_fn)(w1, w2, x, y)  # d^2 loss / d w1^2: shape (3, 2, 3, 2)
    print("Hessian block shape:", tuple(h.shape))
    matrix = h.reshape(6, 6).numpy()
    print("eigenvalues:", np.round(np.linalg.eigvalsh(matrix), 4))

    def numeric_grad(flat):
        w = tg.tensor(flat.reshape(3, 2))
        return func.grad(loss_fn)(w, w2, x, y).numpy().ravel()

    eps = 1e-6
    base = w1.numpy().ravel()
    columns = [
        (numeric_grad(base + e) - numeric_grad(base - e)) / (2 * eps) for e in np.eye(6) * eps
    ]
    print("max difference to finite differences:", np.abs(matrix - np.stack(columns, 1)).max())


if __name__ == "__main__":
    main()
