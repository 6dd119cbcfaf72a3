"""Op table rows: nn_norm."""

CASES = []
