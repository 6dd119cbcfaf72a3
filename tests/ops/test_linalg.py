"""Linear algebra beyond the op table: error messages, dtypes, zero-norm gradients, and every
linalg row against torch (forward and a vector-Jacobian product)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import tapegrad as tg
from tests.helpers import build_arrays, cases_and_samples, op_callable, tg_args, torch_args
from tests.opdb import linalg as linalg_rows
from tests.opdb.cases import OpCase

ROWS = cases_and_samples({case.name: case for case in linalg_rows.CASES})


def _torch_fn(torch, case: OpCase):
    return getattr(torch, case.name) if case.torch == "same" else case.torch


@pytest.mark.parametrize(("case", "sample", "index"), ROWS)
def test_matches_torch_forward_and_gradient(case, sample, index):
    torch = pytest.importorskip("torch")
    values = build_arrays(case, sample, index)
    args = tg_args(sample, values, read_only=False)
    t_args = torch_args(torch, sample, values)
    out = op_callable(case)(*args, **sample.kwargs)
    t_out = _torch_fn(torch, case)(*t_args, **sample.kwargs)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10)
    assert tuple(out.shape) == tuple(t_out.shape)
    cotangent = np.random.default_rng(index).standard_normal(out.shape)
    ours = [a for a in args if isinstance(a, tg.Tensor) and a.requires_grad]
    theirs = [a for a in t_args if isinstance(a, torch.Tensor) and a.requires_grad]
    grads = tg.autograd.grad(out, ours, tg.from_numpy(cotangent), allow_unused=True)
    t_grads = torch.autograd.grad(
        t_out, theirs, torch.from_numpy(cotangent), allow_unused=True, materialize_grads=True
    )
    for g, t_g in zip(grads, t_grads):
        got = np.zeros(t_g.shape) if g is None else g.numpy()
        np.testing.assert_allclose(got, t_g.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("case", "sample", "index"), ROWS)
def test_matches_torch_in_float32(case, sample, index):
    torch = pytest.importorskip("torch")
    values = [
        v.astype(np.float32) if isinstance(v, np.ndarray) else v
        for v in build_arrays(case, sample, index)
    ]
    out = op_callable(case)(*tg_args(sample, values, read_only=False), **sample.kwargs)
    t_out = _torch_fn(torch, case)(*torch_args(torch, sample, values), **sample.kwargs)
    assert out.dtype == tg.float32
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)


# --- matmul and its relatives ----------------------------------------------------------------


def test_matmul_operator_and_reflected_operator():
    a, b = tg.randn(2, 3), tg.randn(3, 4)
    np.testing.assert_allclose((a @ b).numpy(), a.numpy() @ b.numpy(), rtol=1e-6)
    np.testing.assert_allclose((a.numpy() @ b).numpy(), a.numpy() @ b.numpy(), rtol=1e-6)
    assert isinstance(a.numpy() @ b, tg.Tensor)


def test_matmul_of_vectors_is_0d():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = x @ tg.tensor([4.0, 5.0, 6.0])
    assert out.shape == () and out.item() == 32.0
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 5.0, 6.0])


def test_matmul_broadcast_batch_gradient_has_input_shapes():
    a = tg.randn(2, 1, 3, 4, dtype=tg.float64, requires_grad=True)
    b = tg.randn(5, 4, 2, dtype=tg.float64, requires_grad=True)
    (a @ b).sum().backward()
    assert a.grad.shape == (2, 1, 3, 4) and b.grad.shape == (5, 4, 2)


def test_matmul_of_integers_is_integer_and_needs_no_grad():
    a = tg.tensor([[1, 2], [3, 4]])
    out = a @ a
    assert out.dtype == tg.int64 and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), [[7, 10], [15, 22]])


def test_matmul_promotes_int_and_float():
    a = tg.tensor([[1, 2]])
    b = tg.tensor([[0.5], [0.25]], dtype=tg.float32, requires_grad=True)
    out = a @ b
    assert out.dtype == tg.float32 and out.requires_grad
    assert out.item() == 1.0
    assert (tg.ones(2, dtype=tg.float32) @ tg.ones(2, dtype=tg.float64)).dtype == tg.float64


def test_matmul_errors_name_both_shapes():
    with pytest.raises(
        ValueError,
        match=r"matmul: shapes \(2, 3\) and \(4, 5\) cannot be "
        r"multiplied \(3 != 4\)",
    ):
        tg.matmul(tg.ones(2, 3), tg.ones(4, 5))
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(4,\) cannot be multiplied"):
        tg.ones(3) @ tg.ones(4)
    with pytest.raises(ValueError, match=r"batch dims \(2,\) and \(3,\) do not broadcast"):
        tg.ones(2, 3, 4) @ tg.ones(3, 4, 5)
    with pytest.raises(ValueError, match=r"at least 1 dim, got shapes \(\) and \(3,\)"):
        tg.matmul(tg.tensor(2.0), tg.ones(3))
    with pytest.raises(TypeError, match="matmul: expected Tensor operands, got int"):
        tg.ones(3) @ 2
    with pytest.raises(TypeError, match="matmul: expected Tensor operands, got int"):
        tg.matmul(tg.ones(3), 2)


@pytest.mark.parametrize(
    ("fn", "shapes", "message"),
    [
        (tg.mm, ((3,), (3, 4)), r"mm: expected input to be 2-D, got shape \(3,\)"),
        (tg.mm, ((2, 3), (4, 5)), r"mm: shapes \(2, 3\) and \(4, 5\) cannot be multiplied"),
        (tg.bmm, ((3, 4), (2, 4, 5)), r"bmm: expected input to be 3-D, got shape \(3, 4\)"),
        (tg.bmm, ((2, 3, 4), (3, 4, 5)), r"bmm: shapes \(2, 3, 4\) and \(3, 4, 5\) have different"),
        (tg.bmm, ((2, 3, 4), (2, 5, 5)), r"bmm: shapes .* cannot be multiplied \(4 != 5\)"),
        (tg.mv, ((2, 3), (3, 1)), r"mv: expected vec to be 1-D, got shape \(3, 1\)"),
        (tg.mv, ((2, 3), (4,)), r"mv: shapes \(2, 3\) and \(4,\) cannot be multiplied"),
        (tg.dot, ((2, 3), (3,)), r"dot: expected input to be 1-D, got shape \(2, 3\)"),
        (tg.dot, ((3,), (4,)), r"dot: shapes \(3,\) and \(4,\) cannot be multiplied \(3 != 4\)"),
        (tg.outer, ((3,), (2, 2)), r"outer: expected vec2 to be 1-D, got shape \(2, 2\)"),
    ],
)
def test_matrix_product_errors(fn, shapes, message):
    with pytest.raises(ValueError, match=message):
        fn(*(tg.ones(s) for s in shapes))


def test_methods_exist_as_in_torch():
    m, v = tg.randn(3, 3), tg.randn(3)
    np.testing.assert_allclose(m.mm(m).numpy(), m.numpy() @ m.numpy(), rtol=1e-5)
    np.testing.assert_allclose(m.mv(v).numpy(), m.numpy() @ v.numpy(), rtol=1e-5)
    np.testing.assert_allclose(v.dot(v).numpy(), v.numpy() @ v.numpy(), rtol=1e-5)
    np.testing.assert_allclose(v.outer(v).numpy(), np.outer(v.numpy(), v.numpy()), rtol=1e-6)
    np.testing.assert_allclose(m.addmm(m, m).numpy(), m.numpy() + m.numpy() @ m.numpy(), rtol=1e-5)


def test_addmm_with_beta_zero_ignores_nan_input():
    out = tg.addmm(tg.full((2, 2), math.nan), tg.ones(2, 3), tg.ones(3, 2), beta=0, alpha=2)
    np.testing.assert_array_equal(out.numpy(), np.full((2, 2), 6.0))


def test_addmm_input_must_broadcast_to_the_product():
    with pytest.raises(
        ValueError,
        match=r"addmm: input of shape \(2, 1, 3\) cannot be broadcast "
        r"to the product's shape \(2, 3\)",
    ):
        tg.addmm(tg.ones(2, 1, 3), tg.ones(2, 3), tg.ones(3, 3))


# --- einsum ------------------------------------------------------------------------------------


def test_einsum_accepts_a_list_of_operands():
    a, b = tg.randn(2, 3), tg.randn(3, 4)
    np.testing.assert_allclose(
        tg.einsum("ij,jk", [a, b]).numpy(), a.numpy() @ b.numpy(), rtol=1e-5, atol=1e-6
    )


def test_einsum_trace_and_diagonal_gradients_sit_on_the_diagonal():
    x = tg.randn(3, 3, dtype=tg.float64, requires_grad=True)
    tg.einsum("ii->", x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.eye(3))
    x.grad = None
    tg.einsum("ii->i", x).backward(tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64))
    np.testing.assert_array_equal(x.grad.numpy(), np.diag([1.0, 2.0, 3.0]))


def test_einsum_spaces_and_integers():
    a = tg.tensor([[1, 2], [3, 4]])
    out = tg.einsum(" ij , jk -> ik ", a, a)
    assert out.dtype == tg.int64
    np.testing.assert_array_equal(out.numpy(), [[7, 10], [15, 22]])


@pytest.mark.parametrize(
    ("equation", "shapes", "message"),
    [
        ("ij,jk->ik", [(2, 3)], r"2 subscript terms for 1 operands"),
        ("ij", [(2, 3), (3,)], r"1 subscript terms for 2 operands"),
        ("i1->i", [(2, 2)], r"invalid subscript '1'"),
        ("i.->i", [(2, 2)], r"invalid subscript '\.'"),
        ("i->i->i", [(2,)], r"invalid subscript '-'"),
        ("...i...->i", [(2, 2)], r"more than one '\.\.\.'"),
        ("ij->i", [(2, 3, 4)], r"term 'ij' does not match 3 dims"),
        ("ij...->i", [(2,)], r"term 'ij\.\.\.' does not match 1 dims"),
        ("ij->ii", [(2, 3)], r"output subscript 'i' appears more than once"),
        ("ij->k", [(2, 3)], r"output subscript 'k' is in no input term"),
        ("ii->i", [(2, 3)], r"subscript 'i' is repeated in operand 0 with sizes 2 and 3"),
        ("ij,jk->ik", [(2, 3), (4, 5)], r"sizes 3 and 4 of subscript 'j'"),
        ("...i,...i", [(2, 3), (4, 3)], r"sizes 2 and 4 of subscript '.' \(or of a '\.\.\.' dim"),
    ],
)
def test_einsum_errors_name_the_equation_and_shapes(equation, shapes, message):
    context = re.escape(f"equation {equation!r} with operand shapes ")
    with pytest.raises(ValueError, match=context + ".*" + message):
        tg.einsum(equation, *(tg.ones(s) for s in shapes))


def test_einsum_needs_an_equation_and_operands():
    with pytest.raises(ValueError, match=r"einsum: equation 'ij' was given no operands"):
        tg.einsum("ij")
    with pytest.raises(TypeError, match=r"expected the equation string first, got Tensor"):
        tg.einsum(tg.ones(2, 3), [0, 1])


# --- norms -------------------------------------------------------------------------------------


def test_linalg_namespace():
    assert tg.linalg.norm.__name__ == "linalg_norm"
    assert tg.linalg.vector_norm.__name__ == "linalg_vector_norm"
    assert not hasattr(tg, "linalg_norm") and not hasattr(tg, "vector_norm")
    x = tg.tensor([3.0, -4.0])
    assert tg.linalg.norm(x).item() == 5.0
    assert tg.linalg.vector_norm(x, ord=1).item() == 7.0


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, -1, -2.5, math.inf, -math.inf, 0])
def test_zero_vector_norm_has_zero_gradient(ord):
    x = tg.zeros(4, dtype=tg.float64, requires_grad=True)
    out = tg.linalg.vector_norm(x, ord=ord)
    assert out.item() == 0.0
    out.backward()
    if ord == 0:
        assert x.grad is None  # torch gives no gradient for counting nonzeros either
    else:
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros(4))


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, -1, -2.5, math.inf, -math.inf])
def test_norm_gradient_with_zeros_and_ties_matches_torch(ord):
    torch = pytest.importorskip("torch")
    values = np.array([[0.0, 1.0, -1.0], [0.0, 0.0, 0.0], [2.0, -2.0, 0.5]])
    x = tg.from_numpy(values.copy()).requires_grad_()
    t = torch.from_numpy(values.copy()).requires_grad_()
    tg.linalg.vector_norm(x, ord, dim=1).sum().backward()
    torch.linalg.vector_norm(t, ord, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_frobenius_norm_of_zero_matrix_has_zero_gradient():
    x = tg.zeros(2, 3, requires_grad=True)
    tg.linalg.norm(x, "fro").backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))


def test_norm_dtype_argument_widens():
    x = tg.tensor([3.0, 4.0])
    assert tg.linalg.vector_norm(x, dtype=tg.float64).dtype == tg.float64
    assert tg.linalg.norm(x, dtype=tg.float64).dtype == tg.float64
    with pytest.raises(RuntimeError, match=r"should be convertible without narrowing"):
        tg.linalg.vector_norm(x.double(), dtype=tg.float32)


def test_vector_norm_empty_dim_reduces_everything():
    x = tg.tensor([[3.0, 0.0], [0.0, 4.0]])
    assert tg.linalg.vector_norm(x, dim=()).item() == 5.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: tg.linalg.norm(tg.tensor([1, 2])),
            RuntimeError,
            r"linalg.norm: expected a floating point tensor as input, got int64",
        ),
        (
            lambda: tg.linalg.vector_norm(tg.tensor([1, 2])),
            RuntimeError,
            r"linalg.vector_norm: expected a floating point tensor",
        ),
        (
            lambda: tg.linalg.vector_norm(tg.ones(3), "fro"),
            TypeError,
            r"ord must be a number, got 'fro'",
        ),
        (
            lambda: tg.linalg.vector_norm(tg.ones(0), math.inf),
            RuntimeError,
            r"cannot compute the inf norm on an empty tensor \(shape \(0,\)\)",
        ),
        (
            lambda: tg.linalg.vector_norm(tg.ones(2, 0), -1.0, dim=1),
            RuntimeError,
            r"cannot compute the -1.0 norm on an empty tensor",
        ),
        (
            lambda: tg.linalg.vector_norm(tg.ones(2, 3), dim=(0, 0)),
            RuntimeError,
            r"dim \(0, 0\) appears multiple times",
        ),
        (
            lambda: tg.linalg.vector_norm(tg.ones(2, 3), dim=2),
            IndexError,
            r"Dimension out of range",
        ),
        (
            lambda: tg.linalg.norm(tg.ones(2, 3, 4), 2),
            ValueError,
            r"if dim is not given but ord is, the input must be 1-D or 2-D; got shape \(2, 3, 4\)",
        ),
        (
            lambda: tg.linalg.norm(tg.ones(2, 3, 4), dim=(0, 1, 2)),
            ValueError,
            r"dim must be an int or a tuple of 1 or 2 ints, got \(0, 1, 2\)",
        ),
        (
            lambda: tg.linalg.norm(tg.ones(2, 3), "fro", dim=1),
            ValueError,
            r"ord='fro' is a matrix norm and needs a 2-tuple dim",
        ),
        (
            lambda: tg.linalg.norm(tg.ones(2, 3), 3),
            ValueError,
            r"matrix norm order 3 is not supported",
        ),
        (
            lambda: tg.linalg.norm(tg.ones(2, 3), dim=(1, -1)),
            ValueError,
            r"dim \(1, -1\) names dimension 1 twice",
        ),
        (
            lambda: tg.linalg.norm(tg.ones(2, 3), "nuc"),
            NotImplementedError,
            r"ord='nuc' needs singular values",
        ),
        (
            lambda: tg.linalg.norm(tg.ones(2, 3), 2),
            NotImplementedError,
            r"ord=2 needs singular values",
        ),
    ],
)
def test_norm_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
