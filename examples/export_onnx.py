"""Train a small digits classifier, export it to ONNX and serve a prediction with ONNX Runtime.

    pip install tapegrad[onnx]
    python examples/export_onnx.py [OUT_DIR]      (default: out/)

The "digits" are 8x8 images drawn around ten random prototypes (``tg.datasets.blobs`` in 64
dimensions), so the run needs no download. The exported graph takes any batch size.
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


def main(out_dir: str = "out", epochs: int = 5) -> float:
    """Train, export, predict with ONNX Runtime; returns the runtime's accuracy."""
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
    return accuracy


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out")
