"""examples/mnist_cnn.py: a small CNN on the 8x8 digits (no MNIST files here), trained by fit."""

from __future__ import annotations

import pytest

from tests.datasets.test_datasets import _fake_mnist
from tests.examples._load import load_example


def test_cnn_classifies_digits_and_draws_training_and_grad_flow(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    accuracy = load_example("mnist_cnn").main(str(tmp_path), quick=True, data=str(tmp_path))
    assert accuracy > 0.9
    assert "dataset: scikit-learn 8x8 digits" in capsys.readouterr().out
    for name in ("mnist_cnn_training.png", "mnist_cnn_grads.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_cnn_runs_on_28x28_mnist_files(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    _fake_mnist(tmp_path, n=8, prefix="train")
    _fake_mnist(tmp_path, n=4, prefix="t10k")
    accuracy = load_example("mnist_cnn").main(str(tmp_path), quick=True, data=str(tmp_path))
    assert 0.0 <= accuracy <= 1.0  # random images: only the shapes and the wiring are checked
    assert "dataset: MNIST (8 train, 4 test, 28x28)" in capsys.readouterr().out
