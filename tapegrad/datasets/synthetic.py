"""Small synthetic classification sets for demos and tests, drawn from tapegrad's generator.

Each returns ``(X, y)``: float32 features of shape (n, 2) (or (n, dim)) and int64 labels.
"""

from __future__ import annotations

import numpy as np

from tapegrad.random import Generator, rng
from tapegrad.tensor import Tensor, _make


def _pair(x: np.ndarray, y: np.ndarray) -> tuple[Tensor, Tensor]:
    return _make(x.astype(np.float32)), _make(y.astype(np.int64))


def xor() -> tuple[Tensor, Tensor]:
    """The four XOR points and their labels (0, 1, 1, 0)."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    return _pair(x, np.array([0, 1, 1, 0]))


def moons(n_samples: int = 200, noise: float = 0.1, generator: Generator | None = None):
    """Two interleaving half circles, as scikit-learn's make_moons."""
    g = rng(generator)
    n_top = n_samples // 2
    n_bottom = n_samples - n_top
    top = np.linspace(0, np.pi, n_top)
    bottom = np.linspace(0, np.pi, n_bottom)
    x = np.concatenate(
        [
            np.stack([np.cos(top), np.sin(top)], 1),
            np.stack([1 - np.cos(bottom), 0.5 - np.sin(bottom)], 1),
        ]
    )
    x += g.normal(0.0, noise, size=x.shape)
    y = np.concatenate([np.zeros(n_top), np.ones(n_bottom)])
    return _pair(x, y)


def spirals(
    n_per_class: int = 100,
    classes: int = 2,
    noise: float = 0.2,
    turns: float = 1.0,
    generator: Generator | None = None,
):
    """``classes`` interleaved spiral arms (the classic CS231n spirals)."""
    g = rng(generator)
    xs, ys = [], []
    radius = np.linspace(0.0, 1.0, n_per_class)
    for c in range(classes):
        angle = np.linspace(
            c * 2 * np.pi / classes, c * 2 * np.pi / classes + turns * 2 * np.pi, n_per_class
        )
        angle = angle + g.normal(0.0, noise, n_per_class)
        xs.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], 1))
        ys.append(np.full(n_per_class, c))
    return _pair(np.concatenate(xs), np.concatenate(ys))


def blobs(
    n_samples: int = 200,
    centers: int = 3,
    std: float = 0.5,
    dim: int = 2,
    generator: Generator | None = None,
):
    """Gaussian clusters around random centres in [-5, 5]^dim."""
    g = rng(generator)
    middle = g.uniform(-5.0, 5.0, size=(centers, dim))
    labels = np.arange(n_samples) % centers
    x = middle[labels] + g.normal(0.0, std, size=(n_samples, dim))
    return _pair(x, labels)


def separable(
    n_samples: int = 200,
    dim: int = 2,
    margin: float = 0.5,
    generator: Generator | None = None,
):
    """Two classes split by a random hyperplane with a gap of ``margin`` between them."""
    g = rng(generator)
    normal = g.normal(size=dim)
    normal /= np.linalg.norm(normal)
    x = g.uniform(-3.0, 3.0, size=(n_samples, dim))
    side = x @ normal
    y = (side > 0).astype(np.int64)
    x += np.outer(np.where(y == 1, margin / 2, -margin / 2), normal)  # push apart: a real gap
    return _pair(x, y)
