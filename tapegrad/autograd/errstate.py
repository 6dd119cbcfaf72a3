"""Silence numpy's floating-point warnings inside ops, as torch is silent about inf and NaN.

``np.errstate`` costs microseconds per use, more than many ops; numpy 2 keeps the state in a
context variable, which we set directly (with ``np.seterr`` as the fallback on numpy 1).
"""

from __future__ import annotations

import numpy as np

try:
    from numpy._core._ufunc_config import _extobj_contextvar as _STATE

    with np.errstate(all="ignore"):
        _QUIET = _STATE.get()

    def silence():
        """Ignore floating-point errors until ``restore(token)``; returns the token."""
        return _STATE.set(_QUIET)

    def restore(token) -> None:
        _STATE.reset(token)

except ImportError:  # numpy 1.x

    def silence():
        return np.seterr(all="ignore")

    def restore(token) -> None:
        np.seterr(**token)
