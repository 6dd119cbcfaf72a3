"""gradcheck and gradgradcheck: analytic gradients against float64 central differences.

Both draw a random cotangent ``v`` (checking ``f(x).sum()`` cannot catch a wrong softmax
backward, whose true gradient of the sum is zero) and compare ``J^T v`` with numeric values.
"""

from __future__ import annotations

import numpy as np

from tapegrad.autograd.engine import grad as autograd_grad
from tapegrad.autograd.grad_mode import enable_grad
from tapegrad.tensor import Tensor, _make

_ELEMENTWISE_LIMIT = 64  # inputs up to this size are checked element by element
_DIRECTIONS = 4  # random directions per larger input (and per input in fast_mode)


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
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    fast_mode: bool = False,
    seed: int = 0,
) -> bool:
    """Check ``func``'s gradients w.r.t. each float64 input that requires grad. As torch.

    For each such input, the analytic ``J^T v`` (one backward with a random cotangent ``v``)
    is compared with central differences of ``<v, func(x)>``: element by element for inputs
    of up to 64 elements, along random directions for larger ones (and for all in
    ``fast_mode``). ``nondet_tol`` bounds how much two identical backwards may differ;
    ``check_undefined_grad`` checks that a zero cotangent gives zero gradients;
    ``check_grad_dtypes`` that each gradient has its input's dtype. ``seed`` (tapegrad only)
    fixes the random cotangent and directions. Forward-mode AD and batched (vmap) checks do
    not exist in tapegrad and raise if asked for.

    Raises:
        GradcheckError: naming the function, the input, the element and both values, on a
            mismatch (or returns False when ``raise_exception=False``).

    Example:
        >>> import tapegrad as tg
        >>> x = tg.randn(3, dtype=tg.float64, requires_grad=True)
        >>> tg.autograd.gradcheck(tg.tanh, (x,))
        True
    """
    _reject_unsupported(
        check_batched_grad=check_batched_grad,
        check_batched_forward_grad=check_batched_forward_grad,
        check_forward_ad=check_forward_ad,
    )
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = _differentiable_inputs(inputs)
    if not check_backward_ad:
        return True
    problem = first_mismatch(
        func,
        inputs,
        diff,
        eps=eps,
        atol=atol,
        rtol=rtol,
        seed=seed,
        fast_mode=fast_mode,
        nondet_tol=nondet_tol,
        check_grad_dtypes=check_grad_dtypes,
        check_undefined_grad=check_undefined_grad,
    )
    if problem is None:
        return True
    if raise_exception:
        raise GradcheckError(f"gradcheck of {_describe(func)}: {problem}")
    return False


def gradgradcheck(
    func,
    inputs,
    grad_outputs=None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    seed: int = 0,
) -> bool:
    """Check second derivatives: gradcheck of the first gradient (``create_graph``). As torch.

    The first gradient is taken with a random cotangent (or ``grad_outputs``), which is
    itself checked as an input. tapegrad arrays are always contiguous, so
    ``gen_non_contig_grad_outputs`` changes nothing.

    Example:
        >>> import tapegrad as tg
        >>> x = tg.randn(3, dtype=tg.float64, requires_grad=True)
        >>> tg.autograd.gradgradcheck(tg.sigmoid, (x,))
        True
    """
    _reject_unsupported(
        check_batched_grad=check_batched_grad, check_fwd_over_rev=check_fwd_over_rev
    )
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = _differentiable_inputs(inputs)
    if not check_rev_over_rev:
        return True
    outputs = [o for o in _float_outputs(func(*inputs)) if o.requires_grad]
    rng = np.random.default_rng(seed + 1)
    if grad_outputs is None:
        grad_outputs = [_make(rng.standard_normal(o._data.shape)).requires_grad_() for o in outputs]
    else:
        grad_outputs = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
    n = len(inputs)

    def first_grad(*args):
        # the numeric pass calls this with plain copies that do not require grad
        ins = [
            a.detach().requires_grad_() if i in diff and not a.requires_grad else a
            for i, a in enumerate(args[:n])
        ]
        with enable_grad():
            outs = [o for o in _float_outputs(func(*ins)) if o.requires_grad]
            grads = autograd_grad(
                outs, [ins[i] for i in diff], args[n:], create_graph=True, allow_unused=True
            )
        return tuple(g for g in grads if g is not None)

    first_grad.__qualname__ = f"the gradient of {_describe(func)}"
    return gradcheck(
        first_grad,
        (*inputs, *grad_outputs),
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        nondet_tol=nondet_tol,
        check_undefined_grad=check_undefined_grad,
        check_grad_dtypes=check_grad_dtypes,
        fast_mode=fast_mode,
        seed=seed + 2,
    )


