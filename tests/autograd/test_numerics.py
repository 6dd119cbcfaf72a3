"""Numerics warnings: fragile recorded patterns warn once per call site, naming the stable op."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd.anomaly import PACKAGE_DIR
from tapegrad.autograd.numerics import NumericsWarning


def leaf(n: int = 4) -> tg.Tensor:
    return tg.tensor(np.linspace(-1.0, 1.0, n), dtype=tg.float32, requires_grad=True)


def test_warning_class_is_public():
    assert tg.NumericsWarning is NumericsWarning is tg.autograd.NumericsWarning
    assert issubclass(NumericsWarning, UserWarning)


def test_log_of_sigmoid_names_logsigmoid():
    x = leaf()
    with pytest.warns(NumericsWarning, match=r"log\(sigmoid\(x\)\).*use F\.logsigmoid\(x\)"):
        tg.log(tg.sigmoid(x))
    with pytest.warns(NumericsWarning, match=r"-softplus\(-x\)"):
        x.sigmoid().log()


def test_normalising_exp_names_softmax():
    x = leaf()
    e = x.exp()
    with pytest.warns(NumericsWarning, match=r"exp\(x\) / sum\(exp\(x\)\).*use softmax\(x, dim\)"):
        e / e.sum()


def test_log_of_summed_exp_names_logsumexp():
    x = leaf()
    with pytest.warns(NumericsWarning, match=r"log\(sum\(exp\(x\)\)\).*use logsumexp\(x, dim\)"):
        x.exp().sum(0, keepdim=True).log()


def test_warning_points_at_the_user_line():
    x = leaf()
    with pytest.warns(NumericsWarning) as record:
        y = tg.log(tg.sigmoid(x))  # the flagged line
    assert record[0].filename == __file__
    assert record[0].lineno == _line_of("y = tg.log(tg.sigmoid(x))  # the flagged line")
    assert y.requires_grad


def _line_of(snippet: str) -> int:
    with open(__file__) as f:
        for number, line in enumerate(f, start=1):
            if line.strip() == snippet:
                return number
    raise AssertionError(snippet)


def test_warns_once_per_call_site():
    x = leaf()
    with pytest.warns(NumericsWarning) as record:
        for _ in range(3):
            x.sigmoid().log()
    assert len(record) == 1


def test_stable_and_unrelated_patterns_do_not_warn():
    x = leaf()
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumericsWarning)
        shifted = (x - 1.0).exp()  # the stable idiom exp(x - max)
        shifted / shifted.sum()
        shifted.sum().log()
        x.exp().mean()  # normalised by a count, not by the sum
        x.exp() / 2.0
        x.sigmoid() * 2
        (x * x + 1).log()
        x.exp().sum() / (x * x).sum()  # the exp sum is the numerator: not a softmax
        x.tanh().log1p()


def test_nothing_is_recorded_so_nothing_warns():
    x = tg.tensor([0.5, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumericsWarning)
        tg.log(tg.sigmoid(x))  # no tensor requires grad: there is no tape to read
        with tg.no_grad():
            tg.log(tg.sigmoid(leaf()))


def test_tapegrad_internal_code_does_not_warn():
    # a composite inside the tapegrad package (as nn.functional's losses are) may take log of
    # a sigmoid output on the user's behalf: that is not the user's call site
    source = "def composite(p):\n    return p.log()\n"
    namespace: dict = {}
    exec(compile(source, os.path.join(PACKAGE_DIR, "nn", "composite.py"), "exec"), namespace)
    x = leaf()
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumericsWarning)
        namespace["composite"](x.sigmoid())


def test_backward_formulas_do_not_warn():
    x = leaf()
    with pytest.warns(NumericsWarning):
        loss = x.exp().sum().log()
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumericsWarning)
        (g,) = tg.autograd.grad(loss, x, create_graph=True)  # records 1 / sum(exp(x)) inside
    e = np.exp(x.detach().numpy())
    np.testing.assert_allclose(g.detach().numpy(), e / e.sum(), rtol=1e-6)


def test_a_function_declares_its_own_fragile_consumers():
    class Softmax(tg.autograd.Function):
        """A stand-in for F.softmax: the hint lives on the producer class."""

        numerics_hint = {"Log": "log(softmax(x)) loses precision; use log_softmax(x, dim)"}

        @staticmethod
        def forward(ctx, x):
            e = np.exp(x.detach().numpy() - x.detach().numpy().max())
            out = e / e.sum()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, grad):
            (out,) = ctx.saved_tensors
            return out * (grad - (grad * out).sum())

    x = leaf()
    with pytest.warns(NumericsWarning, match=r"use log_softmax\(x, dim\)"):
        Softmax.apply(x).log()


def test_in_place_log_warns_too():
    x = leaf()
    with pytest.warns(NumericsWarning, match=r"logsigmoid"):
        x.sigmoid().log_()


def test_log_of_softmax_warns_and_names_log_softmax():
    x = tg.randn(3, 4, requires_grad=True)
    with pytest.warns(tg.NumericsWarning, match=r"F\.log_softmax"):
        tg.log(tg.nn.functional.softmax(x, 1))
