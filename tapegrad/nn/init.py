"""tg.nn.init: in-place initialisers with torch's fan conventions."""

from __future__ import annotations
