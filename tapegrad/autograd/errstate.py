"""Silence numpy's floating-point warnings inside ops, as torch is silent about inf and NaN.

``np.errstate`` costs microseconds per use, more than many ops; numpy 2 keeps the state in a
context variable, which we set directly (with ``np.seterr`` as the fallback on numpy 1).
"""

from __future__ import annotations

import contextvars
import functools

import numpy as np

try:
    from numpy._core._ufunc_config import _extobj_contextvar as _STATE

    with np.errstate(all="ignore"):
        _QUIET = _STATE.get()

    # C callables, no Python frame: they run around every op
    silence = functools.partial(_STATE.set, _QUIET)  # ignore errors until restore(token)
    restore = _STATE.reset

    def quiet_context() -> contextvars.Context:
        """A context whose ``run(fn, *args)`` calls ``fn`` with numpy's errors ignored.

        Entering a context costs less than setting and resetting a variable (no new mapping,
        no token), but one context cannot be entered twice at once: give each thread its own
        and run only code that does not run another ``quiet.run`` inside. It holds numpy's
        error state alone (no copy of the caller's context variables).
        """
        context = contextvars.Context()
        context.run(_STATE.set, _QUIET)
        return context

except ImportError:  # numpy 1.x

    def silence():
        return np.seterr(all="ignore")

    def restore(token) -> None:
        np.seterr(**token)

    class _Seterr:
        """quiet_context's stand-in: sets and resets numpy's error state around each call."""

        def run(self, fn, *args, **kwargs):
            token = silence()
            try:
                return fn(*args, **kwargs)
            finally:
                restore(token)

    def quiet_context() -> _Seterr:
        return _Seterr()
