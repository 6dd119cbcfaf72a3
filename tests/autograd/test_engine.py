"""The backward engine: walking the graph, seeding, accumulating, freeing, hooks and grad()."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg

# --- walking the graph ------------------------------------------------------------------------


def test_backward_long_chain_is_iterative():
    # 100,000 recorded ops: a recursive walk would hit Python's recursion limit long before
    x = tg.tensor(1.0, dtype=tg.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0001
    y.backward()
    # y = x * 1.0001**n, so dy/dx = 1.0001**n
    np.testing.assert_allclose(y.item(), 1.0001**100_000, rtol=1e-9)
    np.testing.assert_allclose(x.grad.item(), 1.0001**100_000, rtol=1e-9)


def test_backward_diamond_sums_both_paths():
    x = tg.tensor(3.0, requires_grad=True)
    (x * x + x).backward()  # d/dx (x^2 + x) = 2x + 1
    np.testing.assert_allclose(x.grad.item(), 7.0, rtol=1e-6)


def test_backward_diamond_through_shared_non_leaf():
    x = tg.tensor([0.5, -1.0], dtype=tg.float64, requires_grad=True)
    h = x * 2
    (h * h + h.tanh()).sum().backward()
    # d/dx (4x^2 + tanh(2x)) = 8x + 2 (1 - tanh(2x)^2)
    x0 = np.array([0.5, -1.0])
    np.testing.assert_allclose(x.grad.numpy(), 8 * x0 + 2 * (1 - np.tanh(2 * x0) ** 2), rtol=1e-12)


def test_backward_grad_accumulates_over_calls():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0], rtol=1e-6)


def test_backward_grad_zero_then_accumulates_afresh():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    x.grad.zero_()
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0], rtol=1e-6)


def test_backward_leaf_root_gets_ones():
    x = tg.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


# --- seeding the roots ------------------------------------------------------------------------


def test_backward_non_scalar_with_gradient():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(gradient=tg.tensor([1.0, 0.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.0, 60.0], rtol=1e-6)


def test_backward_non_scalar_without_gradient_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError, match=r"grad can be implicitly created only for scalar outputs"
    ):
        (x * 2).backward()


def test_backward_gradient_shape_mismatch_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"Mismatch in shape: grad_output\[0\] has a shape of \(3,\) and output\[0\] has a "
        r"shape of \(2,\)",
    ):
        (x * 2).backward(tg.ones(3))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(
        RuntimeError,
        match=r"element 0 of tensors does not require grad and does not have a grad_fn",
    ):
        tg.ones(2).sum().backward()


def test_backward_multiple_roots_with_their_gradients():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    y1 = a * 2
    y2 = a * a
    tg.autograd.backward([y1, y2], [tg.ones(2), tg.tensor([1.0, 10.0])])
    # 2 * 1 + 2a * (1, 10)
    np.testing.assert_allclose(a.grad.numpy(), [4.0, 42.0], rtol=1e-6)


def test_backward_multiple_roots_gradient_count_mismatch_raises():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"got 1 gradients for 2 tensors to differentiate"):
        tg.autograd.backward([a * 2, a * 3], [tg.ones(2)])


# --- freeing the graph ------------------------------------------------------------------------


def test_backward_twice_over_freed_graph_raises():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"second time.*Specify retain_graph=True"):
        y.backward()


def test_backward_twice_with_retain_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0], rtol=1e-6)


def test_backward_twice_through_ops_that_saved_nothing():
    # torch allows this too: freeing only drops saved values, and add/sum saved none
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 1).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0], rtol=1e-6)


def test_backward_frees_saved_values():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.tanh()
    node = y.grad_fn
    assert node._saved is not None
    y.sum().backward()
    assert node._saved is None


def test_backward_retain_graph_keeps_saved_values():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.tanh()
    y.sum().backward(retain_graph=True)
    assert y.grad_fn._saved is not None


# --- broadcasting and dtypes ------------------------------------------------------------------


@pytest.mark.parametrize("swap", [False, True], ids=["col_plus_row", "row_plus_col"])
def test_backward_broadcast_reduces_to_input_shapes(swap):
    a = tg.ones(3, 1, requires_grad=True)
    b = tg.ones(4, requires_grad=True)
    out = b + a if swap else a + b
    assert out.shape == (3, 4)
    out.sum().backward()
    assert a.grad.shape == (3, 1)
    assert b.grad.shape == (4,)
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 4.0), rtol=0)
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 3.0), rtol=0)


def test_backward_broadcast_scalar_tensor():
    s = tg.tensor(2.0, requires_grad=True)
    m = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    (s * m).sum().backward()
    assert s.grad.shape == ()
    np.testing.assert_allclose(s.grad.item(), 21.0, rtol=1e-6)
    np.testing.assert_allclose(m.grad.numpy(), np.full((2, 3), 2.0), rtol=0)


def test_backward_broadcast_keeps_size_one_dims():
    a = tg.ones(1, 3, requires_grad=True)
    b = tg.ones(2, 1, 1, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (1, 3)
    assert b.grad.shape == (2, 1, 1)
    np.testing.assert_allclose(a.grad.numpy(), np.full((1, 3), 2.0), rtol=0)
    np.testing.assert_allclose(b.grad.numpy(), np.full((2, 1, 1), 3.0), rtol=0)


@pytest.mark.parametrize("other_shape", [(3,), ()], ids=["vector", "zero_dim"])
def test_backward_grad_dtype_matches_input_dtype(other_shape):
    a32 = tg.ones(3, requires_grad=True)
    b64 = tg.ones(other_shape, dtype=tg.float64, requires_grad=True)
    (a32 * b64).sum().backward()
    assert a32.grad.dtype == tg.float32
    assert b64.grad.dtype == tg.float64


def test_backward_gradient_argument_is_cast_to_output_dtype():
    x = tg.ones(2, requires_grad=True)
    (x * 2).backward(tg.ones(2, dtype=tg.float64))
    assert x.grad.dtype == tg.float32


# --- inputs= ----------------------------------------------------------------------------------


def test_backward_inputs_only_accumulates_into_listed():
    a = tg.tensor(1.0, requires_grad=True)
    b = tg.tensor(2.0, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 2.0
    assert b.grad is None


def test_backward_inputs_non_leaf_gets_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (h * h).sum().backward(inputs=[h])
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 12.0], rtol=1e-6)
    assert x.grad is None


def test_backward_inputs_empty_raises():
    x = tg.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"empty 'inputs' sequence"):
        (x * 2).backward(inputs=[])


# --- autograd.grad ----------------------------------------------------------------------------


def test_grad_returns_gradients_without_touching_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    gx, gw = tg.autograd.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0], rtol=0)
    np.testing.assert_allclose(gw.numpy(), [1.0, 2.0], rtol=0)
    assert x.grad is None
    assert w.grad is None


def test_grad_with_grad_outputs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = tg.autograd.grad(x * 2, x, grad_outputs=tg.tensor([1.0, 10.0]))
    np.testing.assert_allclose(g.numpy(), [2.0, 20.0], rtol=0)


def test_grad_unused_input_raises():
    a = tg.tensor(2.0, requires_grad=True)
    unused = tg.tensor(1.0, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"input 1.*appears to not have been used in the graph\. Set allow_unused=True",
    ):
        tg.autograd.grad(a * 2, [a, unused])


def test_grad_allow_unused_gives_none():
    a = tg.tensor(2.0, requires_grad=True)
    unused = tg.tensor(1.0, requires_grad=True)
    ga, gu = tg.autograd.grad(a * 2, [a, unused], allow_unused=True)
    assert ga.item() == 2.0
    assert gu is None


def test_grad_input_without_grad_raises():
    a = tg.tensor(2.0, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"input 0 of grad\(\) does not require grad"):
        tg.autograd.grad(a * 2, [tg.tensor(1.0)])


def test_grad_non_leaf_input():
    a = tg.tensor(2.0, requires_grad=True)
    h = a * 3
    (g,) = tg.autograd.grad(h * h, h)
    assert g.item() == 12.0  # d/dh h^2 = 2h
    assert a.grad is None
    assert h.grad is None


def test_grad_frees_graph_unless_retained():
    x = tg.tensor(2.0, requires_grad=True)
    y = x.tanh()
    tg.autograd.grad(y, x, retain_graph=True)
    tg.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        tg.autograd.grad(y, x)


def test_grad_create_graph_gives_second_derivative():
    x = tg.tensor(2.0, requires_grad=True)
    (dy,) = tg.autograd.grad(x**3, x, create_graph=True)
    assert dy.requires_grad
    assert dy.item() == 12.0  # 3x^2
    (d2y,) = tg.autograd.grad(dy, x)
    assert d2y.item() == 12.0  # 6x


def test_backward_create_graph_grad_is_differentiable():
    x = tg.tensor(2.0, requires_grad=True)
    (x**3).backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 12.0  # 6x


def test_backward_without_create_graph_grad_is_plain():
    x = tg.tensor(2.0, requires_grad=True)
    (x**3).backward()
    assert not x.grad.requires_grad
    assert x.grad.grad_fn is None


# --- retain_grad and hooks --------------------------------------------------------------------


def test_retain_grad_keeps_non_leaf_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [4.0, 8.0], rtol=0)


def test_retain_grad_absent_non_leaf_grad_is_none():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    (h * h).sum().backward()
    assert h.grad is None
    assert not h.retains_grad


def test_retain_grad_without_grad_raises():
    with pytest.raises(
        RuntimeError, match=r"can't retain_grad on Tensor that has requires_grad=False"
    ):
        tg.ones(2).retain_grad()


def test_register_hook_leaf_modifies_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0], rtol=0)


def test_register_hook_leaf_sees_the_summed_gradient_once():
    # torch runs a leaf's hooks on its AccumulateGrad node: once, on the sum of every use
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    (x * 2 + x * 3).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [5.0, 5.0], rtol=0)


def test_register_hook_leaf_replaces_the_summed_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * g)  # not linear: per-use calls would give 2*2 + 3*3
    (x * 2 + x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [25.0, 25.0], rtol=0)


def test_zero_dim_leaf_grad_is_a_writable_tensor():
    # the gradient of a 0-d leaf broadcast over a vector is summed to a numpy scalar on the way
    x = tg.tensor(2.0, requires_grad=True)
    (x * tg.ones(3)).sum().backward()
    (x * x).backward()  # a second backward accumulates into it in place
    x.grad.add_(1.0)
    np.testing.assert_allclose(x.grad.item(), 3.0 + 4.0 + 1.0, rtol=0)


def test_register_hook_leaf_handle_remove():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 10)
    handle.remove()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0], rtol=0)


def test_register_hook_non_leaf_modifies_grad_flowing_back():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g + 1)
    (h * h).sum().backward()
    # dL/dh = 2h = 4x, plus 1 from the hook, times dh/dx = 2
    np.testing.assert_allclose(x.grad.numpy(), [10.0, 18.0], rtol=0)


def test_register_hook_non_leaf_observer_and_remove():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    seen = []
    handle = h.register_hook(seen.append)
    y = (h * 3).sum()
    y.backward(retain_graph=True)
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0].numpy(), [3.0, 3.0], rtol=0)
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0], rtol=0)
    handle.remove()
    y.backward()  # the same graph again, now without the hook
    assert len(seen) == 1
    np.testing.assert_allclose(x.grad.numpy(), [12.0, 12.0], rtol=0)


def test_register_hook_non_leaf_remove_stops_modification():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    handle = h.register_hook(lambda g: g * 100)
    handle.remove()
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0], rtol=0)


def test_register_hook_runs_during_grad():
    x = tg.tensor(2.0, requires_grad=True)
    x.register_hook(lambda g: g * 100)
    (g,) = tg.autograd.grad(x * 2, x)
    assert g.item() == 200.0


def test_register_hook_without_grad_raises():
    with pytest.raises(
        RuntimeError, match=r"cannot register a hook on a tensor that doesn't require gradient"
    ):
        tg.ones(2).register_hook(lambda g: g)


def test_retain_grad_sees_hooked_grad():
    x = tg.tensor(2.0, requires_grad=True)
    h = x * 1
    h.retain_grad()
    h.register_hook(lambda g: g * 5)
    (h * 3).backward()
    assert h.grad.item() == 15.0
    assert x.grad.item() == 15.0


# --- detach and requires_grad -----------------------------------------------------------------


def test_detach_leaves_graph_and_shares_memory():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad
    assert d.grad_fn is None
    assert d.is_leaf
    assert np.shares_memory(d.numpy(), y.detach().numpy())


def test_detach_blocks_gradient():
    x = tg.tensor(3.0, requires_grad=True)
    (x * x.detach()).backward()
    assert x.grad.item() == 3.0  # the detached factor is a constant


def test_requires_grad_int_tensor_raises():
    with pytest.raises(
        RuntimeError,
        match=r"only Tensors of floating point dtype can require gradients, got dtype int64",
    ):
        tg.tensor([1, 2]).requires_grad_()


def test_requires_grad_setter_on_non_leaf_raises():
    y = tg.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"you can only change requires_grad flags of leaf"):
        y.requires_grad = False


def test_requires_grad_propagates_to_results():
    x = tg.ones(2, requires_grad=True)
    c = tg.ones(2)
    assert (x * c).requires_grad
    assert not (c * c).requires_grad
    assert not (x > 0).requires_grad


# --- .grad buffers: taken over when the engine made them, copied when shared -------------


def _grad_buffers_are_separate(*leaves) -> None:
    """No two .grad arrays share memory, and writing one leaves the others alone."""
    arrays = [t.grad.numpy() for t in leaves]
    for i, a in enumerate(arrays):
        for b in arrays[i + 1 :]:
            assert not np.shares_memory(a, b)
    before = [a.copy() for a in arrays[1:]]
    arrays[0] += 1
    for a, b in zip(arrays[1:], before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "make",
    [
        lambda a, b: a + b,  # add hands the same gradient to both inputs
        lambda a, b: a - b,
        lambda a, b: a.reshape(3, 1) + b,  # a view of the gradient, then a broadcast sum
        lambda a, b: tg.stack([a, b]).sum(0),
        lambda a, b: a * 1.0 + b.expand(3),
        lambda a, b: a * 2.0 + a * 3.0 + b,  # a's uses are summed, in place after the first
        lambda a, b: (a + b) + a * 2.0,  # a passed-through gradient first, then an owned one
    ],
)
def test_leaves_never_share_a_grad_buffer(make):
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = tg.tensor([4.0, 5.0, 6.0], requires_grad=True)
    make(a, b).sum().backward()
    _grad_buffers_are_separate(a, b)


def test_summing_a_leafs_uses_leaves_every_other_gradient_alone():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y, z = x * 2.0, x * 3.0
    y.retain_grad()
    z.retain_grad()
    seen = []
    y.register_hook(seen.append)
    (y + z + x).sum().backward()  # x: a passed-through gradient, then 3g and 2g added to it
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    for g in (y.grad, z.grad, seen[0]):
        np.testing.assert_array_equal(g.numpy(), [1.0, 1.0])


def test_a_grad_is_not_the_callers_gradient_nor_a_retained_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x + 0.0
    y.retain_grad()
    seed = tg.tensor([3.0, 4.0])
    y.backward(seed)
    assert not np.shares_memory(x.grad.numpy(), seed.numpy())
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    x.grad += 1  # in place on x.grad only
    np.testing.assert_array_equal(seed.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 4.0])


def test_a_hook_keeps_the_gradient_it_was_shown():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(seen.append)
    (x * 2).sum().backward()
    (x * 2).sum().backward()  # accumulates into x.grad in place
    np.testing.assert_array_equal(seen[0].numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])
