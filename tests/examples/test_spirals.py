"""examples/spirals.py: an MLP separates three spirals; boundary pictures over training."""

from __future__ import annotations

import pytest

from tests.examples._load import load_example


def test_mlp_learns_spirals_and_draws_boundary_over_training(tmp_path):
    pytest.importorskip("matplotlib")
    final = load_example("spirals").main(str(tmp_path), quick=True)
    assert final > 0.95
    boundaries = sorted(tmp_path.glob("spirals_boundary_step*.png"))
    assert len(boundaries) == 3
    for path in [*boundaries, tmp_path / "spirals_training.png"]:
        assert path.read_bytes()[:4] == b"\x89PNG"
