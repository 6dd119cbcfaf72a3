"""dtypes: defaults, inference from data, the default-dtype switch and torch's promotion rules."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg


@pytest.fixture
def default_float64():
    """Switch the default dtype to float64 for one test, and always switch it back."""
    previous = tg.get_default_dtype()
    tg.set_default_dtype(tg.float64)
    try:
        yield
    finally:
        tg.set_default_dtype(previous)


def _name(dtype) -> str:
    """'float32' for tg.float32 and torch.float32 alike."""
    return str(dtype).removeprefix("torch.")


# Each case builds a tensor with either library (``m`` is tg or torch) and names torch's dtype.
CASES = {
    "python_float": (lambda m: m.tensor(1.5), "float32"),
    "python_float_list": (lambda m: m.tensor([[1.0, 2.0]]), "float32"),
    "python_int": (lambda m: m.tensor([1, 2]), "int64"),
    "python_bool": (lambda m: m.tensor([True, False]), "bool"),
    "mixed_int_float": (lambda m: m.tensor([1, 2.5]), "float32"),
    "mixed_bool_int": (lambda m: m.tensor([True, 2]), "int64"),
    "numpy_float64": (lambda m: m.tensor(np.ones(2)), "float64"),
    "numpy_int32": (lambda m: m.tensor(np.ones(2, dtype=np.int32)), "int32"),
    "numpy_scalar": (lambda m: m.tensor(np.float64(1.0)), "float64"),
    "from_numpy_float64": (lambda m: m.from_numpy(np.ones(2)), "float64"),
    "from_numpy_float32": (lambda m: m.from_numpy(np.ones(2, dtype=np.float32)), "float32"),
    "from_numpy_uint8": (lambda m: m.from_numpy(np.ones(2, dtype=np.uint8)), "uint8"),
    "explicit_dtype": (lambda m: m.tensor([1, 2], dtype=m.float64), "float64"),
    "zeros": (lambda m: m.zeros(2), "float32"),
    "int_plus_float_scalar": (lambda m: m.tensor([1, 2]) + 1.5, "float32"),
    "int_times_float_scalar": (lambda m: m.tensor([1, 2]) * 0.5, "float32"),
    "int_plus_int_scalar": (lambda m: m.tensor([1, 2]) + 1, "int64"),
    "int_div_int": (lambda m: m.tensor([1, 2]) / m.tensor([2, 2]), "float32"),
    "int_div_int_scalar": (lambda m: m.tensor([1, 2]) / 2, "float32"),
    "int_scalar_div_int": (lambda m: 2 / m.tensor([1, 2]), "float32"),
    "int_pow_int_scalar": (lambda m: m.tensor([1, 2]) ** 2, "int64"),
    "int_scalar_pow_int": (lambda m: 2 ** m.tensor([1, 2]), "int64"),
    "int_pow_float_scalar": (lambda m: m.tensor([1, 2]) ** 2.0, "float32"),
    "int_floordiv_int": (lambda m: m.tensor([3, 4]) // 2, "int64"),
    "float32_times_float64_zero_dim": (
        lambda m: m.ones(3) * m.tensor(2.0, dtype=m.float64),
        "float32",
    ),
    "float64_zero_dim_times_float32": (
        lambda m: m.tensor(2.0, dtype=m.float64) * m.ones(3),
        "float32",
    ),
    "float32_times_float64": (lambda m: m.ones(3) * m.ones(3, dtype=m.float64), "float64"),
    "float32_zero_dim_times_float64_zero_dim": (
        lambda m: m.tensor(1.0) * m.tensor(2.0, dtype=m.float64),
        "float64",
    ),
    "int_times_float_zero_dim": (lambda m: m.tensor([1, 2]) * m.tensor(1.5), "float32"),
    "int32_plus_int64": (lambda m: m.tensor([1], dtype=m.int32) + m.tensor([1]), "int64"),
    "int32_times_int64_zero_dim": (lambda m: m.tensor([1], dtype=m.int32) * m.tensor(3), "int32"),
    "bool_plus_int": (lambda m: m.tensor([True]) + m.tensor([1]), "int64"),
    "bool_plus_int_scalar": (lambda m: m.tensor([True]) + 1, "int64"),
    "bool_plus_float_scalar": (lambda m: m.tensor([True]) + 1.5, "float32"),
    "float64_times_float_scalar": (lambda m: m.ones(2, dtype=m.float64) * 0.5, "float64"),
    "sum_int": (lambda m: m.tensor([1, 2], dtype=m.int32).sum(), "int64"),
    "sum_bool": (lambda m: m.tensor([True, True]).sum(), "int64"),
    "comparison": (lambda m: m.ones(2) > 0, "bool"),
}


@pytest.mark.parametrize(("make", "expected"), CASES.values(), ids=CASES.keys())
def test_dtype_inference_and_promotion(make, expected):
    assert _name(make(tg).dtype) == expected


@pytest.mark.parametrize(("make", "expected"), CASES.values(), ids=CASES.keys())
def test_dtype_inference_and_promotion_matches_torch(torch, make, expected):
    assert _name(make(torch).dtype) == expected


def test_dtype_values_of_promoted_results():
    np.testing.assert_array_equal((tg.tensor([1, 2]) / tg.tensor([2, 2])).numpy(), [0.5, 1.0])
    np.testing.assert_array_equal((tg.tensor([1, 3]) ** 2).numpy(), [1, 9])
    np.testing.assert_array_equal((tg.tensor([True, False]) + tg.tensor([1, 1])).numpy(), [2, 1])


def test_dtype_are_numpy_dtypes():
    assert tg.float32 == np.float32
    assert tg.float64 == np.dtype("float64")
    assert tg.int64 == np.int64
    assert tg.bool == np.bool_
    assert tg.float is tg.float32
    assert tg.double is tg.float64
    assert tg.long is tg.int64
    assert np.zeros(2, dtype=tg.float32).dtype == np.float32


def test_default_dtype_is_float32():
    assert tg.get_default_dtype() == tg.float32


def test_default_dtype_float64_changes_creation(default_float64):
    assert tg.get_default_dtype() == tg.float64
    assert tg.tensor(1.5).dtype == tg.float64
    assert tg.tensor([1.0, 2.0]).dtype == tg.float64
    assert tg.zeros(2).dtype == tg.float64
    assert tg.ones(2).dtype == tg.float64
    assert tg.rand(2).dtype == tg.float64
    assert tg.arange(0, 1, 0.5).dtype == tg.float64
    assert tg.linspace(0, 1, 3).dtype == tg.float64
    assert (tg.tensor([1]) / tg.tensor([2])).dtype == tg.float64
    assert (tg.tensor([1]) + 0.5).dtype == tg.float64


def test_default_dtype_float64_leaves_ints_and_explicit_dtypes(default_float64):
    assert tg.tensor([1, 2]).dtype == tg.int64
    assert tg.arange(3).dtype == tg.int64
    assert tg.zeros(2, dtype=tg.float32).dtype == tg.float32
    assert (tg.ones(2, dtype=tg.float32) * 0.5).dtype == tg.float32
    assert tg.from_numpy(np.ones(2, dtype=np.float32)).dtype == tg.float32


DEFAULT_DTYPE_CASES = {
    "tensor": lambda m: m.tensor(1.5),
    "zeros": lambda m: m.zeros(2),
    "rand": lambda m: m.rand(2),
    "arange": lambda m: m.arange(0, 1, 0.5),
    "int_arange": lambda m: m.arange(3),
    "int_div_int": lambda m: m.tensor([1]) / m.tensor([2]),
    "int_plus_float_scalar": lambda m: m.tensor([1]) + 0.5,
    "float32_times_float_scalar": lambda m: m.ones(2, dtype=m.float32) * 0.5,
}


@pytest.mark.parametrize("make", DEFAULT_DTYPE_CASES.values(), ids=DEFAULT_DTYPE_CASES.keys())
def test_default_dtype_float64_matches_torch(torch, default_float64, make):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert _name(make(tg).dtype) == _name(make(torch).dtype)
    finally:
        torch.set_default_dtype(previous)


def test_default_dtype_set_back_to_float32():
    try:
        tg.set_default_dtype(tg.float64)
        tg.set_default_dtype(tg.float32)
        assert tg.tensor(1.5).dtype == tg.float32
        assert tg.zeros(1).dtype == tg.float32
    finally:
        tg.set_default_dtype(tg.float32)


def test_default_dtype_non_float_raises():
    with pytest.raises(
        TypeError, match=r"only floating-point types are supported as the default type, got int64"
    ):
        tg.set_default_dtype(tg.int64)
    assert tg.get_default_dtype() == tg.float32


@pytest.mark.parametrize(
    "make",
    [
        lambda: tg.tensor([1, 2], requires_grad=True),
        lambda: tg.zeros(2, dtype=tg.int64, requires_grad=True),
        lambda: tg.tensor([True]).requires_grad_(),
    ],
    ids=["tensor", "zeros", "bool"],
)
def test_dtype_int_and_bool_cannot_require_grad(make):
    with pytest.raises(
        RuntimeError, match=r"only Tensors of floating point dtype can require gradients, got dtype"
    ):
        make()


def test_dtype_int_results_do_not_require_grad():
    x = tg.tensor([1.5, 2.5], requires_grad=True)
    assert not (x > 2).requires_grad
    assert not x.long().requires_grad
    assert (x.long() * x).requires_grad  # int * float32 is float32, recorded through x


def test_dtype_unsupported_data_raises():
    with pytest.raises(TypeError, match=r"tensor\(\): could not infer a numeric dtype from list"):
        tg.tensor([None])
