"""Op table rows: linalg (tapegrad/ops/linalg.py)."""

CASES = []
