"""docs/onnx.md lists exactly the registered ops that cannot export (no onnx needed)."""

from __future__ import annotations

import re
from pathlib import Path

from tapegrad.onnx.ops import RULES, unmapped

DOCS = Path(__file__).resolve().parents[2] / "docs" / "onnx.md"
HEADING = "### Registered ops without a rule"


def documented_unmapped(text: str) -> list[str]:
    """The backticked names in the first column of the table under HEADING."""
    section = text.split(HEADING, 1)[1]
    names = []
    started = False
    for line in section.splitlines():
        if line.startswith("|"):
            started = True
            first = line.split("|")[1]
            names += re.findall(r"`([^`]+)`", first)
        elif started:
            break
    return sorted(names)


def test_documented_unmapped_ops_are_the_registry_ops_without_a_rule():
    assert documented_unmapped(DOCS.read_text()) == unmapped()


def test_unmapped_skips_composites_and_counts_plain_ops():
    assert "cross_entropy" not in unmapped()  # a composite: exports as the ops it runs
    assert "argmax" in RULES and "argmax" not in unmapped()
    assert "masked_select" in unmapped()  # a Function without a rule
