"""Anomaly mode: the first op whose gradient is NaN/inf raises, naming the op and its line."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd.grad_mode import current


def sqrt_at_zero(x):
    zero = x * 0
    return zero.sqrt().sum()  # d sqrt(0) = inf: the op anomaly mode must blame


SQRT_LINE = sqrt_at_zero.__code__.co_firstlineno + 2
HERE = re.escape(__file__)


def where_trap(x):
    safe = tg.where(x > 0, x, 1.0)
    return tg.where(x > 0, x.log(), 0.0).sum() + safe.sum()  # log(0) in the unused branch


WHERE_LINE = where_trap.__code__.co_firstlineno + 2


def quiet_backward(loss) -> None:
    """Backward through infinite derivatives without numpy warnings (pytest makes them errors)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        loss.backward()


def test_inf_gradient_names_op_and_line():
    x = tg.ones(3, requires_grad=True)
    with tg.autograd.detect_anomaly():
        loss = sqrt_at_zero(x)
        message = (
            r"Function 'SqrtBackward0' returned inf values in its 0th output .* recorded at "
            rf"{HERE}:{SQRT_LINE} in sqrt_at_zero"
        )
        with pytest.raises(RuntimeError, match=message):
            quiet_backward(loss)


def test_report_includes_the_forward_traceback():
    x = tg.ones(3, requires_grad=True)
    with tg.autograd.detect_anomaly():
        loss = sqrt_at_zero(x)
        with pytest.raises(RuntimeError) as info:
            quiet_backward(loss)
    text = str(info.value)
    assert "traceback of the forward call" in text
    assert "loss = sqrt_at_zero(x)" in text  # the caller's line, then the op's line
    assert "return zero.sqrt().sum()" in text


def test_nan_gradient_is_reported_as_nan():
    x = tg.tensor([0.0, 2.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"), tg.autograd.detect_anomaly():
        loss = where_trap(x)
        message = rf"'LogBackward0' returned nan values .* at {HERE}:{WHERE_LINE} in where_trap"
        with pytest.raises(RuntimeError, match=message):
            loss.backward()  # 0 * (1 / 0): the classic NaN from the branch where() discards


def test_without_anomaly_mode_nan_passes_silently():
    x = tg.ones(3, requires_grad=True)
    quiet_backward(sqrt_at_zero(x))
    assert np.isnan(x.grad.numpy()).all()  # inf from sqrt, times 0 from x * 0


def test_nodes_outside_anomaly_mode_have_no_origin():
    x = tg.ones(2, requires_grad=True)
    y = x * 2
    assert y.grad_fn.origin is None and y.grad_fn.recorded_args is None
    assert current().tracers == []  # nothing runs on the recording path when off
    with tg.autograd.detect_anomaly():
        z = x * 2
    assert z.grad_fn.origin.line == _line_of("z = x * 2")
    assert current().tracers == []


def _line_of(snippet: str) -> int:
    with open(__file__) as f:
        for number, line in enumerate(f, start=1):
            if line.strip() == snippet:
                return number
    raise AssertionError(snippet)


def test_op_recorded_inside_a_tapegrad_composite_points_at_user_code():
    x = tg.ones(3, requires_grad=True)
    with tg.autograd.detect_anomaly():
        m = x.mean()
    site = m.grad_fn.origin  # mean is sum and div inside tapegrad; the site is this file
    assert site.file == __file__
    assert site.line == _line_of("m = x.mean()")


def test_recorded_under_anomaly_but_backward_outside_is_not_checked():
    x = tg.ones(3, requires_grad=True)
    with tg.autograd.detect_anomaly():
        loss = sqrt_at_zero(x)
    quiet_backward(loss)  # as torch: the mode at backward time decides


def test_check_nan_false_records_sites_only():
    x = tg.ones(3, requires_grad=True)
    with tg.autograd.detect_anomaly(check_nan=False):
        assert tg.autograd.is_anomaly_enabled()
        assert not tg.autograd.is_anomaly_check_nan_enabled()
        loss = sqrt_at_zero(x)
        quiet_backward(loss)
    assert loss.grad_fn is not None


def test_switches_nest_and_restore():
    assert not tg.is_anomaly_enabled()
    with tg.autograd.detect_anomaly():
        assert tg.autograd.is_anomaly_check_nan_enabled()
        with tg.autograd.set_detect_anomaly(False):
            assert not tg.autograd.is_anomaly_enabled()
        assert tg.autograd.is_anomaly_enabled()
        with tg.autograd.detect_anomaly(check_nan=False):
            assert not tg.autograd.is_anomaly_check_nan_enabled()
        assert tg.autograd.is_anomaly_check_nan_enabled()
    assert not tg.autograd.is_anomaly_enabled()
    tg.autograd.set_detect_anomaly(True)
    try:
        assert tg.autograd.is_anomaly_enabled()
    finally:
        tg.autograd.set_detect_anomaly(False)
    assert current().tracers == []


def test_detect_anomaly_as_a_decorator():
    @tg.autograd.detect_anomaly()
    def step(x):
        quiet_backward(sqrt_at_zero(x))

    with pytest.raises(RuntimeError, match=r"SqrtBackward0"):
        step(tg.ones(2, requires_grad=True))
    assert not tg.autograd.is_anomaly_enabled()


def test_errors_inside_backward_name_the_forward_site():
    x = tg.ones(2, requires_grad=True)
    with tg.autograd.detect_anomaly():
        h = x * 1
        y = h.sin()
        with tg.no_grad():
            h.add_(1)
        with pytest.raises(RuntimeError, match=r"modified by an inplace operation") as info:
            y.sum().backward()
    notes = "\n".join(info.value.__notes__)
    assert (
        f"Error in the backward of SinBackward0. The forward op was recorded at {__file__}" in notes
    )
    assert "y = h.sin()" in notes


def test_other_tracers_keep_working():
    class Counter:
        records = 0
        backwards = 0

        def on_record(self, ctx, args, outputs):
            Counter.records += 1

        def on_backward(self, node, output_grads, input_grads):
            Counter.backwards += 1

    counter = Counter()
    current().tracers.append(counter)
    try:
        x = tg.ones(2, requires_grad=True)
        with tg.autograd.detect_anomaly():
            (x * 2).sum().backward()
        assert current().tracers == [counter]
    finally:
        current().tracers.remove(counter)
    assert (Counter.records, Counter.backwards) == (2, 2)


def test_anomaly_check_with_create_graph():
    x = tg.tensor([1.0, 4.0], requires_grad=True)
    with tg.autograd.detect_anomaly():
        (g,) = tg.autograd.grad(x.sqrt().sum(), x, create_graph=True)
        (gg,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), -0.25 * np.array([1.0, 4.0]) ** -1.5, rtol=1e-6)
