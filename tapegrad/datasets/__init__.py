"""tg.datasets: synthetic demo sets and MNIST/Fashion-MNIST from IDX files."""

from tapegrad.datasets.mnist import MNIST, FashionMNIST, read_idx
from tapegrad.datasets.synthetic import blobs, moons, separable, spirals, xor

__all__ = ["MNIST", "FashionMNIST", "blobs", "moons", "read_idx", "separable", "spirals", "xor"]
