"""In-place methods: values, version counting, leaf rules, recording on non-leaves, .data."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import tapegrad as tg

# --- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("add_", (1.0,), [2.0, 3.0, 4.0]),
        ("add_", (tg.tensor([1.0, 2.0, 3.0]),), [2.0, 4.0, 6.0]),
        ("sub_", (0.5,), [0.5, 1.5, 2.5]),
        ("mul_", (2.0,), [2.0, 4.0, 6.0]),
        ("mul_", (tg.tensor(3.0),), [3.0, 6.0, 9.0]),
        ("div_", (4.0,), [0.25, 0.5, 0.75]),
        ("clamp_", (1.5, 2.5), [1.5, 2.0, 2.5]),
        ("fill_", (7.0,), [7.0, 7.0, 7.0]),
        ("zero_", (), [0.0, 0.0, 0.0]),
        ("copy_", (tg.tensor([4.0, 5.0, 6.0]),), [4.0, 5.0, 6.0]),
        ("copy_", (tg.tensor(9.0),), [9.0, 9.0, 9.0]),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_inplace_values(method, args, expected):
    t = tg.tensor([1.0, 2.0, 3.0])
    array = t.numpy()
    out = getattr(t, method)(*args)
    assert out is t
    assert t.numpy() is array  # written into the same memory
    np.testing.assert_allclose(t.numpy(), expected, rtol=1e-7)
    assert t._version == 1


def test_inplace_clamp_min_only():
    t = tg.tensor([1.0, 2.0, 3.0])
    t.clamp_(min=2.0)
    np.testing.assert_allclose(t.numpy(), [2.0, 2.0, 3.0], rtol=0)


def test_inplace_copy_casts_source_dtype():
    t = tg.zeros(3)
    t.copy_(tg.tensor([1, 2, 3]))
    assert t.dtype == tg.float32
    np.testing.assert_allclose(t.numpy(), [1.0, 2.0, 3.0], rtol=0)


def test_inplace_copy_bad_shape_raises():
    with pytest.raises(
        RuntimeError, match=r"copy_: source of shape \(2,\) cannot be broadcast to the destination"
    ):
        tg.zeros(3).copy_(tg.ones(2))


def test_inplace_broadcast_to_larger_shape_raises():
    with pytest.raises(
        RuntimeError,
        match=r"add_: output with shape \(3,\) doesn't match the broadcast shape \(2, 3\)",
    ):
        tg.ones(3).add_(tg.ones(2, 3))


def test_inplace_float_result_into_int_tensor_raises():
    with pytest.raises(
        RuntimeError,
        match=r"add_: result type float32 can't be cast to the desired output type int64",
    ):
        tg.tensor([1, 2]).add_(0.5)


def test_inplace_true_division_of_int_tensor_raises():
    with pytest.raises(
        RuntimeError,
        match=r"div_: result type float32 can't be cast to the desired output type int64",
    ):
        tg.tensor([1, 2]).div_(2)


def test_inplace_float64_into_float32_keeps_float32():
    t = tg.ones(2)
    t.add_(tg.ones(2, dtype=tg.float64))
    assert t.dtype == tg.float32
    np.testing.assert_allclose(t.numpy(), [2.0, 2.0], rtol=0)


@pytest.mark.parametrize("op", ["__iadd__", "__isub__", "__imul__", "__itruediv__"])
@pytest.mark.parametrize(
    "other",
    [2.0, 3, tg.tensor([2.0, 4.0]), tg.tensor(2.0), tg.tensor([[2.0, 4.0]]), tg.tensor([2, 4])],
)
def test_inplace_operators_write_through_views_and_bump_the_version(op, other):
    """The one-ufunc update path and the general one agree, views included."""
    base = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    row = base[1]
    before = row._version
    expected = getattr(operator, op.replace("__i", "__"))(row.numpy().copy(), _array(other))
    if expected.shape != (2,):  # a (1, 2) operand cannot be written into a (2,) tensor
        with pytest.raises(RuntimeError, match=r"doesn't match the broadcast shape \(1, 2\)"):
            getattr(row, op)(other)
        return
    result = getattr(row, op)(other)
    assert result is row
    np.testing.assert_allclose(base.numpy()[1], expected, rtol=1e-6)
    assert row._version == before + 1
    assert row.dtype == tg.float32


def _array(value):
    return value.numpy() if isinstance(value, tg.Tensor) else value


# --- leaves, parameters and versions ----------------------------------------------------------


def test_inplace_sgd_step_under_no_grad():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    g = tg.tensor([10.0, 20.0])
    before = p._version
    param = p
    with tg.no_grad():
        p -= 0.1 * g
    assert p is param
    np.testing.assert_allclose(p.detach().numpy(), [0.0, 0.0], atol=1e-7)
    assert p._version == before + 1
    assert p.is_leaf
    assert p.requires_grad
    assert p.grad_fn is None


def test_inplace_on_leaf_requiring_grad_raises():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"__isub__: a leaf Variable that requires grad"):
        p -= 0.1 * tg.ones(2)
    with pytest.raises(RuntimeError, match=r"add_: a leaf Variable that requires grad"):
        p.add_(1.0)
    np.testing.assert_array_equal(p.detach().numpy(), [1.0, 2.0])  # nothing was written


def test_inplace_grad_zero_():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_inplace_version_shared_with_detach():
    x = tg.ones(2)
    d = x.detach()
    d.add_(1.0)
    assert x._version == 1
    assert d._version == 1
    np.testing.assert_array_equal(x.numpy(), [2.0, 2.0])


# --- recording on non-leaves ------------------------------------------------------------------


def test_inplace_non_leaf_is_recorded():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    assert y.grad_fn.name() == "AddBackward0"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0], rtol=0)


def test_inplace_non_leaf_gradient_uses_new_value():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    (y * y).sum().backward()  # d/dx (2x + 1)^2 = 4 (2x + 1)
    np.testing.assert_allclose(x.grad.numpy(), [12.0, 20.0], rtol=0)


def _inplace_args(method: str, x) -> tuple:
    """Arguments for the in-place method on ``y = 2x`` in the tests below."""
    if method in ("mul_", "div_"):
        return (x,)
    return {"pow_": (2,), "clamp_": (0, 3)}.get(method, ())


@pytest.mark.parametrize(
    ("method", "grad"),
    [
        # y = 2x, modified in place, then L = sum(y_new^2): dL/dx = 2 y_new dy_new/dx
        ("mul_", lambda x: 16 * x**3),  # y_new = 2x^2
        ("div_", lambda x: 0 * x),  # y_new = 2
        ("pow_", lambda x: 64 * x**3),  # y_new = 4x^2
        ("tanh_", lambda x: 4 * np.tanh(2 * x) * (1 - np.tanh(2 * x) ** 2)),
        ("exp_", lambda x: 4 * np.exp(4 * x)),
        ("clamp_", lambda x: np.where(2 * x < 3, 8 * x, 0.0)),  # clamp_(0, 3)
    ],
    ids=["mul_", "div_", "pow_", "tanh_", "exp_", "clamp_"],
)
def test_inplace_non_leaf_saving_its_input_backward(method, grad):
    # the op saves y for its own backward while overwriting y: it must keep the old values
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    y = x * 2
    getattr(y, method)(*_inplace_args(method, x))
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), grad(np.array([1.0, 2.0])), rtol=1e-12)


@pytest.mark.parametrize("method", ["mul_", "div_", "pow_", "tanh_", "exp_", "clamp_"])
def test_inplace_non_leaf_matches_torch(torch, method):
    grads = []
    for m in (tg, torch):
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        y = x * 2
        getattr(y, method)(*_inplace_args(method, x))
        (y * y).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_inplace_operand_without_grad_gets_grad_fn():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 4.0])
    y.mul_(x)
    assert y.requires_grad
    assert not y.is_leaf
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0], rtol=0)


def test_inplace_fill_non_leaf_blocks_old_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.fill_(3.0)
    (y * x).sum().backward()  # y no longer depends on x
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0], rtol=0)


# --- tensors saved for backward ---------------------------------------------------------------


def test_inplace_modified_saved_output_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.tanh()  # saves its output for backward
    y.add_(1)
    with pytest.raises(
        RuntimeError,
        match=r"modified by an inplace operation: saved tensor 0 of TanhBackward0 is at version 1; "
        r"expected version 0",
    ):
        y.sum().backward()


@pytest.mark.parametrize(
    "alias", [lambda y: y.detach(), lambda y: y[:1]], ids=["through detach", "through a view"]
)
def test_inplace_modified_saved_output_through_an_alias_raises(alias):
    # the alias shares the output's version counter (torch's rule), so the node sees the write
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # saves its output for backward
    with tg.no_grad():
        alias(y).mul_(2)
    assert y._version == 1
    with pytest.raises(RuntimeError, match=r"saved tensor 0 of ExpBackward0 is at version 1"):
        y.sum().backward()


def test_inplace_modified_saved_input_raises():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0])
    c = a * b  # saves b for the gradient of a
    b.add_(1)
    with pytest.raises(
        RuntimeError,
        match=r"modified by an inplace operation: saved tensor 1 of MulBackward0 is at version 1; "
        r"expected version 0",
    ):
        c.sum().backward()


def test_inplace_modified_saved_leaf_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    y = x * w  # saves x for the gradient of w
    with tg.no_grad():
        x.add_(1)
    assert x._version == 1
    with pytest.raises(
        RuntimeError,
        match=r"modified by an inplace operation: saved tensor 0 of MulBackward0 is at version 1; "
        r"expected version 0",
    ):
        y.sum().backward()


def test_inplace_modified_saved_non_leaf_raises():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    h = a * 1
    c = h * a  # saves h
    h.add_(1)
    with pytest.raises(RuntimeError, match=r"saved tensor 0 of MulBackward0 is at version 1"):
        c.sum().backward()


def test_inplace_self_as_other_operand_raises():
    # as torch: y.mul_(y) saves y as the other factor, and then overwrites it
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.mul_(y)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation"):
        y.sum().backward()


def test_inplace_modified_after_backward_is_fine():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.tanh()
    y.sum().backward()
    y.detach().add_(1)
    np.testing.assert_allclose(x.grad.numpy(), 1 - np.tanh([1.0, 2.0]) ** 2, rtol=1e-6)


# --- .data ------------------------------------------------------------------------------------


def test_data_shares_memory_and_is_detached():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    d = w.data
    assert not d.requires_grad
    assert d.grad_fn is None
    assert np.shares_memory(d.numpy(), w.detach().numpy())


def test_data_writes_are_not_tracked():
    w = tg.tensor([2.0, 3.0], requires_grad=True)
    y = w * w  # saves w
    w.data.mul_(2)  # allowed on a leaf, and invisible to the version check
    assert w._version == 0
    np.testing.assert_array_equal(w.detach().numpy(), [4.0, 6.0])
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [8.0, 12.0], rtol=0)  # 2w, with the new w


def test_data_assignment_replaces_values():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    w.data = tg.tensor([5.0, 6.0])
    assert w.requires_grad
    assert w.is_leaf
    np.testing.assert_array_equal(w.detach().numpy(), [5.0, 6.0])


@pytest.mark.parametrize("op", ["exp", "tanh", "sigmoid", "relu", "sqrt", "reciprocal"])
def test_writing_the_input_of_an_op_that_saved_only_its_output_is_fine(op):
    """As torch: these ops keep their result, not their input, for backward."""
    x = tg.tensor([0.5, 2.0], requires_grad=True)
    h = x * 1.0
    y = getattr(h, op)()
    expected = y.detach().numpy().copy()
    h.add_(100.0)  # the input changes after the op; its gradient does not depend on it
    y.sum().backward()
    reference = tg.tensor([0.5, 2.0], requires_grad=True)
    getattr(reference, op)().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), reference.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(y.detach().numpy(), expected)
