"""Numerics warnings: recording a fragile pattern such as ``log(sigmoid(x))`` warns once per
call site, naming the stable op to use instead.

The patterns are data on the Function classes (``numerics_check`` on the consumer,
``numerics_hint`` on the producer); this module only reads the tape and finds the call site.
"""

from __future__ import annotations

import os
import sys
import warnings

from tapegrad.autograd.anomaly import PACKAGE_DIR
from tapegrad.tensor import Tensor


class NumericsWarning(UserWarning):
    """A recorded pattern that overflows or loses precision; the message names the stable op."""


_WARNED: set = set()  # (file, line, advice): each call site warns once per pattern

# Frames between the user's call and Function.apply that are plumbing of a direct op call:
# the dunder and in-place method closures, argument helpers, and apply itself.
_PLUMBING = frozenset(
    os.path.join(PACKAGE_DIR, *parts)
    for parts in (
        ("autograd", "function.py"),
        ("autograd", "numerics.py"),
        ("ops", "_args.py"),
        ("ops", "registry.py"),
        ("ops", "inplace.py"),
    )
)


def check_pattern(ctx, args: tuple) -> None:
    """Warn if the op being recorded in ``ctx`` completes a fragile pattern in user code."""
    index = ctx.fn.numerics_check
    arg = args[index] if index < len(args) else None
    if not isinstance(arg, Tensor) or arg.grad_fn is None:
        return
    advice = _advice(arg.grad_fn, ctx.fn.__name__)
    if advice is None:
        return
    frame = _user_call_site(sys._getframe(1))
    if frame is None:  # recorded by tapegrad itself (a composite, a backward formula)
        return
    key = (frame.f_code.co_filename, frame.f_lineno, advice)
    if key in _WARNED:
        return
    _WARNED.add(key)
    warnings.warn_explicit(
        advice,
        NumericsWarning,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=frame.f_globals.get("__name__"),
    )


def _advice(node, consumer: str) -> str | None:
    """The hint of the producer of ``consumer``'s input, or of the op one step before it."""
    advice = _hint(node, consumer)
    if advice is not None:
        return advice
    path = f"{node.fn.__name__}>{consumer}"  # e.g. exp -> sum -> div is "Sum>Div" on Exp
    for edge in node.edges:
        if edge is not None and edge[1] is not None:
            advice = _hint(edge[0], path)
            if advice is not None:
                return advice
    return None


def _hint(node, path: str) -> str | None:
    hints = node.fn.numerics_hint
    if not hints or path not in hints:
        return None
    stable_after = node.fn.numerics_stable_after
    for edge in node.edges:  # e.g. exp(x - x.max()) is already the stable form
        if edge is not None and edge[1] is not None and edge[0].fn.__name__ in stable_after:
            return None
    return hints[path]


def _user_call_site(frame):
    """The user frame that called the op directly, or None when tapegrad code called it.

    Walking outwards from ``apply``: plumbing frames, then at most one op wrapper
    (``tg.log``), then more plumbing (``Tensor.__truediv__``); the next frame must be
    outside tapegrad. Any other tapegrad frame means a composite or the engine recorded it.
    """
    wrappers = 0
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(PACKAGE_DIR):
            return frame
        if filename not in _PLUMBING:
            wrappers += 1
            if wrappers > 1:
                return None
        frame = frame.f_back
    return None
