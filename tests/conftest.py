"""Shared fixtures: seeded randomness for every test, and torch when it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def torch():
    """PyTorch, for parity checks; tests that use it skip cleanly without it."""
    return pytest.importorskip("torch")
