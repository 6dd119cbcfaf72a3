"""The op table run against PyTorch: forward values, dtypes and gradients for every case.

Uses the same rows and inputs as test_registry.py. float64 is compared tightly (both libraries
should agree to rounding); float32 at torch's own test tolerances. Gradients use one random
cotangent shared by both libraries, never ``.sum()``. Skipped when torch is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ops.registry import REGISTRY
from tests.helpers import (
    as_list,
    build_arrays,
    cases_and_samples,
    needs_grad,
    op_callable,
    tg_args,
    to_numpy,
    torch_args,
)
from tests.opdb import OPDB
from tests.opdb.cases import rng_for

torch = pytest.importorskip("torch")

PARAMS = cases_and_samples(OPDB)

FLOAT64_TOL = {"rtol": 1e-7, "atol": 1e-10}
FLOAT32_TOL = {"rtol": 1e-5, "atol": 1e-6}


@pytest.mark.parametrize(("case", "sample", "index"), PARAMS)
def test_forward_matches_torch_float64(case, sample, index):
    torch_fn = _torch_callable(case, sample)
    values = build_arrays(case, sample, index)
    got = as_list(op_callable(case)(*tg_args(sample, values), **sample.kwargs))
    want = as_list(torch_fn(*torch_args(torch, sample, values), **sample.kwargs))
    _compare_outputs(got, want, exact_dtype=False, **FLOAT64_TOL)


@pytest.mark.parametrize(("case", "sample", "index"), PARAMS)
def test_forward_matches_torch_float32(case, sample, index):
    torch_fn = _torch_callable(case, sample)
    values = [_as_float32(v) for v in build_arrays(case, sample, index)]
    got = as_list(op_callable(case)(*tg_args(sample, values), **sample.kwargs))
    want = as_list(torch_fn(*torch_args(torch, sample, values), **sample.kwargs))
    _compare_outputs(got, want, exact_dtype=True, **FLOAT32_TOL)


@pytest.mark.parametrize(("case", "sample", "index"), PARAMS)
def test_gradients_match_torch(case, sample, index):
    torch_fn = _torch_callable(case, sample)
    if not REGISTRY[case.name].differentiable or not any(needs_grad(s) for s in sample.args):
        pytest.skip("no differentiable input")
    values = build_arrays(case, sample, index)
    tg_in = tg_args(sample, values)
    torch_in = torch_args(torch, sample, values)
    tg_out = as_list(op_callable(case)(*tg_in, **sample.kwargs))
    torch_out = as_list(torch_fn(*torch_in, **sample.kwargs))
    assert len(tg_out) == len(torch_out)

    rng = rng_for(f"{case.name}/{index}/cotangent")
    tg_roots, torch_roots, cotangents = [], [], []
    for nr, (a, b) in enumerate(zip(tg_out, torch_out)):
        a_diff = isinstance(a, tg.Tensor) and a.requires_grad
        b_diff = isinstance(b, torch.Tensor) and b.requires_grad
        assert a_diff == b_diff, f"output {nr}: requires_grad {a_diff} here, {b_diff} in torch"
        if a_diff:
            tg_roots.append(a)
            torch_roots.append(b)
            cotangents.append(rng.standard_normal(tuple(a.shape)))
    if not tg_roots:
        pytest.skip("no output requires grad")
    tg.autograd.backward(tg_roots, [tg.from_numpy(v.copy()) for v in cotangents])
    torch.autograd.backward(torch_roots, [torch.from_numpy(v.copy()) for v in cotangents])

    for i, (spec, a, b) in enumerate(zip(sample.args, tg_in, torch_in)):
        if not needs_grad(spec):
            continue
        got = _grad_array(a.grad, a.shape, to_numpy)
        want = _grad_array(b.grad, a.shape, lambda t: t.numpy())
        assert got.dtype == want.dtype, f"grad of input {i}: {got.dtype} vs torch {want.dtype}"
        np.testing.assert_allclose(got, want, err_msg=f"grad of input {i}", **FLOAT64_TOL)


# --- helpers -------------------------------------------------------------------------------


def _torch_callable(case, sample):
    """The row's torch callable; a name means ``torch.<name>``, else the method of arg 0."""
    spec = case.torch
    if spec is None:
        pytest.skip(f"{case.name} has no torch equivalent")
    if callable(spec):
        return spec
    name = case.name if spec == "same" else spec
    fn = getattr(torch, name, None)
    if fn is not None:
        return fn
    if not hasattr(torch.Tensor, name):
        raise AttributeError(f"torch has neither torch.{name} nor Tensor.{name}; set torch=")

    def method(first, *rest, **kwargs):
        return getattr(first, name)(*rest, **kwargs)

    return method


def _as_float32(value):
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value.astype(np.float32)
    return value


def _torch_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return np.asarray(value)


def _grad_array(grad, shape, convert) -> np.ndarray:
    """A leaf's .grad as an array; no gradient at all counts as zeros."""
    if grad is None:
        return np.zeros(tuple(shape))
    return np.asarray(convert(grad))


def _compare_outputs(got: list, want: list, exact_dtype: bool, rtol: float, atol: float):
    assert len(got) == len(want), f"{len(got)} outputs, torch gives {len(want)}"
    for nr, (a, b) in enumerate(zip(got, want)):
        a, b = to_numpy(a), _torch_numpy(b)
        where = f"output {nr}"
        assert a.shape == b.shape, f"{where}: shape {a.shape}, torch {b.shape}"
        if exact_dtype:
            assert a.dtype == b.dtype, f"{where}: dtype {a.dtype}, torch {b.dtype}"
        else:
            assert a.dtype.kind == b.dtype.kind, f"{where}: dtype {a.dtype}, torch {b.dtype}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=where)
