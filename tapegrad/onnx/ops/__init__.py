"""Translation rules, one module per family; importing this package fills ``RULES``."""

from __future__ import annotations

from tapegrad.onnx.ops import (  # each module registers its rules
    activation,
    elementwise,
    indexing,
    logical,
    losses,
    nn,
    reduction,
    shape,
)
from tapegrad.onnx.ops.registry import RULES, rule, translate

__all__ = ["RULES", "rule", "translate", "unmapped"]


def unmapped() -> list[str]:
    """Registered ops that cannot export, by registry name.

    An op with a Function needs a rule for it, and so does a plain op (no gradient); a
    composite (no Function of its own) exports as the ops it records.
    """
    from tapegrad.ops.registry import REGISTRY

    names = []
    for name, op in REGISTRY.items():
        key = op.function_cls if op.function_cls is not None else name
        if op.function_cls is None and op.differentiable:
            continue
        if key not in RULES:
            names.append(name)
    return sorted(names)
