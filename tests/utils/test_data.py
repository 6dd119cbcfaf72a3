"""Data utilities: TensorDataset, DataLoader (determinism, coverage, drop_last), random_split."""

from __future__ import annotations

import pytest

import tapegrad as tg
from tapegrad.utils.data import DataLoader, Dataset, TensorDataset, default_collate, random_split


def _dataset(n=10):
    return TensorDataset(tg.arange(n * 2).reshape(n, 2).float(), tg.arange(n))


def test_tensor_dataset_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"shapes \(3, 2\), \(4,\) differ in dim 0"):
        TensorDataset(tg.zeros(3, 2), tg.zeros(4))


def test_dataloader_batches_in_order_without_shuffle():
    batches = list(DataLoader(_dataset(), batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == (4, 2) and batches[0][0].dtype == tg.float32
    assert len(DataLoader(_dataset(), batch_size=4)) == 3


def test_dataloader_drop_last_drops_the_short_batch():
    loader = DataLoader(_dataset(), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(b[1]) for b in loader] == [4, 4]


def test_dataloader_shuffle_covers_every_sample_once_per_epoch_and_changes_order():
    loader = DataLoader(_dataset(), batch_size=3, shuffle=True)
    epochs = [[i for b in loader for i in b[1].tolist()] for _ in range(2)]
    for seen in epochs:
        assert sorted(seen) == list(range(10))
    assert epochs[0] != epochs[1]


def test_dataloader_shuffle_is_repeatable_with_manual_seed():
    def order():
        tg.manual_seed(123)
        return [
            i for b in DataLoader(_dataset(), batch_size=3, shuffle=True) for i in b[1].tolist()
        ]

    assert order() == order()


def test_dataloader_uses_collate_fn_on_generic_datasets():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": float(i), "y": i * i}

    batches = list(DataLoader(Squares(), batch_size=2, collate_fn=lambda b: [s["y"] for s in b]))
    assert batches == [[0, 1], [4, 9], [16]]
    batch = next(iter(DataLoader(Squares(), batch_size=2)))
    assert batch["x"].dtype == tg.float64 and batch["y"].tolist() == [0, 1]


def test_default_collate_stacks_tensors_and_tuples():
    batch = default_collate([(tg.ones(2), 1), (tg.zeros(2), 0)])
    assert batch[0].shape == (2, 2) and batch[1].dtype == tg.int64


def test_random_split_partitions_and_is_repeatable():
    tg.manual_seed(1)
    a, b = random_split(_dataset(), [7, 3])
    tg.manual_seed(1)
    c, _ = random_split(_dataset(), [0.7, 0.3])
    assert sorted(a.indices + b.indices) == list(range(10))
    assert a.indices == c.indices
    assert a[0][1].item() == a.indices[0]
    with pytest.raises(ValueError, match=r"Sum of input lengths \(9\)"):
        random_split(_dataset(), [5, 4])


def test_dataloader_rejects_worker_processes():
    with pytest.raises(ValueError, match="num_workers=0"):
        DataLoader(_dataset(), num_workers=2)


def test_dataloader_with_generator_does_not_touch_global_seed():
    g = tg.Generator(5)
    first = [b[1].tolist() for b in DataLoader(_dataset(), batch_size=5, shuffle=True, generator=g)]
    g.manual_seed(5)
    again = [b[1].tolist() for b in DataLoader(_dataset(), batch_size=5, shuffle=True, generator=g)]
    assert first == again
    assert sorted(i for batch in first for i in batch) == list(range(10))
