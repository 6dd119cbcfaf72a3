"""F.* conv functions. See tapegrad/nn/functional/__init__.py for the family list."""

from __future__ import annotations

__all__: list[str] = []
