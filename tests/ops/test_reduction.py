"""Reductions: errors, result dtypes, and what the op table cannot express (ties, zeros,
degenerate corrections, infinities), checked against torch where it is installed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

import tapegrad as tg

TIES = [[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _t(values, dtype=np.float64, requires_grad=False):
    return tg.tensor(np.array(values, dtype=dtype), requires_grad=requires_grad)


def _compare(torch, tg_fn, torch_fn, *arrays, create_graph=False, rtol=1e-12):
    """Values and gradients (random cotangent) of ``tg_fn`` and ``torch_fn`` agree.

    With ``create_graph``, the gradient is differentiated again with a second cotangent.
    """
    rng = np.random.default_rng(0)
    xs = [tg.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    ts = [torch.tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out, ref = tg_fn(*xs), torch_fn(*ts)
    assert out.shape == tuple(ref.shape)
    assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=1e-12)
    v = rng.standard_normal(tuple(ref.shape))
    grads = tg.autograd.grad(out, xs, tg.tensor(v), create_graph=create_graph)
    expected = torch.autograd.grad(ref, ts, torch.tensor(v), create_graph=create_graph)
    for got, want in zip(grads, expected):
        assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=1e-12)
    if create_graph:
        w = [rng.standard_normal(x.shape) for x in xs]
        second = _second_grads(tg, grads, xs, w)
        second_ref = _second_grads(torch, expected, ts, w)
        for got, want in zip(second, second_ref):
            assert_allclose(got, want, rtol=rtol, atol=1e-12)


def _second_grads(lib, grads, inputs, cotangents) -> list:
    """d<grads, cotangents>/d inputs as arrays; zeros where the gradient does not depend on them
    (a linear op's gradient, or torch's ZeroTensor)."""
    zeros = [np.zeros(c.shape) for c in cotangents]
    if not any(g.requires_grad for g in grads):
        return zeros
    pairs = [(g, lib.tensor(c)) for g, c in zip(grads, cotangents) if g.requires_grad]
    outs = lib.autograd.grad(
        [g for g, _ in pairs], inputs, [c for _, c in pairs], allow_unused=True
    )
    if lib is tg:
        return [z if o is None else o.numpy() for o, z in zip(outs, zeros)]
    return [z if o is None else o.detach().numpy(force=True) for o, z in zip(outs, zeros)]


# --- errors ------------------------------------------------------------------------------------


def test_prod_takes_a_single_dim():
    with pytest.raises(TypeError, match=r"prod: dim must be a single int, got \(0, 1\)"):
        tg.prod(_t(TIES), (0, 1))


def test_reduction_dim_out_of_range_names_the_range():
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        tg.amax(_t(TIES), 2)
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got -3"):
        tg.var(_t(TIES), -3)


def test_repeated_dims_are_an_error():
    with pytest.raises(RuntimeError, match=r"dim \(0, 0\) appears multiple times"):
        tg.amax(_t(TIES), (0, 0))


def test_max_without_identity_on_empty_input():
    with pytest.raises(RuntimeError, match=r"max\(\): Expected reduction dim to be specified"):
        tg.max(tg.zeros(0))
    with pytest.raises(IndexError, match=r"amin\(\): Expected reduction dim 0 to have non-zero"):
        tg.amin(tg.zeros(0, 3), 0)
    with pytest.raises(IndexError, match=r"argmax\(\): .*input shape \(0,\)"):
        tg.argmax(tg.zeros(0))
    assert tg.max(tg.zeros(0, 3), 1).values.shape == (0,)


def test_max_argument_errors():
    x = _t(TIES)
    with pytest.raises(TypeError, match=r"max\(\): the second argument must be an int dim or a"):
        tg.max(x, 1.5)
    with pytest.raises(TypeError, match=r"min\(\): pass either dim \(with keepdim\) or other"):
        tg.min(x, 1, other=x)
    with pytest.raises(TypeError, match=r"max\(\): keepdim=True needs a dim"):
        x.max(keepdim=True)


def test_var_and_std_need_floats_and_one_correction():
    with pytest.raises(RuntimeError, match=r"var\(\): std and var only support floating point.*"):
        tg.var(tg.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"std\(\): pass either unbiased or correction, not both"):
        tg.std(_t(TIES), 1, True, correction=0)
    with pytest.raises(TypeError, match=r"var\(\): got unbiased twice"):
        tg.var(_t(TIES), True, False)


def test_norm_errors():
    with pytest.raises(RuntimeError, match=r"norm\(\): expected a floating point .* got int64"):
        tg.norm(tg.tensor([1, 2]), dtype=tg.float32)
    with pytest.raises(ValueError, match=r"norm\(\): p='nuc' is not supported"):
        tg.norm(_t(TIES), "nuc")
    with pytest.raises(RuntimeError, match=r"p='fro' needs at most 2 dims, got dim=\(0, 1, 2\)"):
        tg.norm(tg.ones(2, 2, 2), "fro", (0, 1, 2))
    with pytest.raises(RuntimeError, match=r"cannot compute the inf norm on an empty slice"):
        tg.norm(tg.zeros(0), math.inf)


def test_cumsum_needs_a_dim_and_argmax_no_bools():
    with pytest.raises(TypeError, match=r"cumsum: dim must be an int, got NoneType"):
        tg.cumsum(_t(TIES), None)
    with pytest.raises(RuntimeError, match=r"argmin\(\): does not support bool input"):
        tg.argmin(tg.tensor([True, False]))


# --- result types ------------------------------------------------------------------------------


def test_max_along_a_dim_returns_named_values_and_indices():
    x = _t(TIES, requires_grad=True)
    out = tg.max(x, 1)
    values, indices = out
    assert out.values is values and out.indices is indices
    assert type(out).__name__ == "max" and type(tg.min(x, 0)).__name__ == "min"
    assert indices.dtype == tg.int64 and not indices.requires_grad
    assert indices.tolist() == [1, 0]  # the first of tied maxima, as torch
    assert values.grad_fn.name() == "MaxBackward0"


def test_result_dtypes_follow_torch():
    ints = tg.tensor(np.array([[1, 2], [3, 4]], dtype=np.int32))
    bools = tg.tensor([True, True, False])
    assert tg.prod(ints).dtype == tg.int64 and tg.prod(ints).item() == 24
    assert tg.prod(bools).dtype == tg.int64
    assert tg.prod(ints, 0, dtype=tg.float32).dtype == tg.float32
    assert tg.cumsum(ints, 1).dtype == tg.int64 and tg.cumsum(bools, 0).tolist() == [1, 2, 2]
    assert tg.cumsum(ints, 0, dtype=tg.float64).dtype == tg.float64
    assert tg.amax(ints).dtype == tg.int32 and tg.max(bools).dtype == tg.bool
    assert tg.argmax(ints).dtype == tg.int64 and tg.argmax(ints, keepdim=True).shape == (1, 1)
    assert tg.all(bools).dtype == tg.bool and not tg.all(bools).item()
    assert tg.any(tg.tensor(np.array([0, 2], dtype=np.uint8))).dtype == tg.uint8
    assert tg.all(tg.zeros(0)).item() and not tg.any(tg.zeros(0)).item()
    assert tg.logsumexp(tg.tensor([1, 2]), 0).dtype == tg.float32
    x32 = tg.ones(2, 3)
    assert tg.norm(x32, dtype=tg.float64).dtype == tg.float64
    for op in (tg.var, tg.std, tg.norm, tg.amax, tg.prod):
        assert op(x32).dtype == tg.float32


def test_empty_dim_tuple_means_every_dim_for_amax_var_norm_but_none_for_all():
    x = _t(TIES)
    assert tg.amax(x, ()).shape == () and tg.var(x, ()).shape == ()
    assert tg.norm(x, dim=()).shape == ()
    assert tg.all(x, ()).shape == (2, 3)  # torch.all with dim=() reduces nothing


# --- ties, zeros, infinities (against torch) ---------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.max(x),
        lambda m, x: m.min(x),
        lambda m, x: m.amax(x, 1),
        lambda m, x: m.amax(x, (0, 1), keepdim=True),
        lambda m, x: m.amin(x, -1),
        lambda m, x: m.max(x, 1).values,
        lambda m, x: m.min(x, 0, True).values,
        lambda m, x: m.norm(x, math.inf, 1),
        lambda m, x: m.norm(x, -math.inf),
    ],
    ids=["max", "min", "amax dim", "amax all keepdim", "amin", "max dim", "min dim", "inf", "-inf"],
)
def test_ties_share_the_gradient_as_torch(torch, call):
    ties = [[1.0, 3.0, 3.0, -3.0], [2.0, 2.0, -1.0, 0.5], [-1.0, 3.0, -1.0, 0.5]]
    # torch divides by the tie count in float32 (3e-8 off); tapegrad divides in float64
    _compare(torch, lambda x: call(tg, x), lambda x: call(torch, x), ties, rtol=1e-7)


def test_max_tie_split_evenly_by_hand():
    x = _t([3.0, 1.0, 3.0, 3.0], requires_grad=True)
    tg.max(x).backward()
    assert_allclose(x.grad.numpy(), [1 / 3, 0, 1 / 3, 1 / 3])
    x.grad = None
    tg.max(x, 0).values.backward()
    assert_allclose(x.grad.numpy(), [1.0, 0, 0, 0])  # only the returned index


@pytest.mark.parametrize(
    "values",
    [
        [2.0, 0.0, 3.0, -1.5],
        [0.0, 2.0, 0.0, 1.5],
        [0.0, 0.0, 0.0, 4.0],
        [[0.5, 0.0, 2.0], [0.0, 1.5, 0.0]],
        [[0.0, 0.0, -2.0], [1.5, 0.0, 3.0]],
    ],
    ids=["one zero", "two zeros", "three zeros", "matrix", "matrix rows"],
)
@pytest.mark.parametrize("dim", [None, -1])
def test_prod_gradients_at_zeros_match_torch(torch, values, dim):
    def fn(m, x):
        return m.prod(x) if dim is None else m.prod(x, dim)

    _compare(torch, lambda x: fn(tg, x), lambda x: fn(torch, x), values, create_graph=True)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((1,), {}),
        ((1, False), {}),
        ((0, True, True), {}),
        ((False,), {}),
        (((0, 1),), {"correction": 0}),
        ((None,), {"correction": 2.5}),
        ((-1,), {"correction": 0, "keepdim": True}),
    ],
)
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_variants_match_torch(torch, op, args, kwargs):
    x = np.random.default_rng(1).standard_normal((3, 4))

    def run(m, t):
        return getattr(m, op)(t, *args, **kwargs)

    _compare(torch, lambda t: run(tg, t), lambda t: run(torch, t), x, create_graph=True)


@pytest.mark.parametrize("correction", [3, 4.5])
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_with_no_degrees_of_freedom_match_torch(torch, op, correction):
    x = np.array([[1.0, 2.0, 4.0], [5.0, 5.0, 5.0]])
    with pytest.warns(UserWarning, match=rf"{op}\(\): degrees of freedom is <= 0"):
        out = getattr(tg, op)(_t(x), 1, correction=correction)
    with pytest.warns(UserWarning):
        ref = getattr(torch, op)(torch.tensor(x), 1, correction=correction)
    assert_allclose(out.numpy(), ref.numpy())  # inf for the spread row, NaN for the flat one
    assert np.isinf(out.numpy()[0]) and np.isnan(out.numpy()[1])


def test_std_gradient_of_a_constant_is_zero_as_torch(torch):
    _compare(torch, lambda x: tg.std(x, 1), lambda x: torch.std(x, 1), [[2.0, 2.0], [1.0, 3.0]])


def test_var_of_a_large_offset_does_not_cancel():
    x = tg.tensor(np.array([1e8 + 1, 1e8 + 2, 1e8 + 3], dtype=np.float64))
    assert_allclose(tg.var(x).item(), 1.0)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        (("fro", 1), {}),
        ((2, (0, 1), True), {}),
        ((1,), {"dim": 0}),
        ((3,), {}),
        ((1.5,), {"dim": -1}),
        ((0.5,), {"dim": 1}),
        ((-1,), {}),
        ((-2.5,), {"dim": 0, "keepdim": True}),
        ((None,), {}),
    ],
)
def test_norm_variants_match_torch(torch, args, kwargs):
    x = np.random.default_rng(2).standard_normal((3, 4))

    def run(m, t):
        return m.norm(t, *args, **kwargs)

    _compare(torch, lambda t: run(tg, t), lambda t: run(torch, t), x, create_graph=True)


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 1.5, 0.5, math.inf])
def test_norm_gradient_at_the_zero_vector_matches_torch(torch, p):
    _compare(
        torch,
        lambda x: tg.norm(x, p, 1),
        lambda x: torch.norm(x, p, 1),
        [[0.0, 0.0], [3.0, 4.0]],
    )


def test_norm_p0_counts_non_zeros_with_zero_gradient():
    x = _t([[0.0, 2.0, -1.0], [0.0, 0.0, 0.5]], requires_grad=True)
    out = tg.norm(x, 0, 1)
    assert out.tolist() == [2.0, 1.0]
    out.backward(tg.ones(2, dtype=tg.float64))
    assert_allclose(x.grad.numpy(), np.zeros((2, 3)))


def test_norm_of_zero_vector_has_zero_gradient_not_nan():
    x = tg.zeros(3, dtype=tg.float64, requires_grad=True)
    tg.norm(x).backward()
    assert_allclose(x.grad.numpy(), np.zeros(3))


def test_logsumexp_is_stable_and_matches_torch(torch):
    rows = np.array(
        [[-math.inf, -math.inf, -math.inf], [1e4, 1e4, -1e4], [math.inf, 1.0, 0.0]],
        dtype=np.float32,
    )
    out = tg.logsumexp(tg.tensor(rows), 1)
    assert out.dtype == tg.float32
    assert_allclose(out.numpy(), torch.logsumexp(torch.tensor(rows), 1).numpy())
    assert out.numpy()[0] == -math.inf and np.isfinite(out.numpy()[1])
    assert tg.logsumexp(tg.zeros(0), 0).item() == -math.inf


def test_logsumexp_gradient_is_softmax(torch):
    x = np.random.default_rng(3).standard_normal((3, 4)) * 5
    for dim in (1, (0, 1)):
        _compare(
            torch,
            lambda t, dim=dim: tg.logsumexp(t, dim),
            lambda t, dim=dim: torch.logsumexp(t, dim),
            x,
            create_graph=True,
        )


def test_cumsum_gradient_matches_torch(torch):
    x = np.random.default_rng(4).standard_normal((3, 4, 2))
    for dim in (0, 1, -1):
        _compare(
            torch,
            lambda t, dim=dim: tg.cumsum(t, dim),
            lambda t, dim=dim: torch.cumsum(t, dim),
            x,
            create_graph=True,
        )


def test_nan_propagates_through_max_and_argmax_as_torch(torch):
    values = [1.0, math.nan, 2.0]
    out = tg.max(_t(values), 0)
    ref = torch.max(torch.tensor(values), 0)
    assert math.isnan(out.values.item()) and out.indices.item() == ref.indices.item()
    assert tg.argmax(_t(values)).item() == torch.argmax(torch.tensor(values)).item()
    assert math.isnan(tg.amax(_t(values)).item())
