"""The one random generator behind every draw (creation, init, dropout, shuffling).

``manual_seed(n)`` makes all of them repeatable, as ``torch.manual_seed`` does.
"""

from __future__ import annotations

import numpy as np


class Generator:
    """A seeded source of random numbers. Same role as ``torch.Generator``."""

    def __init__(self, seed: int | None = None):
        self._rng = np.random.default_rng(seed)
        self._seed = seed

    def manual_seed(self, seed: int) -> Generator:
        self._rng = np.random.default_rng(seed)
        self._seed = seed
        return self

    def initial_seed(self) -> int | None:
        return self._seed


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed every random draw tapegrad makes. Same as ``torch.manual_seed``."""
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed expects an int, got {type(seed).__name__}")
    return default_generator.manual_seed(int(seed))


def initial_seed() -> int | None:
    """Return the seed last given to ``manual_seed`` (None if never). Same as torch."""
    return default_generator.initial_seed()


def rng(generator: Generator | None = None) -> np.random.Generator:
    """The numpy generator to draw from: the given one, or the global default."""
    return (generator or default_generator)._rng
