"""The op families. Importing them fills the registry (tapegrad/__init__.py exports it)."""

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
