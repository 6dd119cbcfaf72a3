"""MNIST and Fashion-MNIST from the standard IDX files: read locally, or download and verify.

The IDX reader checks magic numbers and sizes, so a wrong or damaged file gives a clear error.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import tempfile
import urllib.request

import numpy as np

from tapegrad.tensor import Tensor, _make
from tapegrad.utils.data.dataset import Dataset

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
FASHION_MNIST_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into an array of its declared type and shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {data[:4]!r})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path} is truncated: its header needs {header} bytes")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{path} declares shape {shape} ({expected} bytes of data) but holds "
            f"{len(data) - header} bytes"
        )
    return (
        np.frombuffer(data, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(url: str, path: str, checksum: str | None, timeout: float = 60.0) -> None:
    """Fetch ``url`` to ``path`` atomically, verifying its md5 when a checksum is given."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            shutil.copyfileobj(response, out)
        if checksum is not None and md5(tmp) != checksum:
            raise RuntimeError(f"download of {url} failed its checksum (expected md5 {checksum})")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class MNIST(Dataset):
    """Handwritten digits, 28x28, from the IDX files in ``root``. As torchvision's MNIST.

    Samples are ``(image, label)``: a float32 tensor of shape (1, 28, 28) scaled to [0, 1]
    (or ``transform(image)``) and an int. ``download=True`` fetches missing files from
    ``mirror`` and checks their md5; without the files and without download, a clear error.
    """

    files = MNIST_FILES
    mirror = MNIST_MIRROR

    def __init__(
        self,
        root: str,
        train: bool = True,
        transform=None,
        target_transform=None,
        download: bool = False,
        mirror: str | None = None,
    ):
        self.root, self.train = os.fspath(root), train
        self.transform, self.target_transform = transform, target_transform
        prefix = "train" if train else "t10k"
        names = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
        paths = [self._locate(name, download, mirror or self.mirror) for name in names]
        images, labels = read_idx(paths[0]), read_idx(paths[1])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"{type(self).__name__}: images {images.shape} and labels {labels.shape} in "
                f"{self.root} do not match"
            )
        self.data = images
        self.targets = labels.astype(np.int64)

    def _locate(self, name: str, download: bool, mirror: str) -> str:
        for candidate in (name, name[:-3]):  # gzipped or already unpacked
            path = os.path.join(self.root, candidate)
            if os.path.exists(path):
                return path
        path = os.path.join(self.root, name)
        if not download:
            raise FileNotFoundError(
                f"{type(self).__name__}: {name} not found in {self.root}; put the IDX files "
                "there or pass download=True"
            )
        download_url = mirror.rstrip("/") + "/" + name
        download_file(download_url, path, self.files.get(name))
        return path

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        image: Tensor | object = _make(
            (self.data[index] / np.float32(255)).astype(np.float32)[None]
        )
        if self.transform is not None:
            image = self.transform(image)
        label = int(self.targets[index])
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def tensors(self) -> tuple[Tensor, Tensor]:
        """All images (n, 1, 28, 28) in [0, 1] and labels at once, for fast TensorDatasets."""
        images = (self.data / np.float32(255)).astype(np.float32)[:, None]
        return _make(images), _make(self.targets)


class FashionMNIST(MNIST):
    """Zalando's clothing images in MNIST's format. As torchvision's FashionMNIST."""

    files = FASHION_MNIST_FILES
    mirror = FASHION_MNIST_MIRROR
