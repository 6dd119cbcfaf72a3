"""The op families. Importing them fills the registry and exports every public op."""

from tapegrad.ops import (
    arithmetic,
    comparison,
    conversion,
    elementwise,
    indexing,
    linalg,
    reduction,
    shape,
)
from tapegrad.ops.registry import REGISTRY

__all__ = []
for _op in REGISTRY.values():
    if _op.export:
        for _name in (_op.name, *_op.aliases):
            globals()[_name] = _op.public_fn
            __all__.append(_name)
