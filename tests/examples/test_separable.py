"""examples/separable.py: logistic regression drives the loss below 1e-4 on separable data."""

from __future__ import annotations

import pytest

from tests.examples._load import load_example


def test_logistic_regression_drives_loss_below_1e_4(tmp_path):
    pytest.importorskip("matplotlib")
    final = load_example("separable").main(str(tmp_path), quick=True)
    assert final < 1e-4
    for name in ("separable_training.png", "separable_boundary.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
