"""Train a digits CNN and a sequence LSTM, export both to ONNX, serve them with ONNX Runtime.

    pip install tapegrad[onnx]
    python examples/export_onnx.py [OUT_DIR]      (default: out/)

The "digits" are 8x8 images drawn around ten random prototypes (``tg.datasets.blobs`` in 64
dimensions), so the run needs no download. The LSTM tells whether a sequence of numbers sums
to more than zero. Both graphs take any batch size: the LSTM is exported from a batch of
one, and its zero initial state and time-major reshapes follow the batch in the file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import tapegrad as tg
from tapegrad import nn


def digits(n_samples: int = 600) -> tuple[tg.Tensor, tg.Tensor]:
    """(N, 1, 8, 8) images of ten classes and their labels."""
    x, y = tg.datasets.blobs(n_samples, centers=10, std=2.0, dim=64)
    return x.float().reshape(-1, 1, 8, 8), y


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(8 * 4 * 4, 10),
    )


def train(epochs: int = 5, seed: int = 0):
    """Train the classifier; returns it (in eval mode) and the data."""
    tg.manual_seed(seed)
    x, y = digits()
    model = make_model()
    optimizer = tg.optim.Adam(model.parameters(), lr=1e-2)
    loader = tg.utils.data.DataLoader(
        tg.utils.data.TensorDataset(x, y), batch_size=64, shuffle=True
    )
    for _ in range(epochs):
        for images, labels in loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
    return model.eval(), (x, y)


class SequenceSign(nn.Module):
    """(N, T, 1) numbers -> LSTM -> last step -> two logits: is the sum above zero?"""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def sequences(n: int, length: int = 8) -> tuple[tg.Tensor, tg.Tensor]:
    x = tg.randn(n, length, 1)
    return x, (x.sum((1, 2)) > 0).long()


def export_sequence_model(out_dir: Path, steps: int = 60) -> float:
    """Train the LSTM briefly, export it from a batch of one, serve a batch of 256.

    Returns the largest difference between ONNX Runtime's and tapegrad's logits.
    """
    import onnxruntime

    model = SequenceSign()
    optimizer = tg.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(steps):
        x, y = sequences(64)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    path = out_dir / "sequence_sign.onnx"
    tg.onnx.export(
        model,
        (sequences(1)[0],),
        path,
        input_names=["numbers"],
        output_names=["logits"],
        dynamic_axes={"numbers": {0: "batch"}},  # the output's batch follows by itself
    )
    x, y = sequences(256)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"numbers": x.numpy()})
    with tg.no_grad():
        difference = float(np.abs(logits - model(x).numpy()).max())
    accuracy = float((logits.argmax(1) == y.numpy()).mean())
    print(f"wrote {path}")
    print(
        f"LSTM exported from a batch of 1, served a batch of 256: accuracy {accuracy:.3f}, "
        f"largest difference from tapegrad {difference:.2e}"
    )
    return difference


def main(out_dir: str = "out", epochs: int = 5) -> float:
    """Train, export, predict with ONNX Runtime; returns the runtime's digits accuracy."""
    import onnxruntime

    model, (x, y) = train(epochs)
    path = Path(out_dir) / "digits.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    tg.onnx.export(
        model,
        (x[:1],),  # one example image is enough: the batch axis is dynamic
        path,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"image": x.numpy()})
    with tg.no_grad():
        expected = model(x).numpy()
    accuracy = float((logits.argmax(1) == y.numpy()).mean())
    print(f"wrote {path}")
    print(
        f"ONNX Runtime accuracy {accuracy:.3f}; largest difference from tapegrad "
        f"{np.abs(logits - expected).max():.2e}"
    )
    print(f"first image: predicted {int(logits[0].argmax())}, label {int(y[0])}")
    export_sequence_model(path.parent)
    return accuracy


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out")
