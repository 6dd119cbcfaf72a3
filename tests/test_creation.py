"""Creation functions: shapes, dtypes and values, size spellings, device=, seeded randomness."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg

# --- tensor, from_numpy, as_tensor ------------------------------------------------------------


def test_tensor_copies_data():
    array = np.array([1.0, 2.0])
    t = tg.tensor(array)
    array[0] = 9.0
    assert t.tolist() == [1.0, 2.0]
    assert t.dtype == tg.float64


def test_tensor_from_tensor_copies():
    src = tg.tensor([1.0, 2.0])
    t = tg.tensor(src)
    src.add_(1.0)
    assert t.tolist() == [1.0, 2.0]


def test_tensor_nested_lists_and_scalars():
    assert tg.tensor([[1, 2], [3, 4]]).shape == (2, 2)
    assert tg.tensor(5).shape == ()
    assert tg.tensor([]).shape == (0,)
    assert tg.tensor([tg.tensor(1.0), tg.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_tensor_dtype_and_requires_grad():
    t = tg.tensor([1, 2], dtype=tg.float64, requires_grad=True)
    assert t.dtype == tg.float64
    assert t.requires_grad
    assert t.is_leaf


def test_from_numpy_shares_memory():
    array = np.zeros(3)
    t = tg.from_numpy(array)
    assert t.dtype == tg.float64
    array[0] = 5.0
    assert t.tolist() == [5.0, 0.0, 0.0]
    t.add_(1.0)
    np.testing.assert_array_equal(array, [6.0, 1.0, 1.0])


def test_from_numpy_non_array_raises():
    with pytest.raises(TypeError, match=r"from_numpy expects an np\.ndarray, got list"):
        tg.from_numpy([1.0, 2.0])


def test_as_tensor_shares_memory_with_array():
    array = np.zeros(2, dtype=np.float32)
    t = tg.as_tensor(array)
    array[1] = 3.0
    assert t.tolist() == [0.0, 3.0]
    x = tg.ones(2)
    assert tg.as_tensor(x) is x


# --- zeros, ones, empty, full -----------------------------------------------------------------


@pytest.mark.parametrize(("fn", "value"), [(tg.zeros, 0.0), (tg.ones, 1.0)], ids=["zeros", "ones"])
@pytest.mark.parametrize(
    "size",
    [(2, 3), ((2, 3),), ([2, 3],), (tg.Size([2, 3]),)],
    ids=["star", "tuple", "list", "Size"],
)
def test_constant_creation_size_spellings(fn, value, size):
    t = fn(*size)
    assert t.shape == (2, 3)
    assert t.dtype == tg.float32
    np.testing.assert_array_equal(t.numpy(), np.full((2, 3), value))


def test_empty_shape_and_dtype():
    t = tg.empty(2, 3)
    assert t.shape == (2, 3)
    assert t.dtype == tg.float32
    assert tg.empty((0,)).shape == (0,)


def test_constant_creation_zero_dim_and_empty():
    assert tg.zeros(()).shape == ()
    assert tg.ones(2, 0).shape == (2, 0)


def test_constant_creation_dtype_and_requires_grad():
    t = tg.zeros(2, dtype=tg.int64)
    assert t.dtype == tg.int64
    o = tg.ones(2, 2, dtype=tg.float64, requires_grad=True)
    assert o.dtype == tg.float64
    assert o.requires_grad


def test_constant_creation_float_size_raises():
    with pytest.raises(TypeError, match=r"zeros: size must be ints, got \(2, 2\.5\)"):
        tg.zeros(2, 2.5)


def test_full_values_and_dtype_from_fill():
    t = tg.full((2, 3), 7.0)
    assert t.shape == (2, 3)
    assert t.dtype == tg.float32
    np.testing.assert_array_equal(t.numpy(), np.full((2, 3), 7.0))
    assert tg.full((2,), 3).dtype == tg.int64
    assert tg.full((2,), True).dtype == tg.bool
    assert tg.full([2], 1.5, dtype=tg.float64).dtype == tg.float64


# --- *_like -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "check"),
    [
        (tg.zeros_like, lambda a: np.all(a == 0)),
        (tg.ones_like, lambda a: np.all(a == 1)),
        (tg.empty_like, lambda a: True),
        (lambda t, **kw: tg.full_like(t, 2.5, **kw), lambda a: np.all(a == 2.5)),
        (tg.rand_like, lambda a: np.all((a >= 0) & (a < 1))),
        (tg.randn_like, lambda a: np.all(np.isfinite(a))),
    ],
    ids=["zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like"],
)
def test_like_creation_copies_shape_and_dtype(fn, check):
    src = tg.ones(2, 3, dtype=tg.float64, requires_grad=True)
    t = fn(src)
    assert t.shape == (2, 3)
    assert t.dtype == tg.float64
    assert not t.requires_grad
    assert check(t.numpy())
    assert fn(src, dtype=tg.float32).dtype == tg.float32
    assert fn(src, requires_grad=True).requires_grad


def test_like_creation_int_source():
    src = tg.tensor([1, 2])
    assert tg.zeros_like(src).dtype == tg.int64
    assert tg.full_like(src, 2.7).tolist() == [2, 2]  # truncated into the source's dtype
    assert tg.ones_like(src, dtype=tg.float32).dtype == tg.float32


# --- arange, linspace, eye --------------------------------------------------------------------

ARANGE_CASES = {
    "end": ((5,), {}, [0, 1, 2, 3, 4], "int64"),
    "start_end": ((1, 4), {}, [1, 2, 3], "int64"),
    "negative_step": ((5, 0, -2), {}, [5, 3, 1], "int64"),
    "float_step": ((0, 1, 0.25), {}, [0.0, 0.25, 0.5, 0.75], "float32"),
    "float_end": ((3.0,), {}, [0.0, 1.0, 2.0], "float32"),
    "float_start": ((0.5, 3), {}, [0.5, 1.5, 2.5], "float32"),
    "float_negative_step": ((1, 0, -0.25), {}, [1.0, 0.75, 0.5, 0.25], "float32"),
    "end_excluded": ((1, 2.5, 0.5), {}, [1.0, 1.5, 2.0], "float32"),
    "tenth_step": ((0, 0.3, 0.1), {}, [0.0, 0.1, 0.2], "float32"),
    "dtype": ((3,), {"dtype": tg.float64}, [0.0, 1.0, 2.0], "float64"),
    "empty": ((0,), {}, [], "int64"),
}


@pytest.mark.parametrize(
    ("args", "kwargs", "values", "dtype"), ARANGE_CASES.values(), ids=ARANGE_CASES.keys()
)
def test_arange(args, kwargs, values, dtype):
    t = tg.arange(*args, **kwargs)
    assert str(t.dtype) == dtype
    np.testing.assert_allclose(t.numpy(), np.array(values, dtype=dtype), rtol=1e-6)


def test_arange_length_with_inexact_step():
    assert tg.arange(0, 1, 0.1).shape == (10,)
    assert tg.arange(-1, 1, 0.01).shape == (200,)


@pytest.mark.parametrize(
    ("args", "kwargs", "values", "dtype"), ARANGE_CASES.values(), ids=ARANGE_CASES.keys()
)
def test_arange_matches_torch(torch, args, kwargs, values, dtype):
    if "dtype" in kwargs:
        kwargs = {"dtype": torch.float64}
    t = torch.arange(*args, **kwargs)
    assert str(t.dtype) == f"torch.{dtype}"
    np.testing.assert_allclose(t.numpy(), np.array(values, dtype=dtype), rtol=1e-6)


def test_arange_zero_step_raises():
    with pytest.raises(RuntimeError, match=r"arange: step must be nonzero"):
        tg.arange(0, 5, 0)


def test_linspace():
    t = tg.linspace(0, 1, 5)
    assert t.dtype == tg.float32
    np.testing.assert_allclose(t.numpy(), [0.0, 0.25, 0.5, 0.75, 1.0], rtol=1e-7)
    assert tg.linspace(-1, 1, 1).tolist() == [-1.0]
    assert tg.linspace(0, 1, 0).shape == (0,)
    assert tg.linspace(0, 1, 3, dtype=tg.float64).dtype == tg.float64


def test_linspace_matches_torch(torch):
    np.testing.assert_allclose(
        tg.linspace(-2, 3, 7).numpy(), torch.linspace(-2, 3, 7).numpy(), rtol=1e-6
    )


def test_eye():
    np.testing.assert_array_equal(tg.eye(3).numpy(), np.eye(3))
    assert tg.eye(3).dtype == tg.float32
    np.testing.assert_array_equal(tg.eye(2, 3).numpy(), [[1, 0, 0], [0, 1, 0]])
    assert tg.eye(2, dtype=tg.int64).dtype == tg.int64
    assert tg.eye(0).shape == (0, 0)


# --- random draws -----------------------------------------------------------------------------


def test_rand_range_shape_dtype():
    t = tg.rand(200, 5)
    assert t.shape == (200, 5)
    assert t.dtype == tg.float32
    a = t.numpy()
    assert a.min() >= 0.0
    assert a.max() < 1.0
    assert abs(a.mean() - 0.5) < 0.05
    assert tg.rand((2, 3), dtype=tg.float64).dtype == tg.float64


def test_randn_moments():
    a = tg.randn(100, 100).numpy()
    assert a.dtype == np.float32
    assert abs(a.mean()) < 0.05
    assert abs(a.std() - 1.0) < 0.05
    assert tg.randn(()).shape == ()


def test_randint_range_and_spellings():
    t = tg.randint(3, 7, (1000,))
    assert t.dtype == tg.int64
    assert t.shape == (1000,)
    assert set(t.tolist()) == {3, 4, 5, 6}  # low inclusive, high exclusive
    assert tg.randint(5, (2, 3)).shape == (2, 3)
    assert tg.randint(0, 5, size=(2,), dtype=tg.int32).dtype == tg.int32


def test_randint_without_size_raises():
    with pytest.raises(TypeError, match=r"randint\(\) missing required argument 'size'"):
        tg.randint(0, 5)


def test_randperm_is_permutation():
    t = tg.randperm(10)
    assert t.dtype == tg.int64
    assert sorted(t.tolist()) == list(range(10))
    assert tg.randperm(0).shape == (0,)


def test_random_creation_requires_grad():
    assert tg.rand(2, requires_grad=True).requires_grad
    assert tg.randn(2, requires_grad=True).is_leaf


def _draws():
    return [
        tg.rand(4),
        tg.randn(4),
        tg.randint(0, 100, (4,)),
        tg.randperm(8),
        tg.rand_like(tg.ones(3)),
    ]


def test_manual_seed_repeats_draws():
    tg.manual_seed(123)
    first = _draws()
    tg.manual_seed(123)
    second = _draws()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_manual_seed_different_seeds_differ():
    tg.manual_seed(1)
    first = tg.rand(8).numpy()
    tg.manual_seed(2)
    assert not np.array_equal(first, tg.rand(8).numpy())


def test_manual_seed_draws_advance():
    tg.manual_seed(5)
    assert not np.array_equal(tg.rand(8).numpy(), tg.rand(8).numpy())


def test_manual_seed_non_int_raises():
    with pytest.raises(TypeError, match=r"manual_seed expects an int, got float"):
        tg.manual_seed(1.5)


def test_generator_is_independent_of_global_seed():
    g = tg.Generator().manual_seed(7)
    a = tg.rand(4, generator=g)
    tg.rand(4)  # the global generator moves on; g does not
    b = tg.rand(4, generator=tg.Generator().manual_seed(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


# --- device= ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda d: tg.tensor([1.0], device=d),
        lambda d: tg.zeros(2, device=d),
        lambda d: tg.ones(2, device=d),
        lambda d: tg.empty(2, device=d),
        lambda d: tg.full((2,), 1.0, device=d),
        lambda d: tg.zeros_like(tg.ones(2), device=d),
        lambda d: tg.arange(3, device=d),
        lambda d: tg.linspace(0, 1, 3, device=d),
        lambda d: tg.eye(2, device=d),
        lambda d: tg.rand(2, device=d),
        lambda d: tg.randn(2, device=d),
        lambda d: tg.randint(0, 3, (2,), device=d),
        lambda d: tg.randperm(3, device=d),
    ],
    ids=[
        "tensor",
        "zeros",
        "ones",
        "empty",
        "full",
        "zeros_like",
        "arange",
        "linspace",
        "eye",
        "rand",
        "randn",
        "randint",
        "randperm",
    ],
)
@pytest.mark.parametrize("device", ["cpu", tg.device("cpu")], ids=["str", "device"])
def test_creation_accepts_cpu_device(make, device):
    assert make(device).device == "cpu"


def test_creation_cuda_device_raises():
    with pytest.raises(RuntimeError, match=r"device 'cuda' is not available"):
        tg.zeros(2, device="cuda")
