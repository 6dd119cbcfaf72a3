"""tg.nn.init: in-place initialisers with torch's fan conventions and gains.

Every draw goes through ``tapegrad.random.rng`` (``tg.manual_seed`` repeats it) and writes
into the tensor under ``no_grad``, so parameters stay leaves.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from tapegrad.autograd.grad_mode import no_grad
from tapegrad.random import Generator, rng
from tapegrad.tensor import Tensor, _make

__all__ = [
    "_calculate_fan_in_and_fan_out",
    "calculate_gain",
    "constant_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Return the recommended gain for a nonlinearity. Same as ``torch.nn.init.calculate_gain``."""
    if nonlinearity in _LINEAR_FNS:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4  # torch's empirical value (pytorch/pytorch#50664)
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """Return (fan_in, fan_out) of a weight laid out (out, in, *kernel), as torch does."""
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive_field_size = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field_size, tensor.shape[0] * receptive_field_size


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _write(tensor: Tensor, array: np.ndarray) -> Tensor:
    with no_grad():
        tensor.copy_(_make(np.asarray(array, dtype=tensor.dtype)))
    return tensor


# --- plain distributions and constants ----------------------------------------------------


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill with draws from U(a, b). Same as ``torch.nn.init.uniform_``."""
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill with draws from N(mean, std^2). Same as ``torch.nn.init.normal_``."""
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Generator | None = None,
) -> Tensor:
    """Fill with N(mean, std^2) draws, redrawing those outside [a, b].

    Same as ``torch.nn.init.trunc_normal_``.
    """
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    gen = rng(generator)
    mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
    if mass > 0.3:
        out = gen.normal(mean, std, size=tensor.shape)
        outside = (out < a) | (out > b)
        while outside.any():
            out[outside] = gen.normal(mean, std, size=int(outside.sum()))
            outside = (out < a) | (out > b)
    else:
        out = _trunc_normal_by_rejection(gen, tensor.shape, mean, std, a, b)
    # rounding to the tensor's dtype is monotone, so the bounds still hold after the cast
    return _write(tensor, out)


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def _trunc_normal_by_rejection(gen, shape, mean, std, a, b) -> np.ndarray:
    """Uniform proposals on [a, b] accepted with probability pdf/peak.

    Redrawing normals would take ~1/mass rounds when [a, b] holds little of the mass.
    """
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2
    out = np.empty(shape)
    pending = np.ones(shape, dtype=bool)
    while pending.any():
        count = int(pending.sum())
        candidates = gen.uniform(a, b, size=count)
        log_pdf = -0.5 * ((candidates - mean) / std) ** 2 - log_peak
        accept = np.log1p(-gen.random(count)) <= log_pdf  # log of a draw in (0, 1]
        where = np.flatnonzero(pending)[accept]
        out.flat[where] = candidates[accept]
        pending.flat[where] = False
    return out


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``. Same as ``torch.nn.init.constant_``."""
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones. Same as ``torch.nn.init.ones_``."""
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros. Same as ``torch.nn.init.zeros_``."""
    with no_grad():
        return tensor.zero_()


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d tensor with the identity matrix. Same as ``torch.nn.init.eye_``."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, np.eye(*tensor.shape))


# --- fan-scaled initialisers ---------------------------------------------------------------


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill with U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).

    Same as ``torch.nn.init.xavier_uniform_``.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std  # a uniform on [-b, b] has std b / sqrt(3)
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Fill with N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).

    Same as ``torch.nn.init.xavier_normal_``.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """Fill with U(-bound, bound), bound = gain * sqrt(3 / fan).

    Same as ``torch.nn.init.kaiming_uniform_`` (``a`` is leaky_relu's negative slope).
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """Fill with N(0, std^2), std = gain / sqrt(fan). Same as ``torch.nn.init.kaiming_normal_``."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: Generator | None = None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix, trailing dims flattened, times ``gain``.

    Same as ``torch.nn.init.orthogonal_``.
    """
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flattened = rng(generator).normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flattened = flattened.T
    q, r = np.linalg.qr(flattened)
    # QR alone is not Haar-uniform; fixing the signs of R's diagonal makes it so
    # (Mezzadri 2007, math-ph/0609050), as torch does.
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(tensor.shape))
