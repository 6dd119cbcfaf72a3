"""Comparison ops: the errors the op table cannot express."""

from __future__ import annotations

import pytest

import tapegrad as tg


@pytest.mark.parametrize("name", ["isclose", "allclose"])
def test_closeness_names_itself_in_its_dtype_error(name):
    with pytest.raises(RuntimeError, match=rf"^{name}: dtypes float32 and float64 differ"):
        getattr(tg, name)(tg.ones(2), tg.ones(2, dtype=tg.float64))
