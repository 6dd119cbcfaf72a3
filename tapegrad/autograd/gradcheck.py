"""gradcheck and gradgradcheck: analytic gradients against float64 central differences.

Both draw a random cotangent ``v`` (checking ``f(x).sum()`` cannot catch a wrong softmax
backward, whose true gradient of the sum is zero) and compare ``J^T v`` with numeric values.
"""

from __future__ import annotations

import numpy as np

from tapegrad.autograd.engine import grad as autograd_grad
from tapegrad.autograd.grad_mode import enable_grad, no_grad
from tapegrad.tensor import Tensor, _make

_ELEMENTWISE_LIMIT = 64  # inputs up to this size are checked element by element
_DIRECTIONS = 4  # random directions per larger input


class GradcheckError(RuntimeError):
    """Raised when an analytic gradient disagrees with the numeric one."""


def gradcheck(
    func,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check ``func``'s gradients w.r.t. each float64 input that requires grad. As torch.

    Raises:
        GradcheckError: naming the input, the element and both values, on a mismatch
            (or returns False when ``raise_exception=False``).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.randn(3, dtype=tg.float64, requires_grad=True)
        >>> tg.autograd.gradcheck(tg.tanh, (x,))
        True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in diff:
        if inputs[i].dtype != np.float64:
            raise ValueError(
                f"gradcheck: input {i} is {inputs[i].dtype}; gradients are checked in float64 "
                "only (use .double())"
            )
    rng = np.random.default_rng(seed)
    outputs = _float_outputs(func(*inputs))
    cotangents = [_make(rng.standard_normal(o._data.shape)) for o in outputs]
    analytic = _analytic(outputs, [inputs[i] for i in diff], cotangents)

    def projected(args) -> float:
        with no_grad():
            outs = _float_outputs(func(*args))
        return sum(float(np.sum(o._data * v._data)) for o, v in zip(outs, cotangents))

    for k, i in enumerate(diff):
        problem = _check_input(projected, inputs, i, analytic[k], eps, atol, rtol, rng)
        if problem:
            if raise_exception:
                raise GradcheckError(problem)
            return False
    return True


def gradgradcheck(
    func,
    inputs,
    grad_outputs=None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check second derivatives: gradcheck of the first gradient (``create_graph``). As torch."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outputs = _float_outputs(func(*inputs))
    rng = np.random.default_rng(seed + 1)
    if grad_outputs is None:
        grad_outputs = [_make(rng.standard_normal(o._data.shape)).requires_grad_() for o in outputs]
    n = len(inputs)

    def first_grad(*args):
        # the numeric pass calls this with plain copies under no_grad: record anyway
        ins = [
            a.detach().requires_grad_() if i in diff and not a.requires_grad else a
            for i, a in enumerate(args[:n])
        ]
        with enable_grad():
            grads = autograd_grad(
                _float_outputs(func(*ins)),
                [ins[i] for i in diff],
                args[n:],
                create_graph=True,
                allow_unused=True,
            )
        return tuple(g for g in grads if g is not None)

    return gradcheck(
        first_grad,
        (*inputs, *grad_outputs),
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        seed=seed + 2,
    )


def _float_outputs(out) -> list:
    outs = [out] if isinstance(out, Tensor) else list(out)
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _analytic(outputs, inputs, cotangents) -> list[np.ndarray]:
    wanted = [(o, v) for o, v in zip(outputs, cotangents) if o.requires_grad]
    if not wanted:
        return [np.zeros(t._data.shape) for t in inputs]
    grads = autograd_grad([o for o, _ in wanted], inputs, [v for _, v in wanted], allow_unused=True)
    return [
        np.zeros(t._data.shape) if g is None else np.asarray(g._data, dtype=np.float64)
        for g, t in zip(grads, inputs)
    ]


def _with_input(inputs: tuple, index: int, array: np.ndarray) -> tuple:
    return (*inputs[:index], _make(array), *inputs[index + 1 :])


def _check_input(projected, inputs, i, analytic, eps, atol, rtol, rng) -> str | None:
    """Return a report of the first disagreement for input ``i``, or None."""
    base = inputs[i]._data
    if base.size <= _ELEMENTWISE_LIMIT:
        for idx in np.ndindex(base.shape):
            step = np.zeros_like(base)
            step[idx] = eps
            numeric = _central(projected, inputs, i, base, step, eps)
            got = analytic[idx]
            if not _close(got, numeric, atol, rtol):
                return (
                    f"Jacobian mismatch for input {i} (shape {base.shape}) at element {idx}: "
                    f"analytic {got:.6g} vs numeric {numeric:.6g}"
                )
        return None
    for k in range(_DIRECTIONS):
        u = rng.standard_normal(base.shape)
        numeric = _central(projected, inputs, i, base, u * eps, eps)
        got = float(np.sum(analytic * u))
        if not _close(got, numeric, atol * np.sqrt(base.size), rtol):
            return (
                f"Jacobian mismatch for input {i} (shape {base.shape}) along random direction "
                f"{k}: analytic <J^T v, u> {got:.6g} vs numeric <v, J u> {numeric:.6g}"
            )
    return None


def _central(projected, inputs, i, base, step, eps) -> float:
    plus = projected(_with_input(inputs, i, base + step))
    minus = projected(_with_input(inputs, i, base - step))
    return (plus - minus) / (2 * eps)


def _close(a: float, b: float, atol: float, rtol: float) -> bool:
    return bool(abs(a - b) <= atol + rtol * abs(b))
