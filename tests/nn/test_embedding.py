"""Embedding and F.embedding/F.one_hot: against torch (repeated indices, padding_idx, max_norm,
scale_grad_by_freq), initialisation, from_pretrained and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import functional as F

INDICES = [[0, 2, 2, 5], [5, 5, 1, 0]]


def _pair(torch, *args, **kwargs):
    theirs = torch.nn.Embedding(*args, **kwargs).double()
    ours = tg.nn.Embedding(*args, **kwargs).double()
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _compare(torch, ours, theirs, indices) -> None:
    out = ours(tg.tensor(indices))
    t_out = theirs(torch.tensor(indices))
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
    cotangent = np.random.default_rng(0).standard_normal(tuple(out.shape))
    out.backward(tg.tensor(cotangent))
    t_out.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy())


def test_embedding_repeated_indices_match_torch(torch):
    ours, theirs = _pair(torch, 6, 3)
    _compare(torch, ours, theirs, INDICES)


@pytest.mark.parametrize("padding_idx", [2, -1, 0])
def test_embedding_padding_idx_matches_torch(torch, padding_idx):
    ours, theirs = _pair(torch, 6, 3, padding_idx=padding_idx)
    assert ours.padding_idx == theirs.padding_idx
    _compare(torch, ours, theirs, INDICES)
    row = ours.padding_idx
    np.testing.assert_array_equal(ours.weight.grad.numpy()[row], np.zeros(3))


def test_embedding_scale_grad_by_freq_matches_torch(torch):
    ours, theirs = _pair(torch, 6, 3, scale_grad_by_freq=True, padding_idx=1)
    _compare(torch, ours, theirs, INDICES)


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_renormalises_rows_as_torch(torch, norm_type):
    ours, theirs = _pair(torch, 6, 3, max_norm=0.5, norm_type=norm_type)
    _compare(torch, ours, theirs, INDICES)  # also compares the renormed weights
    norms = np.linalg.norm(ours.weight.detach().numpy(), ord=norm_type, axis=1)
    assert np.all(norms[[0, 1, 2, 5]] <= 0.5)
    assert np.any(norms[[3, 4]] > 0.5)  # rows never looked up are left alone


def test_embedding_sparse_flag_gives_the_dense_gradient(torch):
    ours, theirs = _pair(torch, 6, 3, sparse=True)
    out = ours(tg.tensor(INDICES))
    t_out = theirs(torch.tensor(INDICES))
    out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.to_dense().numpy())


def test_embedding_state_dict_and_repr_match_torch(torch):
    kwargs = {"padding_idx": -2, "max_norm": 1.0, "norm_type": 1.0, "scale_grad_by_freq": True}
    ours, theirs = tg.nn.Embedding(10, 4, **kwargs), torch.nn.Embedding(10, 4, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert ours.weight.shape == theirs.weight.shape
    assert ours.weight.dtype == tg.float32


def test_embedding_init_is_standard_normal_with_the_padding_row_zeroed():
    table = tg.nn.Embedding(2000, 50, padding_idx=3)
    weight = table.weight.detach().numpy()
    np.testing.assert_array_equal(weight[3], np.zeros(50))
    others = np.delete(weight, 3, axis=0)
    assert abs(others.mean()) < 0.01 and abs(others.std() - 1.0) < 0.01


def test_embedding_by_hand():
    weight = tg.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], requires_grad=True)
    out = F.embedding(tg.tensor([[2, 0], [2, 2]]), weight)
    np.testing.assert_array_equal(out.detach().numpy(), [[[4, 5], [0, 1]], [[4, 5], [4, 5]]])
    out.sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy(), [[1, 1], [0, 0], [3, 3]])


def test_embedding_of_a_0d_index_is_one_row():
    table = tg.nn.Embedding(4, 3)
    assert table(tg.tensor(2)).shape == (3,)


def test_from_pretrained_shares_memory_and_freezes():
    weights = tg.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]])
    table = tg.nn.Embedding.from_pretrained(weights)
    assert not table.weight.requires_grad
    np.testing.assert_allclose(table(tg.tensor([1])).numpy(), [[4.0, 5.1, 6.3]], rtol=1e-6)
    assert np.shares_memory(table.weight.detach().numpy(), weights.numpy())
    trainable = tg.nn.Embedding.from_pretrained(weights, freeze=False, padding_idx=0)
    assert trainable.weight.requires_grad
    np.testing.assert_allclose(trainable.weight.detach().numpy()[0], [1.0, 2.3, 3.0], rtol=1e-6)


def test_from_pretrained_needs_a_matrix():
    with pytest.raises(ValueError, match=r"expected to be 2-dimensional, got shape \(3,\)"):
        tg.nn.Embedding.from_pretrained(tg.ones(3))


def test_embedding_errors():
    with pytest.raises(IndexError, match=r"index out of range in self: got \[5, 7\] for 5"):
        F.embedding(tg.tensor([0, 5, 7, 5]), tg.ones(5, 2))
    with pytest.raises(IndexError, match=r"got \[-1\]"):
        F.embedding(tg.tensor([-1]), tg.ones(5, 2))
    with pytest.raises(RuntimeError, match=r"integer \(Long or Int\) tensor of indices, got dtype"):
        F.embedding(tg.tensor([0.0, 1.0]), tg.ones(5, 2))
    with pytest.raises(ValueError, match=r"Padding_idx must be within num_embeddings"):
        tg.nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(ValueError, match=r"Padding_idx must be within num_embeddings"):
        F.embedding(tg.tensor([0]), tg.ones(3, 2), padding_idx=-4)


# --- one_hot -------------------------------------------------------------------------------


def test_one_hot_matches_torch(torch):
    index = np.array([[0, 3], [2, 2]])
    for num_classes in (-1, 6):
        ours = F.one_hot(tg.tensor(index), num_classes)
        theirs = torch.nn.functional.one_hot(torch.tensor(index), num_classes)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert ours.dtype == tg.int64 and not ours.requires_grad


def test_one_hot_by_hand():
    out = F.one_hot(tg.tensor([2, 0]), 3)
    np.testing.assert_array_equal(out.numpy(), [[0, 0, 1], [1, 0, 0]])
    assert F.one_hot(tg.tensor([], dtype=tg.int64), 3).shape == (0, 3)


def test_one_hot_errors_name_the_bad_classes():
    with pytest.raises(RuntimeError, match=r"Class values must be non-negative, got \[-2, -1\]"):
        F.one_hot(tg.tensor([0, -1, 2, -2]))
    with pytest.raises(
        RuntimeError, match=r"Class values must be smaller than num_classes \(3\), got \[3, 4\]"
    ):
        F.one_hot(tg.tensor([0, 3, 4, 1]), 3)
    with pytest.raises(RuntimeError, match=r"only applicable to index tensor of type LongTensor"):
        F.one_hot(tg.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match=r"Can not infer total number of classes"):
        F.one_hot(tg.tensor([], dtype=tg.int64))
