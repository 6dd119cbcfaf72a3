"""An MLP classifies handwritten digits: MNIST when its IDX files are there, else 8x8 digits.

    python examples/mnist_mlp.py [OUT_DIR] [--data DIR]      (default: out/, data/mnist)

With ``train-images-idx3-ubyte.gz`` and friends in DIR (from any MNIST mirror), it trains on
real MNIST: a 10,000-image slice for 3 epochs, to stay under a minute. Without them it uses
the 1,797 8x8 digits that scikit-learn ships: ``pip install 'tapegrad[examples]'``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import tapegrad as tg
from tapegrad import nn
from tapegrad.utils.data import DataLoader, TensorDataset

MNIST_TRAIN_LIMIT = 10_000  # pure numpy: a slice of the 60,000 keeps a run under a minute


def load_data(data: str = "data/mnist", limit: int = MNIST_TRAIN_LIMIT):
    """Return ``(name, train_set, test_set)`` of (n, 1, side, side) float images in [0, 1]."""
    if os.path.exists(os.path.join(data, "t10k-labels-idx1-ubyte.gz")) or os.path.exists(
        os.path.join(data, "t10k-labels-idx1-ubyte")
    ):
        train = tg.datasets.MNIST(data, train=True).tensors()
        test = tg.datasets.MNIST(data, train=False).tensors()
        return "MNIST", TensorDataset(*(t[:limit] for t in train)), TensorDataset(*test)
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SystemExit(
            f"no MNIST IDX files in {data!r} and scikit-learn is not installed: put the MNIST "
            "files there, or pip install 'tapegrad[examples]' for the 8x8 digits"
        ) from None
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # pixels are 0..16
    order = np.random.default_rng(0).permutation(len(images))
    images, labels = tg.tensor(images[order]), tg.tensor(digits.target[order])
    split = int(0.8 * len(order))
    train = TensorDataset(images[:split], labels[:split])
    test = TensorDataset(images[split:], labels[split:])
    return "scikit-learn 8x8 digits", train, test


def evaluate(model, dataset) -> float:
    """Accuracy on a whole dataset, in eval mode and without recording a graph."""
    model.eval()
    correct = 0
    with tg.no_grad():
        for images, labels in DataLoader(dataset, batch_size=500):  # bounded memory
            correct += tg.training.accuracy(model(images), labels) * len(labels)
    model.train()
    return correct / len(dataset)


def main(out: str = "out", quick: bool = False, data: str = "data/mnist") -> float:
    tg.manual_seed(0)
    name, train_set, test_set = load_data(data)
    side = train_set.tensors[0].shape[-1]
    print(f"dataset: {name} ({len(train_set)} train, {len(test_set)} test, {side}x{side})")
    model = nn.Sequential(nn.Flatten(), nn.Linear(side * side, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = tg.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(train_set, batch_size=64, shuffle=True)
    history = tg.training.History()
    epochs = 3 if quick or name == "MNIST" else 10  # MNIST: more images per epoch
    for epoch in range(epochs):
        for images, labels in loader:
            optimizer.zero_grad()
            logits = model(images)
            loss = loss_fn(logits, labels)
            loss.backward()
            optimizer.step()
            history.log_step(loss=loss.item(), accuracy=tg.training.accuracy(logits, labels))
        history.end_epoch()
        history.log_epoch(test_accuracy=evaluate(model, test_set))
        print(
            f"epoch {epoch + 1}: loss {history.epochs['loss'][-1]:.4f}, "
            f"test accuracy {history.epochs['test_accuracy'][-1]:.3f}"
        )
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "mnist_mlp_training.png")
    history.plot(path)
    print(f"wrote {path}")
    return history.epochs["test_accuracy"][-1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="out")
    parser.add_argument("--data", default="data/mnist", help="folder with the MNIST IDX files")
    parser.add_argument("--quick", action="store_true", help="fewer epochs")
    args = parser.parse_args()
    main(args.out, args.quick, args.data)
