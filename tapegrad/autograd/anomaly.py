"""Anomaly mode: each recorded op remembers where user code recorded it (and a copy of its
inputs, for check_graph); backward raises at the first op whose gradient is NaN or inf.

It is a tracer on this thread's ``grad_mode.current().tracers``, so with anomaly mode off the
recording path is unchanged.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from tapegrad.autograd.grad_mode import current
from tapegrad.tensor import Tensor, _make

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_STACK_DEPTH = 5  # user frames kept per recorded op


@dataclass(frozen=True)
class Site:
    """Where user code recorded an op: the first frame outside tapegrad, and its callers."""

    file: str
    line: int
    function: str
    stack: traceback.StackSummary  # user frames, outermost first; source read only if shown

    def __str__(self) -> str:
        return f"{self.file}:{self.line} in {self.function}"

    def format_stack(self) -> str:
        return "".join(self.stack.format()).rstrip()


def user_site(frame) -> Site | None:
    """The first frame at or above ``frame`` outside the tapegrad package, as a Site."""
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return None
    frames = traceback.walk_stack(frame)
    stack = traceback.StackSummary.extract(frames, limit=_STACK_DEPTH, lookup_lines=False)
    stack.reverse()
    code = frame.f_code
    return Site(code.co_filename, frame.f_lineno, code.co_name, stack)


class _AnomalyTracer:
    """Records each node's site and inputs; checks each backward's gradients when asked."""

    def __init__(self, check_nan: bool):
        self.check_nan = check_nan

    def on_record(self, ctx, args, outputs) -> None:
        ctx.origin = user_site(sys._getframe(1))
        # copies, so later in-place writes (x.add_, optimizer steps) cannot change them
        ctx.recorded_args = tuple(_snapshot(a) for a in args)

    def on_backward(self, node, output_grads, input_grads) -> None:
        if not self.check_nan:
            return
        for i, g in enumerate(input_grads):
            if g is None:
                continue
            data = g._data if isinstance(g, Tensor) else np.asarray(g)
            if data.dtype.kind in "fc" and not np.all(np.isfinite(data)):
                raise RuntimeError(_anomaly_message(node, i, data))


def _snapshot(value):
    if isinstance(value, Tensor):
        return _make(np.array(value._data, copy=True))
    return value


def _anomaly_message(node, index: int, data: np.ndarray) -> str:
    kind = "nan" if np.isnan(data).any() else "inf"
    message = (
        f"Function '{node.name()}' returned {kind} values in its {index}th output "
        f"(the gradient for input {index} of the forward op)."
    )
    return message + " " + describe_origin(node)


def describe_origin(node) -> str:
    """Where ``node`` was recorded, as a sentence with the user traceback, for error messages."""
    origin = node.origin
    if origin is None:
        return (
            f"{node.name()} was recorded outside detect_anomaly(), so its call site is unknown; "
            "run the forward pass inside `with tg.autograd.detect_anomaly():` to see it."
        )
    return (
        f"The forward op was recorded at {origin}; traceback of the forward call:\n"
        + origin.format_stack()
    )


# --- switching it on and off ----------------------------------------------------------------


def _active() -> _AnomalyTracer | None:
    for tracer in current().tracers:
        if isinstance(tracer, _AnomalyTracer):
            return tracer
    return None


def _install(tracer: _AnomalyTracer | None) -> None:
    """Make ``tracer`` this thread's anomaly tracer (None: anomaly mode off)."""
    tracers = current().tracers
    active = _active()
    if active is not None:
        tracers.remove(active)
    if tracer is not None:
        tracers.append(tracer)


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on in this thread. Same as ``torch.is_anomaly_enabled``."""
    return _active() is not None


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode checks gradients for NaN. Same as torch's function."""
    tracer = _active()
    return tracer is not None and tracer.check_nan


class detect_anomaly:
    """Context manager (or decorator) turning anomaly mode on. Same as torch's.

    Inside it, every recorded op keeps the file:line of the user code that recorded it and a
    copy of its inputs (so ``tg.autograd.check_graph`` can re-run it). During backward, the
    first op whose gradient contains NaN or inf raises a RuntimeError naming the op and that
    site. It slows recording down; outside it, nothing is recorded and nothing is checked.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.tensor([0.0, 1.0], requires_grad=True)
        >>> with tg.autograd.detect_anomaly():
        ...     y = x.sqrt().sum()       # the gradient of sqrt at 0 is inf
        ...     y.backward()
        Traceback (most recent call last):
        RuntimeError: Function 'SqrtBackward0' returned inf values in its 0th output ...
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self._prev = _active()
        _install(_AnomalyTracer(self.check_nan))

    def __exit__(self, *exc) -> None:
        _install(self._prev)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """Turn anomaly mode on or off, at once or for a ``with`` block. Same as torch's."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self._prev = _active()
        _install(_AnomalyTracer(check_nan) if mode else None)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _install(self._prev)
