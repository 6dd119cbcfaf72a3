"""Op table rows: nn_loss."""

CASES = []
