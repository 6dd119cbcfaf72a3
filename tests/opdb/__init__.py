"""The op table: one OpCase per registered op, merged from one file per op family.

tests/ops/test_registry.py requires the names here and in ``tapegrad.ops.REGISTRY`` to be
the same set, so a new op cannot skip its gradient check.
"""

from __future__ import annotations

from tests.opdb import (
    arithmetic,
    comparison,
    conversion,
    elementwise,
    indexing,
    linalg,
    nn_activation,
    nn_conv,
    nn_loss,
    nn_norm,
    reduction,
    shape,
)
from tests.opdb.cases import OpCase, Sample

FAMILIES = (
    arithmetic,
    comparison,
    conversion,
    elementwise,
    indexing,
    linalg,
    nn_activation,
    nn_conv,
    nn_loss,
    nn_norm,
    reduction,
    shape,
)

OPDB: dict[str, OpCase] = {}
for _family in FAMILIES:
    for _case in _family.CASES:
        if _case.name in OPDB:
            raise ValueError(f"op {_case.name!r} has two cases in tests/opdb")
        OPDB[_case.name] = _case

__all__ = ["FAMILIES", "OPDB", "OpCase", "Sample"]
