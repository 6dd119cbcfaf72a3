"""Tensor: attributes, conversions, legacy constructors, repr, Python protocols, introspection."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd.node import AccumulateGrad

# --- attributes -------------------------------------------------------------------------------


def test_tensor_shape_is_size():
    t = tg.zeros(2, 3)
    assert isinstance(t.shape, tg.Size)
    assert isinstance(t.shape, tuple)
    assert t.shape == (2, 3)
    assert t.size() == (2, 3)
    assert isinstance(t.size(), tg.Size)
    assert t.shape.numel() == 6
    assert repr(t.shape) == "tg.Size([2, 3])"


def test_tensor_basic_attributes():
    t = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.dtype == tg.float32
    assert t.ndim == 2
    assert t.dim() == 2
    assert t.numel() == 6
    assert t.size(0) == 2
    assert t.size(1) == 3
    assert t.size(-1) == 3
    assert t.is_leaf
    assert not t.requires_grad
    assert t.grad is None
    assert t.grad_fn is None


def test_tensor_size_dim_out_of_range_raises():
    with pytest.raises(
        IndexError,
        match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)",
    ):
        tg.zeros(2, 3).size(2)


def test_tensor_zero_dim_attributes():
    t = tg.tensor(2.5)
    assert t.shape == ()
    assert t.ndim == 0
    assert t.numel() == 1


def test_tensor_device_is_cpu():
    t = tg.ones(2)
    assert t.device == tg.device("cpu")
    assert t.device == "cpu"
    assert str(t.device) == "cpu"
    assert repr(t.device) == "device(type='cpu')"
    assert not t.is_cuda


def test_tensor_requires_grad_setter():
    t = tg.ones(2)
    t.requires_grad = True
    assert t.requires_grad
    assert t.is_leaf
    t.requires_grad = False
    assert not t.requires_grad


def test_tensor_is_leaf_for_results():
    x = tg.ones(2, requires_grad=True)
    assert not (x * 2).is_leaf
    assert (tg.ones(2) * 2).is_leaf  # nothing recorded: a leaf, as in torch
    with tg.no_grad():
        assert (x * 2).is_leaf


# --- conversions ------------------------------------------------------------------------------


def test_tensor_numpy_requires_grad_raises():
    t = tg.ones(2, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"^Can't call numpy\(\) on Tensor that requires grad\. "
        r"Use tensor\.detach\(\)\.numpy\(\) instead\.$",
    ):
        t.numpy()


def test_tensor_detach_numpy_shares_memory():
    t = tg.ones(2, requires_grad=True)
    array = t.detach().numpy()
    assert array.dtype == np.float32
    array[0] = 5.0
    assert t.detach().numpy()[0] == 5.0


def test_tensor_numpy_shares_memory():
    t = tg.zeros(3)
    t.numpy()[1] = 4.0
    assert t.tolist() == [0.0, 4.0, 0.0]


def test_tensor_item():
    assert tg.tensor(3.5).item() == 3.5
    assert tg.tensor([2.5]).item() == 2.5
    value = tg.tensor(3).item()
    assert value == 3
    assert isinstance(value, int)
    assert isinstance(tg.tensor(True).item(), bool)


def test_tensor_item_several_elements_raises():
    with pytest.raises(
        RuntimeError, match=r"a Tensor with 6 elements cannot be converted to Scalar"
    ):
        tg.zeros(2, 3).item()


def test_tensor_tolist():
    assert tg.tensor([[1.0, 2.0], [3.0, 4.0]]).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert tg.tensor([1, 2]).tolist() == [1, 2]
    assert tg.tensor(2.0).tolist() == 2.0


def test_tensor_np_asarray():
    t = tg.tensor([1.0, 2.0])
    array = np.asarray(t)
    assert isinstance(array, np.ndarray)
    assert array.dtype == np.float32
    np.testing.assert_array_equal(array, [1.0, 2.0])
    np.testing.assert_array_equal(np.asarray(t, dtype=np.float64), [1.0, 2.0])
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize(
    ("convert", "dtype"),
    [
        (lambda t: t.float(), tg.float32),
        (lambda t: t.double(), tg.float64),
        (lambda t: t.long(), tg.int64),
        (lambda t: t.to(tg.float64), tg.float64),
        (lambda t: t.to(dtype=tg.int64), tg.int64),
        (lambda t: t.to(tg.tensor([1, 2])), tg.int64),
        (lambda t: t.type_as(tg.ones(1, dtype=tg.float64)), tg.float64),
        (lambda t: t.type(tg.float64), tg.float64),
    ],
    ids=["float", "double", "long", "to_dtype", "to_dtype_kw", "to_other", "type_as", "type"],
)
def test_tensor_dtype_conversions(convert, dtype):
    t = tg.tensor([1.5, -2.5])
    out = convert(t)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.numpy(), np.array([1.5, -2.5]).astype(dtype))


def test_tensor_to_same_dtype_or_cpu_returns_self():
    t = tg.ones(2)
    assert t.to(tg.float32) is t
    assert t.to("cpu") is t
    assert t.to(tg.device("cpu")) is t
    assert t.cpu() is t
    assert t.to("cpu", tg.float64).dtype == tg.float64


def test_tensor_to_dtype_is_differentiable():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype == tg.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0], rtol=0)


def test_tensor_to_int_drops_grad():
    x = tg.tensor([1.5, 2.5], requires_grad=True)
    assert not x.long().requires_grad


def test_tensor_type_name():
    assert tg.ones(1).type() == "tg.FloatTensor"
    assert tg.tensor([1]).type() == "tg.LongTensor"
    assert tg.ones(1).type("torch.DoubleTensor").dtype == tg.float64


def test_tensor_clone_owns_memory_and_is_recorded():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn.name() == "CloneBackward0"
    assert not np.shares_memory(c.detach().numpy(), x.detach().numpy())
    (c * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0], rtol=0)


def test_tensor_float_int_conversion():
    assert float(tg.tensor(2.5)) == 2.5
    assert int(tg.tensor(3)) == 3
    assert [10, 20, 30][tg.tensor(1)] == 20  # __index__


def test_tensor_index_with_float_tensor_raises():
    with pytest.raises(TypeError, match=r"only integer tensors can be used as an index"):
        [10, 20][tg.tensor(1.0)]


# --- constructors -----------------------------------------------------------------------------


def test_tensor_legacy_constructor_from_data():
    t = tg.Tensor([1, 2])
    assert t.dtype == tg.float32
    assert t.tolist() == [1.0, 2.0]
    assert not t.requires_grad
    assert tg.Tensor(np.array([1, 2])).dtype == tg.float32


def test_tensor_legacy_constructor_from_sizes():
    t = tg.Tensor(2, 3)
    assert t.shape == (2, 3)
    assert t.dtype == tg.float32
    assert tg.Tensor().shape == (0,)


@pytest.mark.parametrize(
    ("ctor", "dtype"),
    [
        (tg.FloatTensor, tg.float32),
        (tg.DoubleTensor, tg.float64),
        (tg.LongTensor, tg.int64),
        (tg.BoolTensor, tg.bool),
    ],
    ids=["Float", "Double", "Long", "Bool"],
)
def test_tensor_legacy_typed_constructors(ctor, dtype):
    from_data = ctor([1, 0])
    assert from_data.dtype == dtype
    assert from_data.tolist() == [1, 0]
    from_sizes = ctor(2, 3)
    assert from_sizes.dtype == dtype
    assert from_sizes.shape == (2, 3)


def test_tensor_long_tensor_truncates_floats():
    assert tg.LongTensor([1.7, -2.5]).tolist() == [1, -2]


def test_tensor_variable_legacy_spelling():
    v = tg.autograd.Variable(tg.ones(2), requires_grad=True)
    assert isinstance(v, tg.Tensor)
    assert v.requires_grad
    assert v.is_leaf
    assert not tg.autograd.Variable(tg.ones(2)).requires_grad


def test_tensor_isinstance():
    assert isinstance(tg.ones(1), tg.Tensor)
    assert isinstance(tg.ones(1, requires_grad=True) * 2, tg.Tensor)


# --- repr -------------------------------------------------------------------------------------

REPR_CASES = [
    (lambda m: m.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (lambda m: m.tensor([0.5, 1.25]), "tensor([0.5000, 1.2500])"),
    (lambda m: m.tensor([-1.5, 2.0]), "tensor([-1.5000,  2.0000])"),
    (lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0]]), "tensor([[1., 2.],\n        [3., 4.]])"),
    (lambda m: m.tensor(3.0), "tensor(3.)"),
    (lambda m: m.tensor([1, 2]), "tensor([1, 2])"),
    (lambda m: m.tensor([True, False]), "tensor([ True, False])"),
    (lambda m: m.tensor([1, 2], dtype=m.int32), "tensor([1, 2], dtype=tg.int32)"),
    (lambda m: m.ones(2, dtype=m.float64), "tensor([1., 1.], dtype=tg.float64)"),
    (lambda m: m.zeros(2, 0), "tensor([], size=(2, 0))"),
    (lambda m: m.tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
    (
        lambda m: m.tensor([1.0, 2.0], requires_grad=True) * 2,
        "tensor([2., 4.], grad_fn=<MulBackward0>)",
    ),
    (
        lambda m: m.tensor([1.0], dtype=m.float64, requires_grad=True) + 1,
        "tensor([2.], dtype=tg.float64, grad_fn=<AddBackward0>)",
    ),
]
REPR_IDS = [
    "whole",
    "fraction",
    "negative",
    "matrix",
    "zero_dim",
    "int",
    "bool",
    "int32",
    "float64",
    "empty",
    "requires_grad",
    "grad_fn",
    "float64_grad_fn",
]


@pytest.mark.parametrize(("make", "expected"), REPR_CASES, ids=REPR_IDS)
def test_tensor_repr(make, expected):
    assert repr(make(tg)) == expected


@pytest.mark.parametrize(("make", "expected"), REPR_CASES, ids=REPR_IDS)
def test_tensor_repr_matches_torch(torch, make, expected):
    assert repr(make(torch)).replace("torch.", "tg.") == expected


# --- Python protocols -------------------------------------------------------------------------


def test_tensor_bool():
    assert bool(tg.tensor(1.0))
    assert not bool(tg.tensor([0.0]))


def test_tensor_bool_several_elements_raises():
    with pytest.raises(RuntimeError, match=r"Boolean value of Tensor with 2 values is ambiguous"):
        bool(tg.ones(2))


def test_tensor_len():
    assert len(tg.zeros(3, 2)) == 3


def test_tensor_len_zero_dim_raises():
    with pytest.raises(TypeError, match=r"len\(\) of a 0-d tensor"):
        len(tg.tensor(1.0))


def test_tensor_iter_zero_dim_raises():
    with pytest.raises(TypeError, match=r"iteration over a 0-d tensor"):
        iter(tg.tensor(1.0))


@pytest.mark.skipif(
    not hasattr(tg.Tensor, "__getitem__"), reason="iteration needs t[i], from the indexing family"
)
def test_tensor_iter_yields_rows():
    rows = list(tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert len(rows) == 2
    assert rows[1].tolist() == [3.0, 4.0]


def test_tensor_hash_allows_sets_and_dicts():
    a = tg.ones(2)
    b = tg.ones(2)
    assert len({a, b}) == 2  # identity, not value
    assert a in {a}
    assert {a: 1}[a] == 1


def test_tensor_compare_with_none():
    t = tg.ones(2)
    assert (t == None) is False  # noqa: E711 - the operator itself is under test
    assert (t != None) is True  # noqa: E711


def test_tensor_numpy_scalar_on_left_gives_tensor():
    t = tg.tensor([1.0, 2.0])
    out = np.float64(2) * t
    assert isinstance(out, tg.Tensor)
    assert out.dtype == tg.float32  # a scalar does not promote a float tensor
    np.testing.assert_array_equal(out.numpy(), [2.0, 4.0])
    assert isinstance(np.int64(1) + t, tg.Tensor)


def test_tensor_ndarray_on_left_gives_tensor():
    t = tg.tensor([1.0, 2.0])
    out = np.array([10.0, 20.0]) + t
    assert isinstance(out, tg.Tensor)
    np.testing.assert_array_equal(out.numpy(), [11.0, 22.0])
    assert isinstance(np.ones((2, 2)) * t, tg.Tensor)


def test_tensor_ndarray_on_left_is_recorded():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (np.array([3.0, 4.0]) * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0], rtol=0)


def test_tensor_format():
    assert f"{tg.tensor(2.5):.2f}" == "2.50"


# --- graph introspection ----------------------------------------------------------------------


def test_tensor_grad_fn_name():
    x = tg.ones(2, requires_grad=True)
    assert (x * 2).grad_fn.name() == "MulBackward0"
    assert (x + 2).grad_fn.name() == "AddBackward0"
    assert x.tanh().grad_fn.name() == "TanhBackward0"
    assert x.sum().grad_fn.name() == "SumBackward0"


def test_tensor_grad_fn_next_functions():
    x = tg.ones(2, requires_grad=True)
    c = tg.ones(2)
    h = x * 2
    y = h + c
    (first, second) = y.grad_fn.next_functions
    assert first == (h.grad_fn, 0)
    assert second == (None, 0)  # c does not require grad
    ((leaf_node, nr), (none, zero)) = h.grad_fn.next_functions
    assert isinstance(leaf_node, AccumulateGrad)
    assert leaf_node.name() == "AccumulateGrad"
    assert leaf_node.variable is x
    assert nr == 0
    assert (none, zero) == (None, 0)  # the Python scalar 2


def test_tensor_grad_fn_next_functions_matches_torch(torch):
    def structure(node):
        # torch names its leaf node "torch::autograd::AccumulateGrad"
        return [None if n is None else n.name().split("::")[-1] for n, _ in node.next_functions]

    for m in (tg, torch):
        x = m.ones(2, requires_grad=True)
        y = x * 2 + m.ones(2)
        assert structure(y.grad_fn) == ["MulBackward0", None]
        assert structure(y.grad_fn.next_functions[0][0]) == ["AccumulateGrad", None]


def test_tensor_deepcopy_leaf():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.grad = tg.tensor([0.5, 0.5])
    c = copy.deepcopy(x)
    assert c is not x
    assert c.requires_grad
    assert c.is_leaf
    assert not np.shares_memory(c.detach().numpy(), x.detach().numpy())
    np.testing.assert_array_equal(c.detach().numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(c.grad.numpy(), [0.5, 0.5])
    assert c.grad is not x.grad


def test_tensor_deepcopy_non_leaf_raises():
    y = tg.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"Only Tensors created explicitly by the user"):
        copy.deepcopy(y)


# --- devices ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: tg.device("cuda"),
        lambda: tg.device("cuda:0"),
        lambda: tg.ones(2, device="cuda"),
        lambda: tg.ones(2).to("cuda"),
        lambda: tg.ones(2).cuda(),
    ],
    ids=["device", "device_index", "creation", "to", "cuda_method"],
)
def test_tensor_cuda_raises(make):
    with pytest.raises(RuntimeError, match=r"tapegrad runs on the CPU only; device 'cuda"):
        make()


def test_cuda_is_not_available():
    assert tg.cuda.is_available() is False
    assert tg.cuda.device_count() == 0
