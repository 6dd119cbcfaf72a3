"""A small CNN classifies handwritten digits: MNIST from IDX files, else the 8x8 digits.

    python examples/mnist_cnn.py [OUT_DIR] [--data DIR]      (default: out/, data/mnist)

The data comes from ``load_data`` in mnist_mlp.py (same rules: MNIST when its files are in
DIR, else scikit-learn's digits). Two conv + pool stages, then one linear layer; training
uses ``tg.training.fit``, the hand-written loop of mnist_mlp.py written once.
"""

from __future__ import annotations

import argparse
import os

from mnist_mlp import evaluate, load_data

import tapegrad as tg
from tapegrad import nn
from tapegrad.utils.data import DataLoader

MNIST_TRAIN_LIMIT = 5_000  # convolutions in numpy are slower: a smaller slice of MNIST


def main(out: str = "out", quick: bool = False, data: str = "data/mnist") -> float:
    tg.manual_seed(0)
    name, train_set, test_set = load_data(data, limit=MNIST_TRAIN_LIMIT)
    side = train_set.tensors[0].shape[-1]
    print(f"dataset: {name} ({len(train_set)} train, {len(test_set)} test, {side}x{side})")
    model = nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3, padding=1),  # (n, 8, side, side)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (n, 8, side/2, side/2)
        nn.Conv2d(8, 16, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (n, 16, side/4, side/4)
        nn.Flatten(),
        nn.Linear(16 * (side // 4) ** 2, 10),
    )
    optimizer = tg.optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(train_set, batch_size=32, shuffle=True)
    history = tg.training.fit(
        model,
        loader,
        nn.CrossEntropyLoss(),
        optimizer,
        epochs=2 if quick else 6,
        metrics={"accuracy": tg.training.accuracy},
        progress=False,
    )
    accuracy = evaluate(model, test_set)
    print(f"loss {history.epochs['loss'][-1]:.4f}, test accuracy {accuracy:.3f}")
    os.makedirs(out, exist_ok=True)
    paths = [os.path.join(out, "mnist_cnn_training.png"), os.path.join(out, "mnist_cnn_grads.png")]
    history.plot(paths[0])
    images, labels = next(iter(loader))  # one more backward, to show each layer's gradient size
    model.zero_grad()
    nn.functional.cross_entropy(model(images), labels).backward()
    tg.viz.plot_grad_flow(model, paths[1])
    for path in paths:
        print(f"wrote {path}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="out")
    parser.add_argument("--data", default="data/mnist", help="folder with the MNIST IDX files")
    parser.add_argument("--quick", action="store_true", help="fewer epochs")
    args = parser.parse_args()
    main(args.out, args.quick, args.data)
