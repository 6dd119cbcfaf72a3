"""examples/mnist_mlp.py: an MLP on the 8x8 digits (no MNIST files here) passes 0.9."""

from __future__ import annotations

import sys

import pytest

from tests.datasets.test_datasets import _fake_mnist
from tests.examples._load import load_example


def test_mlp_classifies_digits_and_says_which_dataset(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    accuracy = load_example("mnist_mlp").main(str(tmp_path), quick=True, data=str(tmp_path))
    assert accuracy > 0.9
    assert "dataset: scikit-learn 8x8 digits" in capsys.readouterr().out
    assert (tmp_path / "mnist_mlp_training.png").read_bytes()[:4] == b"\x89PNG"


def test_without_mnist_files_or_sklearn_exits_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import now raises ImportError
    with pytest.raises(SystemExit, match=r"no MNIST IDX files in .* scikit-learn is not installed"):
        load_example("mnist_mlp").load_data(str(tmp_path))


def test_mnist_idx_files_are_used_when_present(tmp_path):
    _fake_mnist(tmp_path, n=6, prefix="train")
    _fake_mnist(tmp_path, n=3, prefix="t10k")
    name, train, test = load_example("mnist_mlp").load_data(str(tmp_path), limit=4)
    assert name == "MNIST"
    assert train.tensors[0].shape == (4, 1, 28, 28)
    assert len(test) == 3
