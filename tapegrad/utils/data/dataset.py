"""Dataset, TensorDataset, Subset and random_split, as in torch.utils.data."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tapegrad.random import Generator, rng
from tapegrad.tensor import Tensor


class Dataset:
    """A map-style dataset: ``dataset[i]`` is one sample. Same as torch's Dataset."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> Dataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the i-th rows of equally long tensors. Same as torch's TensorDataset.

    Example:
        >>> import tapegrad as tg
        >>> ds = tg.utils.data.TensorDataset(tg.arange(6).reshape(3, 2), tg.tensor([0, 1, 0]))
        >>> len(ds), ds[1][1].item()
        (3, 1)
    """

    def __init__(self, *tensors: Tensor):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        sizes = [t.shape[0] if t.ndim else None for t in tensors]
        if any(s is None for s in sizes) or len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(f"Size mismatch between tensors: shapes {shapes} differ in dim 0")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``. Same as torch's Subset."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index):
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Datasets one after another. Same as torch's ConcatDataset."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        self.cumulative = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative[-1] if self.cumulative else 0

    def __getitem__(self, index: int):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self)}")
        which = int(np.searchsorted(self.cumulative, index, side="right"))
        start = self.cumulative[which - 1] if which else 0
        return self.datasets[which][index - start]


def random_split(dataset: Dataset, lengths, generator: Generator | None = None) -> list[Subset]:
    """Split into non-overlapping random subsets of the given lengths or fractions. As torch.

    Fractions that sum to 1 are turned into counts the way torch does (floors, then the
    remainder handed out one by one from the first subset).
    """
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(
            f"Sum of input lengths ({sum(lengths)}) does not equal the length of the input "
            f"dataset ({n})"
        )
    order = rng(generator).permutation(n).tolist()
    subsets, start = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[start : start + length]))
        start += length
    return subsets
