"""Indexing beyond the op table: error messages, torch's key rules, __setitem__, views, in-place."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad as tg


def _x(*shape, requires_grad=False):
    data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    return tg.tensor(data, requires_grad=requires_grad)


# --- errors name the index, the dim and the shapes ---------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (5, r"index 5 is out of bounds for dimension 0 with size 4"),
        ((slice(None), -4), r"index -4 is out of bounds for dimension 1 with size 3"),
        ([0, 7, 1], r"index 7 is out of bounds for dimension 0 with size 4"),
        ((Ellipsis, np.array([0, 3])), r"index 3 is out of bounds for dimension 1 with size 3"),
        (1.5, r"valid indices \(got float\)"),
        (
            tg.tensor([0.0, 1.0], dtype=tg.float32),
            r"must be long, int, byte or bool tensors, got float32",
        ),
        ((0, 0, 0), r"too many indices for tensor of dimension 2 \(shape \(4, 3\)\)"),
        ((Ellipsis, 0, Ellipsis), r"single ellipsis"),
        (
            np.array([True, False, True]),
            r"mask \[3\] at index 0 does not match the shape of the indexed tensor \[4, 3\] "
            r"at index 0",
        ),
    ],
)
def test_getitem_errors(key, message):
    with pytest.raises(IndexError, match=message):
        _x(4, 3)[key]


def test_negative_and_zero_steps_are_refused():
    with pytest.raises(ValueError, match=r"step must be greater than zero, got -1.*use flip"):
        _x(4)[::-1]
    with pytest.raises(ValueError, match=r"slice step cannot be zero"):
        _x(4)[::0]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda x: tg.gather(x, 0, tg.zeros(1, 1, 1, dtype=tg.int64)),
            RuntimeError,
            r"gather: index has 3 dims but input has 2",
        ),
        (
            lambda x: tg.gather(x, 0, tg.zeros(4, 5, dtype=tg.int64)),
            RuntimeError,
            r"index of shape \(4, 5\) is larger than input of shape \(3, 4\) at dimension 1",
        ),
        (
            lambda x: tg.gather(x, 0, tg.tensor([[3]])),
            RuntimeError,
            r"gather\(\): index 3 is out of bounds for dimension 0 with size 3",
        ),
        (
            lambda x: tg.gather(x, 1, tg.tensor([[-1]])),
            RuntimeError,
            r"index -1 is out of bounds for dimension 1 with size 4",
        ),
        (
            lambda x: tg.gather(x, 0, tg.ones(1, 1)),
            RuntimeError,
            r"gather\(\): expected an int64 or int32 index tensor, got dtype float32",
        ),
        (lambda x: tg.gather(x, 0, [[0]]), TypeError, r"index must be a Tensor, got list"),
        (
            lambda x: tg.scatter_add(x, 0, tg.tensor([[0, 0]]), tg.ones(1, 1, dtype=tg.float64)),
            RuntimeError,
            r"index of shape \(1, 2\) is larger than src of shape \(1, 1\) at dimension 1",
        ),
        (
            lambda x: tg.scatter_add(x, 0, tg.tensor([[0]]), tg.ones(1, 1)),
            RuntimeError,
            r"expected self.dtype to be equal to src.dtype, got float64 and float32",
        ),
        (
            lambda x: tg.scatter(x, 0, tg.tensor([[0]]), tg.tensor(1.0, dtype=tg.float64)),
            RuntimeError,
            r"scatter: index has 2 dims but src has 1",
        ),
        (
            lambda x: tg.scatter(x, 0, tg.tensor([[0]])),
            TypeError,
            r"exactly one of src \(a Tensor\) and value",
        ),
        (
            lambda x: tg.scatter(x, 0, tg.tensor([[0]]), 1.0, reduce="multiply"),
            NotImplementedError,
            r"reduce='multiply' is not supported",
        ),
        (
            lambda x: tg.index_select(x, 1, tg.tensor([[0]])),
            IndexError,
            r"Index is supposed to be a vector, got shape \(1, 1\)",
        ),
        (
            lambda x: tg.index_select(x, 1, tg.tensor([0, 4])),
            RuntimeError,
            r"index_select\(\): index 4 is out of bounds for dimension 1 with size 4",
        ),
        (
            lambda x: tg.select(x, 1, 4),
            IndexError,
            r"select\(\): index 4 out of range for tensor of size \[3, 4\] at dimension 1",
        ),
        (lambda x: tg.select(x.sum(), 0, 0), IndexError, r"cannot be applied to a 0-dim tensor"),
        (
            lambda x: tg.take_along_dim(x, tg.tensor([0]), 0),
            RuntimeError,
            r"same number of dimensions, but got 2 dimensions for input, and 1 for indices",
        ),
        (
            lambda x: tg.take_along_dim(x, tg.zeros(2, 1, dtype=tg.int64), 1),
            RuntimeError,
            r"input of shape \(3, 4\) and indices of shape \(2, 1\) cannot be broadcast "
            r"outside dimension 1",
        ),
        (
            lambda x: x.masked_fill(tg.ones(4), 0.0),
            RuntimeError,
            r"masked_fill: expected a bool mask, got dtype float32",
        ),
        (
            lambda x: x.masked_fill(tg.ones(4, dtype=tg.bool), tg.ones(1)),
            RuntimeError,
            r"only a 0-dimensional value tensor is supported, but got a tensor of shape \(1,\)",
        ),
        (
            lambda x: x.masked_fill(tg.ones(2, dtype=tg.bool), 0.0),
            RuntimeError,
            r"mask of shape \(2,\) and input of shape \(3, 4\) cannot be broadcast together",
        ),
        (
            lambda x: tg.masked_select(x, tg.ones(3, 4, dtype=tg.int64)),
            RuntimeError,
            r"masked_select: expected a bool mask, got dtype int64",
        ),
        (
            lambda x: x.index_put((tg.tensor([0]),), tg.ones(4)),
            RuntimeError,
            r"got float64 for the destination and float32 for the source",
        ),
        (
            lambda x: x.index_put(([0],), x[0]),
            TypeError,
            r"indices must be a tuple of Tensors",
        ),
    ],
)
def test_errors_name_shapes_dims_and_dtypes(call, error, message):
    with pytest.raises(error, match=message):
        call(_x(3, 4))


# --- __getitem__: torch's rules and gradients --------------------------------------------------


def test_ints_apply_before_advanced_indices_as_in_torch():
    x = _x(2, 3, 4)
    assert x[0, :, [1, 2]].shape == (3, 2)  # numpy would give (2, 3)
    np.testing.assert_array_equal(x[0, :, [1, 2]].numpy(), x.numpy()[0][:, [1, 2]])
    assert x[[0, 1], 2, [1, 3]].shape == (2,)
    assert x[tg.tensor(1), :, [0, 0]].shape == (3, 2)  # a 0-d index tensor is an int too


def test_repeated_indices_accumulate_their_gradient():
    x = _x(4, requires_grad=True)
    x[[0, 2, 0, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0, 0.0])
    x.grad = None
    x[tg.tensor([True, False, True, True])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 1.0, 1.0])


def test_double_backward_through_repeated_indices():
    x = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    y = (x[[0, 0, 2]] ** 3).sum()
    (g,) = tg.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [6.0, 0.0, 27.0])  # 2 * 3x^2 at x=1
    (h,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [12.0, 0.0, 18.0])  # 2 * 6x, 6x


def test_empty_list_and_python_bools():
    x = _x(4, 3)
    assert x[[]].shape == (0, 3)
    assert x[True].shape == (1, 4, 3)
    assert x[False].shape == (0, 4, 3)


def test_integer_tensors_index_and_keep_their_dtype():
    x = tg.arange(6).reshape(2, 3)
    assert x[1, [0, 2]].dtype == tg.int64
    assert x[1, [0, 2]].tolist() == [3, 5]


def test_basic_indexing_is_a_view_sharing_the_version():
    x = tg.zeros(3)
    v = x[1:]
    v[0] = 5.0
    assert x.tolist() == [0.0, 5.0, 0.0]
    assert x._version == v._version == 1
    x[[0]].fill_(7.0)  # advanced indexing copies
    assert x[0].item() == 0.0


def test_writing_through_a_view_invalidates_saved_tensors():
    a = tg.randn(3, dtype=tg.float64, requires_grad=True)
    b = a * 1
    d = b * b  # saves b
    b[0:2].mul_(2)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation"):
        d.sum().backward()


@settings(max_examples=25, derandomize=True, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    data=st.data(),
)
def test_gradient_of_integer_array_index_counts_the_hits(shape, data):
    size = shape[0]
    picks = data.draw(st.lists(st.integers(-size, size - 1), min_size=0, max_size=6))
    x = tg.ones(*shape, dtype=tg.float64, requires_grad=True)
    out = x[picks]
    out.backward(tg.ones_like(out))
    counts = np.zeros(size)
    np.add.at(counts, np.array(picks, dtype=np.int64), 1.0)
    expected = np.broadcast_to(counts.reshape(-1, *([1] * (len(shape) - 1))), shape)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


# --- __setitem__ -------------------------------------------------------------------------------


def test_setitem_without_grad_writes_in_place():
    x = tg.zeros(2, 3)
    data = x.numpy()
    x[0] = 1.0
    x[:, 2] = tg.tensor([5.0, 6.0])
    x[1, [0, 0]] = np.array([3.0, 4.0])
    assert x.numpy() is data
    assert x.tolist() == [[1.0, 1.0, 5.0], [4.0, 0.0, 6.0]]
    assert x._version == 3


def test_boolean_mask_assignment():
    x = tg.tensor([[-1.0, 2.0], [3.0, -4.0]])
    x[x < 0] = 0
    assert x.tolist() == [[0.0, 2.0], [3.0, 0.0]]
    x[tg.tensor([True, False])] = tg.tensor([9.0, 8.0])
    assert x.tolist() == [[9.0, 8.0], [3.0, 0.0]]


def test_setitem_casts_to_the_tensor_dtype_and_drops_leading_ones():
    x = tg.zeros(3, dtype=tg.int64)
    x[0] = 1.7  # truncated, as torch
    assert x.tolist() == [1, 0, 0]
    y = tg.zeros(2, 3)
    y[0] = tg.ones(1, 3)
    assert y.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]


def test_setitem_value_shape_mismatch():
    with pytest.raises(RuntimeError, match=r"value tensor of shape \[3, 3\] cannot be broadcast "):
        tg.zeros(2, 3)[[0, 1]] = tg.ones(3, 3)
    with pytest.raises(RuntimeError, match=r"to indexing result of shape \[3\]"):
        tg.zeros(2, 3)[0] = tg.ones(2, 3)


def test_setitem_on_a_leaf_that_requires_grad():
    x = tg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"leaf Variable that requires grad"):
        x[0] = 1.0
    with tg.no_grad():
        x[0] = 1.0  # allowed, as torch
    assert x.tolist() == [1.0, 0.0, 0.0]
    assert x.is_leaf


def test_setitem_is_recorded_on_a_non_leaf():
    x = tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64, requires_grad=True)
    v = tg.tensor(10.0, dtype=tg.float64, requires_grad=True)
    y = x * 2
    y[[0, 2]] = v
    assert y.tolist() == [10.0, 4.0, 10.0, 8.0]
    y.backward(tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 4.0, 0.0, 8.0])  # overwritten: no grad
    assert v.grad.item() == 4.0  # summed over the positions it was broadcast to


def test_setitem_with_a_value_that_requires_grad_makes_a_non_leaf():
    v = tg.tensor([1.0, 2.0], requires_grad=True)
    x = tg.zeros(2, 2)
    x[:, 1] = v
    assert x.requires_grad and not x.is_leaf
    (x * x).sum().backward()
    assert v.grad.tolist() == [2.0, 4.0]


def test_setitem_passes_gradcheck_and_gradgradcheck():
    def fn(x, v):
        y = x * 1
        y[1:, tg.tensor([0, 2])] = v
        return y * y

    x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
    v = tg.randn(1, 2, dtype=tg.float64, requires_grad=True)
    assert tg.autograd.gradcheck(fn, (x, v))
    assert tg.autograd.gradgradcheck(fn, (x, v))


# --- along a dim, masks, in-place --------------------------------------------------------------


def test_scatter_gradients_zero_the_overwritten_input():
    x = tg.ones(2, 3, dtype=tg.float64, requires_grad=True)
    src = tg.tensor([[5.0, 6.0, 7.0]], dtype=tg.float64, requires_grad=True)
    out = tg.scatter(x, 0, tg.tensor([[1, 0, 1]]), src)
    assert out.tolist() == [[1.0, 6.0, 1.0], [5.0, 1.0, 7.0]]
    out.backward(tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=tg.float64))
    assert x.grad.tolist() == [[1.0, 0.0, 3.0], [0.0, 5.0, 0.0]]
    assert src.grad.tolist() == [[4.0, 2.0, 6.0]]


def test_scatter_add_accumulates_repeats():
    out = tg.scatter_add(tg.zeros(3), 0, tg.tensor([0, 0, 2, 0]), tg.arange(1.0, 5.0))
    assert out.tolist() == [7.0, 0.0, 3.0]


def test_in_place_variants_write_into_self():
    x = tg.zeros(2, 3)
    assert x.scatter_add_(1, tg.tensor([[0, 0]]), tg.ones(1, 2)) is x
    assert x.scatter_(0, tg.tensor([[1]]), 4.0) is x
    assert x.masked_fill_(tg.tensor([False, False, True]), -1.0) is x
    assert x.index_put_((tg.tensor([1, 1]),), tg.ones(()), accumulate=True) is x
    assert x.tolist() == [[2.0, 0.0, -1.0], [6.0, 2.0, 1.0]]
    assert x._version == 4


def test_in_place_variants_follow_torch_rules():
    leaf = tg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"masked_fill_: a leaf Variable that requires grad"):
        leaf.masked_fill_(tg.tensor([True, False, False]), 1.0)
    with pytest.raises(RuntimeError, match=r"output with shape \(3,\) doesn't match"):
        tg.zeros(3).masked_fill_(tg.ones(2, 3, dtype=tg.bool), 1.0)
    y = leaf * 2
    y.scatter_add_(0, tg.tensor([1, 1]), tg.arange(3.0, 5.0))
    y.sum().backward()
    assert leaf.grad.tolist() == [2.0, 2.0, 2.0]


def test_masked_fill_keeps_the_input_dtype():
    out = tg.arange(3).masked_fill(tg.tensor([True, False, False]), 0.5)
    assert out.dtype == tg.int64 and out.tolist() == [0, 1, 2]
    value = tg.tensor(2.0, dtype=tg.float64)
    assert tg.zeros(2).masked_fill(tg.tensor([True, False]), value).dtype == tg.float32


def test_nonzero_needs_no_grad():
    x = tg.tensor([[0.0, 1.0], [2.0, 0.0]], requires_grad=True)
    rows = tg.nonzero(x)
    assert rows.dtype == tg.int64 and not rows.requires_grad
    assert rows.tolist() == [[0, 1], [1, 0]]
    assert [t.tolist() for t in x.nonzero(as_tuple=True)] == [[0, 1], [1, 0]]


# --- against torch -----------------------------------------------------------------------------

_KEYS = [
    (0, slice(None), [1, 2]),
    ([0, 1], 2, [1, 3]),
    (1, [0, 2], 3),
    (None, [1, 1], None, 0),
    ([[0, 1], [1, 0]], [[0], [2]], 0),
    (slice(1, None), None, Ellipsis, [0, 0]),
    (np.array([True, False]), slice(None), np.array([0, 3])),
    (Ellipsis, np.array([[True, False, True, True]] * 3)),
]


@pytest.mark.parametrize("key", _KEYS, ids=[str(i) for i in range(len(_KEYS))])
def test_getitem_and_setitem_match_torch(key):
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).standard_normal((2, 3, 4))

    def convert(k, lib):
        if isinstance(k, tuple):
            return tuple(convert(e, lib) for e in k)
        return lib.from_numpy(k) if isinstance(k, np.ndarray) else k

    xt = torch.from_numpy(data.copy()).requires_grad_()
    xg = tg.from_numpy(data.copy()).requires_grad_()
    rt, rg = xt[convert(key, torch)], xg[convert(key, tg)]
    np.testing.assert_array_equal(rg.detach().numpy(), rt.detach().numpy())
    cot = np.random.default_rng(1).standard_normal(tuple(rt.shape))
    rt.backward(torch.from_numpy(cot))
    rg.backward(tg.from_numpy(cot))
    np.testing.assert_array_equal(xg.grad.numpy(), xt.grad.numpy())

    yt, yg = torch.from_numpy(data.copy()), tg.from_numpy(data.copy())
    yt[convert(key, torch)] = torch.from_numpy(-cot)
    yg[convert(key, tg)] = tg.from_numpy(-cot)
    np.testing.assert_array_equal(yg.numpy(), yt.numpy())
