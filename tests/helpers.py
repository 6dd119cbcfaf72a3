"""Shared test helpers: turn op-table samples into tapegrad, numpy and torch arguments."""

from __future__ import annotations

import numpy as np

import tapegrad as tg
from tapegrad.ops.registry import REGISTRY
from tests.opdb.cases import A, B, I, OpCase, Sample, T, rng_for


def build_arrays(case: OpCase, sample: Sample, index: int) -> list:
    """Draw each spec's array (or keep the plain value), the same every run."""
    rng = rng_for(f"{case.name}/{index}")
    return [_build(case, spec, rng) for spec in sample.args]


def _build(case: OpCase, spec, rng: np.random.Generator):
    """One spec's value; specs inside a plain tuple (an index key) are built too."""
    if isinstance(spec, T):
        low, high = spec.domain or case.domain
        return rng.uniform(low, high, size=spec.shape)
    if isinstance(spec, A):
        return np.array(spec.values, dtype=np.float64)
    if isinstance(spec, I):
        return np.array(spec.values, dtype=np.int64)
    if isinstance(spec, B):
        return np.array(spec.values, dtype=bool)
    if isinstance(spec, tuple):
        return tuple(_build(case, s, rng) for s in spec)
    return spec


def needs_grad(spec) -> bool:
    return isinstance(spec, (T, A)) and spec.grad


def tg_args(sample: Sample, values: list, read_only: bool = True) -> list:
    """tapegrad tensors for the specs; arrays are made read-only to catch input mutation."""
    args = []
    for spec, value in zip(sample.args, values):
        if isinstance(value, np.ndarray):
            array = value.copy()
            array.flags.writeable = not read_only
            t = tg.from_numpy(array)
            if needs_grad(spec):
                t.requires_grad_(True)
            args.append(t)
        else:
            args.append(_nested(value, tg.from_numpy))
    return args


def _nested(value, convert):
    """Arrays inside a plain tuple (an index key) as tensors that need no grad."""
    if isinstance(value, tuple):
        return tuple(_nested(v, convert) for v in value)
    return convert(value.copy()) if isinstance(value, np.ndarray) else value


def torch_args(torch, sample: Sample, values: list, dtype=None) -> list:
    args = []
    for spec, value in zip(sample.args, values):
        if isinstance(value, np.ndarray):
            t = torch.from_numpy(value.copy())
            if dtype is not None and t.dtype == torch.float64:
                t = t.to(dtype)
            if needs_grad(spec):
                t.requires_grad_(True)
            args.append(t)
        else:
            args.append(_nested(value, torch.from_numpy))
    return args


def op_callable(case: OpCase):
    return case.op or REGISTRY[case.name].public_fn


def as_list(out) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def cases_and_samples(opdb: dict) -> list:
    """pytest params (case, sample, index) with ids like ``mul[(3, 4)x(4,)]``."""
    import pytest

    params = []
    for name in sorted(opdb):
        case = opdb[name]
        for i, sample in enumerate(case.samples):
            params.append(pytest.param(case, sample, i, id=f"{name}[{sample.label()}]"))
    return params


def to_numpy(value) -> np.ndarray:
    """An op's output as an array, whether it is a Tensor or a plain Python value."""
    return value.detach().numpy() if isinstance(value, tg.Tensor) else np.asarray(value)
