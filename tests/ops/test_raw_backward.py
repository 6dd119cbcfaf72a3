"""Raw and recorded backward agree: the same formula on numpy arrays and on Tensors.

A Function with ``raw_backward`` runs its backward on arrays when nothing records and on
Tensors under ``create_graph``; both must give the same first derivative, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ops.registry import REGISTRY
from tests.helpers import as_list, build_arrays, cases_and_samples, needs_grad, op_callable, tg_args
from tests.opdb import OPDB

PARAMS = cases_and_samples(OPDB)
ZERO_GRADIENT = {"ceil", "floor", "round", "sign", "trunc"}  # constant zeros, as torch's


@pytest.mark.parametrize(("case", "sample", "index"), PARAMS)
def test_raw_and_recorded_gradients_are_equal(case, sample, index):
    inputs, outs = _run(case, sample, index)
    rng = np.random.default_rng(index)
    cotangents = [tg.from_numpy(rng.standard_normal(o.shape)) for o in outs]
    raw = tg.autograd.grad(outs, inputs, cotangents, retain_graph=True, allow_unused=True)
    recorded = tg.autograd.grad(outs, inputs, cotangents, create_graph=True, allow_unused=True)
    for i, (a, b) in enumerate(zip(raw, recorded)):
        assert (a is None) == (b is None), f"input {i}: a gradient in one mode only"
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.detach().numpy(), err_msg=f"input {i}")


def _run(case, sample, index) -> tuple[list, list]:
    """Run one op-table sample: its inputs that require grad and its differentiable outputs."""
    if not REGISTRY[case.name].differentiable or not any(needs_grad(s) for s in sample.args):
        pytest.skip("no differentiable input")
    args = tg_args(sample, build_arrays(case, sample, index))
    inputs = [a for a in args if isinstance(a, tg.Tensor) and a.requires_grad]
    outs = [o for o in as_list(op_callable(case)(*args, **sample.kwargs)) if _differentiable(o)]
    if not outs:
        pytest.skip("no differentiable output")
    return inputs, outs


def _differentiable(out) -> bool:
    return isinstance(out, tg.Tensor) and out.requires_grad and out.is_floating_point()


@pytest.mark.parametrize(("case", "sample", "index"), PARAMS)
def test_recorded_gradients_depend_on_the_cotangent(case, sample, index):
    """Under create_graph every gradient is recorded as a function of the cotangent."""
    if case.name in ZERO_GRADIENT:
        pytest.skip("the gradient is a constant zero")
    inputs, outs = _run(case, sample, index)
    rng = np.random.default_rng(index)
    cotangents = [tg.from_numpy(rng.standard_normal(o.shape)).requires_grad_() for o in outs]
    grads = tg.autograd.grad(outs, inputs, cotangents, create_graph=True, allow_unused=True)
    for i, g in enumerate(grads):
        assert g is None or g.numel() == 0 or g.requires_grad, f"input {i}: not recorded"
