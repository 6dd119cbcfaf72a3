"""The one random generator behind every draw (creation, init, dropout, shuffling).

``manual_seed(n)`` makes all of them repeatable, as ``torch.manual_seed`` does, and
``get_rng_state()`` / ``set_rng_state()`` save and restore where the draws have got to, so a
training run resumed from a checkpoint draws what the uninterrupted run would have.
"""

from __future__ import annotations

import numpy as np

# A state is a uint8 tensor, as torch's: a format byte, then numpy's PCG64 state (the 128-bit
# state and increment, little-endian) and its buffered 32-bit half-draw (a flag and the value).
_STATE_FORMAT = 1
_STATE_BYTES = 1 + 16 + 16 + 1 + 4


class Generator:
    """A seeded source of random numbers. Same role as ``torch.Generator``."""

    def __init__(self, seed: int | None = None):
        self._rng = np.random.default_rng(seed)
        self._seed = seed

    def manual_seed(self, seed: int) -> Generator:
        self._rng = np.random.default_rng(seed)
        self._seed = seed
        return self

    def initial_seed(self) -> int | None:
        return self._seed

    def get_state(self):
        """Where the draws have got to, as a uint8 tensor. Same as torch's."""
        from tapegrad.tensor import _make

        state = self._rng.bit_generator.state
        if state["bit_generator"] != "PCG64":
            raise RuntimeError(f"cannot save the state of a {state['bit_generator']} generator")
        raw = bytearray([_STATE_FORMAT])
        raw += state["state"]["state"].to_bytes(16, "little")
        raw += state["state"]["inc"].to_bytes(16, "little")
        raw += bytes([state["has_uint32"]])
        raw += state["uinteger"].to_bytes(4, "little")
        return _make(np.frombuffer(bytes(raw), dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Continue drawing from a state ``get_state`` returned. Same as torch's."""
        raw = _state_bytes(new_state)
        bit_generator = np.random.PCG64()
        bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {
                "state": int.from_bytes(raw[1:17], "little"),
                "inc": int.from_bytes(raw[17:33], "little"),
            },
            "has_uint32": raw[33],
            "uinteger": int.from_bytes(raw[34:38], "little"),
        }
        self._rng = np.random.Generator(bit_generator)
        return self


def _state_bytes(state) -> bytes:
    """The bytes of a state tensor, checked: a uint8 tensor of the right length and format."""
    from tapegrad.tensor import Tensor

    if not isinstance(state, Tensor):
        raise TypeError(f"set_rng_state expects a uint8 Tensor, got {type(state).__name__}")
    if state.dtype != np.uint8 or state.shape != (_STATE_BYTES,):
        raise RuntimeError(
            f"set_rng_state expects a uint8 tensor of shape ({_STATE_BYTES},) from "
            f"get_rng_state, got {state.dtype} of shape {tuple(state.shape)}"
        )
    raw = state.detach().numpy().tobytes()
    if raw[0] != _STATE_FORMAT or raw[33] > 1:
        raise RuntimeError("set_rng_state: this is not a state get_rng_state returned")
    return raw


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed every random draw tapegrad makes. Same as ``torch.manual_seed``."""
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed expects an int, got {type(seed).__name__}")
    return default_generator.manual_seed(int(seed))


def initial_seed() -> int | None:
    """Return the seed last given to ``manual_seed`` (None if never). Same as torch."""
    return default_generator.initial_seed()


def get_rng_state():
    """The state of the default generator, a uint8 tensor. Same as ``torch.get_rng_state``."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator's state. Same as ``torch.set_rng_state``."""
    default_generator.set_state(new_state)


def rng(generator: Generator | None = None) -> np.random.Generator:
    """The numpy generator to draw from: the given one, or the global default."""
    return (generator or default_generator)._rng
