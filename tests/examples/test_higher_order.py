"""examples/higher_order.py: Hessian-vector products and a gradient penalty."""

from __future__ import annotations

import pytest

from tests.examples._load import load_example


def test_hvp_matches_finite_differences_and_penalty_flattens_classifier(tmp_path):
    pytest.importorskip("matplotlib")
    results = load_example("higher_order").main(str(tmp_path), quick=True)
    assert results["hvp_error"] < 1e-6
    assert results["sharpest_curvature"] > 0
    assert results["accuracy_plain"] > 0.95
    assert results["accuracy_penalty"] > 0.9
    assert results["input_grad_penalty"] < 0.5 * results["input_grad_plain"]
    for name in ("plain", "penalty"):
        assert (tmp_path / f"higher_order_boundary_{name}.png").read_bytes()[:4] == b"\x89PNG"
