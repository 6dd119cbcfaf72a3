"""Silence numpy's floating-point warnings inside ops, as torch is silent about inf and NaN.

``np.errstate`` costs microseconds per use, more than many ops; numpy 2 keeps the state in a
context variable, which we set directly (with ``np.seterr`` as the fallback on numpy 1).
"""

from __future__ import annotations

import functools

import numpy as np

try:
    from numpy._core._ufunc_config import _extobj_contextvar as _STATE

    with np.errstate(all="ignore"):
        _QUIET = _STATE.get()

    # C callables, no Python frame: they run around every op
    silence = functools.partial(_STATE.set, _QUIET)  # ignore errors until restore(token)
    restore = _STATE.reset

except ImportError:  # numpy 1.x

    def silence():
        return np.seterr(all="ignore")

    def restore(token) -> None:
        np.seterr(**token)
