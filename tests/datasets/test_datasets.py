"""Datasets: synthetic sets, the IDX reader, and MNIST downloaded from a loopback server."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import struct
import threading

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.datasets import MNIST, read_idx


def _write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def _fake_mnist(folder, n=6, prefix="train"):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28))
    labels = np.arange(n) % 10
    _write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
    _write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return images, labels


def test_synthetic_sets_have_expected_shapes_dtypes_and_labels():
    for make, classes in [
        (tg.datasets.moons, 2),
        (tg.datasets.spirals, 2),
        (tg.datasets.blobs, 3),
        (tg.datasets.separable, 2),
    ]:
        x, y = make()
        assert x.dtype == tg.float32 and y.dtype == tg.int64
        assert x.shape[0] == y.shape[0] and x.shape[1] == 2
        assert sorted(set(y.tolist())) == list(range(classes))
    x, y = tg.datasets.xor()
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]


def test_separable_set_has_a_real_margin():
    x, y = tg.datasets.separable(n_samples=300, margin=0.5)
    xs, ys = x.numpy(), y.numpy()
    # the two classes' projections on the best direction do not overlap
    w = np.linalg.lstsq(np.c_[xs, np.ones(len(xs))], ys * 2.0 - 1, rcond=None)[0]
    scores = np.c_[xs, np.ones(len(xs))] @ w
    assert scores[ys == 1].min() > scores[ys == 0].max()


def test_synthetic_sets_are_repeatable_with_manual_seed():
    tg.manual_seed(3)
    a = tg.datasets.moons()[0].numpy().copy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(a, tg.datasets.moons()[0].numpy())


def test_read_idx_round_trips_and_rejects_bad_files(tmp_path):
    images, _ = _fake_mnist(tmp_path)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "train-images-idx3-ubyte.gz")), images)
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(str(bad))
    short = tmp_path / "short.idx"
    short.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"\x00" * 3)
    with pytest.raises(ValueError, match=r"declares shape \(10,\)"):
        read_idx(str(short))


def test_mnist_loads_local_files_as_scaled_float_images(tmp_path):
    images, labels = _fake_mnist(tmp_path)
    ds = MNIST(tmp_path, train=True)
    image, label = ds[2]
    assert len(ds) == 6 and image.shape == (1, 28, 28) and image.dtype == tg.float32
    np.testing.assert_allclose(image.numpy()[0], images[2] / 255, rtol=1e-6)
    assert label == labels[2]
    x, y = ds.tensors()
    assert x.shape == (6, 1, 28, 28) and y.tolist() == labels.tolist()


def test_mnist_without_files_and_download_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="pass download=True"):
        MNIST(tmp_path)


@pytest.fixture
def loopback_server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def test_mnist_downloads_from_a_mirror_and_verifies_checksums(tmp_path, loopback_server):
    served, url = loopback_server
    images, _ = _fake_mnist(served, prefix="t10k")

    class TinyMNIST(MNIST):
        files = {p.name: _md5(p) for p in served.iterdir()}

    root = tmp_path / "data"
    ds = TinyMNIST(root, train=False, download=True, mirror=url)
    assert len(ds) == 6
    np.testing.assert_allclose(ds[0][0].numpy()[0], images[0] / 255, rtol=1e-6)
    assert sorted(p.name for p in root.iterdir()) == sorted(TinyMNIST.files)


def test_mnist_download_with_wrong_checksum_keeps_nothing(tmp_path, loopback_server):
    served, url = loopback_server
    _fake_mnist(served, prefix="t10k")

    class Tampered(MNIST):
        files = {p.name: "0" * 32 for p in served.iterdir()}

    root = tmp_path / "data"
    with pytest.raises(RuntimeError, match="failed its checksum"):
        Tampered(root, train=False, download=True, mirror=url)
    assert list(root.iterdir()) == []
