"""The registry test: every registered op is forward-, gradient- and gradgrad-checked."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd.function import Function
from tapegrad.autograd.node import SEQUENCE
from tapegrad.ops.registry import REGISTRY
from tests.helpers import (
    as_list,
    build_arrays,
    cases_and_samples,
    needs_grad,
    op_callable,
    tg_args,
    to_numpy,
)
from tests.opdb import OPDB

PARAMS = cases_and_samples(OPDB)


def test_every_registered_op_has_a_case():
    missing = sorted(set(REGISTRY) - set(OPDB))
    assert not missing, f"ops without a row in tests/opdb: {missing}"


def test_every_case_is_registered():
    unknown = sorted(set(OPDB) - set(REGISTRY))
    assert not unknown, f"tests/opdb rows for ops that are not registered: {unknown}"


def test_every_exported_op_is_in_the_namespace():
    for op in REGISTRY.values():
        if op.export:
            for name in (op.name, *op.aliases):
                assert getattr(tg, name) is op.public_fn, name


@pytest.mark.parametrize(("case", "sample", "index"), PARAMS)
def test_forward_matches_reference(case, sample, index):
    if case.ref is None:
        pytest.skip(f"{case.name} has no numpy reference; compared with torch instead")
    values = build_arrays(case, sample, index)
    out = as_list(op_callable(case)(*tg_args(sample, values), **sample.kwargs))
    expected = as_list(case.ref(*values, **sample.kwargs))
    assert len(out) == len(expected)
    for got, want in zip(out, expected):
        got, want = to_numpy(got), np.asarray(want)
        assert got.shape == want.shape
        assert got.dtype.kind == want.dtype.kind or want.dtype.kind in "iu"
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize(("case", "sample", "index"), PARAMS)
def test_inputs_are_not_mutated(case, sample, index):
    values = build_arrays(case, sample, index)
    args = tg_args(sample, values)
    outs = as_list(op_callable(case)(*args, **sample.kwargs))
    float_outs = [o for o in outs if isinstance(o, tg.Tensor) and o.requires_grad]
    if float_outs:
        tg.autograd.backward(float_outs, [tg.ones_like(o) for o in float_outs])
    for arg, value in zip(args, values):
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(arg.detach().numpy(), value)


@pytest.mark.parametrize(("case", "sample", "index"), PARAMS)
def test_gradients_match_central_differences(case, sample, index):
    op = REGISTRY[case.name]
    values = build_arrays(case, sample, index)
    args = tg_args(sample, values)
    if not op.differentiable or not any(needs_grad(s) for s in sample.args):
        outs = as_list(op_callable(case)(*args, **sample.kwargs))
        assert not any(isinstance(o, tg.Tensor) and o.requires_grad for o in outs)
        return
    fn = _bind(case, sample, args)
    inputs = [a for a in args if isinstance(a, tg.Tensor) and a.requires_grad]
    assert tg.autograd.gradcheck(fn, inputs, atol=case.atol, rtol=case.rtol)


@pytest.mark.parametrize(("case", "sample", "index"), PARAMS)
def test_second_derivatives_match_central_differences(case, sample, index):
    op = REGISTRY[case.name]
    if not op.differentiable or not case.gradgrad:
        pytest.skip(f"{case.name} has no second derivative to check")
    values = build_arrays(case, sample, index)
    args = tg_args(sample, values)
    if not any(needs_grad(s) for s in sample.args):
        pytest.skip("sample has no differentiable input")
    fn = _bind(case, sample, args)
    inputs = [a for a in args if isinstance(a, tg.Tensor) and a.requires_grad]
    assert tg.autograd.gradgradcheck(fn, inputs, atol=case.atol, rtol=case.rtol)


@pytest.mark.parametrize(("case", "sample", "index"), PARAMS)
def test_method_matches_function(case, sample, index):
    op = REGISTRY[case.name]
    values = build_arrays(case, sample, index)
    args = tg_args(sample, values)
    if not op.method or case.op is not None or not isinstance(args[0], tg.Tensor):
        pytest.skip("not a method call")
    by_function = as_list(op.public_fn(*args, **sample.kwargs))
    by_method = as_list(getattr(args[0], case.name)(*args[1:], **sample.kwargs))
    for a, b in zip(by_function, by_method):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


def _bind(case, sample, args):
    """A function of the differentiable inputs only, the rest fixed."""
    positions = [i for i, a in enumerate(args) if isinstance(a, tg.Tensor) and a.requires_grad]
    call = op_callable(case)

    def fn(*inputs):
        full = list(args)
        for pos, value in zip(positions, inputs):
            full[pos] = value
        return call(*full, **sample.kwargs)

    return fn


def _plain_forward_classes() -> list:
    """Every Function subclass that declares ``plain_forward`` (its forward records nothing)."""
    found, stack = [], [Function]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.plain_forward and "forward" in vars(cls):
            found.append(cls)
    return found


@pytest.fixture
def forwards_that_count_recordings(monkeypatch):
    """Wrap each plain forward so that a node recorded inside it is reported.

    Recording takes the next number of SEQUENCE; two numbers drawn around a forward that
    records nothing are consecutive.
    """
    inside = []
    for cls in _plain_forward_classes():
        original = vars(cls)["forward"].__func__

        def counted(ctx, *args, _original=original, _cls=cls, **kwargs):
            before = next(SEQUENCE)
            out = _original(ctx, *args, **kwargs)
            if next(SEQUENCE) != before + 1:
                inside.append(_cls.__name__)
            return out

        monkeypatch.setattr(cls, "forward", staticmethod(counted))
    return inside


def test_some_functions_declare_plain_forward():
    names = {cls.__name__ for cls in _plain_forward_classes()}
    assert {"Add", "Mul", "MatMul", "Linear"} <= names


@pytest.mark.parametrize(("case", "sample", "index"), PARAMS)
def test_plain_forwards_record_nothing(case, sample, index, forwards_that_count_recordings):
    # apply leaves recording on around a plain_forward: a tapegrad op called inside would
    # record a stray node (and, if saved, wrong second derivatives)
    values = build_arrays(case, sample, index)
    op_callable(case)(*tg_args(sample, values), **sample.kwargs)
    assert not forwards_that_count_recordings, (
        f"{case.name}: {forwards_that_count_recordings} recorded ops inside a plain_forward"
    )
