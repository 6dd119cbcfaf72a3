"""Empty tensors through ops, reductions and backward, as in torch.

Each row is checked against torch when it is installed and against the hand-derived value
written in the row either way: the sum of nothing is 0, the product 1, the mean NaN, a
max/argmax of nothing has no identity and raises, and so on. Gradients of empty inputs are
empty arrays of the input's shape and dtype.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tapegrad as tg

NAN = math.nan


def _empty(*shape, dtype=tg.float32, requires_grad=True):
    return tg.zeros(*shape, dtype=dtype, requires_grad=requires_grad)


# (id, function of a tensor, input shape, expected value (array-like) or an exception type)
REDUCTIONS = [
    ("sum all", lambda x: x.sum(), (0, 3), 0.0),
    ("sum dim=0", lambda x: x.sum(0), (0, 3), [0.0, 0.0, 0.0]),
    ("sum dim=1", lambda x: x.sum(1), (0, 3), np.zeros((0,))),
    ("sum keepdim", lambda x: x.sum(0, keepdim=True), (0, 2), [[0.0, 0.0]]),
    ("prod all", lambda x: x.prod(), (0,), 1.0),
    ("prod dim=0", lambda x: x.prod(0), (0, 2), [1.0, 1.0]),
    ("mean all", lambda x: x.mean(), (0, 3), NAN),
    ("mean dim=0", lambda x: x.mean(0), (0, 2), [NAN, NAN]),
    ("mean dim=1", lambda x: x.mean(1), (0, 2), np.zeros((0,))),
    ("logsumexp dim=0", lambda x: x.logsumexp(0), (0, 2), [-math.inf, -math.inf]),
    ("norm", lambda x: x.norm(), (0, 3), 0.0),
    ("norm p=1 dim=0", lambda x: x.norm(1, 0), (0, 2), [0.0, 0.0]),
    ("cumsum", lambda x: x.cumsum(0), (0, 3), np.zeros((0, 3))),
    ("amax dim=1", lambda x: x.amax(1), (0, 3), np.zeros((0,))),
    ("max dim=1", lambda x: x.max(1).values, (0, 3), np.zeros((0,))),
    ("max all", lambda x: x.max(), (0, 3), RuntimeError),
    ("min all", lambda x: x.min(), (0,), RuntimeError),
    ("max dim=0", lambda x: x.max(0), (0, 3), IndexError),
    ("amax all", lambda x: x.amax(), (0, 3), RuntimeError),
    ("amin dim=0", lambda x: x.amin(0), (0, 3), IndexError),
    ("argmax all", lambda x: x.argmax(), (0,), IndexError),
    ("argmin dim=0", lambda x: x.argmin(0), (0, 2), IndexError),
    ("norm inf", lambda x: x.norm(math.inf), (0,), RuntimeError),
]

LOGICAL = [
    ("all", lambda x: x.all(), (0,), True),
    ("any", lambda x: x.any(), (0,), False),
    ("all dim=0", lambda x: x.all(0), (0, 2), [True, True]),
    ("any dim=0", lambda x: x.any(0), (0, 2), [False, False]),
]


def _run(fn, shape, expected, torch, dtype=tg.float32):
    x = _empty(*shape, dtype=dtype, requires_grad=dtype.kind == "f")
    if isinstance(expected, type):
        with pytest.raises(expected, match=r"(?i)(empty|numel|non-zero size|identity)"):
            fn(x)
        if torch is not None:
            with pytest.raises(expected):
                fn(torch.zeros(*shape, dtype=_torch_dtype(torch, dtype)))
        return None
    out = fn(x)
    want = np.asarray(expected, dtype=out.dtype if out.dtype != np.bool_ else bool)
    assert out.shape == want.shape
    np.testing.assert_array_equal(out.detach().numpy(), want)
    if torch is not None:
        theirs = fn(torch.zeros(*shape, dtype=_torch_dtype(torch, dtype)))
        assert str(out.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(out.detach().numpy(), theirs.numpy())
    return x, out


def _torch_dtype(torch, dtype):
    return getattr(torch, str(dtype))


def _torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    return torch


@pytest.mark.parametrize(
    ("fn", "shape", "expected"), [r[1:] for r in REDUCTIONS], ids=[r[0] for r in REDUCTIONS]
)
def test_reductions_of_empty_tensors_match_torch(fn, shape, expected):
    _run(fn, shape, expected, _torch_or_none())


@pytest.mark.parametrize(
    ("fn", "shape", "expected"), [r[1:] for r in LOGICAL], ids=[r[0] for r in LOGICAL]
)
def test_all_and_any_of_nothing(fn, shape, expected):
    _run(fn, shape, expected, _torch_or_none(), dtype=tg.bool)


@pytest.mark.parametrize("op", ["var", "std"])
def test_variance_of_nothing_is_nan_with_torch_warning(op):
    x = _empty(0, 3)
    with pytest.warns(UserWarning, match="degrees of freedom"):
        out = getattr(x, op)()
    assert math.isnan(out.item())
    with pytest.warns(UserWarning, match="degrees of freedom"):
        per_column = getattr(x, op)(0)
    assert per_column.shape == (3,) and np.isnan(per_column.detach().numpy()).all()


@pytest.mark.parametrize(
    ("fn", "shape"),
    [r[1:3] for r in REDUCTIONS if not isinstance(r[3], type)],
    ids=[r[0] for r in REDUCTIONS if not isinstance(r[3], type)],
)
def test_backward_through_reductions_of_empty_tensors(fn, shape):
    x = _empty(*shape, dtype=tg.float64)
    out = fn(x)
    out.backward(tg.ones_like(out))
    assert x.grad is not None
    assert x.grad.shape == x.shape and x.grad.dtype == tg.float64


def test_elementwise_ops_keep_the_empty_shape_and_broadcast_it():
    x = _empty(0, 3)
    y = tg.ones(1, 3, requires_grad=True)
    out = (x * y + 1).exp().tanh()
    assert out.shape == (0, 3)
    out.sum().backward()
    assert x.grad.shape == (0, 3) and x.grad.dtype == tg.float32
    np.testing.assert_array_equal(y.grad.numpy(), np.zeros((1, 3), np.float32), strict=True)
    with pytest.raises(ValueError, match=r"shapes \(0, 3\) and \(2, 3\)"):
        x + tg.ones(2, 3)


def test_matmul_with_an_empty_inner_dim_is_zeros():
    a = _empty(2, 0, dtype=tg.float64)
    b = _empty(0, 3, dtype=tg.float64)
    out = a @ b
    np.testing.assert_array_equal(out.detach().numpy(), np.zeros((2, 3)))
    out.backward(tg.ones(2, 3, dtype=tg.float64))
    assert a.grad.shape == (2, 0) and b.grad.shape == (0, 3)
    assert a.grad.dtype == b.grad.dtype == tg.float64


def test_shape_ops_on_empty_tensors():
    x = _empty(0, 3)
    assert x.reshape(-1).shape == (0,)
    assert x.reshape(3, 0).shape == (3, 0)
    assert x.t().shape == (3, 0)
    assert x.unsqueeze(1).shape == (0, 1, 3)
    assert [p.shape for p in x.split(2, 1)] == [(0, 2), (0, 1)]
    assert tg.cat([x, tg.ones(2, 3)]).shape == (2, 3)
    assert tg.stack([x, x]).shape == (2, 0, 3)
    with pytest.raises(RuntimeError, match=r"0 elements into shape \[0, -1\]"):
        x.reshape(0, -1)
    y = tg.ones(2, 3, requires_grad=True)
    tg.cat([x, y]).sum().backward()
    assert x.grad.shape == (0, 3) and x.grad.dtype == tg.float32
    np.testing.assert_array_equal(y.grad.numpy(), np.ones((2, 3), np.float32), strict=True)


def test_indexing_empty_tensors_and_with_empty_keys():
    x = tg.arange(6.0).reshape(2, 3).requires_grad_()
    picked = x[tg.tensor([], dtype=tg.int64)]
    assert picked.shape == (0, 3)
    masked = x[x > 100]
    assert masked.shape == (0,)
    (picked.sum() + masked.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3), np.float32), strict=True)
    with pytest.raises(IndexError, match="out of bounds"):
        _empty(0, 3)[0]


def test_a_graph_of_only_empty_tensors_backpropagates():
    x = _empty(0, dtype=tg.float64)
    loss = (x * 2).sum() + (x.exp() ** 2).sum() + (x @ x)
    loss.backward()
    assert loss.item() == 0.0
    assert x.grad.shape == (0,) and x.grad.dtype == tg.float64
