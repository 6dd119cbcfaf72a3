"""Op table rows: nn_activation."""

CASES = []
