"""Griffe extension: read the house style's ``Example:`` heading as an ``Examples:`` section.

Google style (and STYLE.md) writes ``Example:``; griffe treats that singular form as an
admonition and renders the doctest lines as Markdown, where ``ds[1][1]`` becomes a broken link.
"""

from __future__ import annotations

import re

import griffe

SINGULAR = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` to ``Examples:`` in every docstring before it is parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = SINGULAR.sub(r"\1Examples:", obj.docstring.value)
