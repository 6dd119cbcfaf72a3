"""Calling one Function from another's backward, whether that backward is raw or recorded.

A raw backward (Function.raw_backward) gets numpy arrays, which ``Function.apply`` does not
take. Functions whose backward is another Function (conv's transposed conv, indexing's
scatter, cat's split) keep their array kernel as ``compute`` and call each other through
``apply`` here: the kernel directly on arrays, ``Fn.apply`` (recorded) on Tensors.
"""

from __future__ import annotations

import numpy as np


def apply(fn, first, *rest, **kwargs):
    """``fn.apply(first, *rest)``, or ``fn.compute`` when ``first`` is a numpy array.

    ``first`` (a gradient or saved tensor) tells the mode: other arguments may be constant
    arrays (avg_pool's divisors) in either mode.
    """
    if type(first) is np.ndarray:
        return fn.compute(first, *rest, **kwargs)
    return fn.apply(first, *rest, **kwargs)
