"""DataLoader and default_collate: batches from a dataset, shuffled repeatably, as torch."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from tapegrad.random import Generator, rng
from tapegrad.tensor import Tensor, _make
from tapegrad.utils.data.dataset import Dataset, TensorDataset


def default_collate(batch: list):
    """Stack a list of samples into a batch, structure by structure. Same as torch's.

    Tensors and arrays are stacked along a new first dim, Python floats become a float64
    tensor and ints an int64 one (as torch), and tuples/lists/dicts are collated field by
    field.
    """
    first = batch[0]
    if isinstance(first, Tensor):
        return _make(np.stack([s._data for s in batch]))
    if isinstance(first, np.ndarray):
        return _make(np.stack(batch))
    if isinstance(first, bool):
        return _make(np.array(batch, dtype=bool))
    if isinstance(first, numbers.Integral):
        return _make(np.array(batch, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return _make(np.array(batch, dtype=np.float64))
    if isinstance(first, str):
        return list(batch)
    if isinstance(first, Mapping):
        return {key: default_collate([s[key] for s in batch]) for key in first}
    if isinstance(first, Sequence):
        if any(len(s) != len(first) for s in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(group)) for group in zip(*batch)]
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(
        f"default_collate: batch must contain tensors, numbers, dicts or lists; "
        f"found {type(first).__name__}"
    )


class DataLoader:
    """Iterate over a dataset in batches. Same as ``torch.utils.data.DataLoader``.

    With ``shuffle=True`` each epoch draws a new order from tapegrad's generator (or the
    ``generator`` given), so ``tg.manual_seed`` makes the order repeatable. Batches of a
    TensorDataset are taken with one fancy index per tensor rather than sample by sample.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool = False,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn=None,
        generator: Generator | None = None,
        **unsupported,
    ):
        if unsupported:
            raise TypeError(f"DataLoader got unexpected arguments {sorted(unsupported)}")
        if num_workers:
            raise ValueError("tapegrad's DataLoader loads in the main process: use num_workers=0")
        if batch_size is not None and batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.drop_last, self.generator = drop_last, generator
        self.collate_fn = collate_fn or default_collate
        self._fast = collate_fn is None and isinstance(dataset, TensorDataset)

    def _order(self) -> list[int]:
        if self.sampler is not None:
            return list(self.sampler)
        n = len(self.dataset)
        return rng(self.generator).permutation(n).tolist() if self.shuffle else list(range(n))

    def _batches(self) -> Iterator[list[int]]:
        if self.batch_sampler is not None:
            yield from self.batch_sampler
            return
        order = self._order()
        if self.batch_size is None:
            yield from ([i] for i in order)
            return
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __iter__(self):
        for indices in self._batches():
            if self.batch_size is None and self.batch_sampler is None:
                yield self.dataset[indices[0]]
            elif self._fast:
                index = np.asarray(indices)
                yield tuple(_make(t._data[index]) for t in self.dataset.tensors)
            else:
                yield self.collate_fn([self.dataset[i] for i in indices])

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
