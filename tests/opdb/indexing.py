"""Op table rows: indexing (tapegrad/ops/indexing.py)."""

CASES = []
