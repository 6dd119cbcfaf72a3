"""``tg.cuda``: tapegrad has no GPU backend, so there are no CUDA devices to use or seed."""

from __future__ import annotations


def is_available() -> bool:
    """Always False: tapegrad runs on the CPU. Same question as ``torch.cuda.is_available``."""
    return False


def device_count() -> int:
    """Always 0. Same as ``torch.cuda.device_count`` on a machine without GPUs."""
    return 0


def manual_seed(seed: int) -> None:
    """Seed the CUDA generators: there are none, so this does nothing, as torch without GPUs."""


manual_seed_all = manual_seed