# --- the check -------------------------------------------------------------------------------


def first_mismatch(
    func,
    inputs: tuple,
    diff: list[int],
    *,
    eps: float,
    atol: float,
    rtol: float,
    seed: int,
    fast_mode: bool = False,
    nondet_tol: float = 0.0,
    check_grad_dtypes: bool = False,
    check_undefined_grad: bool = False,
    skip_kinks: bool = False,
) -> str | None:
    """Describe the first disagreement of ``func``'s backward with central differences.

    ``skip_kinks`` (check_graph) ignores elements where the one-sided differences disagree
    too: a relu at exactly 0 has no derivative for the numeric side to match.
    """
    rng = np.random.default_rng(seed)
    outputs = _float_outputs(func(*inputs))
    out_index = [k for k, o in enumerate(outputs) if o.requires_grad]
    outputs = [outputs[k] for k in out_index]
    cotangents = [_make(rng.standard_normal(o._data.shape)) for o in outputs]
    diff_inputs = [inputs[i] for i in diff]
    analytic = _analytic(outputs, diff_inputs, cotangents)
    problem = _check_backward(
        outputs, diff_inputs, diff, cotangents, analytic, nondet_tol, check_grad_dtypes
    )
    if problem is None and check_undefined_grad:
        problem = _check_zero_cotangent(outputs, diff_inputs, diff, cotangents)

    def projected(args) -> float:
        """<v, func(args)> over the outputs that carry a gradient.

        Not under no_grad: ``func`` may itself use autograd (a gradient penalty does).
        """
        outs = _float_outputs(func(*args))
        return sum(float(np.sum(outs[k]._data * v._data)) for k, v in zip(out_index, cotangents))

    center = projected(inputs) if skip_kinks else None
    limit = 0 if fast_mode else _ELEMENTWISE_LIMIT
    for k, i in enumerate(diff):
        if problem:
            break
        problem = _check_input(
            projected, inputs, i, analytic[k], eps, atol, rtol, rng, limit, center
        )
    return problem


# --- helpers --------------------------------------------------------------------------------


def _reject_unsupported(**flags) -> None:
    for flag, value in flags.items():
        if value:
            raise NotImplementedError(
                f"gradcheck: {flag}=True needs forward-mode AD or vmap, which tapegrad does not "
                "have; only reverse-mode gradients are checked"
            )


def _differentiable_inputs(inputs: tuple) -> list[int]:
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in diff:
        if inputs[i].dtype != np.float64:
            raise ValueError(
                f"gradcheck: input {i} is {inputs[i].dtype}; gradients are checked in float64 "
                "only (use .double())"
            )
    return diff


def _describe(func) -> str:
    owner = getattr(func, "__self__", None)
    if isinstance(owner, type):  # Cube.apply
        return f"{owner.__name__}.{func.__name__}"
    return getattr(func, "__qualname__", None) or repr(func)


def _float_outputs(out) -> list:
    outs = [out] if isinstance(out, Tensor) else list(out)
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _analytic(outputs, inputs, cotangents, raw: bool = False) -> list:
    """``J^T v`` per input as float64 arrays (zeros where unused); ``raw`` keeps Tensors/None."""
    if not outputs:
        grads = [None] * len(inputs)
    else:
        grads = autograd_grad(outputs, inputs, cotangents, retain_graph=True, allow_unused=True)
    if raw:
        return list(grads)
    return [
        np.zeros(t._data.shape) if g is None else np.asarray(g._data, dtype=np.float64)
        for g, t in zip(grads, inputs)
    ]


