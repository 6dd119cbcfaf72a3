"""Op table rows: nn_conv."""

CASES = []
