"""Shape ops beyond the op table: error messages, views vs copies, aliases, torch edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import tapegrad as tg


def _x(m, *shape):
    """A float64 tensor of ``shape`` from module ``m`` (tapegrad, or torch to compare)."""
    return m.arange(int(np.prod(shape)), dtype=m.float64).reshape(shape)


# --- error messages --------------------------------------------------------------------------

ERRORS = [
    # (call, exception, message pattern)
    (lambda m: _x(m, 2, 3).reshape(4, -1), RuntimeError, r"shape '\[4, -1\]' is invalid .*size 6"),
    (lambda m: _x(m, 2, 3).reshape(-1, -1), RuntimeError, r"only one dimension can be inferred"),
    (lambda m: _x(m, 2, 3).reshape(-2, 3), RuntimeError, r"invalid shape dimension -2 at index 0"),
    (lambda m: _x(m, 0, 2).reshape(-1, 0), RuntimeError, r"0 elements .* ambiguous"),
    (lambda m: _x(m, 2, 3).view(3, 3), RuntimeError, r"view: shape '\[3, 3\]' is invalid"),
    (lambda m: _x(m, 2, 3).view_as(_x(m, 4)), RuntimeError, r"invalid for input of size 6"),
    (
        lambda m: _x(m, 2, 3).reshape(),
        TypeError,
        r"missing 1 required positional argument: 'shape'",
    ),
    (lambda m: _x(m, 2, 3).reshape(6, shape=(6,)), TypeError, r"multiple values for argument"),
    (
        lambda m: _x(m, 2, 3).expand(2, 4),
        RuntimeError,
        r"tensor \(4\) must match the existing size \(3\)",
    ),
    (lambda m: _x(m, 2, 3).expand(-1, 2, 3), RuntimeError, r"leading, non-existing dimension 0"),
    (lambda m: _x(m, 2, 3).expand(3), RuntimeError, r"number of sizes provided \(1\)"),
    (lambda m: _x(m, 2, 1).expand(2, -2), RuntimeError, r"size of the tensor \(-2\)"),
    (lambda m: _x(m, 2, 3).expand_as(_x(m, 3, 3)), RuntimeError, r"Target sizes: \[3, 3\]"),
    (lambda m: m.broadcast_to(_x(m, 2, 3), (3, 3)), RuntimeError, r"Tensor sizes: \[2, 3\]"),
    (lambda m: _x(m, 2, 3).permute(0), RuntimeError, r"input has 2 dims, got dims \[0\]"),
    (lambda m: _x(m, 2, 3).permute(0, 0), RuntimeError, r"repeated dim in \[0, 0\]"),
    (lambda m: _x(m, 2, 3).permute(0, 2), IndexError, r"range of \[-2, 1\], but got 2"),
    (lambda m: _x(m, 2, 3).permute(), TypeError, r"missing 1 required positional argument: 'dims'"),
    (lambda m: _x(m, 2, 3).flatten(1, 0), RuntimeError, r"start_dim cannot come after end_dim"),
    (lambda m: _x(m, 2, 3).flatten(2), IndexError, r"Dimension out of range"),
    (lambda m: _x(m, 2, 3).unflatten(1, ()), RuntimeError, r"sizes must be non-empty"),
    (lambda m: _x(m, 2, 3).unflatten(1, (2, 2)), RuntimeError, r"sizes \[2, 2\] don't multiply"),
    (lambda m: _x(m).unflatten(0, (1,)), RuntimeError, r"unflatten: Dimension specified as 0"),
    (
        lambda m: _x(m, 2, 3).repeat(2),
        RuntimeError,
        r"can not be smaller than number of dimensions",
    ),
    (lambda m: _x(m, 2, 3).repeat(2, 1, -1), RuntimeError, r"negative dimension -3: \[2, 2, -3\]"),
    (lambda m: _x(m, 2, 3, 4).t(), RuntimeError, r"t\(\) expects a tensor with <= 2 dimensions"),
    (lambda m: _x(m, 3).mT, RuntimeError, r"only supported on matrices .* Got 1-D tensor"),
    (lambda m: m.movedim(_x(m, 2, 3), (0, 1), (0,)), RuntimeError, r"same number of dims"),
    (lambda m: m.movedim(_x(m, 2, 3), (0, 0), (0, 1)), RuntimeError, r"repeated dim in `source`"),
    (lambda m: m.movedim(_x(m, 2, 3), (0, 1), (1, 1)), RuntimeError, r"in `destination`"),
    (lambda m: m.flip(_x(m, 2, 3), (0, 0)), RuntimeError, r"appears multiple times"),
    (lambda m: m.flip(_x(m, 2, 3)), TypeError, r"missing 1 required positional argument: 'dims'"),
    (lambda m: m.roll(_x(m, 2, 3), (1, 2)), RuntimeError, r"must align. shifts: 2, dims:0"),
    (lambda m: m.roll(_x(m, 2, 3), 1, (0, 1)), RuntimeError, r"must align. shifts: 1, dims:2"),
    (lambda m: m.roll(_x(m, 2, 3), ()), RuntimeError, r"`shifts` required"),
    (lambda m: m.roll(_x(m), 1, 0), IndexError, r"tensor has no dimensions"),
    (lambda m: m.cat([]), ValueError, r"expected a non-empty list of Tensors"),
    (lambda m: m.cat(_x(m, 2, 3)), TypeError, r"must be a sequence of Tensors, not Tensor"),
    (lambda m: m.cat([_x(m, 2), 3]), TypeError, r"expected Tensor as element 1 .* got int"),
    (
        lambda m: m.cat([_x(m, 2), _x(m)]),
        RuntimeError,
        r"zero-dimensional tensor \(at position 1\)",
    ),
    (
        lambda m: m.cat([_x(m, 2, 3), _x(m, 2)]),
        RuntimeError,
        r"same number of dimensions: got 2 and 1",
    ),
    (lambda m: m.cat([_x(m, 2, 3), _x(m, 2, 3)], 2), IndexError, r"range of \[-2, 1\], but got 2"),
    (lambda m: m.stack([]), RuntimeError, r"stack expects a non-empty TensorList"),
    (
        lambda m: m.stack([_x(m, 2, 3), _x(m, 2, 4)]),
        RuntimeError,
        r"got \[2, 3\] at entry 0 and \[2, 4\]",
    ),
    (
        lambda m: m.stack([_x(m, 2, 3), _x(m, 2, 3)], 3),
        IndexError,
        r"range of \[-3, 2\], but got 3",
    ),
    (lambda m: m.split(_x(m), 1), RuntimeError, r"split expects at least a 1-dimensional tensor"),
    (lambda m: m.split(_x(m, 4), -1), RuntimeError, r"non-negative, but got split_size=-1"),
    (
        lambda m: m.split(_x(m, 4), 0),
        RuntimeError,
        r"split_size can only be 0 if dimension size is 0",
    ),
    (
        lambda m: m.split(_x(m, 4), [1, 1]),
        RuntimeError,
        r"sum exactly to 4 .* split_sizes=\[1, 1\]",
    ),
    (lambda m: m.split(_x(m, 4), [5, -1]), RuntimeError, r"only non-negative entries"),
    (lambda m: m.chunk(_x(m, 4), 0), RuntimeError, r"`chunks` to be greater than 0, got: 0"),
    (lambda m: m.chunk(_x(m, 4), 2.0), TypeError, r"'chunks' must be int, not float"),
    (lambda m: m.chunk(_x(m), 1), RuntimeError, r"chunk expects at least a 1-dimensional tensor"),
    (
        lambda m: m.unbind(_x(m)),
        IndexError,
        r"Dimension specified as 0 but tensor has no dimensions",
    ),
    (lambda m: m.narrow(_x(m), 0, 0, 1), RuntimeError, r"cannot be applied to a 0-dim tensor"),
    (
        lambda m: m.narrow(_x(m, 2, 3), 1, 4, 0),
        IndexError,
        r"start out of range .*\[-3, 3\], but got 4",
    ),
    (
        lambda m: m.narrow(_x(m, 2, 3), 1, 2, 2),
        RuntimeError,
        r"start \(2\) \+ length \(2\) exceeds",
    ),
    (lambda m: m.narrow(_x(m, 2, 3), 1, 0, -1), RuntimeError, r"length must be non-negative"),
]


@pytest.mark.parametrize(("call", "error", "match"), ERRORS, ids=[e[2] for e in ERRORS])
def test_error_messages(call, error, match):
    with pytest.raises(error, match=match):
        call(tg)


def test_cat_size_error_names_both_shapes():
    a, b = _x(tg, 2, 3), _x(tg, 2, 4)
    pattern = (
        r"Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 "
        r"for tensor number 1 in the list \(shapes \(2, 3\) and \(2, 4\)\)"
    )
    with pytest.raises(RuntimeError, match=pattern):
        tg.cat([a, b])


@pytest.mark.parametrize(("call", "error", "match"), ERRORS, ids=[e[2] for e in ERRORS])
def test_torch_raises_the_same_exception_type(call, error, match):
    torch = pytest.importorskip("torch")
    with pytest.raises(error):
        call(torch)


# --- views and copies ------------------------------------------------------------------------

VIEWS = {
    "reshape": lambda x: x.reshape(3, 4),
    "view": lambda x: x.view(-1),
    "flatten": lambda x: x.flatten(),
    "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "unsqueeze": lambda x: x.unsqueeze(0),
    "squeeze": lambda x: x.squeeze(),
    "expand": lambda x: x.expand(2, 3, 4),
    "permute": lambda x: x.permute(1, 0),
    "transpose": lambda x: x.transpose(0, 1),
    "t": lambda x: x.t(),
    "T": lambda x: x.T,
    "mT": lambda x: x.mT,
    "movedim": lambda x: x.movedim(0, 1),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "split": lambda x: x.split(2, 1)[1],
    "chunk": lambda x: x.chunk(2)[0],
    "unbind": lambda x: x.unbind(1)[2],
}
COPIES = {
    "flip": lambda x: x.flip(0),
    "roll": lambda x: x.roll(1),
    "repeat": lambda x: x.repeat(1, 1),
    "tile": lambda x: x.tile((1,)),
    "cat": lambda x: tg.cat([x]),
    "stack": lambda x: tg.stack([x]),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_share_memory_but_are_new_tensors(name):
    x = _x(tg, 3, 4)
    out = VIEWS[name](x)
    assert out is not x
    assert np.shares_memory(out.numpy(), x.numpy())


@pytest.mark.parametrize("name", sorted(COPIES))
def test_copies_own_their_memory(name):
    x = _x(tg, 3, 4)
    assert not np.shares_memory(COPIES[name](x).numpy(), x.numpy())


def test_no_op_shape_calls_still_record_a_node():
    x = _x(tg, 2, 3).requires_grad_()
    for out in (x.squeeze(), x.expand(2, 3), x.reshape(2, 3), _x(tg, 3).requires_grad_().t()):
        assert out.grad_fn is not None


def test_contiguous_returns_self():
    x = _x(tg, 2, 3)
    assert x.contiguous() is x


def test_expand_without_repeats_is_writable():
    x = _x(tg, 2, 3)
    out = x.expand(1, 2, 3)
    out.numpy()[0, 0, 0] = 7.0
    assert x.numpy()[0, 0] == 7.0
    assert not x.expand(4, 2, 3).numpy().flags.writeable


# --- aliases, properties, torch quirks -------------------------------------------------------


def test_aliases_are_the_same_functions():
    assert tg.concat is tg.cat
    assert tg.swapdims is tg.transpose
    assert tg.moveaxis is tg.movedim
    assert tg.Tensor.swapdims is tg.Tensor.transpose


def test_T_reverses_all_dims_and_mT_swaps_the_last_two():
    x = _x(tg, 2, 3, 4)
    assert_array_equal(x.T.numpy(), x.numpy().T)
    assert_array_equal(x.mT.numpy(), np.swapaxes(x.numpy(), -1, -2))
    assert x.T.shape == (4, 3, 2)
    assert _x(tg).T.shape == ()


def test_T_and_mT_carry_gradients():
    x = _x(tg, 2, 3).requires_grad_()
    (x.T * tg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=tg.float64)).sum().backward()
    assert_array_equal(x.grad.numpy(), [[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])
    x.grad = None
    x.mT.sum().backward()
    assert_array_equal(x.grad.numpy(), np.ones((2, 3)))


def test_repeat_is_torch_repeat_not_numpy_repeat():
    x = tg.tensor([1.0, 2.0])
    assert x.repeat(2).tolist() == [1.0, 2.0, 1.0, 2.0]
    assert x.repeat(2, 1).tolist() == [[1.0, 2.0], [1.0, 2.0]]


def test_repeat_gradient_sums_the_copies():
    x = tg.tensor([[1.0, 2.0]], dtype=tg.float64, requires_grad=True)
    weights = tg.arange(12, dtype=tg.float64).reshape(2, 3, 2)
    (x.repeat(2, 3, 1) * weights).sum().backward()
    assert_array_equal(x.grad.numpy(), [[0 + 2 + 4 + 6 + 8 + 10, 1 + 3 + 5 + 7 + 9 + 11]])


def test_cat_skips_legacy_empty_tensors_but_promotes_with_them():
    running = tg.tensor([], dtype=tg.float64)
    out = tg.cat([running, tg.ones(2, 3, dtype=tg.int64)], dim=1)
    assert out.shape == (2, 3)
    assert out.dtype == tg.float64


def test_cat_and_stack_promote_dtypes():
    assert tg.cat([tg.ones(2), tg.ones(2, dtype=tg.int64)]).dtype == tg.float32
    assert tg.stack([tg.ones(2, dtype=tg.int64), tg.ones(2, dtype=tg.int64)]).dtype == tg.int64


def test_cat_gives_each_input_its_own_gradient():
    a = tg.ones(2, 3, dtype=tg.float64, requires_grad=True)
    b = tg.ones(2, 1, dtype=tg.float64, requires_grad=True)
    out = tg.cat([a, b], dim=-1)
    out.backward(tg.arange(8, dtype=tg.float64).reshape(2, 4))
    assert_array_equal(a.grad.numpy(), [[0, 1, 2], [4, 5, 6]])
    assert_array_equal(b.grad.numpy(), [[3], [7]])


def test_cat_of_the_same_tensor_twice_accumulates():
    a = tg.ones(2, dtype=tg.float64, requires_grad=True)
    tg.cat([a, a]).backward(tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64))
    assert_array_equal(a.grad.numpy(), [4.0, 6.0])


def test_unused_split_pieces_get_zero_gradient():
    x = _x(tg, 5).requires_grad_()
    first, _, _ = x.split(2)
    (first * 3).sum().backward()
    assert_array_equal(x.grad.numpy(), [3.0, 3.0, 0.0, 0.0, 0.0])


def test_narrow_double_backward():
    # f = sum(narrow(x)^3): d2f/dx2 is 6 x inside the window, 0 outside
    x = tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64, requires_grad=True)
    (g,) = tg.autograd.grad((x.narrow(0, 1, 2) ** 3).sum(), x, create_graph=True)
    (h,) = tg.autograd.grad(g.sum(), x)
    assert_allclose(g.detach().numpy(), [0.0, 12.0, 27.0, 0.0])
    assert_allclose(h.numpy(), [0.0, 12.0, 18.0, 0.0])


def test_chunk_and_split_on_an_empty_dim_follow_torch():
    empty = tg.zeros(0, 2)
    assert [p.shape for p in tg.chunk(empty, 3)] == [(0, 2)] * 3
    assert [p.shape for p in tg.split(empty, 0)] == [(0, 2)]
    assert tg.split(empty, []) == ()
    assert tg.unbind(empty) == ()


def test_chunk_may_return_fewer_pieces():
    assert [p.shape[0] for p in tg.chunk(_x(tg, 6), 4)] == [2, 2, 2]
    assert [p.shape[0] for p in tg.chunk(_x(tg, 5), 4)] == [2, 2, 1]


def test_narrow_accepts_a_tensor_start_and_negative_start():
    x = _x(tg, 2, 5)
    assert_array_equal(x.narrow(1, tg.tensor(1), 2).numpy(), x.numpy()[:, 1:3])
    assert_array_equal(x.narrow(1, -2, 2).numpy(), x.numpy()[:, 3:])


def test_size_arguments_by_keyword_as_torch():
    x = _x(tg, 2, 3)
    assert x.view(size=(3, 2)).shape == (3, 2)
    assert tg.reshape(x, shape=(6,)).shape == (6,)
    assert tg.permute(x, dims=(1, 0)).shape == (3, 2)
    assert x.expand(size=(2, 2, 3)).shape == (2, 2, 3)
    assert x.repeat(repeats=(1, 2)).shape == (2, 6)
    assert tg.tile(x, dims=(2,)).shape == (2, 6)
    assert_array_equal(tg.flip(x, dims=(0,)).numpy(), x.numpy()[::-1])
    assert tg.roll(x, shifts=1, dims=0).shape == (2, 3)
    assert tg.concatenate([x, x], axis=1).shape == (2, 6)


def test_shape_ops_match_torch_on_a_batch_of_calls():
    torch = pytest.importorskip("torch")
    values = np.arange(24.0).reshape(2, 3, 4)
    calls = [
        lambda m, x: x.flatten(1),
        lambda m, x: x.unflatten(-1, (2, -1)),
        lambda m, x: m.movedim(x, (0, 2), (2, 0)),
        lambda m, x: x.repeat(2, 1, 1, 2),
        lambda m, x: m.tile(x, (2,)),
        lambda m, x: m.roll(x, (1, -1), (0, 2)),
        lambda m, x: m.roll(x, 5),
        lambda m, x: m.flip(x, (0, -1)),
        lambda m, x: m.stack(m.unbind(x, 1), -1),
        lambda m, x: m.cat(m.chunk(x, 3, -1)[::-1], -1),
        lambda m, x: m.cat(m.split(x, [1, 3], 2)[::-1], 2),
        lambda m, x: x.mT,
        lambda m, x: x.narrow(-1, -3, 2).swapaxes(0, 1),
    ]
    for call in calls:
        ours = call(tg, tg.tensor(values)).numpy()
        theirs = call(torch, torch.tensor(values)).numpy()
        assert ours.shape == theirs.shape
        assert_array_equal(ours, theirs)