def _check_backward(outputs, inputs, diff, cotangents, analytic, nondet_tol, dtypes) -> str | None:
    """A second backward must repeat the first (within ``nondet_tol``), in the inputs' dtypes."""
    again = _analytic(outputs, inputs, cotangents, raw=True)
    for k, (g, first) in enumerate(zip(again, analytic)):
        values = np.zeros(first.shape) if g is None else g._data
        if np.max(np.abs(values - first), initial=0.0) > nondet_tol:
            return (
                f"Backward is not reentrant for input {diff[k]}: running backward twice with the "
                f"same input and cotangent gave values differing by more than {nondet_tol}"
            )
        if dtypes and g is not None and g._data.dtype != inputs[k]._data.dtype:
            return f"gradient of input {diff[k]} has dtype {g._data.dtype}, not {inputs[k].dtype}"
    return None


def _check_zero_cotangent(outputs, inputs, diff, cotangents) -> str | None:
    """Backward is linear in the incoming gradient: a zero cotangent gives zero gradients."""
    zeros = [_make(np.zeros_like(v._data)) for v in cotangents]
    for k, g in enumerate(_analytic(outputs, inputs, zeros)):
        if np.any(g != 0):
            return (
                f"a zero cotangent gave a nonzero gradient for input {diff[k]}; backward must be "
                "linear in its incoming gradient"
            )
    return None


def _with_input(inputs: tuple, index: int, array: np.ndarray) -> tuple:
    return (*inputs[:index], _make(array), *inputs[index + 1 :])


def _check_input(projected, inputs, i, analytic, eps, atol, rtol, rng, limit, center):
    """Return a report of the first disagreement for input ``i``, or None.

    With ``center`` (the unperturbed value), a point whose one-sided differences disagree is a
    kink and is skipped.
    """
    base = inputs[i]._data
    if base.size <= limit:
        for idx in np.ndindex(base.shape):
            step = np.zeros_like(base)
            step[idx] = eps
            numeric = _central(projected, inputs, i, base, step, eps, atol, rtol, center)
            got = analytic[idx]
            if numeric is not None and not _close(got, numeric, atol, rtol):
                return (
                    f"Jacobian mismatch for input {i} (shape {base.shape}) at element {idx}: "
                    f"analytic {got:.6g} vs numeric {numeric:.6g} "
                    f"(d<v, output>/dx{list(idx)} for a random cotangent v; "
                    f"atol={atol}, rtol={rtol})"
                )
        return None
    for k in range(_DIRECTIONS):
        u = rng.standard_normal(base.shape)
        numeric = _central(projected, inputs, i, base, u * eps, eps, atol, rtol, center)
        got = float(np.sum(analytic * u))
        if numeric is not None and not _close(got, numeric, atol * np.sqrt(base.size), rtol):
            return (
                f"Jacobian mismatch for input {i} (shape {base.shape}) along random direction "
                f"{k}: analytic <J^T v, u> {got:.6g} vs numeric <v, J u> {numeric:.6g}"
            )
    return None


def _central(projected, inputs, i, base, step, eps, atol, rtol, center) -> float | None:
    """The central difference along ``step``; None at a kink (when ``center`` is given)."""
    plus = projected(_with_input(inputs, i, base + step))
    minus = projected(_with_input(inputs, i, base - step))
    if center is not None:
        right, left = (plus - center) / eps, (center - minus) / eps
        if not _close(right, left, 10 * atol, 10 * rtol):
            return None
    return (plus - minus) / (2 * eps)


def _close(a: float, b: float, atol: float, rtol: float) -> bool:
    return bool(abs(a - b) <= atol + rtol * abs(b))
